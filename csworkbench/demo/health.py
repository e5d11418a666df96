"""The demo's health data: daily metrics and signal events in step with each account's story
(`seed_metrics`, drawing from metrics.py and replaying the score history with history.py), then
today's scores and alerts through the real scorer (`score_today`).

Rows are plain tuples streamed to PostgreSQL with COPY, or elsewhere with one prepared INSERT
(`executemany`): 10,000 accounts × 365 days is 3.65 million of them.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection

from accounts.models import Account, AccountStatus, ChurnType, Contact, ValueTier
from health.alerts import raise_alerts
from health.defaults import ensure_published_model
from health.models import (
    METRIC_FIELDS,
    Alert,
    DailyMetric,
    EventKind,
    HealthOverride,
    HealthSnapshot,
    SignalEvent,
)
from health.recompute import recompute_health

from .history import Replay
from .metrics import Context, Profile, draw_columns, metric_rows, plan_profile
from .records import relative_date
from .stories import STORIES

ROWS_PER_WRITE = 50_000
EVENT_BATCH = 5000


# --- Writing -------------------------------------------------------------------------------


class _TableWriter:
    """Rows of plain values into one table: COPY on PostgreSQL, one prepared INSERT with many
    parameter sets elsewhere. Model instances would cost ~20× more per row and buy nothing here."""

    def __init__(self, model: type, columns: Sequence[str], *, buffer: int = ROWS_PER_WRITE) -> None:
        quote = connection.ops.quote_name
        self.table = quote(model._meta.db_table)
        self.columns = ", ".join(quote(model._meta.get_field(name).column) for name in columns)
        self.width = len(columns)
        self.buffer_size = buffer
        self.pending: list[tuple] = []
        self.written = 0

    def add(self, rows: Iterable[tuple]) -> None:
        self.pending.extend(rows)
        if len(self.pending) >= self.buffer_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.copy(f"COPY {self.table} ({self.columns}) FROM STDIN") as copy:
                    write = copy.write_row
                    for row in self.pending:
                        write(row)
            else:
                placeholders = ", ".join(["%s"] * self.width)
                sql = f"INSERT INTO {self.table} ({self.columns}) VALUES ({placeholders})"  # noqa: S608
                cursor.executemany(sql, self.pending)
        self.written += len(self.pending)
        self.pending = []


def _events(
    rng: random.Random, ctx: Context, profiles: list[tuple[Account, Profile]], left: Mapping[int, date]
) -> list[SignalEvent]:
    """Champion departures as recorded on the contacts, cancellation intent before some churns
    and on the worst at-risk accounts, downgrade requests on a few."""
    today = ctx.today
    events: list[SignalEvent] = []

    def add(account: Account, kind: str, on: date, note: str) -> None:
        if ctx.first_day <= on <= today and on >= account.contract_start:
            events.append(SignalEvent(account_id=account.pk, kind=kind, occurred_on=on, note=note))

    sliding = []
    for account, p in profiles:
        if account.pk in left:
            add(account, EventKind.CHAMPION_LEFT, left[account.pk], "Champion left the company")
        if p.story:
            continue
        if account.churned_on is not None:
            if account.churn_type == ChurnType.CANCELLED and rng.random() < 0.5:
                on = account.churned_on - timedelta(days=rng.randint(5, 40))
                add(account, EventKind.CANCELLATION_INTENT, on, "Asked how to cancel")
            elif account.churn_type == ChurnType.DOWNGRADED:
                on = account.churned_on - timedelta(days=rng.randint(10, 45))
                add(account, EventKind.DOWNGRADE_REQUESTED, on, "Asked to move to a smaller plan")
        elif p.mood == "at_risk" and p.slips and p.no_use_from is None:
            sliding.append((p.slips[0][2], account))
        elif p.mood == "steady" and rng.random() < 0.02:
            on = today - timedelta(days=rng.randint(5, 80))
            add(account, EventKind.DOWNGRADE_REQUESTED, on, "Asked for fewer seats at renewal")
    # The deepest slides among the active accounts: one or two in the default book voiced it,
    # and about as many asked to cut seats.
    sliding.sort(key=lambda pair: (-pair[0], pair[1].pk))
    count = max(1, round(len(sliding) * 0.04)) if sliding else 0
    for _, account in sliding[:count]:
        on = today - timedelta(days=rng.randint(3, 20))
        add(account, EventKind.CANCELLATION_INTENT, on, "Asked about cancel terms")
    for _, account in sliding[count : 2 * count]:
        add(
            account,
            EventKind.DOWNGRADE_REQUESTED,
            today - timedelta(days=rng.randint(5, 40)),
            "Asked to drop seats",
        )

    # The story accounts' own signals (data/stories.toml), dated from today or from their churn.
    by_id = {account.external_id: account for account, _ in profiles}
    for story in STORIES:
        account = by_id.get(story.external_id)
        if account is None:
            continue
        for signal in story.record.get("signal", []):
            on = relative_date(
                signal["on"], today=today, start=account.contract_start, churn=account.churned_on
            )
            add(account, signal["kind"], on, signal["note"])
    return events


# --- Entry points --------------------------------------------------------------------------


@dataclass(frozen=True)
class Mood:
    """How an account's story goes, as the account generator planned it."""

    mood: str  # thriving, healthy, steady, at_risk
    shift_on: date | None = None  # churned accounts: when the touchpoints turned at-risk


def seed_metrics(
    *,
    accounts: Sequence[Account],
    days: int,
    rng: random.Random,
    today: date,
    moods: Mapping[int, Mood] | None = None,
    stale: int | None = None,
    history: Sequence[date] = (),
) -> dict[str, int]:
    """Write `days` days of daily metrics (ending `today`), the signal events and, for each of
    the past days in `history`, every customer's health snapshot.

    Rows start at the contract start and stop the day before `churned_on`. `moods` (account pk →
    Mood) keeps the metrics in step with the touchpoints; accounts without one get a mood drawn
    here. `stale` accounts (default ~0.6% of the book, at least two) stopped sending ~10 days
    ago. Call `score_today` afterwards. Returns counts: metrics, events, snapshots.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    ensure_published_model()
    accounts = list(accounts)
    ctx = Context(rng, days=days, today=today, postgres=connection.vendor == "postgresql")
    # Champions who left in the window (a handful of rows): the latest departure per account.
    pks = {account.pk for account in accounts}
    left = {
        account_id: left_on
        for account_id, left_on in Contact.objects.filter(
            is_champion=True, left_on__gte=ctx.first_day, left_on__lte=today
        )
        .order_by("account_id", "left_on")
        .values_list("account_id", "left_on")
        if account_id in pks
    }
    profiles: list[tuple[Account, Profile]] = []
    for account in accounts:
        planned = (moods or {}).get(account.pk)
        if planned is not None and planned.mood in _MOODS:
            mood, shift_on = planned.mood, planned.shift_on
        elif account.status == AccountStatus.CHURNED:
            mood, shift_on = "steady", None
        else:
            mood, shift_on = rng.choices(_MOODS, (5, 50, 30, 15))[0], None
        p = plan_profile(
            rng, ctx, account, mood=mood, shift_on=shift_on, champion_left_on=left.get(account.pk)
        )
        profiles.append((account, p))

    # A couple of data sources stopped sending about ten days ago: stale, not zero usage.
    candidates = [
        p
        for account, p in profiles
        if not p.story
        and account.churned_on is None
        and p.start < days - 90
        and account.value_tier != ValueTier.A
    ]
    wanted = stale if stale is not None else max(2, round(len(accounts) * 0.006))
    for p in rng.sample(candidates, min(wanted, len(candidates))):
        p.end = days - rng.randint(9, 12)

    events = _events(rng, ctx, profiles, left)
    SignalEvent.objects.bulk_create(events, batch_size=EVENT_BATCH)

    postgres = connection.vendor == "postgresql"
    foreign_keys = _foreign_keys(DailyMetric, HealthSnapshot) if postgres else ""
    if foreign_keys:
        # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: without this, millions of
        # queued checks would run (and sit in memory) until the seeding transaction commits.
        with connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {foreign_keys} IMMEDIATE")
    replay_days = sorted({ctx.index(day) for day in history if ctx.first_day <= day < today})
    replay = Replay(ctx, replay_days, events) if replay_days else None
    metrics = _TableWriter(DailyMetric, ("account", "date", *METRIC_FIELDS))
    snapshots = _TableWriter(HealthSnapshot, _SNAPSHOT_FIELDS, buffer=ROWS_PER_WRITE // 5)
    for account, p in profiles:
        if p.end <= p.first:
            continue
        cols = draw_columns(rng, ctx, p)
        metrics.add(metric_rows(ctx, p, cols))
        if replay is not None:
            snapshots.add(replay.snapshots(account, p, cols))
    metrics.flush()
    snapshots.flush()
    if replay is not None:
        replay.copy_final_scores()
    if postgres:
        with connection.cursor() as cursor:
            if foreign_keys:
                cursor.execute(f"SET CONSTRAINTS {foreign_keys} DEFERRED")
            # Fresh statistics, so scoring plans its scans for millions of rows, not for none.
            for model in (DailyMetric, HealthSnapshot):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return {"metrics": metrics.written, "events": len(events), "snapshots": snapshots.written}


def _foreign_keys(*models: type) -> str:
    """The deferrable foreign-key constraints of these tables, quoted, comma-separated."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND condeferrable"
            " AND conrelid = ANY(%s::regclass[])",
            [[model._meta.db_table for model in models]],
        )
        return ", ".join(connection.ops.quote_name(name) for (name,) in cursor.fetchall())


def score_today(*, today: date) -> dict[str, int]:
    """Score `today` with `recompute_health` itself (today's snapshots, the scores copied onto
    the accounts), then raise today's alerts from the same reads."""
    run = recompute_health(as_of=today)
    alerts = raise_alerts(as_of=today, prepared=getattr(run, "prepared", None))
    return {"snapshots": run.scored, "alerts": alerts.raised}


def clear() -> None:
    """Delete every health row hanging off accounts, one statement per table (before a reseed).
    Plain DELETEs, not TRUNCATE: the app keeps reading the old rows until the reseed commits
    (TRUNCATE would lock it out of these tables for the whole seeding). 10,000 accounts' rows
    take ~3.5 s to delete on PostgreSQL."""
    for model in (Alert, HealthSnapshot, HealthOverride, SignalEvent, DailyMetric):
        model.objects.all().delete()


_MOODS = ("thriving", "healthy", "steady", "at_risk")
_SNAPSHOT_FIELDS = (
    "account",
    "date",
    "model",
    "score",
    "computed_score",
    "tier",
    "confidence",
    "stale",
    "override",
    "measures",
)
