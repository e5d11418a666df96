"""Celery tasks of the accounts app: thin wrappers that call one service each."""

from typing import Any

from celery import shared_task


@shared_task
def seed_demo_data(*, accounts: int, days: int, seed: int, password: str) -> dict[str, Any]:
    """Rebuild the demo data on a worker; returns the counts (JSON-serialisable)."""
    from accounts.demo import seed_demo  # imported here so the worker loads Django models lazily

    return seed_demo(accounts=accounts, days=days, seed=seed, password=password)


@shared_task(acks_late=True)
def run_import(job_id: int, language: str = "", attempt: int = 1) -> None:
    """Check and load an uploaded CSV file as the job's run number `attempt`; runs each attempt
    once, so a redelivery is harmless."""
    from accounts.importers import run_import_job

    run_import_job(job_id=job_id, language=language or None, attempt=attempt)


@shared_task(acks_late=True)
def requeue_interrupted_imports() -> dict:
    """Queue again the imports whose worker died mid-way (beat, every five minutes)."""
    from accounts.importers import requeue_interrupted_jobs

    return {"requeued": requeue_interrupted_jobs(at_once=True)}
