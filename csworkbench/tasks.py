"""Celery tasks of the project itself."""

from celery import shared_task


@shared_task(acks_late=True)
def send_outbox() -> dict:
    """Send the tasks written while the broker was down (beat, every minute)."""
    from csworkbench.outbox import send_pending

    return {"sent": send_pending()}


@shared_task
def prune_used_form_tokens() -> int:
    """Forget one-time form tokens used longer ago than a token lives (beat, hourly)."""
    from csworkbench.idempotency import prune_used_form_tokens

    return prune_used_form_tokens()
