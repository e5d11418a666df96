from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import Account
from accounts.roles import Role, role_required


@require_GET
@role_required(Role.CSM)
def queue(request: HttpRequest) -> HttpResponse:
    """The CSM's home. Until the risk queue lands, it lists the CSM's own active accounts by
    renewal date so the day can still start here."""
    today = timezone.localdate()
    accounts = list(
        Account.objects.editable_by(request.user)
        .filter(owner=request.user)
        .active()
        .order_by("renewal_date", "name")[:30]
    )
    for account in accounts:
        account.renewal_days = account.renewal_in_days(today)
    return render(request, "playbooks/queue.html", {"accounts": accounts})


@require_GET
@role_required(Role.MANAGER)
def approvals(request: HttpRequest) -> HttpResponse:
    """The manager's home. Until retention plans land, it shows the team's book of business."""
    team = (
        Account.objects.visible_to(request.user)
        .values("owner__username", "owner__first_name", "owner__last_name")
        .annotate(
            active=Count("id", filter=Q(status="active")),
            churned=Count("id", filter=Q(status="churned")),
            mrr=Sum("mrr", filter=Q(status="active")),
        )
        .order_by("owner__first_name", "owner__username")
    )
    return render(request, "playbooks/approvals.html", {"team": list(team)})
