"""Reads for the interviewer's workspace and the taxonomy editor: annotations, not loops."""

from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.models import Account, AccountStatus
from health.models import EventKind, SignalEvent
from health.scoring import CANCELLATION_WINDOW_DAYS

from .models import ExitInterview, InterviewStatus, ReasonCategory, SubReason


def open_cancellation_intents(today: date | None = None) -> QuerySet[SignalEvent]:
    """Cancellation intent voiced recently enough that scoring still counts it."""
    today = today or timezone.localdate()
    return SignalEvent.objects.filter(
        kind=EventKind.CANCELLATION_INTENT,
        occurred_on__lte=today,
        occurred_on__gt=today - timedelta(days=CANCELLATION_WINDOW_DAYS),
    ).order_by()


def open_cancellation_intent(today: date | None = None) -> Exists:
    """The account voiced cancellation intent recently enough that scoring still counts it."""
    return Exists(open_cancellation_intents(today).filter(account=OuterRef("pk")))


def interviewer_scope(user: Any) -> Q:
    """Beyond the churned accounts, an interviewer reads the active ones that are churning (an
    open cancellation intent) and those they interviewed (an account won back keeps its
    interview); registered as accounts' interviewer scope (`Account.objects.visible_to`)."""
    return Q(status=AccountStatus.ACTIVE) & open_cancellation_intent() | Q(exit_interview__interviewer=user)


def interviewable_accounts(today: date | None = None) -> QuerySet[Account]:
    """Churned accounts, and active ones that are churning: cancellation intent still open."""
    return Account.objects.filter(
        Q(status=AccountStatus.CHURNED) | Q(status=AccountStatus.ACTIVE) & open_cancellation_intent(today)
    )


def awaiting_interview(user: Any, today: date | None = None) -> tuple[QuerySet[Account], QuerySet[Account]]:
    """Accounts with no interview yet that `user` may interview (never their own), in two parts
    that each read only their own rows through an index: the churned ones, oldest churn first,
    then the churning ones (cancellation intent still open, no churn date yet), by name. One
    query over both would read every account."""
    churning_ids = open_cancellation_intents(today).values("account_id")
    waiting = Account.objects.filter(exit_interview__isnull=True).exclude(owner=user).select_related("owner")
    churned = waiting.filter(status=AccountStatus.CHURNED).order_by("churned_on", "name", "pk")
    churning = waiting.filter(status=AccountStatus.ACTIVE, pk__in=churning_ids).order_by("name", "pk")
    return churned, churning


def interviews_of(user: Any) -> QuerySet[ExitInterview]:
    return ExitInterview.objects.filter(interviewer=user).select_related("account", "primary_category")


def drafts_of(user: Any) -> QuerySet[ExitInterview]:
    return interviews_of(user).filter(status=InterviewStatus.DRAFT).order_by("-updated_at", "-pk")


def done_by(user: Any) -> QuerySet[ExitInterview]:
    return interviews_of(user).filter(status=InterviewStatus.DONE).order_by("-completed_at", "-pk")


def taxonomy_with_use() -> QuerySet[ReasonCategory]:
    """Every category with its sub-reasons, each counted by the interviews that name it."""
    sub_reasons = SubReason.objects.annotate(uses=Count("interviews", distinct=True)).order_by(
        "position", "key"
    )
    return ReasonCategory.objects.annotate(
        primary_uses=Count("primary_interviews", distinct=True),
        secondary_uses=Count("secondary_interviews", distinct=True),
    ).prefetch_related(Prefetch("sub_reasons", queryset=sub_reasons))
