"""The account pages: the list (filters, sorting, the CSV export), the account page and its
timeline's touchpoint form."""

from collections.abc import Iterator

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from accounts import services
from accounts.access import get_account_for_change, get_account_for_user
from accounts.forms import TouchpointForm
from accounts.models import Account
from accounts.querysets import lifecycle_stage_for
from csworkbench.core import idempotency
from csworkbench.core.csv_response import csv_download, neutralise
from csworkbench.core.roles import Role, has_role, sees_health_and_revenue

from .account_filters import AccountFilter
from .account_page import detail_context
from .account_tables import AccountTable

PAGE_SIZE = 25


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
    template = "shell/account_list.html"
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


@require_GET
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_account_for_user(request, pk)
    template = "shell/account_detail.html"
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
        template = "shell/account_detail.html"
        if request.htmx:
            template += "#timeline"
        return render(request, template, context, status=422)
    try:
        with idempotency.claimed(request, token, purpose="accounts.touchpoint"):
            touchpoint = services.log_touchpoint(account=account, author=request.user, **form.cleaned_data)
    except idempotency.AlreadySent:
        if request.htmx:
            context = detail_context(request, account)
            response = render(request, "shell/account_detail.html#timeline", context)
        else:
            response = redirect("accounts:detail", pk=account.pk)
        return idempotency.already_sent(request, response)
    if request.htmx:
        context = detail_context(request, account)
        context["new_touchpoint_id"] = touchpoint.pk
        return render(request, "shell/account_detail.html#timeline", context)
    messages.success(request, _("Touchpoint logged."))
    return redirect("accounts:detail", pk=account.pk)
