"""Playbooks and tasks: every write goes through playbooks.services, against the real database.
Only the outside world (SMTP) is replaced, by Django's in-memory mail outbox."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from csworkbench.core.models import AuditEvent
from playbooks import queue, services
from playbooks.models import (
    Delivery,
    DeliveryStatus,
    Holiday,
    MatrixRow,
    Notification,
    NotificationKind,
    Priority,
    RunStatus,
    Task,
    TaskStatus,
)
from playbooks.services import TaskStateError
from tests.factories import AccountFactory, UserFactory
from tests.playbooks.factories import PlaybookFactory, PlaybookStepFactory, TaskFactory, TeamFactory

pytestmark = pytest.mark.django_db

TAIPEI = ZoneInfo("Asia/Taipei")
# A Friday, one working hour before closing.
FRIDAY_5PM = datetime(2026, 11, 20, 17, 0, tzinfo=TAIPEI)


@pytest.fixture
def team(alice_csm, maria_manager):
    return TeamFactory(name="Taipei CS", members=[alice_csm], managers=[maria_manager])


@pytest.fixture
def high_playbook(db):
    return MatrixRow.objects.get(risk_level="high").playbook


@pytest.fixture
def two_step_playbook(db):
    playbook = PlaybookFactory(name="Two calls")
    PlaybookStepFactory(playbook=playbook, position=1, title="First call", due_offset_hours=4)
    PlaybookStepFactory(playbook=playbook, position=2, title="Second call", due_offset_hours=9)
    return playbook


def run_tasks(run):
    return list(run.tasks.select_related("assignee").order_by("step__position"))


# --- start_playbook ----------------------------------------------------------------------------


def test_starting_a_playbook_creates_a_task_per_step_due_in_business_hours(
    team, alice_csm, maria_manager, alice_account, high_playbook
):
    run = services.start_playbook(
        account=alice_account, playbook=high_playbook, started_by=alice_csm, now=FRIDAY_5PM
    )

    tasks = run_tasks(run)
    assert [(t.title, t.owner_role, t.assignee) for t in tasks] == [
        ("Convene the retention squad", "lead", maria_manager),
        ("Call the champion or decision maker", "csm", alice_csm),
        ("Prepare a tailored offer", "csm", alice_csm),
        ("Executive visit", "executive", maria_manager),
    ]
    # Friday 17:00 + 4 business hours: one hour on Friday, three on Monday morning.
    assert [timezone.localtime(t.due_at, TAIPEI) for t in tasks] == [
        datetime(2026, 11, 23, 12, 0, tzinfo=TAIPEI),
        datetime(2026, 11, 23, 12, 0, tzinfo=TAIPEI),
        datetime(2026, 11, 23, 17, 0, tzinfo=TAIPEI),
        datetime(2026, 11, 27, 17, 0, tzinfo=TAIPEI),
    ]
    assert all(t.status == TaskStatus.OPEN and t.priority == Priority.URGENT for t in tasks)
    assert [t.needs_approval for t in tasks] == [False, False, False, True]
    assert run.status == RunStatus.ACTIVE and run.started_by == alice_csm
    alice_account.refresh_from_db()
    assert alice_account.risk_level == "high"
    assert (
        AuditEvent.objects.filter(action="playbook.start", account=alice_account, actor=alice_csm).count()
        == 1
    )
    # The manager hears about the steps that landed in their queue; the starter needs no note.
    assigned = Notification.objects.filter(kind=NotificationKind.TASK_ASSIGNED)
    assert [n.recipient for n in assigned] == [maria_manager]


def test_every_step_counts_on_the_owners_team_calendar(
    team, alice_csm, maria_manager, alice_account, high_playbook
):
    # The team's Monday is a holiday: the manager's steps skip it like the CSM's.
    Holiday.objects.create(team=team, date=date(2026, 11, 23), name="Team day off")

    run = services.start_playbook(
        account=alice_account, playbook=high_playbook, started_by=alice_csm, now=FRIDAY_5PM
    )

    due = {t.title: timezone.localtime(t.due_at, TAIPEI) for t in run_tasks(run)}
    assert due["Call the champion or decision maker"] == datetime(2026, 11, 24, 12, 0, tzinfo=TAIPEI)
    assert due["Convene the retention squad"] == datetime(2026, 11, 24, 12, 0, tzinfo=TAIPEI)


def test_a_playbook_already_running_on_the_account_is_not_started_twice(
    team, alice_csm, alice_account, high_playbook
):
    services.start_playbook(
        account=alice_account, playbook=high_playbook, started_by=alice_csm, now=FRIDAY_5PM
    )

    with pytest.raises(ValidationError, match="already running"):
        services.start_playbook(account=alice_account, playbook=high_playbook, started_by=alice_csm)

    assert alice_account.playbook_runs.count() == 1
    assert Task.objects.filter(account=alice_account).count() == 4


def test_a_finished_playbook_can_be_started_again(team, alice_csm, alice_account, two_step_playbook):
    first = services.start_playbook(account=alice_account, playbook=two_step_playbook, started_by=alice_csm)
    for task in first.tasks.all():
        services.complete_task(task=task, user=alice_csm, outcome="reached")

    second = services.start_playbook(account=alice_account, playbook=two_step_playbook, started_by=alice_csm)

    assert second.pk != first.pk and second.status == RunStatus.ACTIVE


def test_a_csm_cannot_start_a_playbook_on_another_csms_account(alice_csm, bob_account, high_playbook):
    with pytest.raises(PermissionDenied):
        services.start_playbook(account=bob_account, playbook=high_playbook, started_by=alice_csm)

    assert not bob_account.playbook_runs.exists()


def test_a_switched_off_playbook_is_not_started(alice_csm, alice_account):
    playbook = PlaybookFactory(is_active=False)

    with pytest.raises(ValidationError):
        services.start_playbook(account=alice_account, playbook=playbook, started_by=alice_csm)


# --- complete_task -----------------------------------------------------------------------------


def test_completing_a_task_records_the_outcome_and_the_last_one_finishes_the_run(
    team, alice_csm, alice_account, two_step_playbook
):
    run = services.start_playbook(account=alice_account, playbook=two_step_playbook, started_by=alice_csm)
    first, second = run_tasks(run)
    done_at = timezone.now()

    services.complete_task(task=first, user=alice_csm, outcome="reached", note="Spoke to Grace", now=done_at)

    first.refresh_from_db()
    run.refresh_from_db()
    assert (first.status, first.outcome, first.outcome_note) == ("done", "reached", "Spoke to Grace")
    assert first.completed_at == done_at and first.completed_by == alice_csm
    assert run.status == RunStatus.ACTIVE and run.finished_at is None

    services.complete_task(task=second, user=alice_csm, outcome="resolved", now=done_at + timedelta(hours=1))

    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert run.finished_at == done_at + timedelta(hours=1)
    assert AuditEvent.objects.filter(action="task.done", actor=alice_csm).count() == 2


def test_of_two_racing_completions_exactly_one_wins(alice_csm, alice_account):
    task = TaskFactory(account=alice_account)
    # Two requests each loaded the task while it was open.
    mine, theirs = Task.objects.get(pk=task.pk), Task.objects.get(pk=task.pk)

    services.complete_task(task=mine, user=alice_csm, outcome="reached")
    with pytest.raises(TaskStateError):
        services.complete_task(task=theirs, user=alice_csm, outcome="no_answer")

    task.refresh_from_db()
    assert (task.status, task.outcome) == ("done", "reached")
    assert AuditEvent.objects.filter(action="task.done").count() == 1


def test_a_step_that_needs_approval_is_signed_off_by_a_manager_not_the_csm(
    team, alice_csm, maria_manager, alice_account
):
    task = TaskFactory(account=alice_account, needs_approval=True)

    with pytest.raises(PermissionDenied):
        services.complete_task(task=task, user=alice_csm, outcome="resolved")
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN

    services.complete_task(task=task, user=maria_manager, outcome="resolved")

    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.completed_by == maria_manager


def test_asking_for_signoff_tells_the_team_managers(
    team, alice_csm, maria_manager, alice_account, django_capture_on_commit_callbacks, mailoutbox
):
    task = TaskFactory(account=alice_account, needs_approval=True, title="Executive visit")

    with django_capture_on_commit_callbacks(execute=True):
        services.request_signoff(task=task, user=alice_csm)

    task.refresh_from_db()
    assert task.approval_requested_at is not None and task.status == TaskStatus.OPEN
    notification = Notification.objects.get(kind=NotificationKind.APPROVAL_REQUESTED)
    assert notification.recipient == maria_manager
    assert "Executive visit" in notification.title
    assert [m.to for m in mailoutbox] == [[maria_manager.email]]
    assert AuditEvent.objects.filter(action="task.request_signoff", actor=alice_csm).exists()


def test_a_step_without_approval_needs_no_signoff(alice_csm, alice_account):
    task = TaskFactory(account=alice_account)

    with pytest.raises(ValidationError):
        services.request_signoff(task=task, user=alice_csm)

    assert not Notification.objects.exists()


# --- snooze ------------------------------------------------------------------------------------


def test_snoozing_needs_a_time_in_the_future(alice_csm, alice_account):
    task = TaskFactory(account=alice_account)

    with pytest.raises(ValidationError) as error:
        services.snooze_task(task=task, user=alice_csm, until=timezone.now() - timedelta(minutes=1))

    assert "until" in error.value.message_dict
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and task.snoozed_until is None


def test_a_snoozed_task_leaves_the_queue_until_it_wakes(alice_csm, alice_account):
    task = TaskFactory(account=alice_account)
    now = timezone.now()
    until = now + timedelta(hours=3)

    services.snooze_task(task=task, user=alice_csm, until=until)

    task.refresh_from_db()
    assert (task.status, task.snoozed_until) == (TaskStatus.SNOOZED, until)
    assert list(queue.queue_tasks(alice_csm, now=now)) == []
    assert services.wake_snoozed_tasks(now=now + timedelta(hours=1)) == 0

    assert services.wake_snoozed_tasks(now=until) == 1

    task.refresh_from_db()
    assert (task.status, task.snoozed_until) == (TaskStatus.OPEN, None)
    assert list(queue.queue_tasks(alice_csm, now=until)) == [task]


# --- who may act -------------------------------------------------------------------------------


def test_a_csm_cannot_act_on_another_csms_task(alice_csm, bob_other_csm, alice_account):
    task = TaskFactory(account=alice_account)

    with pytest.raises(PermissionDenied):
        services.complete_task(task=task, user=bob_other_csm, outcome="reached")
    with pytest.raises(PermissionDenied):
        services.snooze_task(task=task, user=bob_other_csm, until=timezone.now() + timedelta(hours=1))
    with pytest.raises(PermissionDenied):
        services.cancel_task(task=task, user=bob_other_csm)

    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_a_manager_reassigns_within_their_team(team, alice_csm, maria_manager, alice_account):
    carol = UserFactory(username="carol", roles=["csm"])
    team.members.add(carol)
    task = TaskFactory(account=alice_account, title="Call the champion")

    services.reassign_task(task=task, manager=maria_manager, assignee=carol)

    task.refresh_from_db()
    assert task.assignee == carol
    event = AuditEvent.objects.get(action="task.reassign")
    assert event.actor == maria_manager and event.details == {"previous": "alice", "assignee": "carol"}
    assert Notification.objects.get(kind=NotificationKind.TASK_ASSIGNED).recipient == carol


def test_a_manager_may_not_reassign_to_someone_outside_their_teams(
    team, alice_csm, bob_other_csm, maria_manager, alice_account
):
    task = TaskFactory(account=alice_account)

    with pytest.raises(PermissionDenied):
        services.reassign_task(task=task, manager=maria_manager, assignee=bob_other_csm)

    task.refresh_from_db()
    assert task.assignee == alice_csm


def test_a_manager_of_another_team_may_not_reassign(team, alice_csm, alice_account):
    otto = UserFactory(username="otto", roles=["manager"])
    carol = UserFactory(username="carol", roles=["csm"])
    TeamFactory(name="Kaohsiung CS", members=[carol], managers=[otto])
    task = TaskFactory(account=alice_account)

    with pytest.raises(PermissionDenied):
        services.reassign_task(task=task, manager=otto, assignee=carol)

    task.refresh_from_db()
    assert task.assignee == alice_csm


def test_a_csm_may_not_reassign(team, alice_csm, alice_account):
    carol = UserFactory(username="carol", roles=["csm"])
    team.members.add(carol)
    task = TaskFactory(account=alice_account)

    with pytest.raises(PermissionDenied):
        services.reassign_task(task=task, manager=alice_csm, assignee=carol)


# --- SLA breaches ------------------------------------------------------------------------------


def test_an_overdue_task_is_escalated_once_to_the_team_managers(
    team, alice_csm, maria_manager, alice_account, django_capture_on_commit_callbacks, mailoutbox
):
    now = timezone.now()
    late = TaskFactory(account=alice_account, title="Call the champion", due_at=now - timedelta(hours=2))
    on_time = TaskFactory(account=alice_account, due_at=now + timedelta(hours=2))
    done = TaskFactory(
        account=alice_account,
        due_at=now - timedelta(hours=5),
        status="done",
        completed_at=now,
        outcome="reached",
    )
    outsider = UserFactory(username="otto", roles=["manager"])
    TeamFactory(name="Kaohsiung CS", managers=[outsider])

    with django_capture_on_commit_callbacks(execute=True):
        assert services.escalate_breaches(now=now) == 1

    late.refresh_from_db()
    on_time.refresh_from_db()
    done.refresh_from_db()
    assert late.breached_at == now
    assert on_time.breached_at is None and done.breached_at is None
    notification = Notification.objects.get(kind=NotificationKind.SLA_BREACHED)
    assert notification.recipient == maria_manager
    assert "Acme Ltd" in notification.body and "Call the champion" in notification.body
    delivery = Delivery.objects.get(notification=notification)
    assert (delivery.channel, delivery.to, delivery.status) == (
        "email",
        maria_manager.email,
        DeliveryStatus.SENT,
    )
    assert [m.to for m in mailoutbox] == [[maria_manager.email]]
    assert AuditEvent.objects.filter(action="task.breach", account=alice_account).count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert services.escalate_breaches(now=now + timedelta(hours=1)) == 0

    assert Notification.objects.filter(kind=NotificationKind.SLA_BREACHED).count() == 1
    assert len(mailoutbox) == 1


def test_a_snoozed_or_finished_task_is_not_escalated(alice_csm, maria_manager, alice_account):
    now = timezone.now()
    TaskFactory(
        account=alice_account,
        due_at=now - timedelta(hours=2),
        status="snoozed",
        snoozed_until=now + timedelta(hours=1),
    )
    TaskFactory(account=alice_account, due_at=now - timedelta(hours=2), status="cancelled")

    assert services.escalate_breaches(now=now) == 0
    assert not Notification.objects.exists()


# --- one way to start a playbook, one way to set risk (issue 15) ------------------------------


def test_starting_a_milder_playbook_never_lowers_the_risk_level(team, alice_csm, alice_account):
    alice_account.risk_level = "high"
    alice_account.save(update_fields=["risk_level"])
    low = MatrixRow.objects.get(risk_level="low").playbook

    services.start_playbook(account=alice_account, playbook=low, started_by=alice_csm, now=FRIDAY_5PM)

    alice_account.refresh_from_db()
    assert alice_account.risk_level == "high"


def test_a_rule_that_starts_a_playbook_raises_the_risk_to_the_playbooks_level(team, alice_csm, high_playbook):
    from playbooks.rules import run_rules
    from tests.health.factories import HealthSnapshotFactory
    from tests.playbooks.factories import RuleFactory

    account = AccountFactory(owner=alice_csm, health_score=30, health_tier="high")
    HealthSnapshotFactory(account=account, date=date(2026, 11, 20), score=30)
    RuleFactory(
        condition_kind="score_below", threshold=40, days=1, set_risk_level="", start_playbook=high_playbook
    )

    run_rules(as_of=date(2026, 11, 20), now=FRIDAY_5PM)

    account.refresh_from_db()
    assert account.risk_level == "high"
    assert account.playbook_runs.get().playbook == high_playbook
    # One playbook start, whoever starts it: its tasks are the playbook's steps.
    assert sorted(account.tasks.values_list("title", flat=True)) == sorted(
        high_playbook.steps.values_list("title", flat=True)
    )
