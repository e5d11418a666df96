"""The four roles of the workbench and small helpers to check them.

Roles are Django groups created by a data migration. A superuser counts as an admin.
"""

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse


class Role(StrEnum):
    CSM = "csm"
    MANAGER = "manager"
    INTERVIEWER = "interviewer"
    ADMIN = "admin"


ALL_ROLES = tuple(Role)
_CACHE_ATTR = "_csworkbench_roles"


def roles_of(user: Any) -> frozenset[str]:
    """The user's roles, read once per user object (so once per request)."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        names = set(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
        if user.is_superuser:
            names.add(Role.ADMIN)
        cached = frozenset(names)
        setattr(user, _CACHE_ATTR, cached)
    return cached


def has_role(user: Any, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def is_csm(user: Any) -> bool:
    return has_role(user, Role.CSM)


def is_manager(user: Any) -> bool:
    return has_role(user, Role.MANAGER)


def is_interviewer(user: Any) -> bool:
    return has_role(user, Role.INTERVIEWER)


def is_admin(user: Any) -> bool:
    return has_role(user, Role.ADMIN)


def sees_health_and_revenue(user: Any) -> bool:
    """Health (score, tier, deltas, risk) and revenue (MRR) are for CSMs, managers and admins.
    An interviewer sees an account's basic facts only; every page, filter, sort and export they
    reach is built on this one check."""
    return has_role(user, Role.CSM, Role.MANAGER, Role.ADMIN)


def only_interviews(user: Any) -> bool:
    """An interviewer and nothing more: sees only the accounts there are interviews for."""
    roles = roles_of(user)
    return Role.INTERVIEWER in roles and not (roles - {Role.INTERVIEWER})


def role_required(*roles: str) -> Callable:
    """View decorator: 403 unless the user holds one of `roles`."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def home_url_for(user: Any) -> str:
    """Where each role starts its day. A user with several roles gets the first that applies."""
    if is_manager(user):
        return reverse("playbooks:approvals")
    if is_csm(user):
        return reverse("playbooks:queue")
    if is_interviewer(user):
        return reverse("interviews:workspace")
    if is_admin(user):
        return reverse("accounts:list")
    return reverse("no_role")
