"""Celery tasks for the reports. Imports inside the bodies, as in playbooks.tasks."""

from celery import shared_task


@shared_task(acks_late=True)
def refresh_backtest(as_of: str | None = None) -> dict:
    """Compute the health-model backtest for the day and keep it in the shared cache, so that no
    manager's request computes it: queued after the nightly run and when a page found only an
    older result."""
    from datetime import date

    from django.utils import timezone

    from interviews.report_views import refresh_backtest as refresh

    day = date.fromisoformat(as_of) if as_of else timezone.localdate()
    result = refresh(day)
    return {"date": day.isoformat(), "churned": result.suggestion.churned_with_snapshots}
