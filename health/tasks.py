from celery import shared_task


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=60, max_retries=3)
def nightly_health_run(as_of: str | None = None) -> dict:
    """Score every account, then raise and resolve alerts. Safe to rerun: both replace the day."""
    from datetime import date

    from health.alerts import raise_alerts
    from health.scoring import recompute_health

    day = date.fromisoformat(as_of) if as_of else None
    result = recompute_health(as_of=day)
    alerts = raise_alerts(as_of=result.as_of, prepared=result.prepared)
    # Rules read the day's snapshots and alerts, so they run after them, as the next task; then
    # the backtest is computed for the day, so that no manager's request has to.
    from celery import chain

    from csworkbench.core.outbox import send_on_commit
    from interviews.tasks import refresh_backtest
    from playbooks.tasks import run_rules

    day_text = result.as_of.isoformat()
    # Through the outbox: a broker that drops out after the scoring loses neither step.
    send_on_commit(
        chain(run_rules.si(day_text), refresh_backtest.si(day_text)), key=f"health:rules:{day_text}"
    )
    return {"date": result.as_of.isoformat(), "scored": result.scored, "alerts_raised": alerts.raised}
