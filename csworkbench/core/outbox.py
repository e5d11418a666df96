"""Queueing Celery tasks without ever failing a request that has committed its work.

`send_on_commit(sig, key=...)` writes an `OutboxTask` row in the caller's transaction and, once
it commits, hands the task to the broker and deletes the row. When the broker is down the row
stays: `send_pending` sends it later — run by Celery beat every minute, by every worker when it
starts, by the next successful send of this process, and by `manage.py send_outbox`. A row is
locked while it is sent (`SKIP LOCKED`), so two senders never send the same row; a process that
dies between the broker's answer and its commit sends it again, which the tasks tolerate (they
are idempotent by their status guards).

With no broker configured (the demo) tasks run in-process after the commit, as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from celery import current_app as app
from celery import signature as as_signature
from celery.canvas import Signature
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import OutboxTask

logger = logging.getLogger(__name__)

# Set when a send failed in this process: the next send that works drains what is waiting.
_broker_down = False


@dataclass
class Queued:
    """What became of a task queued with `send_on_commit`, known once the transaction commits:
    `sent` is True (the broker has it, or another sender is sending it), False (it waits in
    the outbox for the broker) or None (not committed yet)."""

    key: str = ""
    sent: bool | None = None

    @property
    def waiting(self) -> bool:
        return self.sent is False


def in_process() -> bool:
    return bool(app.conf.task_always_eager)


def send_on_commit(sig: Signature, *, key: str = "", robust_in_process: bool = False) -> Queued:
    """Queue `sig` once the current transaction commits (at once outside one); `key` keeps one
    waiting row per key. In-process (no broker) the task runs in the commit; with
    `robust_in_process` its failure is logged instead of raised."""
    queued = Queued(key=key)
    if in_process():

        def run() -> None:
            sig.apply_async()
            queued.sent = True

        transaction.on_commit(run, robust=robust_in_process)
        return queued
    pk = _store(sig, key=key)

    def send() -> None:
        queued.sent = send_row(pk)

    # Robust: the work is committed; whatever happens here must not turn the answer into a 500.
    transaction.on_commit(send, robust=True)
    return queued


def _store(sig: Signature, *, key: str) -> int:
    data = dict(sig)
    if key:
        existing = OutboxTask.objects.filter(key=key).values_list("pk", flat=True).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                return OutboxTask.objects.create(key=key, task_name=sig.task, signature=data).pk
        except IntegrityError:  # written a moment ago by a concurrent request
            return OutboxTask.objects.values_list("pk", flat=True).get(key=key)
    return OutboxTask.objects.create(task_name=sig.task, signature=data).pk


def is_waiting(key: str) -> bool:
    """A task with this key is in the outbox, not yet taken by the broker."""
    return OutboxTask.objects.filter(key=key).exists()


def send_waiting(key: str) -> Queued:
    """Offer the waiting task with this key to the broker again, now."""
    pk = OutboxTask.objects.filter(key=key).values_list("pk", flat=True).first()
    return Queued(key=key, sent=True if pk is None else send_row(pk))


def send_row(pk: int) -> bool:
    """Send one waiting row; False when the broker did not take it (the row stays)."""
    global _broker_down
    with transaction.atomic():
        row = OutboxTask.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
        if row is None:
            return True  # sent already, or being sent by another process right now
        sent = _publish(row)
    if sent and _broker_down:
        _broker_down = False
        send_pending(limit=100)
    return sent


def send_pending(*, limit: int = 1000) -> int:
    """Send waiting rows, oldest first, until the broker refuses one or `limit` are sent.
    Returns how many were sent."""
    global _broker_down
    sent = 0
    while sent < limit:
        with transaction.atomic():
            rows = list(OutboxTask.objects.select_for_update(skip_locked=True).order_by("pk")[:50])
            if not rows:
                break
            for row in rows:
                if not _publish(row):
                    return sent
                sent += 1
    _broker_down = False
    if sent:
        logger.info("outbox: sent %s waiting task(s)", sent)
    return sent


def _publish(row: OutboxTask) -> bool:
    """Hand the row's task to the broker and delete the row (in the caller's transaction, which
    holds the row's lock)."""
    global _broker_down
    try:
        as_signature(row.signature, app=app).apply_async()
    except Exception as exc:  # the broker is down or refused it: the row waits for the next try
        _broker_down = True
        logger.warning("outbox: could not send %s (%s); it waits for the broker", row, exc)
        OutboxTask.objects.filter(pk=row.pk).update(
            attempts=row.attempts + 1,
            last_error=f"{type(exc).__name__}: {exc}"[:300],
            last_tried_at=timezone.now(),
        )
        return False
    row.delete()
    return True


def pending_summary() -> dict:
    """How many tasks wait and for how long (seconds), for /healthz and /readyz."""
    oldest = OutboxTask.objects.order_by("pk").values_list("created_at", flat=True).first()
    return {
        "waiting": OutboxTask.objects.count(),
        "oldest_seconds": round((timezone.now() - oldest).total_seconds()) if oldest else 0,
    }


def broker_status() -> str:
    """ "in-process" (no broker: tasks run in the request), "ok", or "unreachable"."""
    if in_process():
        return "in-process"
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, interval_max=0.2)
            conn.default_channel  # noqa: B018 -- opening the channel is the check (Redis: a PING)
    except Exception:  # any failure to reach it means "unreachable"
        return "unreachable"
    return "ok"
