"""Who may read or change an account, for views: every view fetches an account through these,
never by a bare primary key (the query starts from what the user may see)."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from csworkbench.core.roles import Role, has_role

from .models import Account

# The roles that work accounts (read health and revenue, work queues); interviewers only read.
STAFF_ROLES = (Role.CSM, Role.MANAGER, Role.ADMIN)


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
