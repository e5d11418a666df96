"""Celery tasks of the kernel. Their names are fixed: the outbox and the broker keep tasks by name,
and these were named before the kernel had a folder of its own."""

from celery import shared_task


@shared_task(name="csworkbench.tasks.send_outbox", acks_late=True)
def send_outbox() -> dict:
    """Send the tasks written while the broker was down (beat, every minute)."""
    from csworkbench.core.outbox import send_pending

    return {"sent": send_pending()}


@shared_task(name="csworkbench.tasks.prune_used_form_tokens")
def prune_used_form_tokens() -> int:
    """Forget one-time form tokens used longer ago than a token lives (beat, hourly)."""
    from csworkbench.core.idempotency import prune_used_form_tokens

    return prune_used_form_tokens()
