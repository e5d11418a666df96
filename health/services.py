"""Every write a person makes to health data goes through these functions."""

from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from csworkbench.core.models import record_audit

from .models import HealthOverride
from .recompute import recompute_health

OVERRIDE_MAX_DAYS = 90
REASON_MAX_LENGTH = 1000


def _check_may_change(account: Account, user: Any) -> None:
    if not Account.objects.editable_by(user).filter(pk=account.pk).exists():
        raise PermissionDenied("You may not change this account's health score.")


def override_errors(*, score: Any, reason: str | None, expires_on: Any, today: date) -> dict[str, list[str]]:
    """The rules of an override, by field; the form shows them, `set_override` enforces them."""
    errors: dict[str, list[str]] = {}
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100:
        errors["score"] = [_("Enter a score from 0 to 100.")]
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("Say why you override the score.")]
    elif len(reason) > REASON_MAX_LENGTH:
        errors["reason"] = [_("Keep the reason under %(limit)s characters.") % {"limit": REASON_MAX_LENGTH}]
    if not isinstance(expires_on, date):
        errors["expires_on"] = [_("Enter the day the override expires.")]
    elif expires_on <= today:
        errors["expires_on"] = [_("The override must expire after today.")]
    elif expires_on > today + timedelta(days=OVERRIDE_MAX_DAYS):
        errors["expires_on"] = [
            _("The override may last at most %(days)s days.") % {"days": OVERRIDE_MAX_DAYS}
        ]
    return errors


def _revoke(override: HealthOverride, *, user: Any, now, replaced: bool = False) -> bool:
    """Revoke once: a conditional UPDATE, so two clicks (or two people) revoke it only once."""
    revoked = HealthOverride.objects.filter(pk=override.pk, revoked_at__isnull=True).update(revoked_at=now)
    if not revoked:
        return False
    override.revoked_at = now
    details = {"replaced": True} if replaced else {}
    record_audit(
        actor=user,
        action="health_override.revoke",
        account=override.account,
        target=f"health_override:{override.pk}",
        score=override.score,
        reason=override.reason,
        expires_on=override.expires_on.isoformat(),
        **details,
    )
    return True


@transaction.atomic
def set_override(*, account: Account, user: Any, score: int, reason: str, expires_on: date) -> HealthOverride:
    """A CSM's judgement over the computed score, until `expires_on` (at most 90 days ahead).

    Replaces any active override of the account, writes the audit row, and re-scores the
    account for today so the new score shows at once.
    """
    _check_may_change(account, user)
    today = timezone.localdate()
    errors = override_errors(score=score, reason=reason, expires_on=expires_on, today=today)
    if account.is_churned:
        errors["__all__"] = [_("A churned account is no longer scored.")]
    if errors:
        raise ValidationError(errors)
    reason = reason.strip()
    # Lock the account row: two people overriding at once end with one active override.
    Account.objects.select_for_update().filter(pk=account.pk).first()
    now = timezone.now()
    active = HealthOverride.objects.filter(account=account, revoked_at__isnull=True, expires_on__gte=today)
    for previous in active:
        _revoke(previous, user=user, now=now, replaced=True)
    override = HealthOverride(
        account=account, score=score, reason=reason, expires_on=expires_on, created_by=user, created_at=now
    )
    override.full_clean()
    override.save()
    record_audit(
        actor=user,
        action="health_override.set",
        account=account,
        target=f"health_override:{override.pk}",
        score=score,
        reason=reason,
        expires_on=expires_on.isoformat(),
    )
    recompute_health(as_of=today, external_id=account.external_id)
    return override


@transaction.atomic
def revoke_override(*, override: HealthOverride, user: Any) -> HealthOverride:
    """End an override now and re-score the account for today. Revoking twice changes nothing."""
    _check_may_change(override.account, user)
    if _revoke(override, user=user, now=timezone.now()):
        recompute_health(as_of=timezone.localdate(), external_id=override.account.external_id)
    return override
