from celery import shared_task
from django.db import transaction


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=60, max_retries=3)
def nightly_health_run(as_of: str | None = None) -> dict:
    """Score every account, then raise and resolve alerts. Safe to rerun: both replace the day."""
    from datetime import date

    from health.alerts import raise_alerts
    from health.scoring import recompute_health

    day = date.fromisoformat(as_of) if as_of else None
    result = recompute_health(as_of=day)
    alerts = raise_alerts(as_of=result.as_of, prepared=result.prepared)
    # Rules read the day's snapshots and alerts, so they run after them, as the next task.
    from playbooks.tasks import run_rules

    transaction.on_commit(lambda: run_rules.delay(result.as_of.isoformat()))
    return {"date": result.as_of.isoformat(), "scored": result.scored, "alerts_raised": alerts.raised}
