"""Celery tasks of the accounts app: thin wrappers that call one service each."""

from typing import Any

from celery import shared_task


@shared_task
def seed_demo_data(*, accounts: int, days: int, seed: int, password: str) -> dict[str, Any]:
    """Rebuild the demo data on a worker; returns the counts (JSON-serialisable)."""
    from accounts.demo import seed_demo  # imported here so the worker loads Django models lazily

    return seed_demo(accounts=accounts, days=days, seed=seed, password=password)


@shared_task(acks_late=True)
def run_import(job_id: int, language: str = "") -> None:
    """Check and load an uploaded CSV file. Runs a pending job once; redelivery is harmless."""
    from accounts.importers import run_import_job

    run_import_job(job_id=job_id, language=language or None)
