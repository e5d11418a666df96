"""The broker is down: requests that committed their work still answer, the tasks they queue
wait in the outbox, the probes say so, and once the broker is back each task goes exactly once
to a real worker.

The dead broker is a real closed port (bound, then closed), not a mock; the live one is the
local Redis test broker, with `celery worker` processes sharing the PostgreSQL test database.
"""

import io
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from csworkbench.celery import app
from tests.celery_helpers import (
    BROKER,
    database_url,
    forget_cached_backend,
    free_port,
    redis_answers,
    start_worker_process,
    stop,
    wait_for,
)
from tests.conftest import needs

GOOD = (
    "account,date,logins,nps\n"
    + "".join(
        f"ACME-1,{(timezone.localdate() - timedelta(days=n)).isoformat()},{n},8\n" for n in range(1, 13)
    )
).encode()


@pytest.fixture
def broker(transactional_db, settings, tmp_path):
    """Celery pointed at a closed port (not eager), on a queue of our own; `broker.revive()`
    points it at the live test broker, `broker.env` is what a worker process needs."""
    settings.MEDIA_ROOT = tmp_path / "media"
    keys = ("broker_url", "task_always_eager", "task_default_queue")
    saved = {key: app.conf[key] for key in keys}
    queue = f"test-outbox-{uuid.uuid4().hex}"

    class Broker:
        dead_url = f"redis://127.0.0.1:{free_port()}/0"
        env = {
            "DATABASE_URL": database_url() if connection.vendor == "postgresql" else "",
            "CELERY_BROKER_URL": BROKER,
            "CELERY_RESULT_BACKEND": "",
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "DEBUG": "1",
        }

        def revive(self) -> None:
            needs(redis_answers(BROKER), f"Redis is not answering at {BROKER}")
            app.conf.update(broker_url=BROKER)
            forget_cached_backend()

    app.conf.update(broker_url=Broker.dead_url, task_always_eager=False, task_default_queue=queue)
    forget_cached_backend()
    try:
        yield Broker()
    finally:
        app.conf.update(saved)
        forget_cached_backend()
        if redis_answers(BROKER):
            import redis

            redis.Redis.from_url(BROKER).delete(queue)


def make_job(user):
    from django.core.files.base import ContentFile

    from accounts.models import ImportJob

    job = ImportJob(kind="metrics", original_name="metrics.csv", created_by=user)
    job.file.save("upload.csv", ContentFile(io.BytesIO(GOOD).getvalue()), save=False)
    job.save()
    return job


def needs_postgresql() -> None:
    needs(connection.vendor == "postgresql", "the worker processes share the PostgreSQL test database")


def test_loading_a_file_with_the_broker_down_says_it_waits_instead_of_failing(broker, client, maria_manager):
    from accounts.models import ImportJob
    from csworkbench.core.models import OutboxTask
    from tests.factories import AccountFactory

    AccountFactory(external_id="ACME-1")
    job = make_job(maria_manager)
    client.force_login(maria_manager)
    response = client.post(reverse("imports:confirm", args=[job.pk]), follow=True)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Queued: waiting for the background worker, which is not reachable right now." in content
    assert (
        "waiting for the background worker, which is not reachable right now; the load will start" in content
    )
    job.refresh_from_db()
    assert (job.status, job.attempt) == ("queued", 0)
    waiting = OutboxTask.objects.get()
    assert (waiting.key, waiting.task_name, waiting.attempts) == (
        f"import:{job.pk}",
        "accounts.tasks.run_import",
        1,
    )
    assert "OperationalError" in waiting.last_error

    # Pressing again offers the same task to the broker again: no 500, and no second task.
    again = client.post(reverse("imports:confirm", args=[job.pk]), follow=True)
    assert again.status_code == 200
    assert "not reachable right now" in again.content.decode()
    assert OutboxTask.objects.get().attempts == 2
    assert ImportJob.objects.get(pk=job.pk).status == "queued"


def test_once_the_broker_is_back_the_sweeper_sends_the_import_once_and_a_worker_loads_it(
    broker, client, maria_manager, tmp_path
):
    from accounts.models import ImportJob
    from csworkbench.core.models import AuditEvent, OutboxTask
    from csworkbench.core.outbox import send_pending
    from health.models import DailyMetric
    from tests.factories import AccountFactory

    needs_postgresql()
    needs(redis_answers(BROKER), f"Redis is not answering at {BROKER}")
    log = tmp_path / "w.log"
    worker = None
    try:
        # The worker is up (on the live broker) before anything waits: its start sends nothing,
        # so only the sweeper (beat's task, `manage.py send_outbox`) can send the task below.
        worker = start_worker_process(queue=broker.env["CELERY_TASK_DEFAULT_QUEUE"], env=broker.env, log=log)
        wait_for(lambda: log.exists() and " ready." in log.read_text(), timeout=30, what="the worker")
        AccountFactory(external_id="ACME-1")
        job = make_job(maria_manager)
        client.force_login(maria_manager)
        assert client.post(reverse("imports:confirm", args=[job.pk])).status_code == 302
        assert send_pending() == 0  # still down: the sweeper sends nothing and keeps the row
        assert OutboxTask.objects.count() == 1
        assert ImportJob.objects.get(pk=job.pk).status == "queued"

        broker.revive()
        assert send_pending() == 1
        assert send_pending() == 0  # sent once: the row is gone
        wait_for(
            lambda: ImportJob.objects.filter(pk=job.pk, status__in=("done", "failed")).exists(),
            timeout=60,
            what="the worker to load the file",
        )
    finally:
        stop(worker)
    job.refresh_from_db()
    assert (job.status, job.attempt, job.loaded_rows) == ("done", 1, 12)
    assert DailyMetric.objects.count() == 12
    assert AuditEvent.objects.filter(action="import").count() == 1
    assert not OutboxTask.objects.exists()
    page = client.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "12 rows loaded." in page
    assert "not reachable right now; the load will start" not in page  # (the flash message stays)


def test_publishing_with_the_broker_down_publishes_and_a_starting_worker_runs_the_rescoring(
    broker, client, maria_manager, tmp_path
):
    from csworkbench.core.models import OutboxTask
    from health import editor
    from health.defaults import ensure_published_model
    from health.models import HealthModel, HealthSnapshot
    from tests.factories import AccountFactory

    ensure_published_model()  # transactional tests flush the migration's rows
    AccountFactory()
    draft = editor.create_draft(user=maria_manager)
    client.force_login(maria_manager)
    response = client.post(reverse("health_models:publish", args=[draft.version]), follow=True)
    assert response.status_code == 200
    assert (
        f"Version {draft.version} is published. The background worker is not reachable right now: "
        "today&#x27;s scores will be recomputed with it as soon as it is back."
    ) in response.content.decode()
    assert HealthModel.objects.get(pk=draft.pk).status == "published"
    waiting = OutboxTask.objects.get()
    assert (waiting.key, waiting.task_name) == ("health:rescore", "health.tasks.nightly_health_run")
    assert not HealthSnapshot.objects.exists()

    needs_postgresql()
    broker.revive()
    log = tmp_path / "w.log"
    worker = None
    try:
        # No sweeper here: the worker sends what waits when it starts.
        worker = start_worker_process(queue=broker.env["CELERY_TASK_DEFAULT_QUEUE"], env=broker.env, log=log)
        wait_for(
            lambda: (
                log.exists() and "nightly_health_run" in log.read_text() and "succeeded" in log.read_text()
            ),
            timeout=60,
            step=0.5,
            what="the worker to run the health run the publish queued",
        )
    finally:
        stop(worker)
    assert HealthSnapshot.objects.filter(model=draft).exists()
    assert log.read_text().count("Task health.tasks.nightly_health_run[") == 2  # received, succeeded
    assert not OutboxTask.objects.filter(key="health:rescore").exists()


def test_the_probes_report_a_dead_broker(broker, client):
    health = client.get("/healthz")
    assert health.status_code == 200  # the app still serves requests: it is alive
    assert health.json()["status"] == "degraded"
    assert health.json()["broker"] == "unreachable"
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() | {"outbox": None} == {
        "status": "error",
        "database": "ok",
        "broker": "unreachable",
        "outbox": None,
    }

    broker.revive()
    assert client.get("/readyz").status_code == 200
    assert client.get("/healthz").json()["broker"] == "ok"


def test_readiness_is_in_process_and_healthy_without_a_broker(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["broker"] == "in-process"


def test_an_email_notified_with_the_broker_down_waits_in_the_outbox(broker, alice_csm):
    from csworkbench.core.models import OutboxTask
    from playbooks.models import Delivery
    from playbooks.notifications import notify

    alice_csm.email = "alice@example.com"
    alice_csm.save()
    notify(recipients=[alice_csm], kind="plan", title="Plan approved", email=True)
    delivery = Delivery.objects.get()
    assert delivery.status == "pending"
    waiting = OutboxTask.objects.get()
    assert (waiting.key, waiting.task_name, waiting.attempts) == (
        f"delivery:{delivery.pk}",
        "playbooks.tasks.deliver",
        1,
    )
