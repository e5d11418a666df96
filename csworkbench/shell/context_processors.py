from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from csworkbench.core.roles import Role, roles_of


def navigation(request: HttpRequest) -> dict:
    """The navigation for the user's roles: each link appears only for roles that may open it."""
    roles = roles_of(getattr(request, "user", None))
    if not roles:
        return {"nav_items": [], "user_roles": roles}
    items = [
        ("playbooks:queue", _("My queue"), {Role.CSM, Role.MANAGER}),
        ("playbooks:team_queue", _("Team queue"), {Role.MANAGER}),
        ("playbooks:approvals", _("Approvals"), {Role.MANAGER}),
        ("interviews:workspace", _("Interviews"), {Role.INTERVIEWER, Role.MANAGER}),
        ("accounts:list", _("Accounts"), set(Role)),
        ("reports:index", _("Reports"), {Role.MANAGER, Role.ADMIN, Role.CSM}),
        ("playbooks:matrix", _("Playbooks"), {Role.CSM, Role.MANAGER, Role.ADMIN}),
        ("rules:list", _("Rules"), {Role.MANAGER, Role.ADMIN}),
        ("health_models:list", _("Health model"), {Role.MANAGER, Role.ADMIN}),
        ("imports:list", _("Imports"), {Role.MANAGER, Role.ADMIN}),
        ("audit:list", _("Audit log"), {Role.MANAGER, Role.ADMIN}),
        ("admin:index", _("Administration"), {Role.ADMIN}),
    ]
    path = request.path
    nav = [
        {"url": reverse(name), "label": label, "current": False}
        for name, label, allowed in items
        if roles & allowed
    ]
    # The longest link the path starts with is the current page: /queue/team/ is the team queue,
    # not also "My queue" at /queue/.
    matching = [item for item in nav if path.startswith(item["url"])]
    current = max(matching, key=lambda item: len(item["url"]), default=None)
    if current is not None:
        current["current"] = True
    return {"nav_items": nav, "user_roles": roles, "unread_count": _unread(request)}


def _unread(request: HttpRequest) -> int:
    """Counted once per request, however many templates (tables, partials) render."""
    from playbooks.models import Notification

    if not hasattr(request, "_unread_notifications"):
        request._unread_notifications = Notification.objects.for_user(request.user).unread().count()
    return request._unread_notifications
