from typing import Any

from django.db import models
from django.db.models import Exists, OuterRef, Q

from accounts.roles import Role, roles_of

OPEN = ("open", "snoozed")


def managed_member_ids(user: Any) -> models.QuerySet | None:
    """The users in the teams this manager manages; None means every user (an admin, or a
    manager in an install without teams)."""
    from .models import Team

    roles = roles_of(user)
    if Role.ADMIN in roles:
        return None
    managed = Team.objects.filter(managers=user)
    if not managed.exists():
        return None
    return managed.values("members")


class TaskQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> "TaskQuerySet":
        """CSMs see their own tasks and those on the accounts they own; managers their teams'
        (everyone's when they manage no team); admins all."""
        roles = roles_of(user)
        if Role.ADMIN in roles:
            return self.all()
        q = Q(pk__in=[])
        if Role.MANAGER in roles:
            members = managed_member_ids(user)
            if members is None:
                return self.all()
            # The owner test is an EXISTS, not a join: most team tasks pass on their assignee, and
            # a join would make PostgreSQL read every account to count a team's tasks.
            from accounts.models import Account

            owned_by_team = Exists(Account.objects.filter(pk=OuterRef("account_id"), owner__in=members))
            q |= Q(assignee__in=members) | Q(assignee=user) | owned_by_team
        if Role.CSM in roles:
            q |= Q(assignee=user) | Q(account__owner=user)
        if not (Role.MANAGER in roles or Role.CSM in roles):
            return self.none()
        return self.filter(q)

    def workable_by(self, user: Any) -> "TaskQuerySet":
        """Who may change a task: the same people who see it."""
        return self.visible_to(user)

    def open(self) -> "TaskQuerySet":
        return self.filter(status__in=OPEN)


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user: Any) -> "NotificationQuerySet":
        return self.filter(recipient=user)

    def unread(self) -> "NotificationQuerySet":
        return self.filter(read_at__isnull=True)
