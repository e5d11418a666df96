"""In-app notifications and the outgoing messages behind them: emails and chat-webhook posts.

Every outgoing message is a Delivery row first, sent afterwards by the `deliver` Celery task
with retries. A delivery that keeps failing is marked failed and somebody is told in the app:
nothing is dropped silently.
"""

import base64
import contextlib
import contextvars
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from csworkbench.core.i18n import in_every_language
from csworkbench.core.links import absolute_url
from csworkbench.core.models import record_audit
from csworkbench.core.roles import Role, has_role

from .models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationKind,
    SentEmail,
    Team,
    WebhookChannel,
    WebhookFlavor,
)

User = get_user_model()

HTTP_TIMEOUT = 10
# What the chat services accept in one message, with room to spare: Slack's section text is
# capped at 3,000 characters, WeCom's markdown content at 4,096 bytes, DingTalk's at about 20 kB.
SLACK_TEXT_CHARS = 2900
WECOM_CONTENT_BYTES = 4000
DINGTALK_TEXT_BYTES = 15000
ERROR_CHARS = 2000
# Longer than all retries together (1 + 2 + 4 + 8 + 16 minutes of back-off, plus the attempts).
STUCK_AFTER = timedelta(hours=2)


class DeliveryError(Exception):
    """One attempt to send failed; the message says why, in words a manager can act on."""


# While set, deliveries are written but not queued: the demo seeds a history of messages that
# belong to its story, and nobody must be emailed for them.
_outgoing_paused: contextvars.ContextVar[bool] = contextvars.ContextVar("outgoing_paused", default=False)


@contextlib.contextmanager
def outgoing_paused():
    token = _outgoing_paused.set(True)
    try:
        yield
    finally:
        _outgoing_paused.reset(token)


def enqueue(delivery_ids: Iterable[int]) -> None:
    """Send the deliveries once the current transaction commits (at once outside one).

    Through the outbox (csworkbench.core.outbox): a broker outage fails no request, and the task goes
    as soon as the broker is back, not when `requeue_stuck_deliveries` finds it. Without a
    broker, the eager task's first retry is logged instead of failing the request; the delivery
    stays pending and `requeue_stuck_deliveries` picks it up later."""
    from csworkbench.core.outbox import send_on_commit

    from .tasks import deliver

    if _outgoing_paused.get():
        return
    for delivery_id in delivery_ids:
        send_on_commit(deliver.si(delivery_id), key=f"delivery:{delivery_id}", robust_in_process=True)


def queue_email(*, to: str, subject: str, body: str, payload: dict) -> Delivery:
    """One email through the delivery queue (registered as csworkbench.core.outgoing's queue, for
    the rooms below: interviews' survey invitations)."""
    delivery = Delivery.objects.create(
        channel=Channel.EMAIL, to=to, subject=subject, body=body, payload=payload
    )
    enqueue([delivery.pk])
    return delivery


def requeue_stuck_deliveries(*, older_than: timedelta = STUCK_AFTER, now: datetime | None = None) -> int:
    """Enqueue again the deliveries still pending long after every retry would have run: their
    task was never queued or was lost. Sending twice is prevented by `send_delivery`."""
    cutoff = (now or timezone.now()) - older_than
    ids = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:1000]
    )
    enqueue(ids)
    return len(ids)


# --- notify ------------------------------------------------------------------------------------


@transaction.atomic
def notify(
    *,
    recipients: Iterable[Any],
    kind: str,
    title: "str | Callable[[], str]",
    body: "str | Callable[[], str]" = "",
    url: str = "",
    account: Account | None = None,
    email: bool = False,
    chat_team: Team | None = None,
) -> list[Notification]:
    """Tell people something: one in-app notification per distinct active recipient; with
    `email`, a copy to each recipient with an address; with `chat_team`, a post to each of the
    team's active chat webhooks. The copies are sent by Celery after the transaction commits.

    A title or body given as a function (`lambda: _("…") % {…}`) is kept in every language, so
    each reader sees the notification in theirs (the emails and chat posts go out in the
    language active here)."""
    people, seen = [], set()
    for user in recipients:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        people.append(user)
    texts = {}
    if callable(title):
        texts["title"] = {code: _one_line(text)[:300] for code, text in in_every_language(title).items()}
        title = title()
    if callable(body):
        texts["body"] = in_every_language(body)
        body = body()
    title = _one_line(str(title))[:300]
    body = str(body)
    url = url[:300]
    notifications = Notification.objects.bulk_create(
        [
            Notification(
                recipient=u, kind=kind, title=title, body=body, url=url, account=account, texts=texts
            )
            for u in people
        ]
    )
    deliveries = []
    if email:
        text = "\n\n".join(part for part in (body, absolute_url(url)) if part)
        deliveries += [
            Delivery(channel=Channel.EMAIL, notification=n, to=u.email, subject=title, body=text)
            for n, u in zip(notifications, people, strict=True)
            if u.email
        ]
    if chat_team is not None:
        for webhook in WebhookChannel.objects.filter(team=chat_team, is_active=True):
            deliveries.append(
                Delivery(
                    channel=Channel.WEBHOOK,
                    webhook=webhook,
                    # The URL often carries the robot's access token: show the channel, not it.
                    to=str(webhook)[:500],
                    subject=title,
                    body=body,
                    payload=build_webhook_payload(webhook.flavor, title=title, body=body, url=url),
                )
            )
    if deliveries:
        enqueue(d.pk for d in Delivery.objects.bulk_create(deliveries))
    return notifications


# --- chat payloads -----------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clip_chars(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clip_bytes(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn reads <, > and & as control characters (links, mentions).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_webhook_payload(flavor: str, *, title: str, body: str, url: str) -> dict:
    """The JSON a chat service's incoming webhook expects, with an absolute link back here."""
    link = absolute_url(url)
    open_label = _("Open in csworkbench")
    if flavor == WebhookFlavor.SLACK:
        title_text = f"*<{link}|{_slack_escape(title)}>*" if link else f"*{_slack_escape(title)}*"
        section = "\n".join(part for part in (title_text, _slack_escape(body)) if part)
        plain = "\n".join(part for part in (title, body, link) if part)
        return {
            "text": _clip_chars(plain, SLACK_TEXT_CHARS),
            "blocks": [
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": _clip_chars(section, SLACK_TEXT_CHARS)},
                }
            ],
        }
    link_line = f"[{open_label}]({link})" if link else ""
    if flavor == WebhookFlavor.DINGTALK:
        # DingTalk's markdown joins single newlines; two trailing spaces keep each line apart.
        lines = "  \n".join(body.splitlines())
        text = "\n\n".join(
            part for part in (f"### {title}", _clip_bytes(lines, DINGTALK_TEXT_BYTES), link_line) if part
        )
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    if flavor == WebhookFlavor.WECOM:
        head = f"**{title}**"
        room = WECOM_CONTENT_BYTES - len(head.encode()) - len(link_line.encode()) - 4
        content = "\n".join(part for part in (head, _clip_bytes(body, max(room, 0)), link_line) if part)
        return {"msgtype": "markdown", "markdown": {"content": content}}
    raise ValueError(f"unknown webhook flavor {flavor!r}")


def dingtalk_signed_url(url: str, secret: str, *, timestamp_ms: int | None = None) -> str:
    """DingTalk's signed-robot scheme: HMAC-SHA256 of "<timestamp ms>\\n<secret>" keyed by the
    secret, base64, URL-encoded, appended with the timestamp."""
    timestamp = str(timestamp_ms if timestamp_ms is not None else round(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


# --- sending -----------------------------------------------------------------------------------


def _post_json(url: str, payload: dict, *, check_errcode: bool) -> None:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryError(_("The webhook URL must start with http:// or https://."))
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "csworkbench"},
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310
            status, text = response.status, response.read(65536).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode(errors="replace").strip()
        raise DeliveryError(f"HTTP {exc.code} {exc.reason}: {detail}".strip(": ")) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(str(getattr(exc, "reason", exc))) from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}: {text[:500]}")
    if check_errcode:
        try:
            answer = json.loads(text)
        except ValueError:
            return
        if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
            raise DeliveryError(f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}".strip(": "))


def _send_email(delivery: Delivery) -> None:
    reply_to = []
    sent = SentEmail.objects.filter(delivery=delivery).select_related("sent_by", "account__owner").first()
    if sent is not None:
        author = sent.sent_by or sent.account.owner
        if author is not None and author.email:
            reply_to = [author.email]
    body = delivery.body
    survey_invitation = delivery.payload.get("survey_invitation")
    if survey_invitation:
        from interviews.services import survey_email_body

        # The one-time link is minted for this attempt and lives only in the message sent.
        body = survey_email_body(body=body, invitation_id=survey_invitation)
    message = EmailMessage(
        subject=_one_line(delivery.subject),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.to],
        reply_to=reply_to,
    )
    message.send(fail_silently=False)


def _send_webhook(delivery: Delivery) -> None:
    webhook = delivery.webhook
    if webhook is None:
        raise DeliveryError(_("The chat webhook was deleted."))
    url = webhook.url
    if webhook.flavor == WebhookFlavor.DINGTALK and webhook.secret:
        url = dingtalk_signed_url(url, webhook.secret)
    _post_json(
        url, delivery.payload, check_errcode=webhook.flavor in (WebhookFlavor.DINGTALK, WebhookFlavor.WECOM)
    )


def send_delivery(delivery_id: int) -> Delivery:
    """One attempt to send a delivery. Counts the attempt; on success marks it sent, on failure
    records the error and raises DeliveryError (the task decides whether to retry). A delivery
    that is not pending (already sent, or given up) is left alone."""
    with transaction.atomic():
        # The row lock keeps two workers from sending the same message twice.
        delivery = (
            Delivery.objects.select_for_update(of=("self",)).select_related("webhook").get(pk=delivery_id)
        )
        if delivery.status != DeliveryStatus.PENDING:
            return delivery
        delivery.attempts += 1
        try:
            if delivery.channel == Channel.EMAIL:
                _send_email(delivery)
            else:
                _send_webhook(delivery)
        except Exception as exc:  # any failure is recorded, then handed to the retry policy
            delivery.last_error = (str(exc) or exc.__class__.__name__)[:ERROR_CHARS]
            delivery.save(update_fields=["attempts", "last_error"])
            failure = exc
        else:
            delivery.status = DeliveryStatus.SENT
            delivery.sent_at = timezone.now()
            delivery.last_error = ""
            fields = ["attempts", "status", "sent_at", "last_error"]
            if delivery.payload.get("secret_body"):
                # A survey email queued before links were minted at send time held its link.
                delivery.body = _("(sent; the body held a one-time link and is not kept)")
                fields.append("body")
            delivery.save(update_fields=fields)
            return delivery
    if isinstance(failure, DeliveryError):
        raise failure
    raise DeliveryError(delivery.last_error) from failure


def _failure_recipients(delivery: Delivery) -> tuple[list, str]:
    """Who must hear that a delivery failed, and the link they get: the sender of a customer
    email (its account's owner for automated ones); otherwise the team's managers."""
    from .services import TeamDirectory

    sent = getattr(delivery, "sent_email", None)
    if sent is not None:
        sender = sent.sent_by or sent.account.owner
        if sender is not None and sender.is_active:
            return [sender], reverse("accounts:detail", args=[sent.account_id])
        owner_id = sent.account.owner_id
        return TeamDirectory([owner_id]).managers(owner_id), reverse(
            "accounts:detail", args=[sent.account_id]
        )
    link = reverse("notifications:deliveries") + "?status=failed"
    if delivery.webhook is not None:
        managers = list(delivery.webhook.team.managers.filter(is_active=True).order_by("pk"))
        if managers:
            return managers, link
        return TeamDirectory([]).managers(None), link
    recipient_id = delivery.notification.recipient_id if delivery.notification else None
    return TeamDirectory([recipient_id]).managers(recipient_id), link


@transaction.atomic
def mark_failed(delivery_id: int, error: str) -> Delivery:
    """Give up on a delivery: status failed with its error, and an in-app notification to whoever
    must act (never by email, which may be what is broken). Only the first call notifies."""
    error = (error or _("Unknown error"))[:ERROR_CHARS]
    changed = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, last_error=error
    )
    delivery = Delivery.objects.select_related(
        "webhook__team", "notification", "sent_email__account__owner", "sent_email__sent_by"
    ).get(pk=delivery_id)
    if not changed:
        return delivery
    recipients, link = _failure_recipients(delivery)
    if not recipients:
        recipients = list(User.objects.filter(groups__name=Role.ADMIN, is_active=True))
    sent = getattr(delivery, "sent_email", None)

    def title() -> str:
        if delivery.channel == Channel.EMAIL:
            return _("Email to %(to)s could not be delivered: %(subject)s") % {
                "to": delivery.to,
                "subject": delivery.subject,
            }
        return _("Chat post to %(channel)s could not be delivered: %(subject)s") % {
            "channel": delivery.to,
            "subject": delivery.subject,
        }

    notify(
        recipients=recipients,
        kind=NotificationKind.DELIVERY_FAILED,
        title=title,
        body=lambda: (
            _("After %(attempts)s attempts: %(error)s") % {"attempts": delivery.attempts, "error": error}
        ),
        url=link,
        account=sent.account if sent is not None else None,
    )
    return delivery


@transaction.atomic
def retry_delivery(*, delivery: Delivery, user: Any) -> Delivery:
    """Send a failed delivery again (managers and admins)."""
    if not has_role(user, Role.MANAGER, Role.ADMIN):
        raise PermissionDenied(_("Only managers and admins retry deliveries."))
    updated = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING
    )
    if not updated:
        delivery.refresh_from_db()
        raise ValidationError(
            _("This delivery is %(status)s, not failed.") % {"status": delivery.get_status_display().lower()}
        )
    delivery.status = DeliveryStatus.PENDING
    sent = SentEmail.objects.filter(delivery=delivery).select_related("account").first()
    record_audit(
        actor=user,
        action="delivery.retry",
        account=sent.account if sent else None,
        target=str(delivery)[:200],
        attempts=delivery.attempts,
    )
    enqueue([delivery.pk])
    return delivery


def mark_read(*, user: Any, notification: Notification | None = None) -> int:
    """Mark one of the user's notifications read, or all of them. Returns how many changed.
    Reading is the user's own bookkeeping, so it leaves no audit row."""
    unread = Notification.objects.for_user(user).unread()
    if notification is not None:
        if notification.recipient_id != user.pk:
            raise PermissionDenied(_("This notification is not yours."))
        unread = unread.filter(pk=notification.pk)
    now = timezone.now()
    changed = unread.update(read_at=now)
    if notification is not None and notification.read_at is None:
        notification.read_at = now
    return changed
