"""Reads for the queues: what a CSM works next and what a manager watches, a fixed handful of
queries per page whatever the number of rows."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, Value, When
from django.utils import timezone

from accounts.models import Account, RiskLevel
from csworkbench.core.roles import Role
from health.models import Alert, AlertKind, Tier

from .models import OPEN_STATUSES, Priority, Task, TaskStatus
from .querysets import managed_member_ids

User = get_user_model()

QUEUE_LIMIT = 200
UNATTENDED_LIMIT = 25

# Which alert explains a row best when an account has several: the most decisive first.
ALERT_PRIORITY = [
    AlertKind.CANCELLATION_INTENT,
    AlertKind.KEY_CONTACT_LEFT,
    AlertKind.CORE_FEATURE_DROP,
    AlertKind.LOGIN_DROP,
    AlertKind.RENEWAL_AT_RISK,
    AlertKind.TICKET_SPIKE,
    AlertKind.TICKET_SILENCE,
    AlertKind.RISK_WORDS,
    AlertKind.NO_ENGAGEMENT,
    AlertKind.STALE_DATA,
]
AT_RISK_TIERS = (Tier.MEDIUM, Tier.HIGH)
AT_RISK_LEVELS = (RiskLevel.MEDIUM, RiskLevel.HIGH)


def risk_rank():
    """The account's risk as a number: its intervention level, else what its tier implies."""
    return Case(
        When(account__risk_level=RiskLevel.HIGH, then=Value(3)),
        When(account__health_tier=Tier.HIGH, then=Value(3)),
        When(account__risk_level=RiskLevel.MEDIUM, then=Value(2)),
        When(account__health_tier=Tier.MEDIUM, then=Value(2)),
        When(account__risk_level=RiskLevel.LOW, then=Value(1)),
        When(account__health_tier=Tier.LOW, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


def workable_now(now: datetime) -> Q:
    """Open tasks, and snoozed ones whose snooze has run out (before the wake-up job runs)."""
    return Q(status=TaskStatus.OPEN) | Q(status=TaskStatus.SNOOZED, snoozed_until__lte=now)


def queue_tasks(user: Any, *, now: datetime):
    """Overdue first, then due soonest, then risk, then MRR at stake."""
    return (
        Task.objects.filter(assignee=user)
        .filter(workable_now(now))
        .select_related("account")
        .annotate(
            overdue=Case(When(due_at__lt=now, then=Value(1)), default=Value(0), output_field=IntegerField()),
            risk=risk_rank(),
        )
        .order_by("-overdue", "due_at", "-risk", "-account__mrr", "pk")
    )


def end_of_day(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def unattended_accounts(user: Any):
    """The user's active accounts at risk (by tier or level) with no open task on them."""
    open_task = Task.objects.filter(account=OuterRef("pk"), status__in=OPEN_STATUSES)
    return (
        Account.objects.filter(owner=user)
        .active()
        .filter(Q(health_tier__in=AT_RISK_TIERS) | Q(risk_level__in=AT_RISK_LEVELS))
        .filter(~Exists(open_task))
        # Unscored accounts last on every database (SQLite sorts NULL first, PostgreSQL last).
        .order_by(F("health_score").asc(nulls_last=True), "-mrr", "pk")
    )


@dataclass
class Counts:
    overdue: int
    due_today: int
    snoozed: int
    unattended: int


def queue_counts(user: Any, *, now: datetime) -> Counts:
    counts = Task.objects.filter(assignee=user).aggregate(
        overdue=Count("pk", filter=workable_now(now) & Q(due_at__lt=now)),
        due_today=Count("pk", filter=workable_now(now) & Q(due_at__gte=now, due_at__lt=end_of_day(now))),
        snoozed=Count("pk", filter=Q(status=TaskStatus.SNOOZED, snoozed_until__gt=now)),
    )
    return Counts(unattended=unattended_accounts(user).count(), **counts)


def top_reasons(account_ids: list[int]) -> dict[int, Alert]:
    """For each account, its most telling open alert (one query for the whole page)."""
    rank = {kind: i for i, kind in enumerate(ALERT_PRIORITY)}
    best: dict[int, Alert] = {}
    for alert in Alert.objects.filter(account_id__in=account_ids, resolved_on__isnull=True):
        current = best.get(alert.account_id)
        if current is None or rank.get(alert.kind, 99) < rank.get(current.kind, 99):
            best[alert.account_id] = alert
    return best


def team_members(manager: Any):
    """The CSMs a manager oversees: their teams' members, or every CSM without teams."""
    members = managed_member_ids(manager)
    # A subquery rather than a join with distinct(): callers combine this with `|`.
    users = User.objects.filter(
        is_active=True, pk__in=User.objects.filter(groups__name=Role.CSM).values("pk")
    )
    if members is None:
        return users
    return users.filter(pk__in=members)


def team_load(manager: Any, *, now: datetime) -> list:
    """Open work per CSM: counts in one grouped query, MRR at stake (each account once) in one
    more."""
    rows = list(
        team_members(manager)
        .annotate(
            open_tasks=Count("tasks", filter=Q(tasks__status__in=OPEN_STATUSES)),
            overdue=Count("tasks", filter=Q(tasks__status=TaskStatus.OPEN, tasks__due_at__lt=now)),
            due_today=Count(
                "tasks",
                filter=Q(
                    tasks__status=TaskStatus.OPEN, tasks__due_at__gte=now, tasks__due_at__lt=end_of_day(now)
                ),
            ),
            urgent=Count(
                "tasks", filter=Q(tasks__status__in=OPEN_STATUSES, tasks__priority__gte=Priority.URGENT)
            ),
        )
        .order_by("-overdue", "-open_tasks", "username")
    )
    at_stake: dict[int, Decimal] = {}
    pairs = (
        Task.objects.filter(status__in=OPEN_STATUSES, assignee__in=[row.pk for row in rows])
        .values_list("assignee_id", "account_id", "account__mrr")
        # Without order_by(), Task's default ordering joins the DISTINCT and repeats accounts.
        .order_by()
        .distinct()
    )
    for assignee_id, _account_id, mrr in pairs:
        at_stake[assignee_id] = at_stake.get(assignee_id, Decimal(0)) + mrr
    for row in rows:
        row.mrr_at_stake = at_stake.get(row.pk, Decimal(0))
    return rows


def breached_tasks(manager: Any, *, now: datetime):
    return (
        Task.objects.visible_to(manager)
        .filter(status=TaskStatus.OPEN, due_at__lt=now)
        .select_related("account", "assignee")
        .order_by("due_at", "pk")
    )


def signoff_requests(manager: Any):
    return (
        Task.objects.visible_to(manager)
        .filter(status__in=OPEN_STATUSES, needs_approval=True, approval_requested_at__isnull=False)
        .select_related("account", "assignee")
        .order_by("approval_requested_at", "pk")
    )
