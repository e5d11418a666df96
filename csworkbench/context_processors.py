from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role, roles_of


def navigation(request: HttpRequest) -> dict:
    """The navigation for the user's roles: each link appears only for roles that may open it."""
    roles = roles_of(getattr(request, "user", None))
    if not roles:
        return {"nav_items": [], "user_roles": roles}
    items = [
        ("playbooks:queue", _("My queue"), {Role.CSM}),
        ("playbooks:approvals", _("Approvals"), {Role.MANAGER}),
        ("interviews:workspace", _("Interviews"), {Role.INTERVIEWER, Role.MANAGER}),
        ("accounts:list", _("Accounts"), set(Role)),
        ("health_models:list", _("Health model"), {Role.MANAGER, Role.ADMIN}),
        ("imports:list", _("Imports"), {Role.MANAGER, Role.ADMIN}),
        ("admin:index", _("Administration"), {Role.ADMIN}),
    ]
    path = request.path
    nav = []
    for name, label, allowed in items:
        if roles & allowed:
            url = reverse(name)
            nav.append({"url": url, "label": label, "current": path.startswith(url)})
    return {"nav_items": nav, "user_roles": roles}
