"""Every write to playbooks, runs and tasks goes through these functions.

Who does a task: CSM, sales and product steps go to the account's owner (the CSM convenes the
squad); CS lead and executive steps go to the first manager of the owner's team. Due times are
business time on the assignee's team calendar (the owner's, for unassigned work).
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import RISK_RANK, Account, RiskLevel, Tag
from csworkbench.core.audit import changes_between
from csworkbench.core.models import AuditEvent, record_audit
from csworkbench.core.roles import Role, has_role

from .business_time import BusinessCalendar, SlaUnit, default_calendar, due_at
from .models import (
    OPEN_STATUSES,
    MatrixRow,
    NotificationKind,
    OwnerRole,
    Playbook,
    PlaybookRun,
    PlaybookStep,
    Priority,
    RunStatus,
    Task,
    TaskStatus,
    Team,
)

User = get_user_model()

PRIORITY_FOR_RISK = {
    RiskLevel.HIGH: Priority.URGENT,
    RiskLevel.MEDIUM: Priority.HIGH,
    RiskLevel.LOW: Priority.NORMAL,
}
LEAD_ROLES = (OwnerRole.LEAD, OwnerRole.EXECUTIVE)


class TaskStateError(ValidationError):
    """The task is no longer in a state that allows this (someone else acted first)."""


# --- teams, calendars and managers -------------------------------------------------------------


class TeamDirectory:
    """Teams, calendars and managers for a set of users, read in three queries, so batch work
    (rules over thousands of accounts) never asks per account."""

    def __init__(self, user_ids: Iterable[int | None] | None = None):
        teams = Team.objects.prefetch_related("holidays", "managers", "members")
        if user_ids is not None:
            teams = teams.filter(members__in=[u for u in user_ids if u]).distinct()
        self.team_of: dict[int, Team] = {}
        self.calendar_of_team: dict[int, BusinessCalendar] = {}
        for team in teams.order_by("name"):
            self.calendar_of_team[team.pk] = team.calendar()
            for member in team.members.all():
                self.team_of.setdefault(member.pk, team)
        self._fallback_managers: list | None = None

    def team(self, user_id: int | None) -> Team | None:
        return self.team_of.get(user_id) if user_id else None

    def calendar(self, user_id: int | None) -> BusinessCalendar:
        team = self.team(user_id)
        return self.calendar_of_team[team.pk] if team else default_calendar()

    def managers(self, user_id: int | None) -> list:
        """The managers of the user's team. For a user in no team with a manager: the managers
        who manage no team, or every manager while there is none (a small install) — the same
        managers who oversee them (`querysets.managed_member_ids`)."""
        team = self.team(user_id)
        if team is not None:
            managers = sorted(team.managers.all(), key=lambda m: m.pk)
            if managers:
                return managers
        if self._fallback_managers is None:
            everyone = list(
                User.objects.filter(groups__name=Role.MANAGER, is_active=True)
                .annotate(teams_managed=Count("managed_teams"))
                .order_by("pk")
            )
            self._fallback_managers = [m for m in everyone if not m.teams_managed] or everyone
        return self._fallback_managers


def calendar_for(user: Any) -> BusinessCalendar:
    return TeamDirectory([getattr(user, "pk", None)]).calendar(getattr(user, "pk", None))


def assignee_for(*, account: Account, owner_role: str, directory: TeamDirectory):
    if owner_role in LEAD_ROLES:
        managers = directory.managers(account.owner_id)
        if managers:
            return managers[0]
    return account.owner


def can_manage_team_of(manager: Any, user_id: int | None) -> bool:
    if has_role(manager, Role.ADMIN):
        return True
    if not has_role(manager, Role.MANAGER):
        return False
    managed = Team.objects.filter(managers=manager)
    if not managed.exists():
        return True
    return user_id is not None and managed.filter(members__pk=user_id).exists()


# --- the matrix's response times ---------------------------------------------------------------


class Responses:
    """The intervention matrix's "respond within" per risk level, read once: the source of the
    due time of every new task that has none of its own (playbook steps left empty, rule tasks
    without a due time)."""

    def __init__(self, rows: Iterable[tuple[str, int, str]] | None = None):
        if rows is None:
            rows = MatrixRow.objects.values_list("risk_level", "response_amount", "response_unit")
        self.by_level: dict[str, tuple[int, str]] = {level: (amount, unit) for level, amount, unit in rows}

    def for_level(self, risk_level: str) -> tuple[int, str]:
        """The level's response; with no level (or no row for it), the mildest row's, since a
        task must be due some time. Forms keep matrix-following steps to playbooks with a level."""
        for level in (risk_level, RiskLevel.LOW):
            if level in self.by_level:
                return self.by_level[level]
        return DEFAULT_RESPONSE

    def due_at(self, *, start: datetime, own_hours: int | None, risk_level: str, calendar) -> datetime:
        if own_hours is not None:
            return due_at(start, own_hours, SlaUnit.BUSINESS_HOURS, calendar)
        amount, unit = self.for_level(risk_level)
        return due_at(start, amount, unit, calendar)


# With no matrix at all (an emptied table), a day of working hours.
DEFAULT_RESPONSE = (24, SlaUnit.BUSINESS_HOURS)


# --- playbooks ---------------------------------------------------------------------------------


def build_run_tasks(
    *,
    account: Account,
    playbook: Playbook,
    steps: list[PlaybookStep],
    run: PlaybookRun,
    start: datetime,
    directory: TeamDirectory,
    responses: Responses,
    created_by: Any = None,
    rule: Any = None,
) -> list[Task]:
    """The run's tasks, one per step, unsaved (callers bulk-create them). A step without its own
    due time is due as the matrix row of the task's risk level says."""
    risk = playbook.risk_level or account.risk_level
    tasks = []
    for step in steps:
        assignee = assignee_for(account=account, owner_role=step.owner_role, directory=directory)
        # A manager is often in no team as a member: their steps count on the owner's calendar.
        on_team = assignee is not None and directory.team(assignee.pk) is not None
        calendar = directory.calendar(assignee.pk if on_team else account.owner_id)
        tasks.append(
            Task(
                account=account,
                run=run,
                step=step,
                rule=rule,
                title=step.title,
                guidance=step.guidance,
                kind=step.kind,
                email_template=step.email_template,
                needs_approval=step.needs_approval,
                assignee=assignee,
                owner_role=step.owner_role,
                risk_level=risk,
                priority=PRIORITY_FOR_RISK.get(risk, Priority.NORMAL),
                due_at=responses.due_at(
                    start=start, own_hours=step.due_offset_hours, risk_level=risk, calendar=calendar
                ),
                created_at=start,
                created_by=created_by,
            )
        )
    return tasks


@transaction.atomic
def start_playbook(
    *,
    account: Account,
    playbook: Playbook,
    started_by: Any = None,
    rule: Any = None,
    now: datetime | None = None,
) -> PlaybookRun:
    """Start a playbook on one account, for a person: their right to change the account is
    checked, and a playbook already running on it is refused with a message (`start_playbooks`
    does the work)."""
    if started_by is not None and not Account.objects.editable_by(started_by).filter(pk=account.pk).exists():
        raise PermissionDenied(_("You may not start playbooks on this account."))
    if not playbook.is_active:
        raise ValidationError(_("This playbook is switched off."))
    started = start_playbooks(
        accounts=[account], playbook=playbook, started_by=started_by, rule=rule, now=now
    )
    if not started.runs:
        raise ValidationError(
            _("“%(playbook)s” is already running on this account.") % {"playbook": playbook}
        )
    return started.runs[0]


class Started:
    """What `start_playbooks` did: the runs it started and the tasks it created."""

    def __init__(self, runs: list[PlaybookRun], tasks: list[Task]):
        self.runs = runs
        self.tasks = tasks


@transaction.atomic
def start_playbooks(
    *,
    accounts: list[Account],
    playbook: Playbook,
    started_by: Any = None,
    rule: Any = None,
    now: datetime | None = None,
    directory: TeamDirectory | None = None,
    responses: Responses | None = None,
    announce: bool = True,
) -> Started:
    """Start a playbook on each account not already running it — the one way a playbook starts,
    by a person or by a rule: the runs in one INSERT, a task per step in the owners' queues (one
    INSERT), due in business time, and the accounts' risk raised to the playbook's level (never
    lowered: `raise_risk_level`). With `announce`, each start is audited and the assignees are
    told; a rule announces its whole firing itself."""
    now = now or timezone.now()
    if not playbook.is_active or not accounts:
        return Started([], [])
    busy = set(
        PlaybookRun.objects.select_for_update()
        .filter(playbook=playbook, status=RunStatus.ACTIVE, account_id__in=[a.pk for a in accounts])
        .values_list("account_id", flat=True)
    )
    starting = [account for account in accounts if account.pk not in busy]
    try:
        with transaction.atomic():
            runs = PlaybookRun.objects.bulk_create(
                [
                    PlaybookRun(
                        account=account, playbook=playbook, started_by=started_by, rule=rule, started_at=now
                    )
                    for account in starting
                ]
            )
    except IntegrityError:  # started meanwhile by someone else: the unique index decides
        return Started([], [])
    if playbook.risk_level:
        raise_risk_level(accounts=starting, level=playbook.risk_level, now=now)
    directory = directory or TeamDirectory({account.owner_id for account in starting})
    responses = responses or Responses()
    steps = list(playbook.steps.select_related("email_template").order_by("position"))
    tasks: list[Task] = []
    for account, run in zip(starting, runs, strict=True):
        tasks += build_run_tasks(
            account=account,
            playbook=playbook,
            steps=steps,
            run=run,
            start=now,
            directory=directory,
            responses=responses,
            created_by=started_by,
            rule=rule,
        )
    tasks = Task.objects.bulk_create(tasks)
    if announce:
        for account in starting:
            record_audit(
                actor=started_by,
                action="playbook.start",
                account=account,
                target=playbook.name,
                tasks=sum(1 for task in tasks if task.account_id == account.pk),
                rule=rule.name if rule else "",
            )
        notify_assignees(tasks=tasks, actor=started_by)
    return Started(runs, tasks)


def raise_risk_level(*, accounts: list[Account], level: str, now: datetime | None = None) -> int:
    """Set the risk level `level` on the accounts below it, in one UPDATE — the one way a risk
    level is set, by a rule or by a playbook starting. It never lowers an account already higher:
    a Low care touch started on a High-risk account leaves it High. Returns how many rose."""
    now = now or timezone.now()
    ranks = {str(value): rank for value, rank in RISK_RANK.items()}
    lower = ["", *(value for value, rank in ranks.items() if rank < ranks[level])]
    raising = [account for account in accounts if account.risk_level in lower]
    Account.objects.filter(pk__in=[a.pk for a in raising], risk_level__in=lower).update(
        risk_level=level, risk_level_set_at=now
    )
    for account in raising:
        account.risk_level = level
        account.risk_level_set_at = now
    return len(raising)


def add_tag(*, account_ids: Iterable[int], name: str) -> None:
    tag, _created = Tag.objects.get_or_create(name=name)
    through = Account.tags.through
    existing = set(
        through.objects.filter(tag=tag, account_id__in=account_ids).values_list("account_id", flat=True)
    )
    through.objects.bulk_create(
        [through(account_id=pk, tag=tag) for pk in account_ids if pk not in existing], ignore_conflicts=True
    )


def notify_assignees(*, tasks: Iterable[Task], actor: Any = None) -> None:
    """Tell each assignee what landed in their queue, one notification per person."""
    from .notifications import notify

    by_user: dict[int, list[Task]] = {}
    users = {}
    for task in tasks:
        if task.assignee_id and task.assignee_id != getattr(actor, "pk", None):
            by_user.setdefault(task.assignee_id, []).append(task)
            users[task.assignee_id] = task.assignee
    for user_id, user_tasks in by_user.items():
        first, count = user_tasks[0], len(user_tasks)
        notify(
            recipients=[users[user_id]],
            kind=NotificationKind.TASK_ASSIGNED,
            title=lambda count=count, account=first.account: (
                ngettext("%(count)s new task on %(account)s", "%(count)s new tasks on %(account)s", count)
                % {"count": count, "account": account}
            ),
            body="\n".join(f"· {t.title}" for t in user_tasks),
            url=reverse("accounts:detail", args=[first.account_id]),
            account=first.account,
        )


# --- tasks -------------------------------------------------------------------------------------


def _check_can_work(task: Task, user: Any) -> None:
    if not Task.objects.workable_by(user).filter(pk=task.pk).exists():
        raise PermissionDenied(_("You may not change this task."))


def _transition(task: Task, *, allowed: Iterable[str], **changes: Any) -> Task:
    """A conditional UPDATE: only one of two racing requests changes the row."""
    updated = Task.objects.filter(pk=task.pk, status__in=list(allowed)).update(**changes)
    if not updated:
        task.refresh_from_db()
        raise TaskStateError(
            _("This task is already %(status)s.") % {"status": task.get_status_display().lower()}
        )
    for name, value in changes.items():
        setattr(task, name, value)
    return task


@transaction.atomic
def complete_task(
    *, task: Task, user: Any, outcome: str, note: str = "", now: datetime | None = None
) -> Task:
    """Mark a task done with its outcome. A step that needs approval is signed off by a CS lead."""
    _check_can_work(task, user)
    if task.needs_approval and not has_role(user, Role.MANAGER, Role.ADMIN):
        raise PermissionDenied(_("A CS lead signs this step off. Ask for sign-off instead."))
    now = now or timezone.now()
    _transition(
        task,
        allowed=OPEN_STATUSES,
        status=TaskStatus.DONE,
        outcome=outcome,
        outcome_note=note,
        completed_at=now,
        completed_by=user,
        snoozed_until=None,
    )
    record_audit(actor=user, action="task.done", account=task.account, target=task.title, outcome=outcome)
    if task.run_id:
        finish_run_if_done(task.run_id, now=now)
    return task


def finish_run_if_done(run_id: int, *, now: datetime) -> None:
    if not Task.objects.filter(run_id=run_id, status__in=OPEN_STATUSES).exists():
        PlaybookRun.objects.filter(pk=run_id, status=RunStatus.ACTIVE).update(
            status=RunStatus.COMPLETED, finished_at=now
        )


@transaction.atomic
def snooze_task(*, task: Task, user: Any, until: datetime) -> Task:
    _check_can_work(task, user)
    if until <= timezone.now():
        raise ValidationError({"until": _("Snooze until a time in the future.")})
    _transition(task, allowed=OPEN_STATUSES, status=TaskStatus.SNOOZED, snoozed_until=until)
    record_audit(
        actor=user, action="task.snooze", account=task.account, target=task.title, until=until.isoformat()
    )
    return task


def wake_snoozed_tasks(*, now: datetime | None = None) -> int:
    """Snoozed tasks whose time has come go back to open (one UPDATE)."""
    now = now or timezone.now()
    return Task.objects.filter(status=TaskStatus.SNOOZED, snoozed_until__lte=now).update(
        status=TaskStatus.OPEN, snoozed_until=None
    )


@transaction.atomic
def cancel_task(*, task: Task, user: Any, note: str = "") -> Task:
    _check_can_work(task, user)
    _transition(
        task, allowed=OPEN_STATUSES, status=TaskStatus.CANCELLED, outcome_note=note, snoozed_until=None
    )
    record_audit(actor=user, action="task.cancel", account=task.account, target=task.title)
    if task.run_id:
        finish_run_if_done(task.run_id, now=timezone.now())
    return task


@transaction.atomic
def reassign_task(*, task: Task, manager: Any, assignee: Any) -> Task:
    """Managers move work between the CSMs of their teams."""
    if not can_manage_team_of(manager, task.assignee_id) or not can_manage_team_of(manager, assignee.pk):
        raise PermissionDenied(_("You may reassign only within the teams you manage."))
    if not has_role(assignee, Role.CSM, Role.MANAGER):
        raise ValidationError({"assignee": _("Tasks go to CSMs or managers.")})
    previous = task.assignee
    _transition(task, allowed=OPEN_STATUSES, assignee=assignee)
    record_audit(
        actor=manager,
        action="task.reassign",
        account=task.account,
        target=task.title,
        previous=getattr(previous, "username", ""),
        assignee=assignee.username,
    )
    task.assignee = assignee
    notify_assignees(tasks=[task], actor=manager)
    return task


@transaction.atomic
def request_signoff(*, task: Task, user: Any) -> Task:
    from .notifications import notify

    _check_can_work(task, user)
    if not task.needs_approval:
        raise ValidationError(_("This step needs no sign-off."))
    _transition(task, allowed=OPEN_STATUSES, approval_requested_at=timezone.now())
    notify(
        recipients=TeamDirectory([task.account.owner_id]).managers(task.account.owner_id),
        kind=NotificationKind.APPROVAL_REQUESTED,
        title=lambda: (
            _("Sign-off requested: %(task)s on %(account)s") % {"task": task.title, "account": task.account}
        ),
        url=reverse("playbooks:team_queue"),
        account=task.account,
        email=True,
    )
    record_audit(actor=user, action="task.request_signoff", account=task.account, target=task.title)
    return task


# --- SLA breaches ------------------------------------------------------------------------------


def escalate_breaches(*, now: datetime | None = None) -> int:
    """Find open tasks past due that nobody escalated yet, mark them, and tell the managers of
    the assignee's team (in the app, by email and in the team's chat). Safe to run often and
    concurrently: each breach is claimed once."""
    from .notifications import notify

    now = now or timezone.now()
    with transaction.atomic():
        # Rows another escalation run holds are skipped (PostgreSQL), so two runs never claim
        # the same breach; the claim itself is one UPDATE for the whole batch.
        claimed = list(
            Task.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=TaskStatus.OPEN, due_at__lt=now, breached_at__isnull=True)
            .select_related("account", "assignee")
            .order_by("due_at")[:5000]
        )
        if not claimed:
            return 0
        Task.objects.filter(pk__in=[task.pk for task in claimed]).update(breached_at=now)
    directory = TeamDirectory([t.assignee_id or t.account.owner_id for t in claimed])
    by_manager: dict[int, tuple[Any, list[Task]]] = {}
    for task in claimed:
        who = task.assignee_id or task.account.owner_id
        for manager in directory.managers(who):
            by_manager.setdefault(manager.pk, (manager, []))[1].append(task)
    for manager, tasks in by_manager.values():
        len_tasks = len(tasks)

        def lines(tasks: list[Task] = tasks) -> str:
            return "\n".join(
                f"· {t.account} — {t.title} ({t.assignee or _('unassigned')}, {_('due')} "
                f"{date_format(timezone.localtime(t.due_at), 'SHORT_DATETIME_FORMAT')})"
                for t in tasks
            )

        notify(
            recipients=[manager],
            kind=NotificationKind.SLA_BREACHED,
            title=lambda count=len_tasks: (
                ngettext("%(count)s task breached its SLA", "%(count)s tasks breached their SLA", count)
                % {"count": count}
            ),
            body=lines,
            url=reverse("playbooks:team_queue"),
            email=True,
            chat_team=directory.team(tasks[0].assignee_id or tasks[0].account.owner_id),
        )
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(actor=None, action="task.breach", account=task.account, target=task.title)
            for task in claimed
        ]
    )
    return len(claimed)


# --- the matrix and playbooks --------------------------------------------------------------------


@transaction.atomic
def update_matrix_row(*, row: MatrixRow, user: Any, changed: list[str]) -> MatrixRow:
    """Save a matrix row edited by its form; the audit row says each field's old and new value."""
    before = MatrixRow.objects.get(pk=row.pk)
    row.updated_by = user
    row.full_clean()
    row.save()
    record_audit(
        actor=user,
        action="matrix.update",
        target=row.risk_level,
        **changes_between(before, row, fields=changed),
    )
    return row


@transaction.atomic
def save_playbook(*, form: Any, steps: Any, user: Any) -> Playbook:
    """Save a playbook and its steps (a bound, valid ModelForm and inline formset). Positions
    are renumbered 1..n in the order given, so reordering never collides on the unique index."""
    playbook = form.save()
    steps.instance = playbook
    kept = steps.save(commit=False)
    for removed in steps.deleted_objects:
        removed.delete()
    ordered = sorted(
        [s for s in playbook.steps.all() if s.pk not in {k.pk for k in kept}] + list(kept),
        key=lambda s: (s.position, s.pk or 0),
    )
    # Park the existing rows on high positions first, then write the final order.
    for offset, step in enumerate(s for s in ordered if s.pk):
        PlaybookStep.objects.filter(pk=step.pk).update(position=10000 + offset)
    for position, step in enumerate(ordered, start=1):
        step.position = position
        step.playbook = playbook
        step.save()
    record_audit(actor=user, action="playbook.save", target=playbook.name, steps=len(ordered))
    return playbook
