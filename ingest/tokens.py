"""API tokens: created here (admin and `create_api_token`), checked on every API request.

A token is shown once, when it is created. Only its SHA-256 hash and its first characters (to
recognise it in lists) are stored, so a copy of the database gives nobody a working token.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import ApiToken
from csworkbench.core.models import record_audit

PREFIX_LENGTH = 8
# A token far longer than ours is not worth hashing.
MAX_TOKEN_LENGTH = 200
# Recording every use would turn each API call into a write; a minute is precise enough.
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_api_token(*, name: str, created_by: Any = None) -> tuple[ApiToken, str]:
    """A new token named `name`; returns it with the raw token, which is not stored anywhere.

    Raises ValidationError when the name is empty, too long or already taken.
    """
    raw = secrets.token_urlsafe(32)
    token = ApiToken(
        name=name.strip(), prefix=raw[:PREFIX_LENGTH], token_hash=hash_token(raw), created_by=created_by
    )
    token.full_clean()
    token.save()
    record_audit(actor=created_by, action="api_token.create", target=token.name, prefix=token.prefix)
    return token, raw


@transaction.atomic
def revoke_api_token(*, token: ApiToken, revoked_by: Any = None) -> ApiToken:
    """Stop a token from working, for good. Revoking a revoked token changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_audit(actor=revoked_by, action="api_token.revoke", target=token.name, prefix=token.prefix)
    return token


def authenticate_token(raw: str | None) -> ApiToken | None:
    """The live token matching `raw`, or None (unknown, malformed or revoked).

    Candidates are found by their non-secret prefix and the hashes compared in constant time, so
    response times say nothing about how close a guess was.
    """
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None
    digest = hash_token(raw)
    match = None
    for candidate in ApiToken.objects.filter(prefix=raw[:PREFIX_LENGTH], revoked_at__isnull=True):
        if hmac.compare_digest(candidate.token_hash, digest):
            match = candidate
    if match is None:
        return None
    now = timezone.now()
    if match.last_used_at is None or match.last_used_at <= now - LAST_USED_PRECISION:
        # Conditional, so concurrent requests write at most once a minute between them.
        ApiToken.objects.filter(pk=match.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_PRECISION)
        ).update(last_used_at=now)
        match.last_used_at = now
    return match
