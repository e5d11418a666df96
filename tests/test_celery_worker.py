"""The demo's bulk job runs on a real Celery worker through the local Redis broker."""

import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from celery.result import AsyncResult

from accounts.models import Account
from csworkbench.celery import app
from tests.celery_helpers import BROKER, forget_cached_backend, redis_answers
from tests.conftest import needs


@pytest.fixture
def redis_worker(transactional_db):
    needs(redis_answers(BROKER), f"Redis is not answering at {BROKER}")
    # Transactional tests flush every table, the migrations' rows included: restore the
    # published health model that seeding scores with.
    from health.defaults import ensure_published_model

    ensure_published_model()
    saved = {
        key: app.conf[key]
        for key in ("broker_url", "result_backend", "task_always_eager", "task_default_queue")
    }
    # A queue of our own, so no other test run sharing this Redis can take the task.
    queue = f"test-{uuid.uuid4().hex}"
    app.conf.update(
        broker_url=BROKER, result_backend=BROKER, task_always_eager=False, task_default_queue=queue
    )
    forget_cached_backend()
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=30, queues=[queue]
        ) as worker:
            yield worker
    finally:
        app.conf.update(saved)
        forget_cached_backend()


@pytest.mark.worker
def test_the_seed_task_runs_on_a_real_worker(redis_worker):
    from csworkbench.demo.tasks import seed_demo_data

    result = seed_demo_data.delay(accounts=25, days=30, seed=11, password="workbench")
    assert isinstance(result, AsyncResult)  # queued through Redis, not run eagerly
    counts = result.get(timeout=60)
    assert result.successful()
    assert counts["accounts"] == Account.objects.count() >= 25
    assert counts["contacts"] > 0


@pytest.mark.worker
def test_the_nightly_run_queues_the_rules_which_fire_on_the_worker(redis_worker):
    """Scoring and then the rules, chained through the broker: the rule's task appears."""
    import time

    from django.utils import timezone

    from health.tasks import nightly_health_run
    from playbooks.models import Rule, RuleFiring, Task
    from tests.factories import AccountFactory, UserFactory
    from tests.health_factories import SignalEventFactory

    today = timezone.localdate()
    owner = UserFactory(roles=["csm"])
    account = AccountFactory(owner=owner)
    SignalEventFactory(account=account, kind="cancellation_intent", occurred_on=today)
    Rule.objects.create(
        name="Cancellation voiced",
        is_enabled=True,
        condition_kind="event",
        event_kind="cancellation_intent",
        days=1,
        set_risk_level="high",
        task_title="Call the decision maker",
        task_due_amount=4,
        task_due_unit="business_hours",
    )

    result = nightly_health_run.delay(today.isoformat())
    assert result.get(timeout=60)["scored"] >= 1

    deadline = time.monotonic() + 60
    while not Task.objects.filter(account=account).exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    task = Task.objects.get(account=account)
    assert task.title == "Call the decision maker" and task.assignee == owner
    assert RuleFiring.objects.filter(account=account, fired_on=today).count() == 1
    account.refresh_from_db()
    assert account.risk_level == "high"
