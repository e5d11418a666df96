"""The demo's working day: a team with its calendar, playbooks running on the story accounts, the
example rules switched on and run over the seeded scores, some history of work done, and
retention plans in every state.

Called by `seed.seed_demo` after the accounts are scored, inside its transaction. The plans' texts
are data: data/plans.toml, and the story accounts' own plans in data/stories.toml.
"""

import random
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from accounts.models import Account, RiskLevel
from interviews.models import SubReason
from playbooks import plans
from playbooks.business_time import add_business_hours
from playbooks.defaults import ensure_defaults
from playbooks.models import (
    OPEN_STATUSES,
    Delivery,
    Holiday,
    MatrixRow,
    Notification,
    Outcome,
    PlanStatus,
    PlaybookRun,
    RetentionPlan,
    Rule,
    RuleFiring,
    StepKind,
    Task,
    TaskStatus,
    Team,
)
from playbooks.rules import run_rules
from playbooks.services import complete_task, escalate_breaches, start_playbook

from .records import load
from .stories import STORIES

TEAM_NAME = "Taipei CS"

# The story accounts' responses, in the order they were started: (story, the matrix row's risk
# level, working days ago). Harbor Logistics' champion left: the High-risk squad. Polite Co writes
# charming emails and never logs in: Medium. Sprout Design, new and not yet activated, gets the
# Low-risk care touch.
_STORY_RUNS = (
    ("champion_left", RiskLevel.HIGH, 2),
    ("polite", RiskLevel.MEDIUM, 1),
    ("onboarding", RiskLevel.LOW, 4),
)
# Plans for the other at-risk and churned accounts, one per state, in this order.
_PLANS: list[dict[str, Any]] = load("plans")["plan"]
_OTHER_PLAN_TARGET_DAYS = 30


def clear() -> None:
    """Work hanging off users rather than accounts (accounts cascade the rest)."""
    Notification.objects.all().delete()
    Delivery.objects.all().delete()
    RuleFiring.objects.all().delete()
    PlaybookRun.objects.all().delete()
    Task.objects.all().delete()


def ensure_team(users: dict[str, Any], *, today: date) -> Team:
    team, _created = Team.objects.get_or_create(
        name=TEAM_NAME, defaults={"time_zone": "Asia/Taipei", "working_days": "12345"}
    )
    team.members.set([users["csm"], users["csm2"]])
    team.managers.set([users["manager"]])
    # The next New Year's Day is a holiday, so due times visibly skip it in December.
    new_year = date(today.year + 1, 1, 1)
    Holiday.objects.get_or_create(team=team, date=new_year, defaults={"name": "New Year's Day"})
    return team


def seed_playbooks(*, users: dict[str, Any], stories: dict[str, str], today: date, seed: int = 7) -> dict:
    """Start the standard responses on the story accounts (some of them days ago, so the
    queue has overdue work), switch the example rules on and run them, then escalate."""
    ensure_defaults()
    rng = random.Random(seed)
    team = ensure_team(users, today=today)
    calendar = team.calendar()
    now = timezone.now()
    matrix = {row.risk_level: row.playbook for row in MatrixRow.objects.select_related("playbook")}
    by_external = {a.external_id: a for a in Account.objects.filter(external_id__in=stories.values())}

    def started(days_ago: int) -> datetime:
        """10:00 on the working day `days_ago` working days back (never in the future), so the
        story reads the same whatever weekday the demo is seeded on."""
        day = today
        while not calendar.is_working_day(day):
            day -= timedelta(days=1)
        for _step in range(days_ago):
            day -= timedelta(days=1)
            while not calendar.is_working_day(day):
                day -= timedelta(days=1)
        return min(datetime.combine(day, time(10, 0), tzinfo=calendar.zone), now)

    runs = 0
    for key, level, days_ago in _STORY_RUNS:
        account = by_external.get(stories[key])
        if account is not None:
            start_playbook(
                account=account, playbook=matrix[level], started_by=users["csm"], now=started(days_ago)
            )
            runs += 1

    # A few more at-risk accounts for each CSM, started over the last week.
    at_risk = list(
        Account.objects.active()
        .filter(health_tier__in=["high", "medium"], owner__isnull=False)
        .exclude(external_id__in=stories.values())
        .order_by("health_score", "pk")[:12]
    )
    for account in at_risk[:6]:
        level = RiskLevel.HIGH if account.health_tier == "high" else RiskLevel.MEDIUM
        start_playbook(
            account=account, playbook=matrix[level], started_by=account.owner, now=started(rng.randint(0, 5))
        )
        runs += 1

    # Some of the work is already done: the history a CSM and manager would see.
    # Up to four per CSM, the earliest due first, and never a CSM's last overdue task: each
    # queue keeps some overdue work to show.
    done = 0
    overdue = Task.objects.filter(
        status=TaskStatus.OPEN, due_at__lt=now, needs_approval=False, assignee__isnull=False
    )
    finished = []
    for name in ("csm", "csm2"):
        theirs = list(
            overdue.filter(assignee=users[name])
            .select_related("account", "assignee")
            .order_by("due_at", "pk")
        )
        finished += theirs[: min(4, len(theirs) - 1)]
    for task in finished:
        complete_task(
            task=task,
            user=task.assignee,
            outcome=rng.choice([Outcome.REACHED, Outcome.NO_ANSWER, Outcome.RESOLVED]),
            note="",
            now=min(now, add_business_hours(task.created_at, 3, calendar)),
        )
        done += 1

    Rule.objects.filter(name__in=["Score below 60 for a week", "Tier A below 70 for 3 days"]).update(
        is_enabled=True
    )
    fired = run_rules(as_of=today)
    breaches = escalate_breaches(now=now)
    return {
        "runs": runs,
        "done": done,
        "rule_firings": sum(fired.fired.values()),
        "breaches": breaches,
        "open_tasks": open_tasks_by_csm(users),
        "unassigned": Task.objects.filter(Q(assignee__isnull=True), status__in=OPEN_STATUSES).count(),
    }


# --- Retention plans ------------------------------------------------------------------------------


def seed_plans(*, users: dict[str, Any], stories: dict[str, str], today: date) -> dict[str, int]:
    """Retention plans in every state, written through the services so their history, approvals,
    tasks and notifications are real: Harbor Logistics' plan awaits the manager's approval (drafted
    from its High-risk playbook's task), Polite Co has a draft, and other at-risk or churned
    accounts carry plans sent back, approved, rejected, active and closed (saved, downgraded,
    churned) across playbooks, offers and risk levels, so the save-rate page has data."""
    manager = users["manager"]
    reasons = {r.path: r for r in SubReason.objects.select_related("category")}
    by_external = {a.external_id: a for a in Account.objects.filter(external_id__in=stories.values())}

    def retention_task(account: Account) -> Task | None:
        return (
            Task.objects.filter(account=account, kind=StepKind.RETENTION_PLAN, run__isnull=False)
            .select_related("run__playbook")
            .order_by("created_at", "pk")
            .first()
        )

    def draft(account: Account, record: Mapping[str, Any], *, days: int) -> RetentionPlan:
        reason = reasons[record["root_cause"]]
        return plans.draft_plan(
            account=account,
            author=account.owner,
            task=retention_task(account),
            root_cause=reason.category,
            root_cause_detail=reason,
            diagnosis=record["diagnosis"],
            objectives=record["objectives"],
            target_date=today + timedelta(days=days),
            offers=[
                {
                    "kind": offer["kind"],
                    "description": offer["description"],
                    "discount_percent": offer.get("discount_percent"),
                    "cost": offer["cost"],
                    "duration_months": offer["duration_months"],
                }
                for offer in record["offer"]
            ],
            steps=[
                {
                    "title": step["title"],
                    "owner_role": step["owner_role"],
                    "due_offset_hours": step["due_offset_hours"],
                }
                for step in record["step"]
            ],
        )

    def submit(plan: RetentionPlan) -> RetentionPlan:
        return plans.submit_plan(plan=plan, user=plan.author, expected_version=plan.version)

    def approve(plan: RetentionPlan, comment: str = "") -> RetentionPlan:
        if plan.status == PlanStatus.SUBMITTED:
            plan = plans.approve_plan(
                plan=plan, manager=manager, comment=comment, expected_version=plan.version
            )
        return plan

    # Accounts for the other plans: first those whose playbook asks for a plan (so the plans
    # carry their playbook), then at-risk and churned accounts with an owner.
    story_plans = [story for story in STORIES if "retention_plan" in story.record]
    used = {stories.get(story.key) for story in story_plans}
    with_runs = (
        Account.objects.filter(
            tasks__kind=StepKind.RETENTION_PLAN, tasks__run__isnull=False, owner__isnull=False
        )
        .exclude(external_id__in=used)
        .distinct()
        .order_by("health_score", "pk")
    )
    others = (
        Account.objects.filter(owner__isnull=False)
        .filter(Q(health_tier__in=["high", "medium"]) | Q(status="churned"))
        .exclude(external_id__in=used)
        .order_by("status", "health_score", "pk")
    )
    candidates: list[Account] = []
    for account in [*with_runs, *others]:
        if account.pk not in {c.pk for c in candidates}:
            candidates.append(account)

    # The story accounts' own plans. A submitted one went in yesterday afternoon and waits for
    # the manager (Harbor Logistics': its squad's "tailored offer" task became the plan).
    for story in story_plans:
        account = by_external.get(stories.get(story.key, ""))
        if account is None or not account.owner_id:
            continue
        record = story.record["retention_plan"]
        plan = draft(account, record, days=record["target_days"])
        if record["status"] == PlanStatus.SUBMITTED:
            plan = submit(plan)
            yesterday = timezone.now() - timedelta(days=1)
            RetentionPlan.objects.filter(pk=plan.pk).update(
                created_at=yesterday - timedelta(hours=2), submitted_at=yesterday
            )
            plan.events.filter(to_status=PlanStatus.DRAFT).update(created_at=yesterday - timedelta(hours=2))
            plan.events.filter(to_status=PlanStatus.SUBMITTED).update(created_at=yesterday)

    for account, record in zip(candidates, _PLANS, strict=False):
        status, comment = record["status"], record.get("manager_comment", "")
        plan = draft(account, record, days=_OTHER_PLAN_TARGET_DAYS)
        if status == "draft":
            continue
        plan = submit(plan)
        if status == "changes_requested":
            plans.request_changes(plan=plan, manager=manager, comment=comment, expected_version=plan.version)
        elif status == "rejected":
            plans.reject_plan(plan=plan, manager=manager, comment=comment, expected_version=plan.version)
        elif status in ("approved", "active", "closed"):
            plan = approve(plan, comment)
            if status in ("active", "closed"):
                plan = plans.activate_plan(plan=plan, user=plan.author, expected_version=plan.version)
            if status == "closed":
                plans.close_plan(
                    plan=plan,
                    user=plan.author,
                    outcome=record["outcome"],
                    comment=record["closing_comment"],
                    expected_version=plan.version,
                )

    counts = dict.fromkeys(PlanStatus.values, 0)
    for status in RetentionPlan.objects.values_list("status", flat=True):
        counts[status] += 1
    return counts


def open_tasks_by_csm(users: dict[str, Any]) -> dict[str, int]:
    """Each demo CSM's open tasks now: plans complete drafting tasks and add next-step tasks,
    so the count seed_playbooks returned is refreshed after seed_plans."""
    return {
        name: Task.objects.filter(assignee=users[name], status__in=OPEN_STATUSES).count()
        for name in ("csm", "csm2")
    }
