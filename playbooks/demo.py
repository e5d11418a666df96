"""The demo's working day: a team with its calendar, playbooks running on the story accounts,
the example rules switched on and run over the seeded scores, and some history of work done.

Called by accounts.demo.seed_demo after the accounts are scored, inside its transaction.
"""

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from accounts.models import Account, RiskLevel

from .business_time import add_business_hours
from .models import (
    OPEN_STATUSES,
    Delivery,
    Holiday,
    MatrixRow,
    Notification,
    Outcome,
    PlaybookRun,
    Rule,
    RuleFiring,
    Task,
    TaskStatus,
    Team,
)

TEAM_NAME = "Taipei CS"


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
    from .defaults import ensure_defaults
    from .rules import run_rules
    from .services import complete_task, escalate_breaches, start_playbook

    ensure_defaults()
    rng = random.Random(seed)  # noqa: S311 -- reproducible demo data, not security
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
    # Harbor Logistics: the champion left; the High-risk squad started two working days ago.
    harbor = by_external.get(stories["champion_left"])
    if harbor is not None:
        start_playbook(
            account=harbor, playbook=matrix[RiskLevel.HIGH], started_by=users["csm"], now=started(2)
        )
        runs += 1
    # Polite Co: charming emails, no logins. Medium risk, started yesterday.
    polite = by_external.get(stories["polite"])
    if polite is not None:
        start_playbook(
            account=polite, playbook=matrix[RiskLevel.MEDIUM], started_by=users["csm"], now=started(1)
        )
        runs += 1
    # Sprout Design: a new account not yet activated gets the Low-risk care touch.
    sprout = by_external.get(stories["onboarding"])
    if sprout is not None:
        start_playbook(
            account=sprout, playbook=matrix[RiskLevel.LOW], started_by=users["csm"], now=started(4)
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
    open_by_csm = {
        name: Task.objects.filter(assignee=users[name], status__in=OPEN_STATUSES).count()
        for name in ("csm", "csm2")
    }
    return {
        "runs": runs,
        "done": done,
        "rule_firings": sum(fired.fired.values()),
        "breaches": breaches,
        "open_tasks": open_by_csm,
        "unassigned": Task.objects.filter(Q(assignee__isnull=True), status__in=OPEN_STATUSES).count(),
    }


# --- Retention plans ------------------------------------------------------------------------------

# (status to reach, root cause "category/sub-reason", diagnosis, objectives, offers, next steps,
#  manager's comment, outcome). Offers stay under the default second limits: the demo has one manager.
_PLAN_STORIES: list[tuple] = [
    (
        "draft",
        "service/weak_onboarding",
        "Warm replies to every email, but no logins for three weeks: nobody was trained after go-live.",
        "Two trained power users and logins back to weekly within a month.",
        [("free_module", "Training module for two new admins", None, 1200, 3)],
        [("Book the 1:1 training", "csm", 8)],
        "",
        "",
    ),
    (
        "changes_requested",
        "price_value/too_expensive",
        "Finance asked for a cheaper plan at renewal; usage of the reporting add-on is low.",
        "Renew for twelve months without losing the core seats.",
        [("discount", "25% off the renewal", 25, 9000, 12)],
        [("Present the renewal offer", "csm", 16)],
        "25% is deep for this account. Try 10% plus the training package, and show the value first.",
        "",
    ),
    (
        "approved",
        "product/too_complex",
        "Core-feature use fell 35%; the new team finds the workflow builder too complex.",
        "Core-feature use back to last quarter's level by the target date.",
        [("extended_support", "Priority support for three months", None, 3000, 3)],
        [
            ("Run a workflow clinic with their team", "csm", 16),
            ("CS lead's check-in with the sponsor", "lead", 24),
        ],
        "Good plan. Keep the clinic hands-on.",
        "",
    ),
    (
        "rejected",
        "competitor/price",
        "A competitor offered 40% less; the customer asked us to match.",
        "Keep the account by matching the competitor's price.",
        [("discount", "Match the competitor: 30% off", 30, 14000, 12)],
        [("Send the matching offer", "csm", 8)],
        "We don't win on price matching. Make the case on value and integrations instead.",
        "",
    ),
    (
        "active",
        "product/bugs",
        "Three high-priority tickets on the sync job in a month; the champion is frustrated.",
        "No open high-priority ticket and a CSAT of 4 or more on the next three tickets.",
        [
            ("extended_support", "Named support engineer for two months", None, 4000, 2),
            ("other", "Roadmap briefing", None, 0, 1),
        ],
        [
            ("Weekly ticket review with the champion", "csm", 24),
            ("Escalate the sync bug to the product lead", "lead", 8),
        ],
        "",
        "",
    ),
    (
        "closed",
        "price_value/value_not_realised",
        "They pay for forty seats and use twelve; nobody has shown them the saved hours.",
        "Show the value delivered and renew at the current plan.",
        [("free_module", "Analytics module free for six months", None, 2500, 6)],
        [("Value review meeting", "csm", 16)],
        "",
        "saved",
    ),
    (
        "closed",
        "price_value/budget_cut",
        "Their budget was cut by a third this year.",
        "Keep them as a customer on a smaller plan rather than lose them.",
        [("downgrade", "Move to the Basic plan with 20 seats", None, 0, 12)],
        [("Prepare the Basic plan quote", "csm", 8)],
        "",
        "downgraded",
    ),
    (
        "closed",
        "competitor/features",
        "The competitor's mobile app won over their field team.",
        "Show our mobile roadmap and a trial of the beta before they decide.",
        [
            ("discount", "10% off for the trial period", 10, 1500, 3),
            ("free_module", "Mobile beta access", None, 0, 3),
        ],
        [("Demo the mobile beta", "csm", 16)],
        "",
        "churned",
    ),
    (
        "closed",
        "service/slow_support",
        "Two weeks to answer a critical ticket last quarter.",
        "Restore trust: faster answers and a named contact.",
        [("extended_support", "Priority support for six months", None, 5000, 6)],
        [("Introduce the named support engineer", "csm", 8)],
        "",
        "saved",
    ),
]

_HARBOR_PLAN = (
    "price_value/value_not_realised",
    "The champion left about forty days ago; core-feature use slid 40% since. The new operations "
    "lead has never seen the dashboards and calls the product expensive.",
    "Re-onboard the new operations lead and get core-feature use back to 80% of its old level "
    "before the renewal.",
    [
        ("extended_support", "Priority support and a named engineer for six months", None, 18000, 6),
        ("free_module", "Analytics module free until renewal", None, 6000, 3),
    ],
    [
        ("Executive sponsor call with the new operations lead", "executive", 8),
        ("Re-onboarding workshop for the operations team", "csm", 16),
        ("Weekly usage review for six weeks", "csm", 40),
    ],
)


def seed_plans(*, users: dict[str, Any], stories: dict[str, str], today: date) -> dict[str, int]:
    """Retention plans in every state, written through the services so their history, approvals,
    tasks and notifications are real: Harbor Logistics' plan awaits the manager's approval (drafted
    from its High-risk playbook's task), Polite Co has a draft, and other at-risk or churned
    accounts carry plans sent back, approved, rejected, active and closed (saved, downgraded,
    churned) across playbooks, offers and risk levels, so the save-rate page has data."""
    from interviews.models import SubReason

    from . import plans
    from .models import PlanStatus, RetentionPlan, StepKind

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

    def draft(
        account: Account,
        task: Task | None,
        cause: str,
        diagnosis: str,
        objectives: str,
        offers,
        steps,
        days: int,
    ):
        reason = reasons[cause]
        return plans.draft_plan(
            account=account,
            author=account.owner,
            task=task,
            root_cause=reason.category,
            root_cause_detail=reason,
            diagnosis=diagnosis,
            objectives=objectives,
            target_date=today + timedelta(days=days),
            offers=[
                {
                    "kind": kind,
                    "description": text,
                    "discount_percent": pct,
                    "cost": cost,
                    "duration_months": months,
                }
                for kind, text, pct, cost, months in offers
            ],
            steps=[
                {"title": title, "owner_role": role, "due_offset_hours": hours}
                for title, role, hours in steps
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

    # Accounts for the other stories: first those whose playbook asks for a plan (so the plans
    # carry their playbook), then at-risk and churned accounts with an owner.
    used = {stories.get("champion_left"), stories.get("polite")}
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

    # Harbor Logistics: the champion left; the squad's "tailored offer" task became this plan,
    # submitted yesterday afternoon and waiting for Maria.
    harbor = by_external.get(stories.get("champion_left", ""))
    if harbor is not None and harbor.owner_id:
        plan = submit(draft(harbor, retention_task(harbor), *_HARBOR_PLAN, days=45))
        yesterday = timezone.now() - timedelta(days=1)
        RetentionPlan.objects.filter(pk=plan.pk).update(
            created_at=yesterday - timedelta(hours=2), submitted_at=yesterday
        )
        plan.events.filter(to_status=PlanStatus.DRAFT).update(created_at=yesterday - timedelta(hours=2))
        plan.events.filter(to_status=PlanStatus.SUBMITTED).update(created_at=yesterday)

    polite = by_external.get(stories.get("polite", ""))
    stories_left = list(_PLAN_STORIES)
    if polite is not None and polite.owner_id:
        status, cause, diagnosis, objectives, offers, steps, _comment, _outcome = stories_left.pop(0)
        draft(polite, retention_task(polite), cause, diagnosis, objectives, offers, steps, days=30)

    for account, story in zip(candidates, stories_left, strict=False):
        status, cause, diagnosis, objectives, offers, steps, comment, outcome = story
        plan = draft(account, retention_task(account), cause, diagnosis, objectives, offers, steps, days=30)
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
                    outcome=outcome,
                    comment={
                        "saved": "Renewed.",
                        "downgraded": "Renewed on a smaller plan.",
                        "churned": "Did not renew.",
                    }[outcome],
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
