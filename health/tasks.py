"""Health's Celery tasks: thin wrappers that call one service each and own the retry policy.
Their names are fixed (the broker, beat and the outbox keep tasks by name)."""

from collections.abc import Callable

from celery import shared_task
from celery.canvas import Signature

# What follows a scored day: the rooms above health (rules, the backtest) are chained by the
# shell's nightly pipeline (csworkbench.shell.pipeline), which registers them here when the app
# registry is ready, so that health never imports what sits above it.
_after_scoring: list[Callable[[str], Signature]] = []


def after_scoring(build: Callable[[str], Signature]) -> Callable[[str], Signature]:
    """Register `build(day)`: the work queued (through the outbox) once `day` is scored."""
    if build not in _after_scoring:
        _after_scoring.append(build)
    return build


@shared_task(
    name="health.tasks.nightly_health_run",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=60,
    max_retries=3,
)
def nightly_health_run(as_of: str | None = None) -> dict:
    """Score every account, then raise and resolve alerts. Safe to rerun: both replace the day.
    Then the registered follow-ups are queued for the day (the nightly pipeline)."""
    from datetime import date

    from csworkbench.core.outbox import send_on_commit
    from health.alerts import raise_alerts
    from health.recompute import recompute_health

    day = date.fromisoformat(as_of) if as_of else None
    result = recompute_health(as_of=day)
    alerts = raise_alerts(as_of=result.as_of, prepared=result.prepared)
    day_text = result.as_of.isoformat()
    # Through the outbox: a broker that drops out after the scoring loses no later step.
    for build in _after_scoring:
        # One outbox key per follow-up and day: the outbox keeps one waiting task per key.
        send_on_commit(build(day_text), key=f"health:{build.__name__}:{day_text}")
    return {"date": result.as_of.isoformat(), "scored": result.scored, "alerts_raised": alerts.raised}


@shared_task(name="interviews.tasks.refresh_backtest", acks_late=True)
def refresh_backtest(as_of: str | None = None) -> dict:
    """Compute the health-model backtest for the day and keep it in the shared cache, so that no
    manager's request computes it: queued by the nightly pipeline and when a page found only an
    older result."""
    from datetime import date

    from django.utils import timezone

    from health.backtest_cache import refresh_backtest as refresh

    day = date.fromisoformat(as_of) if as_of else timezone.localdate()
    result = refresh(day)
    return {"date": day.isoformat(), "churned": result.suggestion.churned_with_snapshots}
