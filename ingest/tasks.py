"""Celery tasks of the import jobs. Their names are fixed: the broker, the outbox and the beat
schedule keep tasks by name, and these were named when they lived in accounts."""

from celery import shared_task


@shared_task(name="accounts.tasks.run_import", acks_late=True)
def run_import(job_id: int, language: str = "", attempt: int = 1) -> None:
    """Check and load an uploaded CSV file as the job's run number `attempt`; runs each attempt
    once, so a redelivery is harmless."""
    from ingest.jobs import run_import_job

    run_import_job(job_id=job_id, language=language or None, attempt=attempt)


@shared_task(name="accounts.tasks.requeue_interrupted_imports", acks_late=True)
def requeue_interrupted_imports() -> dict:
    """Queue again the imports whose worker died mid-way (beat, every five minutes)."""
    from ingest.jobs import requeue_interrupted_jobs

    return {"requeued": requeue_interrupted_jobs(at_once=True)}
