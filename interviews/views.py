from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import Account
from accounts.roles import Role, role_required


@require_GET
@role_required(Role.INTERVIEWER, Role.MANAGER)
def workspace(request: HttpRequest) -> HttpResponse:
    """The interviewer's home. Until the interview form lands, it lists churned accounts the
    user could interview: never those they own."""
    churned = (
        Account.objects.visible_to(request.user)
        .churned()
        .exclude(owner=request.user)
        .select_related("owner")
        .order_by("-churned_on", "name")[:50]
    )
    return render(request, "interviews/workspace.html", {"churned": churned})
