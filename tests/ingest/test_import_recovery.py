"""An import runs each attempt once: the claim and the commit are conditional on the job's status
and attempt number, so a late redelivery or a run whose job was re-queued writes nothing."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ImportJob
from csworkbench.core.models import AuditEvent
from health.models import DailyMetric
from ingest import jobs
from ingest.jobs import run_import_job
from tests.factories import AccountFactory

GOOD = (
    "account,date,logins\n"
    + "".join(f"ACME-1,{(timezone.localdate() - timedelta(days=n)).isoformat()},{n}\n" for n in range(1, 6))
).encode()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def job(maria_manager):
    AccountFactory(external_id="ACME-1")
    job = ImportJob(kind="metrics", original_name="upload.csv", created_by=maria_manager, status="queued")
    job.file.save("upload.csv", io.BytesIO(GOOD), save=False)
    job.save()
    return job


def test_an_attempt_runs_only_from_the_attempt_before_it(job):
    assert run_import_job(job_id=job.pk, attempt=2) is None  # the job waits at 0: not for attempt 2
    job.refresh_from_db()
    assert (job.status, job.attempt) == ("queued", 0)
    done = run_import_job(job_id=job.pk, attempt=1)
    assert (done.status, done.attempt, done.loaded_rows) == ("done", 1, 5)
    assert done.worker  # who ran it: host and pid
    assert run_import_job(job_id=job.pk, attempt=1) is None  # delivered twice: nothing
    assert DailyMetric.objects.count() == 5


def test_a_late_redelivery_of_the_first_attempt_does_nothing_once_the_job_is_requeued(job):
    ImportJob.objects.filter(pk=job.pk).update(status="queued", attempt=1)  # re-queued as attempt 2
    assert run_import_job(job_id=job.pk, attempt=1) is None
    assert not DailyMetric.objects.exists()
    assert run_import_job(job_id=job.pk, attempt=2).status == "done"
    assert AuditEvent.objects.filter(action="import").count() == 1


def test_a_run_whose_job_was_requeued_meanwhile_writes_nothing(job, monkeypatch):
    """Its worker was taken for dead (a sweeper re-queued the job) while it was still loading:
    its load rolls back at the commit, and the job is left to the next attempt."""
    real_count = jobs.count_data_lines

    def requeued_meanwhile(file):
        ImportJob.objects.filter(pk=job.pk).update(status="queued", attempt=1)
        return real_count(file)

    monkeypatch.setattr(jobs, "count_data_lines", requeued_meanwhile)
    run_import_job(job_id=job.pk, attempt=1)
    job.refresh_from_db()
    assert (job.status, job.attempt, job.loaded_rows, job.error_count) == ("queued", 1, 0, 0)
    assert not DailyMetric.objects.exists()
    assert not AuditEvent.objects.filter(action="import").exists()
