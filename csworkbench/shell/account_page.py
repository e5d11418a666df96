"""The account page composes the rooms: the account (accounts), its health (health), its work
(playbooks) and its risk words (`risk`). Each part is read in a fixed number of queries."""

from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.utils import timezone

from accounts.forms import TouchpointForm
from accounts.models import Account
from csworkbench.core.roles import Role, has_role, sees_health_and_revenue
from health.account_panel import account_health
from health.forms import OverrideForm
from playbooks.models import OPEN_STATUSES, MatrixRow, Playbook, Task
from playbooks.risk import compare_risk


def account_work(account: Account) -> dict:
    """Open tasks, recent playbook runs, tags and the playbooks to start: four queries whatever
    their number. The playbook preselected is the matrix's response to the account's risk, or to
    today's tier when the score is worse than the risk level being worked."""
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
