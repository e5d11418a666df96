from typing import Any

from django.db import models
from django.db.models import Exists, OuterRef, Q

from csworkbench.core.roles import Role, roles_of


def managed_member_ids(user: Any) -> models.QuerySet | None:
    """The users whose work this manager oversees; None means every user.

    The rule: an admin, or any manager while no team has a manager (a small install), oversees
    everyone. Once teams have managers, a manager of teams oversees those teams' members. The
    unmanaged — users in no team that has a manager — are overseen by the managers who manage no
    team; while there is no such manager, by every manager, so an unmanaged CSM's plan never
    waits without a decider. A manager of no team never oversees a team's members.
    `TeamDirectory.managers` notifies the same people."""
    from django.contrib.auth import get_user_model

    from .models import Team

    roles = roles_of(user)
    if Role.ADMIN in roles:
        return None
    if not Team.objects.filter(managers__isnull=False).exists():
        return None
    users = get_user_model().objects
    unmanaged = ~Q(pk__in=users.filter(teams__managers__isnull=False).values("pk"))
    own_teams = Team.objects.filter(managers=user)
    if not own_teams.exists():
        return users.filter(unmanaged).values("pk")
    members = Q(pk__in=own_teams.values("members"))
    managers_of_no_team = users.filter(groups__name=Role.MANAGER, is_active=True, managed_teams__isnull=True)
    if not managers_of_no_team.exists():
        members |= unmanaged
    return users.filter(members).values("pk")


class TaskQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> "TaskQuerySet":
        """CSMs see their own tasks and those on the accounts they own; managers their teams'
        and the unmanaged users' (`managed_member_ids`); admins all."""
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
        from .models import OPEN_STATUSES  # the models module builds on this one

        return self.filter(status__in=OPEN_STATUSES)


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user: Any) -> "NotificationQuerySet":
        return self.filter(recipient=user)

    def unread(self) -> "NotificationQuerySet":
        return self.filter(read_at__isnull=True)
