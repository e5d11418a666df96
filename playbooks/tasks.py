"""Celery tasks for playbooks: thin wrappers that load ids, call one service and own the retry
policy. Services are imported inside the bodies so the worker starts without loading Django
models at import time."""

from celery import shared_task

MAX_DELIVERY_RETRIES = 5


@shared_task(bind=True, acks_late=True, max_retries=MAX_DELIVERY_RETRIES)
def deliver(self, delivery_id: int) -> str:
    """Send one delivery; retry with exponential back-off (1 min, 2, 4, 8, 16, capped at an
    hour), then mark it failed, which tells someone in the app."""
    from .models import Delivery
    from .notifications import mark_failed, send_delivery

    try:
        return send_delivery(delivery_id).status
    except Delivery.DoesNotExist:
        return "missing"
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            return mark_failed(delivery_id, str(exc)).status
        raise self.retry(exc=exc, countdown=min(60 * 2**self.request.retries, 3600)) from exc


@shared_task(acks_late=True)
def requeue_stuck_deliveries() -> dict:
    from .notifications import requeue_stuck_deliveries as requeue

    return {"requeued": requeue()}


@shared_task(acks_late=True)
def escalate_sla_breaches() -> dict:
    from .services import escalate_breaches

    return {"breached": escalate_breaches()}


@shared_task(acks_late=True)
def wake_snoozed_tasks() -> dict:
    from .services import wake_snoozed_tasks as wake

    return {"woken": wake()}


@shared_task(acks_late=True)
def run_rules(as_of: str | None = None) -> dict:
    from datetime import date

    from django.utils import timezone

    from playbooks.rules import run_rules as run

    day = date.fromisoformat(as_of) if as_of else timezone.localdate()
    result = run(as_of=day)
    fired = result.fired
    return {"date": day.isoformat(), "fired": fired if isinstance(fired, int) else len(fired)}
