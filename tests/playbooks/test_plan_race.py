"""Two managers deciding the same plan at the same moment: exactly one wins (PostgreSQL, real
connections in threads). And the database itself refuses an illegal status move, on SQLite and
PostgreSQL alike, with the trigger's list of moves kept equal to PLAN_TRANSITIONS."""

import importlib

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from playbooks import plans
from playbooks.models import PLAN_TRANSITIONS, PlanApproval, PlanEvent, PlanStatus, RetentionPlan, Task
from tests.conftest import needs
from tests.factories import AccountFactory, UserFactory
from tests.playbooks.factories import draft_plan_for
from tests.threads import race


@pytest.fixture
def scene(db):
    alice = UserFactory(username="alice", first_name="Alice", roles=["csm"])
    maria = UserFactory(username="maria", first_name="Maria", last_name="Wang", roles=["manager"])
    olga = UserFactory(username="olga", first_name="Olga", last_name="Lee", roles=["manager"])
    plan = draft_plan_for(AccountFactory(owner=alice))
    plan = plans.submit_plan(plan=plan, user=alice, expected_version=plan.version)
    return plan, maria, olga


def approving(plan_pk, manager_pk, version):
    from django.contrib.auth import get_user_model

    def call():
        plan = RetentionPlan.objects.get(pk=plan_pk)
        manager = get_user_model().objects.get(pk=manager_pk)
        return plans.approve_plan(plan=plan, manager=manager, comment="Go.", expected_version=version)

    return call


def requesting_changes(plan_pk, manager_pk, version):
    from django.contrib.auth import get_user_model

    def call():
        plan = RetentionPlan.objects.get(pk=plan_pk)
        manager = get_user_model().objects.get(pk=manager_pk)
        return plans.request_changes(plan=plan, manager=manager, comment="Cheaper.", expected_version=version)

    return call


def outcomes(results):
    wins = [r for r in results if isinstance(r, RetentionPlan)]
    conflicts = [r for r in results if isinstance(r, plans.PlanConflict)]
    assert len(wins) + len(conflicts) == len(results), results
    return wins, conflicts


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_manager", [False, True], ids=["two-managers", "double-click"])
def test_two_approvals_at_once_make_one_transition(scene, same_manager):
    needs(connection.vendor == "postgresql", "the race needs PostgreSQL's row locks")
    plan, maria, olga = scene
    second = maria if same_manager else olga

    results = race(approving(plan.pk, maria.pk, plan.version), approving(plan.pk, second.pk, plan.version))

    wins, conflicts = outcomes(results)
    assert len(wins) == 1 and len(conflicts) == 1
    assert "changed before your action" in conflicts[0].messages[0]
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED
    assert PlanEvent.objects.filter(plan=plan, to_status="approved").count() == 1
    assert PlanApproval.objects.filter(plan=plan).count() == 1
    # One set of next-step tasks.
    assert Task.objects.filter(account=plan.account).count() == plan.steps.count() == 2


@pytest.mark.django_db(transaction=True)
def test_sending_back_and_approving_at_once_make_one_transition(scene):
    needs(connection.vendor == "postgresql", "the race needs PostgreSQL's row locks")
    plan, maria, olga = scene

    results = race(
        requesting_changes(plan.pk, maria.pk, plan.version), approving(plan.pk, olga.pk, plan.version)
    )

    wins, conflicts = outcomes(results)
    assert len(wins) == 1 and len(conflicts) == 1
    plan.refresh_from_db()
    decided = PlanEvent.objects.filter(plan=plan, to_status__in=["approved", "changes_requested"])
    assert decided.count() == 1
    assert plan.status == decided.get().to_status
    tasks = Task.objects.filter(account=plan.account).count()
    if plan.status == PlanStatus.APPROVED:
        assert tasks == 2 and PlanApproval.objects.filter(plan=plan).count() == 1
    else:
        assert tasks == 0 and not PlanApproval.objects.filter(plan=plan).exists()


@pytest.mark.django_db(transaction=True)
def test_two_second_approvals_at_once_complete_the_plan_once(db):
    """With two approvals needed, two managers approving together both count, once each."""
    needs(connection.vendor == "postgresql", "the race needs PostgreSQL's row locks")
    alice = UserFactory(username="alice", roles=["csm"])
    managers = [UserFactory(username=name, roles=["manager"]) for name in ("maria", "olga", "petra")]
    plan = draft_plan_for(AccountFactory(owner=alice), offers=[{"kind": "extended_support", "cost": 90000}])
    plan = plans.submit_plan(plan=plan, user=alice, expected_version=plan.version)
    assert plan.approvals_needed == 2
    plans.approve_plan(plan=plan, manager=managers[0], expected_version=plan.version)

    results = race(*(approving(plan.pk, m.pk, plan.version) for m in managers[1:]))

    wins, conflicts = outcomes(results)
    assert len(wins) == 1 and len(conflicts) == 1
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED
    assert PlanEvent.objects.filter(plan=plan, to_status="approved").count() == 1
    assert PlanApproval.objects.filter(plan=plan).count() == 2


# --- the database trigger (any database) -----------------------------------------------------


@pytest.mark.django_db
def test_the_database_refuses_an_illegal_status_update(alice_account):
    plan = draft_plan_for(alice_account)
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        RetentionPlan.objects.filter(pk=plan.pk).update(status="closed", outcome="saved")
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        RetentionPlan.objects.filter(pk=plan.pk).update(status="approved")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT
    # A legal move passes the trigger, even from raw SQL.
    RetentionPlan.objects.filter(pk=plan.pk).update(status="submitted")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUBMITTED


@pytest.mark.django_db
def test_the_database_refuses_a_plan_born_past_draft(alice_account):
    plan = draft_plan_for(alice_account)
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        RetentionPlan.objects.create(
            account=plan.account,
            author=plan.author,
            root_cause=plan.root_cause,
            objectives="x",
            target_date=plan.target_date,
            status="approved",
        )


def test_the_triggers_list_of_moves_is_plan_transitions():
    migration = importlib.import_module("playbooks.migrations.0004_plan_status_guard")
    expected = {(source, target) for source, targets in PLAN_TRANSITIONS.items() for target in targets}
    assert set(migration.LEGAL) == expected
    assert len(migration.LEGAL) == len(expected)


# --- an edit and a submission at once (the bypass an attack run found) -------------------------

TRIALS = 30
BIG_OFFERS = [{"kind": "discount", "discount_percent": 90, "cost": 100000, "description": "90% off"}] + [
    {"kind": "other", "description": f"Extra {n}", "cost": 1} for n in range(19)
]


def _waiting_on_a_lock(pid: int) -> bool:
    """Whether the backend `pid` is blocked on a lock: the submission is inside the row lock's queue."""
    from django.db import connections

    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"


def editing(plan_pk, author_pk, pids, hold):
    """The edit request: raises the offer to 90 % / 100,019 and, before it commits, holds its
    transaction open until the submission is queued on the plan's lock (at most `hold` s)."""
    import time

    from django.contrib.auth import get_user_model

    def call():
        plan = RetentionPlan.objects.get(pk=plan_pk)
        author = get_user_model().objects.get(pk=author_pk)
        with transaction.atomic():
            updated = plans.update_plan(
                plan=plan, author=author, offers=BIG_OFFERS, steps=[], expected_version=1
            )
            deadline = time.monotonic() + hold
            while time.monotonic() < deadline:
                if "submit" in pids and _waiting_on_a_lock(pids["submit"]):
                    break
                time.sleep(0.002)
        return updated

    return call


def submitting(plan_pk, author_pk, pids, delay):
    """A second session of the same CSM submits version 2, `delay` s after the edit started."""
    import time

    from django.contrib.auth import get_user_model

    def call():
        time.sleep(delay)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pids["submit"] = cursor.fetchone()[0]
        plan = RetentionPlan.objects.get(pk=plan_pk)
        author = get_user_model().objects.get(pk=author_pk)
        return plans.submit_plan(plan=plan, user=author, expected_version=2)

    return call


@pytest.mark.django_db(transaction=True)
def test_an_edit_racing_a_submission_never_approves_the_bigger_offer_unseen(db):
    """Lock first, then decide: the approvals a submission needs are worked out from the offers
    read under the plan's lock, so an edit that commits while the submission waits is counted."""
    import random

    needs(connection.vendor == "postgresql", "the race needs PostgreSQL's row locks")
    alice = UserFactory(username="alice", roles=["csm"])
    UserFactory(username="maria", roles=["manager"])
    UserFactory(username="olga", roles=["manager"])
    rng = random.Random(20)
    submitted = 0
    for trial in range(TRIALS):
        plan = draft_plan_for(
            AccountFactory(owner=alice, name=f"Trial {trial}"),
            offers=[{"kind": "other", "description": "A call with product", "cost": 0}],
        )
        assert plan.version == 1
        pids: dict = {}
        hold = rng.choice([0.0, 0.02, 0.2, 1.0])
        delay = rng.uniform(0.004, 0.030)

        results = race(editing(plan.pk, alice.pk, pids, hold), submitting(plan.pk, alice.pk, pids, delay))

        assert isinstance(results[0], RetentionPlan), results
        plan.refresh_from_db()
        totals = plans.offer_totals(plan)
        assert totals.cost == 100019 and totals.max_discount == 90
        assert plan.status != PlanStatus.APPROVED, f"trial {trial}: approved with no manager"
        assert not PlanEvent.objects.filter(plan=plan, to_status="approved").exists()
        if isinstance(results[1], RetentionPlan):
            # The submission came after the edit: it needs two managers, as the policy says.
            submitted += 1
            assert plan.status == PlanStatus.SUBMITTED and plan.approvals_needed == 2, trial
        else:
            # The submission came first, on version 1's page: refused, nothing moved.
            assert isinstance(results[1], plans.PlanConflict), results
            assert plan.status == PlanStatus.DRAFT and plan.version == 2
    # The race was really run: most submissions arrived while the edit held the lock.
    assert submitted >= TRIALS // 2, submitted
