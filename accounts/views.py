from collections.abc import Iterator

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from csworkbench.core import idempotency
from csworkbench.core.csv_response import csv_download, neutralise
from csworkbench.core.roles import Role, has_role, sees_health_and_revenue
from health.explain import account_health
from health.forms import OverrideForm

from . import services
from .filters import AccountFilter
from .forms import TouchpointForm
from .models import Account
from .querysets import lifecycle_stage_for
from .risk import compare_risk
from .tables import AccountTable

STAFF_ROLES = (Role.CSM, Role.MANAGER, Role.ADMIN)
PAGE_SIZE = 25


def get_account_for_user(request: HttpRequest, pk: int) -> Account:
    """The account if the user may see it, else 404."""
    return get_object_or_404(Account.objects.visible_to(request.user).select_related("owner"), pk=pk)


def get_account_for_change(request: HttpRequest, pk: int) -> Account:
    """The account if the user may change it: 404 when invisible, 403 when only visible (a CSM
    reads every account but changes only their own)."""
    account = get_account_for_user(request, pk)
    if not Account.objects.editable_by(request.user).filter(pk=account.pk).exists():
        if has_role(request.user, Role.CSM):
            raise PermissionDenied(
                _(
                    "This account belongs to another CSM. You can read it, but only its owner, "
                    "a manager or an administrator can change it."
                )
            )
        raise PermissionDenied(_("Your role lets you read this account, not change it."))
    return account


def filtered_accounts(request: HttpRequest) -> AccountFilter:
    queryset = Account.objects.visible_to(request.user).select_related("owner").with_lifecycle_stage()
    return AccountFilter(request.GET, queryset=queryset, request=request)


@require_GET
def account_list(request: HttpRequest) -> HttpResponse:
    if not has_role(request.user, *Role):
        raise PermissionDenied
    account_filter = filtered_accounts(request)
    # Interviewers see the basic facts only: no revenue, no health. An excluded column cannot
    # be sorted by either (?sort=mrr is ignored), so the order tells nothing.
    hidden = () if sees_health_and_revenue(request.user) else AccountTable.HEALTH_AND_REVENUE
    table = AccountTable(account_filter.qs, exclude=hidden)
    RequestConfig(request, paginate={"per_page": PAGE_SIZE}).configure(table)
    template = "accounts/account_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, {"filter": account_filter, "table": table})


@require_GET
def account_export(request: HttpRequest) -> StreamingHttpResponse:
    # The export carries revenue and health, which interviewers do not see.
    if not sees_health_and_revenue(request.user):
        raise PermissionDenied
    accounts = filtered_accounts(request).qs.order_by("name", "pk")
    today = timezone.localdate()
    header = [
        _("External ID"),
        _("Account"),
        _("Tier"),
        _("Industry"),
        _("Employees"),
        _("Region"),
        _("Acquisition channel"),
        _("Plan"),
        _("MRR"),
        _("Contract start"),
        _("Renewal"),
        _("Lifecycle"),
        _("Owner"),
        _("Status"),
        _("Churned on"),
        _("Health score"),
        _("Health tier"),
    ]

    def rows() -> Iterator[list[str]]:
        yield header
        for account in accounts.iterator(chunk_size=2000):
            owner = account.owner.get_username() if account.owner else ""
            yield [
                neutralise(account.external_id),
                neutralise(account.name),
                account.value_tier,
                account.industry,
                account.employee_band,
                neutralise(account.region),
                account.acquisition_channel,
                neutralise(account.plan),
                f"{account.mrr:.2f}",
                account.contract_start.isoformat(),
                account.renewal_date.isoformat() if account.renewal_date else "",
                lifecycle_stage_for(account.contract_start, today).value,
                neutralise(owner),
                account.status,
                account.churned_on.isoformat() if account.churned_on else "",
                "" if account.health_score is None else str(account.health_score),
                account.health_tier,
            ]

    return csv_download(rows(), filename=f"accounts-{today.isoformat()}.csv")


def account_work(account: Account) -> dict:
    """Open tasks, recent playbook runs, tags and the playbooks to start: four queries whatever
    their number. The playbook preselected is the matrix's response to the account's risk, or to
    today's tier when the score is worse than the risk level being worked."""
    from playbooks.models import OPEN_STATUSES, MatrixRow, Playbook, Task

    risk = compare_risk(account)
    level = risk.response_level
    playbooks = Playbook.objects.filter(is_active=True).order_by("name")
    if level:
        playbooks = playbooks.annotate(
            answers_level=Exists(MatrixRow.objects.filter(playbook=OuterRef("pk"), risk_level=level))
        )
    playbooks = list(playbooks)
    suggested = next((p for p in playbooks if getattr(p, "answers_level", False)), None) or next(
        (p for p in playbooks if level and p.risk_level == level), None
    )
    return {
        "now": timezone.now(),
        "tasks": list(
            Task.objects.filter(account=account, status__in=OPEN_STATUSES)
            .select_related("assignee", "run__playbook")
            .order_by("due_at")
        ),
        "runs": list(account.playbook_runs.select_related("playbook", "rule", "started_by")[:10]),
        "tags": list(account.tags.all()),
        "playbooks": playbooks,
        "risk": risk,
        "suggested_playbook": suggested,
    }


TIMELINE_PAGE_SIZE = 50


def detail_context(
    request: HttpRequest,
    account: Account,
    form: TouchpointForm | None = None,
    override_form: OverrideForm | None = None,
) -> dict:
    can_see_details = sees_health_and_revenue(request.user)
    can_change = Account.objects.editable_by(request.user).filter(pk=account.pk).exists()
    context = {
        "account": account,
        "lifecycle": account.lifecycle_stage(),
        "renewal_in_days": account.renewal_in_days(),
        "can_see_details": can_see_details,
        "can_change": can_change,
        # The neutral-interviewer rule: never the account's own CSM (the interview page enforces it).
        "can_interview": account.is_churned
        and has_role(request.user, Role.INTERVIEWER, Role.MANAGER)
        and account.owner_id != request.user.pk,
    }
    if can_see_details:
        context["contacts"] = list(account.contacts.all())
        timeline = Paginator(
            account.touchpoints.select_related("author", "contact").order_by("-occurred_at", "-id"),
            TIMELINE_PAGE_SIZE,
        ).get_page(request.GET.get("timeline"))
        context["timeline_page"] = timeline
        context["touchpoints"] = list(timeline.object_list)
        context["touchpoint_count"] = timeline.paginator.count
        context["health"] = account_health(account=account, range_key=request.GET.get("range"))
        context["work"] = account_work(account)
    if can_change:
        context["form"] = form or TouchpointForm(account=account)
        context["override_form"] = override_form or OverrideForm()
    return context


@require_GET
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_account_for_user(request, pk)
    template = "accounts/account_detail.html"
    if request.htmx and request.htmx.target == "timeline":  # paging through the timeline
        template += "#timeline"
    return render(request, template, detail_context(request, account))


@require_POST
def touchpoint_create(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_account_for_change(request, pk)
    form = TouchpointForm(request.POST, account=account)
    token = idempotency.check_form_token(request, form)
    if not form.is_valid():
        context = detail_context(request, account, form=form)
        template = "accounts/account_detail.html"
        if request.htmx:
            template += "#timeline"
        return render(request, template, context, status=422)
    try:
        with idempotency.claimed(request, token, purpose="accounts.touchpoint"):
            touchpoint = services.log_touchpoint(account=account, author=request.user, **form.cleaned_data)
    except idempotency.AlreadySent:
        if request.htmx:
            context = detail_context(request, account)
            response = render(request, "accounts/account_detail.html#timeline", context)
        else:
            response = redirect("accounts:detail", pk=account.pk)
        return idempotency.already_sent(request, response)
    if request.htmx:
        context = detail_context(request, account)
        context["new_touchpoint_id"] = touchpoint.pk
        return render(request, "accounts/account_detail.html#timeline", context)
    messages.success(request, _("Touchpoint logged."))
    return redirect("accounts:detail", pk=account.pk)
