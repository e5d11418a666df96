"""A worker killed mid-task (SIGKILL: no goodbye, no ack) loses no work and does none twice.

Real `celery worker` processes on the local Redis broker and the PostgreSQL test database: the
first takes the task and is killed while it runs; Redis hands the unacknowledged message to a
second worker once the visibility timeout passes (tasks are `acks_late`); the end state must be
exactly that of one clean run.
"""

import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone

from csworkbench.celery import app
from tests.celery_helpers import (
    BROKER,
    database_url,
    forget_cached_backend,
    redis_answers,
    start_worker_process,
    stop,
    wait_for,
)
from tests.conftest import needs

pytestmark = pytest.mark.worker

VISIBILITY_TIMEOUT = 2  # seconds before Redis gives a dead worker's task to another
ACCOUNTS = 2_000
DAYS = 100  # 200,000 metric rows: a few seconds of work for one worker


@pytest.fixture
def crash_setup(transactional_db, settings, tmp_path):
    """A queue of our own on the test broker, and the environment a worker process needs to
    share this test's database and files."""
    yield from worker_setup(settings, tmp_path, visibility_timeout=VISIBILITY_TIMEOUT)


@pytest.fixture
def restart_setup(transactional_db, settings, tmp_path):
    """As `crash_setup`, with the production visibility timeout (an hour): a dead worker's task
    does not come back during the test, so only the restarted worker's recovery can finish it."""
    yield from worker_setup(settings, tmp_path, visibility_timeout=3600)


def worker_setup(settings, tmp_path, *, visibility_timeout: int):
    needs(connection.vendor == "postgresql", "the worker processes share the PostgreSQL test database")
    needs(redis_answers(BROKER), f"Redis is not answering at {BROKER}")
    settings.MEDIA_ROOT = tmp_path / "media"
    queue = f"test-crash-{uuid.uuid4().hex}"
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager", "task_default_queue")}
    saved["broker_transport_options"] = dict(app.conf.broker_transport_options or {})
    app.conf.update(
        broker_url=BROKER,
        task_always_eager=False,
        task_default_queue=queue,
        broker_transport_options={
            **saved["broker_transport_options"],
            "visibility_timeout": visibility_timeout,
        },
    )
    forget_cached_backend()
    env = {
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER,
        "CELERY_RESULT_BACKEND": "",
        "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
        # What a worker queues itself (a re-queued import, the rules after a run) stays ours.
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "DEBUG": "1",
    }
    try:
        yield queue, env
    finally:
        app.conf.update(saved)
        forget_cached_backend()
        import redis

        redis.Redis.from_url(BROKER).delete(queue)


def make_accounts(count: int) -> list[str]:
    from accounts.models import Account

    today = timezone.localdate()
    Account.objects.bulk_create(
        Account(
            external_id=f"CRASH-{n:06d}",
            name=f"Crash test {n}",
            industry="software",
            employee_band="11-50",
            acquisition_channel="inbound",
            mrr=Decimal("100.00"),
            contract_start=today - timedelta(days=400),
            value_tier="B",
        )
        for n in range(count)
    )
    return [f"CRASH-{n:06d}" for n in range(count)]


def metrics_csv(external_ids: list[str], days: int) -> bytes:
    today = timezone.localdate()
    dates = [(today - timedelta(days=day)).isoformat() for day in range(1, days + 1)]
    lines = ["account,date,logins,active_users"]
    lines.extend(
        f"{external_id},{day},{n % 50},{n % 7}"
        for n, (external_id, day) in enumerate((e, d) for e in external_ids for d in dates)
    )
    return ("\n".join(lines) + "\n").encode()


def worker_logged(log, text: str) -> bool:
    return log.exists() and text in log.read_text(errors="replace")


# The first worker holds the job's advisory lock while it loads; killed, its connection and the
# lock die with it, so the next worker re-queues the "running" job when it starts, and the
# redelivered task finds the job at a later attempt and does nothing.
def test_a_killed_import_is_loaded_exactly_once_by_the_next_worker(crash_setup, tmp_path, maria_manager):
    from accounts.models import ImportJob
    from csworkbench.core.models import AuditEvent
    from health.models import DailyMetric
    from ingest.tasks import run_import

    queue, env = crash_setup
    external_ids = make_accounts(ACCOUNTS)
    job = ImportJob(kind="metrics", original_name="metrics.csv", created_by=maria_manager)
    job.file.save("crash.csv", ContentFile(metrics_csv(external_ids, DAYS)), save=False)
    job.save()
    first_log, second_log = tmp_path / "worker-1.log", tmp_path / "worker-2.log"
    first = second = None
    try:
        first = start_worker_process(queue=queue, env=env, log=first_log)
        run_import.delay(job.pk)
        wait_for(
            lambda: ImportJob.objects.filter(pk=job.pk, status="running", processed_rows__gt=0).exists(),
            timeout=60,
            what="the first worker to start checking the file",
        )
        stop(first)  # SIGKILL, mid-way
        job.refresh_from_db()
        assert job.status == "running", "the job finished before the worker was killed: make it longer"
        assert not DailyMetric.objects.exists()  # all or nothing: the transaction died with it

        time.sleep(VISIBILITY_TIMEOUT)
        second = start_worker_process(queue=queue, env=env, log=second_log)
        wait_for(
            lambda: ImportJob.objects.filter(pk=job.pk, status__in=("done", "failed")).exists(),
            timeout=60,
            step=0.5,
            what="the second worker to load the job again",
        )
    finally:
        stop(first)
        stop(second)

    job.refresh_from_db()
    assert job.status == "done", (
        f"after the redelivery the job is {job.status!r}: the first worker's claim (pending → "
        "running) survives its death, so the redelivered task refuses to run it"
    )
    assert job.loaded_rows == ACCOUNTS * DAYS
    assert DailyMetric.objects.count() == ACCOUNTS * DAYS
    assert AuditEvent.objects.filter(action="import").count() == 1


def test_a_restarted_worker_resumes_a_killed_import_once_without_waiting_for_the_redelivery(
    restart_setup, tmp_path, maria_manager, client
):
    """The production visibility timeout (an hour): Redis keeps the killed worker's task, so
    only the restart can finish the job. Two workers start together; the job is re-queued once,
    loaded once, and its page says it was restarted."""
    from django.urls import reverse

    from accounts.models import ImportJob
    from csworkbench.core.models import AuditEvent, OutboxTask
    from health.models import DailyMetric
    from ingest.jobs import start_import_job

    queue, env = restart_setup
    external_ids = make_accounts(ACCOUNTS)
    job = ImportJob(kind="metrics", original_name="metrics.csv", created_by=maria_manager)
    job.file.save("restart.csv", ContentFile(metrics_csv(external_ids, DAYS)), save=False)
    job.save()
    logs = [tmp_path / f"worker-{n}.log" for n in range(1, 4)]
    workers = []
    try:
        workers.append(start_worker_process(queue=queue, env=env, log=logs[0]))
        assert start_import_job(job=job, language="en").sent is True
        wait_for(
            lambda: ImportJob.objects.filter(pk=job.pk, status="running", processed_rows__gt=0).exists(),
            timeout=60,
            what="the first worker to start checking the file",
        )
        stop(workers[0])  # SIGKILL of the worker's main process, mid-way
        job.refresh_from_db()
        assert (job.status, job.attempt) == ("running", 1), "the job finished first: make it longer"

        # `make serve` again: this time two workers, starting at the same moment.
        workers += [start_worker_process(queue=queue, env=env, log=log) for log in logs[1:]]
        wait_for(
            lambda: ImportJob.objects.filter(pk=job.pk, status__in=("done", "failed")).exists(),
            timeout=90,
            step=0.5,
            what="a restarted worker to load the job again",
        )
        time.sleep(2)  # long enough for a second run, had one been queued, to be claimed
    finally:
        for worker in workers:
            stop(worker)

    job.refresh_from_db()
    assert (job.status, job.attempt) == ("done", 2), (
        f"the job is {job.status!r} at attempt {job.attempt}: a restarted worker must re-queue it once"
    )
    assert job.loaded_rows == ACCOUNTS * DAYS
    assert DailyMetric.objects.count() == ACCOUNTS * DAYS
    assert AuditEvent.objects.filter(action="import").count() == 1
    assert not OutboxTask.objects.exists()
    assert sum(worker_logged(log, "queued again") for log in logs[1:]) == 1
    client.force_login(maria_manager)
    page = client.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "Restarted after the worker stopped (attempt 2)." in page
    assert f"{ACCOUNTS * DAYS} rows loaded." in page


def test_a_killed_health_run_leaves_one_snapshot_per_account(crash_setup, tmp_path):
    """The nightly run replaces its day in one transaction: killed half-way it wrote nothing,
    and the redelivered run scores every account once."""
    from health.defaults import ensure_published_model
    from health.models import HealthSnapshot
    from health.tasks import nightly_health_run

    queue, env = crash_setup
    ensure_published_model()  # transactional tests flush the migration's rows
    make_accounts(20_000)
    today = timezone.localdate()
    first_log, second_log = tmp_path / "worker-1.log", tmp_path / "worker-2.log"
    first = second = None
    try:
        first = start_worker_process(queue=queue, env=env, log=first_log)
        nightly_health_run.delay(today.isoformat())
        wait_for(
            lambda: worker_logged(first_log, "nightly_health_run") and busy_in_database(),
            timeout=60,
            step=0.05,
            what="the first worker to start scoring",
        )
        stop(first)
        assert not worker_logged(first_log, "succeeded in"), "the run finished first: make it longer"
        assert not HealthSnapshot.objects.filter(date=today).exists()

        time.sleep(VISIBILITY_TIMEOUT)
        second = start_worker_process(queue=queue, env=env, log=second_log)
        wait_for(
            lambda: (
                worker_logged(second_log, "nightly_health_run") and worker_logged(second_log, "succeeded in")
            ),
            timeout=90,
            step=0.5,
            what="the second worker to finish the redelivered run",
        )
    finally:
        stop(first)
        stop(second)

    assert HealthSnapshot.objects.filter(date=today).count() == 20_000
    assert HealthSnapshot.objects.filter(date=today).values("account").distinct().count() == 20_000


def busy_in_database() -> bool:
    """Another session on the test database is inside a transaction: the worker, scoring."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        )
        return cursor.fetchone()[0] > 0
