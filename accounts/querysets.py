from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.db import models
from django.db.models import Case, CharField, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from csworkbench.core.roles import Role, only_interviews, roles_of

# Lifecycle stage is derived from the contract start: the first 30 days are onboarding,
# days 31-180 adoption, then mature. The first 90 days are the critical window.
ONBOARDING_DAYS = 30
ADOPTION_DAYS = 180


class LifecycleStage(models.TextChoices):
    ONBOARDING = "onboarding", _("Onboarding")
    ADOPTION = "adoption", _("Adoption")
    MATURE = "mature", _("Mature")


def lifecycle_stage_for(contract_start: date, today: date) -> LifecycleStage:
    age = (today - contract_start).days
    if age <= ONBOARDING_DAYS:
        return LifecycleStage.ONBOARDING
    if age <= ADOPTION_DAYS:
        return LifecycleStage.ADOPTION
    return LifecycleStage.MATURE


def lifecycle_bounds(stage: str, today: date) -> models.Q:
    """The stage as a range of contract starts, so the filter can use the index."""
    onboarding_from = today - timedelta(days=ONBOARDING_DAYS)
    adoption_from = today - timedelta(days=ADOPTION_DAYS)
    if stage == LifecycleStage.ONBOARDING:
        return models.Q(contract_start__gte=onboarding_from)
    if stage == LifecycleStage.ADOPTION:
        return models.Q(contract_start__gte=adoption_from, contract_start__lt=onboarding_from)
    if stage == LifecycleStage.MATURE:
        return models.Q(contract_start__lt=adoption_from)
    raise ValueError(f"unknown lifecycle stage {stage!r}")


# What an interviewer reads beyond the churned accounts is interviews' rule (active accounts
# with an open cancellation intent, and those they interviewed). Interviews sits above accounts,
# so it registers the rule when the app registry is ready (InterviewsConfig.ready).
_interviewer_scope: Callable[[Any], models.Q] | None = None


def register_interviewer_scope(scope: Callable[[Any], models.Q]) -> None:
    global _interviewer_scope
    _interviewer_scope = scope


class AccountQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> "AccountQuerySet":
        """Who reads which account. CSMs, managers and admins read every account: CSMs cover for
        each other and read the team's history (what they may change is `editable_by`). An
        interviewer with no other role reads only the accounts there is an exit interview for:
        churned ones, active ones with an open cancellation intent, and those they interviewed
        (an account won back keeps its interview) — and only their basic facts, which the views
        enforce with `sees_health_and_revenue`. Users with no role see none."""
        if not roles_of(user):
            return self.none()
        if only_interviews(user):
            scope = models.Q(status="churned")
            if _interviewer_scope is not None:
                scope |= _interviewer_scope(user)
            return self.filter(scope)
        return self.all()

    def editable_by(self, user: Any) -> "AccountQuerySet":
        """Managers and admins change any account; a CSM only the accounts they own;
        interviewers none."""
        roles = roles_of(user)
        if Role.MANAGER in roles or Role.ADMIN in roles:
            return self.all()
        if Role.CSM in roles:
            return self.filter(owner=user)
        return self.none()

    def active(self) -> "AccountQuerySet":
        return self.filter(status="active")

    def churned(self) -> "AccountQuerySet":
        return self.filter(status="churned")

    def in_lifecycle_stage(self, stage: str, today: date | None = None) -> "AccountQuerySet":
        return self.filter(lifecycle_bounds(stage, today or timezone.localdate()))

    def with_lifecycle_stage(self, today: date | None = None) -> "AccountQuerySet":
        today = today or timezone.localdate()
        return self.annotate(
            lifecycle=Case(
                *(When(lifecycle_bounds(stage, today), then=Value(stage.value)) for stage in LifecycleStage),
                output_field=CharField(),
            )
        )
