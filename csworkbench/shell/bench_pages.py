# ruff: noqa: S608 -- the SQL below is built from constants and dates, never from user input.
"""The page benchmark of `make bench`: the data the pages read (CSMs, a team, open tasks, exit
interviews, plans in every state, a year of health snapshots) and the server time of each page,
in process, beside an empty login-required view measured in the same run.

Also the bench-only URL conf (`ROOT_URLCONF` during the page run): the project's URLs plus one
empty `@login_required` view, so production URLs do not change for the benchmark's sake.
"""

import statistics
import time
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.db import connection, reset_queries, transaction
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import include, path
from django.utils import timezone

from accounts.models import Account, MrrMovement
from csworkbench.core.roles import Role

CSMS = 20
PASSWORD = "bench-password-not-secret"  # noqa: S105 -- a local benchmark dataset, never deployed


@login_required
def empty_view(request: HttpRequest) -> HttpResponse:
    """The floor: the middleware, the session and the login check, and nothing else."""
    return HttpResponse("")


urlpatterns = [path("bench-empty/", empty_view), path("", include("csworkbench.urls"))]


def csm_name(n: int) -> str:
    return f"bench-csm-{n:02d}"


def other_columns(model, named: set[str]) -> tuple[str, str, list]:
    """Required columns of `model` the SQL does not name, filled with their model defaults."""
    columns, params = [], []
    for field in model._meta.concrete_fields:
        if field.column in named or field.null or field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        params.append(field.get_db_prep_save(field.get_default(), connection))
    if not columns:
        return "", "", []
    return ", " + ", ".join(columns), ", " + ", ".join(["%s"] * len(columns)), params


def page_data_present() -> bool:
    return get_user_model().objects.filter(username=csm_name(1)).exists()


def ensure_churning_accounts(today, say) -> None:
    """About one active account in a hundred voiced cancellation intent in the last month, so the
    interviewer workspace has accounts waiting (also added to datasets built before this)."""
    from health.models import EventKind, SignalEvent

    if SignalEvent.objects.filter(kind=EventKind.CANCELLATION_INTENT).exists():
        return
    columns, values, params = other_columns(SignalEvent, {"account_id", "kind", "occurred_on", "note"})
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO health_signalevent (account_id, kind, occurred_on, note{columns})
            SELECT id, %s, %s::date - (id %% 30)::int, ''{values}
            FROM accounts_account WHERE status = 'active' AND id %% 100 = 0
            """,
            [EventKind.CANCELLATION_INTENT, today, *params],
        )
        say(f"Added cancellation intent to {cursor.rowcount:,} active accounts (interviews waiting).")
        cursor.execute("ANALYZE health_signalevent")


def build_page_data(accounts: int, today, say) -> None:
    """Users and the rows the pages read, scaled with the number of accounts: one open task per
    ten accounts, one churned account with an exit interview per ~16, a plan per ~170."""
    from health.models import HealthSnapshot
    from interviews.models import ExitInterview, InterviewStatus, ReasonCategory
    from playbooks.models import PlanOffer, PlanStatus, RetentionPlan, Task, Team

    say("Building the page data (users, tasks, interviews, plans, a year of snapshots) …")
    started = time.perf_counter()
    User = get_user_model()
    now = timezone.now()
    with transaction.atomic():
        groups = {role: Group.objects.get_or_create(name=role)[0] for role in Role}
        csms = []
        for n in range(1, CSMS + 1):
            user = User.objects.create_user(csm_name(n), password=PASSWORD)
            user.groups.add(groups[Role.CSM])
            csms.append(user)
        managers = []
        for n in (1, 2):
            user = User.objects.create_user(f"bench-manager-{n}", password=PASSWORD)
            user.groups.add(groups[Role.MANAGER])
            managers.append(user)
        interviewers = []
        for n in (1, 2):
            user = User.objects.create_user(f"bench-interviewer-{n}", password=PASSWORD)
            user.groups.add(groups[Role.INTERVIEWER])
            interviewers.append(user)
        team = Team.objects.create(name="Bench team")
        team.members.set(csms)
        team.managers.set(managers)
        ids = [u.pk for u in csms]
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE accounts_account SET owner_id = (%s::int[])[1 + id %% %s]", [ids, len(ids)]
            )
            # One account in 16 churned within the last year (the interviews' accounts).
            cursor.execute(
                """
                UPDATE accounts_account SET status = 'churned', churn_type = 'cancelled',
                    churned_on = %s::date - (id %% 360)::int
                WHERE id %% 16 = 1
                """,
                [today],
            )
            columns, values, params = other_columns(
                MrrMovement,
                {"account_id", "kind", "occurred_on", "amount", "note"},
            )
            cursor.execute(
                f"""
                INSERT INTO accounts_mrrmovement (account_id, kind, occurred_on, amount, note{columns})
                SELECT id, 'churn', churned_on, mrr, ''{values}
                FROM accounts_account WHERE status = 'churned'
                """,
                params,
            )
        # Open tasks: one for every tenth active account, assigned to its owner, due around now.
        task_accounts = Account.objects.filter(status="active").order_by("pk").values_list("pk", "owner_id")
        tasks = [
            Task(
                account_id=pk,
                assignee_id=owner_id,
                title=f"Check in ({pk})",
                due_at=now + timedelta(hours=(pk % 400) - 120),
                priority=1 + pk % 3,
                created_at=now - timedelta(days=3),
            )
            for i, (pk, owner_id) in enumerate(task_accounts)
            if i % 9 == 0
        ][: accounts // 10]
        Task.objects.bulk_create(tasks, batch_size=2000)
        # Exit interviews for the churned accounts: two in three done, spread over the year.
        categories = list(ReasonCategory.objects.filter(is_active=True).order_by("pk"))
        churned = Account.objects.filter(status="churned").order_by("pk")
        interviews = []
        for i, account in enumerate(churned.iterator(chunk_size=2000)):
            done = i % 3 != 0
            interviews.append(
                ExitInterview(
                    account=account,
                    interviewer=interviewers[i % 2],
                    status=InterviewStatus.DONE if done else InterviewStatus.DRAFT,
                    held_on=account.churned_on if done else None,
                    channel="call" if done else "",
                    churned_on=account.churned_on,
                    tier_at_churn=account.value_tier,
                    mrr_at_churn=account.mrr,
                    lifecycle_stage_at_churn=account.lifecycle_stage(),
                    csm_at_churn_id=account.owner_id,
                    primary_category=categories[i % len(categories)] if done else None,
                    avoidable=(i % 2 == 0) if done else None,
                    completed_at=now - timedelta(days=i % 360) if done else None,
                )
            )
        ExitInterview.objects.bulk_create(interviews, batch_size=2000)
        # Plans: inserted as drafts (a trigger allows nothing else), then moved along the
        # allowed transitions, so every state is present.
        plan_accounts = list(
            Account.objects.filter(status="active")
            .order_by("pk")
            .values_list("pk", "owner_id", "mrr")[5 : 5 + max(14, accounts // 170) * 7 : 7]
        )
        plans = RetentionPlan.objects.bulk_create(
            RetentionPlan(
                account_id=pk,
                author_id=owner_id,
                root_cause=categories[i % len(categories)],
                objectives="Keep the account",
                target_date=today + timedelta(days=30),
                mrr_at_stake=mrr,
                created_at=now - timedelta(days=i % 60),
            )
            for i, (pk, owner_id, mrr) in enumerate(plan_accounts)
        )
        PlanOffer.objects.bulk_create(
            PlanOffer(plan=plan, kind="discount", discount_percent=10, cost=100) for plan in plans
        )
        # State by position: 0 draft, 1 submitted, 2 changes requested, 3 approved, 4 rejected,
        # 5 active, 6 closed; submitted plans are the biggest share (the approvals inbox).
        ladder = {
            PlanStatus.SUBMITTED: [PlanStatus.SUBMITTED],
            PlanStatus.CHANGES_REQUESTED: [PlanStatus.SUBMITTED, PlanStatus.CHANGES_REQUESTED],
            PlanStatus.APPROVED: [PlanStatus.SUBMITTED, PlanStatus.APPROVED],
            PlanStatus.REJECTED: [PlanStatus.SUBMITTED, PlanStatus.REJECTED],
            PlanStatus.ACTIVE: [PlanStatus.SUBMITTED, PlanStatus.APPROVED, PlanStatus.ACTIVE],
            PlanStatus.CLOSED: [PlanStatus.SUBMITTED, PlanStatus.APPROVED, PlanStatus.ACTIVE],
        }
        order = [None, PlanStatus.SUBMITTED, PlanStatus.SUBMITTED, PlanStatus.CHANGES_REQUESTED]
        order += [PlanStatus.APPROVED, PlanStatus.REJECTED, PlanStatus.ACTIVE, PlanStatus.CLOSED]
        for target, steps in ladder.items():
            pks = [p.pk for i, p in enumerate(plans) if order[i % len(order)] == target]
            for step in steps:
                extra = {"submitted_at": now} if step == PlanStatus.SUBMITTED else {}
                RetentionPlan.objects.filter(pk__in=pks).update(status=step, **extra)
            if target == PlanStatus.CLOSED:
                RetentionPlan.objects.filter(pk__in=pks).update(
                    status=PlanStatus.CLOSED, outcome="saved", closed_at=now
                )
        # A year of scoring history: weekly for the year, daily for the last 90 days.
        columns, values, params = other_columns(
            HealthSnapshot,
            {
                "account_id",
                "date",
                "score",
                "computed_score",
                "tier",
                "confidence",
                "stale",
                "override",
                "measures",
                "model_id",
            },
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO health_healthsnapshot (account_id, date, score, computed_score, tier,
                    confidence, stale, override, measures, model_id{columns})
                SELECT a.id, %s::date - g::int, s.score, s.score,
                    CASE WHEN s.score >= 75 THEN 'healthy' WHEN s.score >= 55 THEN 'low'
                         WHEN s.score >= 35 THEN 'medium' ELSE 'high' END,
                    0.9, false, '', '{{}}'::jsonb,
                    (SELECT id FROM health_healthmodel ORDER BY published_at DESC NULLS LAST, version DESC
                     LIMIT 1){values}
                FROM accounts_account a
                CROSS JOIN generate_series(1, 364) g
                CROSS JOIN LATERAL (
                    SELECT greatest(0, least(100, 30 + (a.id * 7) %% 60
                        - CASE WHEN a.id %% 5 = 0 THEN (364 - g) / 12 ELSE 0 END))::int AS score
                ) s
                WHERE g <= 90 OR g %% 7 = 0
                ON CONFLICT DO NOTHING
                """,
                [today, *params],
            )
    say(f"  page data built in {time.perf_counter() - started:.1f} s")


@dataclass
class PageFigure:
    name: str
    median_ms: float
    p95_ms: float
    queries: int
    status: int


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(client: Client, url: str, requests: int) -> PageFigure:
    for _ in range(2):  # warm-up: template loading, the session row, the plan cache
        client.get(url)
    # The log is a bounded deque: once full (a long build with DEBUG on), a count would read 0.
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    query_count = len(queries)  # now: the next request resets the log the context reads
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    return PageFigure(
        url, statistics.median(times), percentile(times, 0.95), query_count, response.status_code
    )


def pages(today) -> list[tuple[str, str, str]]:
    """(label, url, username) for every page measured."""
    User = get_user_model()
    csm = User.objects.get(username=csm_name(1))
    account = Account.objects.filter(owner=csm, status="active").order_by("pk").first()
    return [
        ("empty login-required view (floor)", "/bench-empty/", csm.username),
        ("/queue/ (CSM)", "/queue/", csm.username),
        (
            "/accounts/?sort=-health_score&health_tier=medium",
            "/accounts/?sort=-health_score&health_tier=medium",
            csm.username,
        ),
        ("/accounts/<pk>/ (year of history)", f"/accounts/{account.pk}/?range=1y", csm.username),
        ("/queue/team/ (manager)", "/queue/team/", "bench-manager-1"),
        ("/plans/approvals/ (manager)", "/plans/approvals/", "bench-manager-1"),
        ("/reports/", "/reports/", "bench-manager-1"),
        ("/reports/interviews/ (drill-down)", "/reports/interviews/?unit=month", "bench-manager-1"),
        ("/reports/backtest/", "/reports/backtest/", "bench-manager-1"),
        ("/reports/review/", "/reports/review/", "bench-manager-1"),
        ("/reports/actions/ (action items)", "/reports/actions/", "bench-manager-1"),
        ("/plans/save-rate/", "/plans/save-rate/", "bench-manager-1"),
        ("/interviews/ (interviewer)", "/interviews/", "bench-interviewer-1"),
    ]


def bench_pages(today, requests: int) -> list[PageFigure]:
    User = get_user_model()
    figures = []
    with override_settings(
        ROOT_URLCONF="csworkbench.shell.bench_pages",
        ALLOWED_HOSTS=["*"],
        SECURE_SSL_REDIRECT=False,
        DEBUG=False,
    ):
        clients: dict[str, Client] = {}
        for label, url, username in pages(today):
            if username not in clients:
                clients[username] = Client()
                clients[username].force_login(User.objects.get(username=username))
            figure = measure(clients[username], url, requests)
            figure.name = label
            figures.append(figure)
    return figures


def ensure_load_users(managers: int = 15, interviewers: int = 15) -> None:
    """The load test's managers (in the bench team) and interviewers, one name per simulated
    person; the CSMs are the bench CSMs. Idempotent."""
    from playbooks.models import Team

    User = get_user_model()
    team = Team.objects.get(name="Bench team")
    for prefix, role, count in (
        ("load-manager", Role.MANAGER, managers),
        ("load-interviewer", Role.INTERVIEWER, interviewers),
    ):
        group = Group.objects.get_or_create(name=role)[0]
        for n in range(1, count + 1):
            user, created = User.objects.get_or_create(username=f"{prefix}-{n:02d}")
            if created:
                user.set_password(PASSWORD)
                user.save(update_fields=["password"])
                user.groups.add(group)
                if role == Role.MANAGER:
                    team.managers.add(user)
