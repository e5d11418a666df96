"""One-time form tokens: a form that sends or creates something does it once, however many times
it is posted (a double click, a resent page, two tabs).

The form carries a fresh token (`{% form_token %}`, from `{% load workbench %}`); the view checks
it and makes its write inside `claimed(...)`, which records the token in the same transaction.
`UsedFormToken.key` is unique, so of two posts with one token, even concurrent ones, exactly one
commits its write; the other gets `AlreadySent` and answers as the first did, with a notice.

    token = idempotency.check_form_token(request, form)  # a missing/bad token is a form error
    if not form.is_valid():
        return render(..., status=422)
    try:
        with idempotency.claimed(request, token, purpose="accounts.touchpoint") as claim:
            touchpoint = services.log_touchpoint(...)
            claim.answer(url)  # optional: where a repeat should land
    except idempotency.AlreadySent as sent:
        return idempotency.already_sent(request, redirect(sent.url or url))

Tokens are signed with the user's id and a timestamp and last `MAX_AGE`; used ones older than
that are pruned (`prune_used_form_tokens`, scheduled in CELERY_BEAT_SCHEDULE), which is safe
because a token that old is refused before it is looked up.
"""

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import UsedFormToken

FIELD = "form_token"
MAX_AGE = timedelta(days=7)
_KEY = re.compile(r"[A-Za-z0-9_-]{32}")

ALREADY_SENT = _("This form was already sent; nothing was sent twice.")
MISSING = _("This form is missing its one-time token: check it and send it again.")
EXPIRED = _("This form was open too long to be sent safely: check it and send it again.")


class AlreadySent(Exception):
    """The token was used before: the first sending wrote; this one must not."""

    def __init__(self, used: UsedFormToken | None):
        super().__init__("form token already used")
        self.used = used
        self.url = used.result_url if used is not None else ""


def _signer(user: Any) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"csworkbench.form-token.{user.pk}")


def new_form_token(user: Any) -> str:
    """A fresh token for one form sent by `user`."""
    return _signer(user).sign(secrets.token_urlsafe(24))


def read_form_token(data: Any, user: Any) -> str:
    """The key of the token posted in `data`, or ValidationError when it is missing, malformed,
    someone else's or older than MAX_AGE."""
    value = data.get(FIELD, "") if data is not None else ""
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ValidationError(MISSING, code="form_token_missing")
    try:
        key = _signer(user).unsign(value, max_age=MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError(EXPIRED, code="form_token_expired") from None
    except signing.BadSignature:
        raise ValidationError(MISSING, code="form_token_invalid") from None
    if not _KEY.fullmatch(key):
        raise ValidationError(MISSING, code="form_token_invalid")
    return key


def check_form_token(request: HttpRequest, form: Any) -> str:
    """The posted token's key; when it is missing or bad, a non-field error on `form` (so the
    form is shown again, with a fresh token) and ""."""
    try:
        return read_form_token(request.POST, request.user)
    except ValidationError as error:
        form.add_error(None, error)
        return ""


def ensure_unused(key: str) -> None:
    """AlreadySent if the token was used: for a form whose validation would refuse a repeat on
    its own (a unique name), so the repeat gets the first answer, not "this name exists"."""
    if key:
        used = UsedFormToken.objects.filter(key=key).first()
        if used is not None:
            raise AlreadySent(used)


class Claim:
    def __init__(self, used: UsedFormToken | None):
        self.used = used

    def answer(self, url: str) -> None:
        """Remember where this sending ended, for a repeat of it to land there too."""
        if self.used is not None:
            self.used.result_url = url[:500]
            self.used.save(update_fields=["result_url"])


@contextmanager
def claimed(request: HttpRequest, key: str, *, purpose: str, when: bool = True) -> Iterator[Claim]:
    """Use the token once: the block's writes and the token's row commit together or not at all.

    Raises AlreadySent, before the block runs, when the token was used; a concurrent post with
    the same token waits on the unique key until the first commits, then raises it too.
    `when=False` (a form that edits rather than creates) claims nothing."""
    if not when:
        yield Claim(None)
        return
    if not key:
        raise ValueError("check the form token before claiming it")
    with transaction.atomic():
        try:
            with transaction.atomic():
                used = UsedFormToken.objects.create(key=key, user=request.user, purpose=purpose)
        except IntegrityError:
            raise AlreadySent(UsedFormToken.objects.filter(key=key).first()) from None
        yield Claim(used)


def already_sent(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The answer to a repeat: what the first sending answered, with the notice. A fragment for
    htmx carries the notice out of band into the page's #messages; a redirect (plain or htmx)
    carries it to the next page as a message."""
    if request.htmx and response.status_code == 200 and "HX-Redirect" not in response:
        response.content += render_to_string(
            "includes/messages_oob.html", {"notices": [ALREADY_SENT]}, request=request
        ).encode()
    else:
        messages.info(request, ALREADY_SENT)
    return response


def prune_used_form_tokens(*, now=None) -> int:
    """Forget tokens used longer ago than they live; returns how many."""
    cutoff = (now or timezone.now()) - MAX_AGE
    deleted, _counts = UsedFormToken.objects.filter(created_at__lt=cutoff).delete()
    return deleted
