"""Every write to accounts goes through these functions."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from .models import Account, Contact, Touchpoint


@transaction.atomic
def log_touchpoint(
    *,
    account: Account,
    author: Any,
    kind: str,
    subject: str,
    body: str = "",
    sentiment: str = "neutral",
    occurred_at=None,
    contact: Contact | None = None,
) -> Touchpoint:
    """Record a call, meeting, email or note on the account's timeline.

    Only someone who may change the account logs on it; the contact must belong to it.
    """
    if not Account.objects.editable_by(author).filter(pk=account.pk).exists():
        raise PermissionDenied("You may not log touchpoints on this account.")
    if contact is not None and contact.account_id != account.pk:
        raise PermissionDenied("The contact belongs to another account.")
    touchpoint = Touchpoint(
        account=account,
        author=author,
        kind=kind,
        subject=subject,
        body=body,
        sentiment=sentiment,
        occurred_at=occurred_at or timezone.now(),
        contact=contact,
    )
    touchpoint.full_clean()
    touchpoint.save()
    return touchpoint
