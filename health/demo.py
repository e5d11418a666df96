"""Demo health signals that match the demo accounts' stories (DESIGN.md, "Demo data tells stories").

`seed_metrics` writes a daily metrics row per account and day, the signal events and the score
history, so the real scorer (`health.scoring`) finds what each account's story says: Northwind
thriving, Harbor's core-feature use sliding after its champion left, Polite Co answering e-mails
while nobody logs in, Sprout not activated yet, churned accounts fading out before they leave,
most of the book steady or growing and about a fifth of it slipping at some point in the year.
`score_today` then scores today with `recompute_health` and raises the alerts.

Speed matters (10,000 accounts × 365 days is 3.65 million rows), so nothing here works per row
with model instances or Decimals: each account gets a handful of Python lists (its usage level
per day, weekly seasonality, noise read from shared tables) zipped into plain tuples and
streamed to PostgreSQL with COPY, or elsewhere with one prepared INSERT (`executemany`).
Everything is drawn from the caller's `random.Random` in a fixed order: same seed, same rows.
"""

from __future__ import annotations

import json
import math
import random
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from django.db import connection
from django.db.models import Max
from django.utils import timezone

from accounts.demo import STORY_ACCOUNTS
from accounts.models import Account, AccountStatus, ChurnType, Contact, EmployeeBand, Industry, ValueTier

from .models import (
    METRIC_FIELDS,
    Alert,
    DailyMetric,
    EventKind,
    HealthDimension,
    HealthMeasure,
    HealthModel,
    HealthOverride,
    HealthSnapshot,
    ModelStatus,
    SignalEvent,
)

# The story accounts, by external ID (accounts.demo imports this module lazily, so no cycle).
THRIVING = STORY_ACCOUNTS["thriving"]
CHAMPION_LEFT = STORY_ACCOUNTS["champion_left"]
ONBOARDING = STORY_ACCOUNTS["onboarding"]
POLITE = STORY_ACCOUNTS["polite"]
CHURNED_ONBOARDING = STORY_ACCOUNTS["churned_onboarding"]
_STORY_IDS = frozenset(STORY_ACCOUNTS.values())

# Books larger than this get 30 days of score history, not a year (see `history_days`).
LARGE_BOOK = 2000
LARGE_BOOK_HISTORY_DAYS = 30
# Every day of the last 90 is scored (the account page's 90-day chart), weekly before that.
DAILY_HISTORY_DAYS = 90
HISTORY_STEP_DAYS = 7

ROWS_PER_WRITE = 50_000
EVENT_BATCH = 5000

# Licensed seats by company size (uniform between the bounds).
_SEATS = {
    EmployeeBand.MICRO: (2, 8),
    EmployeeBand.SMALL: (6, 35),
    EmployeeBand.MEDIUM: (25, 110),
    EmployeeBand.LARGE: (80, 380),
    EmployeeBand.ENTERPRISE: (300, 1400),
}
# Distinct features the plan offers.
_OFFERED = {"Starter": 10, "Growth": 16, "Business": 22, "Enterprise": 30}
# Shops, restaurants and web shops stay busy at the weekend; offices go quiet.
_BUSY_WEEKENDS = {Industry.RETAIL, Industry.HOSPITALITY, Industry.ECOMMERCE}
# Shares of the generic accounts whose systems never report a metric group ("insufficient data").
_NOT_REPORTED = {
    "support": 0.03,  # no help desk connected: tickets, first response, CSAT
    "csat": 0.22,
    "nps": 0.3,
    "email": 0.08,
    "training": 0.1,
    "features": 0.06,
    "billing": 0.06,
}
# CSAT response scores 1–5: weights when things go well and when they do not.
_CSAT_GREAT = (1, 1, 4, 30, 64)
_CSAT_GOOD = (2, 3, 10, 35, 50)
_CSAT_BAD = (14, 22, 30, 24, 10)
_CSAT_SCORES = (1, 2, 3, 4, 5)

_TABLE = 4096  # size of the shared noise tables; each account reads them from its own offsets


@dataclass(slots=True)
class _Profile:
    """How one account behaves over the window, before any row is drawn."""

    pk: int
    story: str  # external ID for story accounts, "" otherwise
    mood: str  # thriving, healthy, steady, at_risk (as the touchpoints tell it)
    first: int  # first day index with a row (inclusive)
    end: int  # day index after the last row
    start: int  # day index of the contract start (may be negative: before the window)
    seats: int
    seat_changes: list[tuple[int, int]] = field(default_factory=list)  # (day index, seats from then)
    active_share: float = 0.7  # weekday share of seats active at level 1
    weekend: float = 0.15
    logins_per_user: float = 1.5
    core_per_user: float = 8.0
    growth: float = 0.0  # change of the level over a year (0.2 = 20% higher today than a year ago)
    wobble: tuple[float, float, float] = (0.0, 1.0, 0.0)  # amplitude, angular speed, phase
    ramp_days: int = 45
    ramp_floor: float = 0.15
    # (start day index, days of decline, depth, days of recovery or 0, share of the depth won back)
    slips: list[tuple[int, int, float, int, float]] = field(default_factory=list)
    no_use_from: int | None = None  # nobody logs in from this day index on
    breadth: float = 0.5  # share of the offered features used at level 1
    offered: int | None = 16
    tickets_month: float | None = 2.0  # None: no help desk connected
    hp_share: float = 0.1
    trouble: tuple[int, int] | None = None  # day indexes [from, to) when support and engagement suffer
    ticket_mode: str = ""  # during trouble: "spike", "silence" or ""
    csat: bool = True
    csat_weights: tuple[int, ...] = _CSAT_GOOD
    nps_days: list[tuple[int, int]] | None = None  # (day index, score)
    email_recipients: int = 0  # 0: no marketing e-mail integration
    open_rate: float = 0.3
    open_rate_trouble: float = 0.1
    email_weekday: int = 1
    training_90: float | None = 1.5
    release_month: float = 2.0
    overdue: list[tuple[int, int]] | None = field(default_factory=list)  # [(from, to)], None: no billing
    escalations: list[tuple[int, int]] = field(default_factory=list)  # (day index, count): still open


class _Context:
    """What every account shares: the dates, the weekday of day 0, and the noise tables."""

    def __init__(self, rng: random.Random, *, days: int, today: date, postgres: bool) -> None:
        self.days = days
        self.today = today
        self.first_day = today - timedelta(days=days - 1)
        self.weekday0 = self.first_day.weekday()
        self.day_dates = [self.first_day + timedelta(days=i) for i in range(days)]
        # What the database driver is given: dates for psycopg's COPY, ISO text elsewhere (the
        # sqlite3 module's default date adapter is deprecated).
        self.db_dates: list[Any] = self.day_dates if postgres else [d.isoformat() for d in self.day_dates]
        size = _TABLE + days
        # Multiplicative noise around 1 (roughly log-normal, σ≈0.12) and uniforms for stochastic
        # rounding: int(x + u) is x on average, so small accounts get realistic 0s and 1s.
        self.noise = [math.exp(rng.gauss(0.0, 0.12)) for _ in range(size)]
        self.unif = [rng.random() for _ in range(size)]

    def index(self, day: date) -> int:
        return (day - self.first_day).days

    def noise_slice(self, rng: random.Random, n: int) -> list[float]:
        offset = rng.randrange(_TABLE)
        return self.noise[offset : offset + n]

    def unif_slice(self, rng: random.Random, n: int) -> list[float]:
        offset = rng.randrange(_TABLE)
        return self.unif[offset : offset + n]


# --- Profiles ------------------------------------------------------------------------------


def _generic_profile(
    rng: random.Random,
    ctx: _Context,
    account: Account,
    *,
    mood: str,
    shift_on: date | None,
    champion_left_on: date | None,
) -> _Profile:
    days = ctx.days
    start = ctx.index(account.contract_start)
    end = days if account.churned_on is None else min(days, ctx.index(account.churned_on))
    seats = rng.randint(*_SEATS.get(account.employee_band, (5, 30)))
    p = _Profile(
        pk=account.pk,
        story="",
        mood=mood,
        first=max(0, start),
        end=end,
        start=start,
        seats=seats,
        weekend=rng.uniform(0.45, 0.75) if account.industry in _BUSY_WEEKENDS else rng.uniform(0.06, 0.25),
        logins_per_user=rng.uniform(1.1, 2.2),
        core_per_user=rng.uniform(3, 20),
        wobble=(rng.uniform(0.01, 0.06), 2 * math.pi / rng.uniform(40, 140), rng.uniform(0, 2 * math.pi)),
        offered=_OFFERED.get(account.plan, 16),
        tickets_month=0.4 * math.sqrt(seats) * rng.uniform(0.6, 1.4),
        hp_share=rng.uniform(0.05, 0.14),
        email_recipients=max(1, round(seats**0.35 * rng.uniform(0.8, 1.6))),
        email_weekday=rng.randrange(5),
    )
    # Mood sets the baseline: how much of the licence is used, how broadly, how engaged.
    if mood == "thriving":
        p.csat_weights = _CSAT_GREAT
        p.active_share, p.breadth, p.growth = (
            rng.uniform(0.8, 0.95),
            rng.uniform(0.55, 0.8),
            rng.uniform(0.1, 0.3),
        )
        p.open_rate, p.training_90, p.release_month = (
            rng.uniform(0.3, 0.55),
            rng.uniform(2, 4),
            rng.uniform(2, 5),
        )
    elif mood == "healthy":
        p.active_share, p.breadth, p.growth = (
            rng.uniform(0.65, 0.92),
            rng.uniform(0.42, 0.75),
            rng.uniform(0, 0.2),
        )
        p.open_rate, p.training_90, p.release_month = (
            rng.uniform(0.22, 0.5),
            rng.uniform(1, 3),
            rng.uniform(1, 4),
        )
    elif mood == "steady":
        p.active_share, p.breadth, p.growth = (
            rng.uniform(0.4, 0.8),
            rng.uniform(0.25, 0.6),
            rng.uniform(-0.05, 0.1),
        )
        p.open_rate, p.training_90, p.release_month = (
            rng.uniform(0.15, 0.4),
            rng.uniform(0.5, 2),
            rng.uniform(0.5, 2),
        )
    else:  # at_risk: used to be fine; most are sliding now, the rest never really adopted
        p.active_share, p.breadth, p.growth = (
            rng.uniform(0.5, 0.85),
            rng.uniform(0.3, 0.6),
            rng.uniform(-0.1, 0.05),
        )
        p.open_rate, p.training_90, p.release_month = (
            rng.uniform(0.12, 0.3),
            rng.uniform(0.3, 1.2),
            rng.uniform(0.3, 1.5),
        )
    p.open_rate_trouble = p.open_rate * rng.uniform(0.2, 0.5)

    today_index = days - 1
    if account.churned_on is not None:
        # Churned: fading over the 60–120 days before leaving (when the touchpoints turned sour).
        gone = ctx.index(account.churned_on)
        lead = (account.churned_on - shift_on).days if shift_on else rng.randint(60, 120)
        lead = min(120, max(60, lead))
        begin = max(p.start + 14, gone - lead)
        if begin < gone:
            p.slips.append((begin, gone - begin, rng.uniform(0.6, 0.9), 0, 0.0))
            p.trouble = (begin + (gone - begin) // 3, gone)
            p.ticket_mode = rng.choice(("spike", "spike", "silence", ""))
    elif mood == "at_risk":
        roll = rng.random()
        if roll < 0.45:  # sliding, and still sliding today
            begin = today_index - rng.randint(20, 80)
            p.slips.append((begin, today_index - begin + rng.randint(0, 30), rng.uniform(0.55, 0.9), 0, 0.0))
            p.trouble = (begin, days)
            p.ticket_mode = rng.choice(("spike", "spike", "silence", ""))
        elif roll < 0.8:  # gone dark: usage slid, then nobody logged in for over a month
            begin = today_index - rng.randint(70, 130)
            p.slips.append((begin, rng.randint(20, 40), rng.uniform(0.4, 0.7), 0, 0.0))
            p.no_use_from = today_index - rng.randint(31, 55)
            p.trouble, p.ticket_mode = (begin, days), "silence"
        else:  # never adopted: a thin slice of the licence in use, a narrow set of features
            p.active_share, p.breadth = rng.uniform(0.12, 0.3), rng.uniform(0.08, 0.2)
            p.trouble = (0, days)
    elif (roll := rng.random()) < 0.07:
        # Starting to slip: the early warning the alerts exist for.
        begin = today_index - rng.randint(15, 60)
        p.slips.append((begin, today_index - begin + rng.randint(5, 30), rng.uniform(0.45, 0.7), 0, 0.0))
        p.trouble = (begin + 7, days)
        p.ticket_mode = rng.choice(("spike", ""))
    elif roll < 0.17:
        # A dip some time in the year that the customer (and the CSM) worked their way out of.
        begin = today_index - rng.randint(110, max(111, days - 30))
        down, back = rng.randint(20, 45), rng.randint(30, 60)
        p.slips.append((begin, down, rng.uniform(0.2, 0.4), back, rng.uniform(0.7, 1.0)))
        p.trouble = (begin, begin + down + back // 2)
        p.ticket_mode = rng.choice(("spike", ""))
    if champion_left_on is not None and account.churned_on is None and rng.random() < 0.6:
        # Losing the champion hurts: usage sags for a while after they go.
        left = ctx.index(champion_left_on)
        p.slips.append((left, rng.randint(15, 40), rng.uniform(0.15, 0.35), rng.randint(40, 90), 0.5))
        if p.trouble is None:
            p.trouble = (left, left + 45)

    # Accounts in their first weeks are still rolling out; some have not activated at all.
    if today_index - p.start < 30 and rng.random() < 0.5:
        p.ramp_floor, p.ramp_days, p.breadth = 0.03, 90, 0.12

    # Metric groups some customers never connected.
    if rng.random() < _NOT_REPORTED["support"]:
        p.tickets_month = None
    p.csat = rng.random() >= _NOT_REPORTED["csat"]
    if rng.random() < _NOT_REPORTED["email"]:
        p.email_recipients = 0
    if rng.random() < _NOT_REPORTED["training"]:
        p.training_90 = None
    if rng.random() < _NOT_REPORTED["features"]:
        p.offered = None
    if rng.random() < _NOT_REPORTED["nps"]:
        p.nps_days = None
    else:
        p.nps_days = _nps_days(rng, p, days)
    if rng.random() < _NOT_REPORTED["billing"]:
        p.overdue = None
    else:
        p.overdue = _overdue_episodes(rng, p, days, churned=account.churned_on is not None)
    return p


def _nps_days(rng: random.Random, p: _Profile, days: int) -> list[tuple[int, int]]:
    """A quarterly survey; about half the quarters get an answer, scored by the mood of the day."""
    found = []
    day = p.first + rng.randint(20, 90)
    while day < p.end:
        if rng.random() < 0.55:
            troubled = p.trouble is not None and p.trouble[0] <= day < p.trouble[1]
            if troubled or p.mood == "at_risk":
                score = rng.choice((2, 3, 4, 5, 6, 6, 7, 8))
            elif p.mood == "steady":
                score = rng.choice((5, 6, 7, 7, 8, 8, 9, 10))
            else:
                score = rng.choice((7, 8, 8, 9, 9, 10, 10, 10))
            found.append((day, score))
        day += rng.randint(80, 100)
    return found


def _overdue_episodes(rng: random.Random, p: _Profile, days: int, *, churned: bool) -> list[tuple[int, int]]:
    episodes = []
    if rng.random() < 0.15:  # paid late once or twice in the year
        for _ in range(rng.randint(1, 2)):
            begin = rng.randint(p.first, max(p.first, p.end - 40))
            episodes.append((begin, begin + rng.randint(3, 25)))
    late_payer = (p.mood == "at_risk" and rng.random() < 0.35) or rng.random() < 0.03
    if churned and rng.random() < 0.3:
        episodes.append((max(p.first, p.end - rng.randint(10, 40)), p.end))
    elif not churned and late_payer:
        episodes.append((max(p.first, days - rng.randint(5, 40)), days))  # still unpaid today
    return episodes


def _story_profile(
    rng: random.Random, ctx: _Context, account: Account, base: _Profile, champion_left_on: date | None
) -> _Profile:
    """The story accounts: the generic draw, then the parts of the story pinned down."""
    today_index = ctx.days - 1

    def ago(n: int) -> int:
        return today_index - n

    p = base
    p.story = account.external_id
    p.slips, p.trouble, p.ticket_mode = [], None, ""
    p.overdue = []
    p.csat, p.offered = True, _OFFERED.get(account.plan, 16)
    p.training_90 = p.training_90 or 1.0
    p.email_recipients = p.email_recipients or 4
    p.tickets_month = p.tickets_month or 2.0
    if p.story == THRIVING:
        # High and rising: 40 seats added for the Kaohsiung warehouse ~58 days ago, all in use.
        p.seats, p.seat_changes = 260, [(ago(58), 300)]
        p.active_share, p.weekend, p.breadth, p.growth = 0.93, 0.75, 0.72, 0.3
        p.open_rate, p.training_90, p.release_month = 0.48, 4.0, 5.0
        p.nps_days = [
            (ago(n), score) for n, score in ((330, 9), (240, 10), (150, 9), (60, 10)) if ago(n) >= p.first
        ]
        p.hp_share = 0.04
    elif p.story == CHAMPION_LEFT:
        # The champion left ~40 days ago: logins sag, core-feature use slides ~40%, support
        # tickets pile up and the survey answers turn bitter. 20 seats were removed 10 days ago.
        left = ctx.index(champion_left_on) if champion_left_on else ago(40)
        p.seats, p.seat_changes = 340, [(ago(10), 320)]
        p.active_share, p.weekend, p.breadth, p.growth = 0.86, 0.35, 0.62, 0.05
        p.slips = [(left, 15, 0.28, 0, 0.0)]
        p.trouble, p.ticket_mode, p.hp_share = (left, ctx.days), "spike", 0.06
        p.open_rate, p.open_rate_trouble, p.training_90, p.release_month = 0.35, 0.04, 2.0, 2.0
        p.nps_days = [
            (ago(n), score) for n, score in ((300, 9), (200, 8), (110, 8), (20, 3)) if ago(n) >= p.first
        ]
        p.overdue = [(ago(13), ctx.days)]  # finance is holding the invoice: "too expensive"
        p.escalations = [(ago(6), 1), (ago(3), 1)]  # two high-priority tickets still open today
    elif p.story == ONBOARDING:
        # Twelve days in: the owner looked around on four days (scripted in `_draw`), nobody
        # else has been invited; no tickets, trainings or surveys yet.
        p.seats, p.active_share, p.weekend, p.breadth = 5, 0.2, 0.05, 0.1
        p.ramp_floor, p.ramp_days = 0.1, 90
        p.tickets_month, p.training_90, p.release_month, p.csat = 0.0, 0.0, 0.0, False
        p.email_recipients, p.open_rate, p.nps_days = 1, 0.5, None
    elif p.story == POLITE:
        # Warm replies to every e-mail, survey says 9; usage faded and stopped five weeks ago.
        p.seats, p.active_share, p.weekend, p.breadth, p.growth = 60, 0.7, 0.1, 0.5, 0.0
        p.slips = [(ago(110), 74, 0.55, 0, 0.0)]
        p.no_use_from = ago(35)
        p.trouble, p.ticket_mode = (ago(60), ctx.days), "silence"
        p.open_rate, p.open_rate_trouble, p.email_recipients = 0.92, 0.9, 6
        p.training_90, p.release_month = 0.0, 0.3
        p.nps_days = [(ago(n), score) for n, score in ((205, 10), (115, 9), (25, 9)) if ago(n) >= p.first]
    elif p.story == CHURNED_ONBOARDING:
        # Bought, never got it running, cancelled inside 90 days.
        p.active_share, p.breadth, p.ramp_floor, p.ramp_days = 0.2, 0.12, 0.1, 120
        p.slips = [(p.start + 30, 35, 0.7, 0, 0.0)]
        p.trouble, p.ticket_mode = (p.start + 20, p.end), ""
        p.training_90, p.release_month = 0.0, 0.0
    elif account.churned_on is not None:
        # The other churned stories: fading out over the last two to four months.
        gone = ctx.index(account.churned_on)
        begin = max(p.start + 14, gone - rng.randint(70, 110))
        p.slips = [(begin, gone - begin, 0.75, 0, 0.0)]
        p.trouble, p.ticket_mode = (begin + (gone - begin) // 3, gone), "spike"
    return p


# --- Columns -------------------------------------------------------------------------------


def _levels(ctx: _Context, p: _Profile) -> list[float]:
    """Usage level per day (1 = the account's normal): trend, wobble, ramp-up, slips."""
    first, end, days = p.first, p.end, ctx.days
    amp, speed, phase = p.wobble
    per_day = p.growth / 365
    base = 1.0 - per_day * (days - 1)
    sin = math.sin
    level = [base + per_day * g + amp * sin(phase + speed * g) for g in range(first, end)]
    # Ramp-up after the contract starts.
    age0 = first - p.start
    if age0 < p.ramp_days:
        span = p.ramp_days
        for k in range(min(len(level), span - age0)):
            level[k] *= p.ramp_floor + (1 - p.ramp_floor) * (age0 + k) / span
    for begin, down, depth, back, regained in p.slips:
        low = 1 - depth
        settled = 1 - depth * (1 - regained)
        for g in range(max(begin, first), end):
            t = g - begin
            if t < down:
                factor = 1 - depth * t / down
            elif back and t < down + back:
                factor = low + (settled - low) * (t - down) / back
            else:
                factor = settled if back else low
            level[g - first] *= factor
    if p.no_use_from is not None:
        for g in range(max(p.no_use_from, first), end):
            level[g - first] = 0.0
    return [x if x > 0 else 0.0 for x in level]


def _sparse(rng: random.Random, n: int, expected: float) -> list[int]:
    """About `expected` events spread over n days at random, as a list of daily counts."""
    counts = [0] * n
    if n <= 0 or expected <= 0:
        return counts
    for _ in range(int(expected + rng.random())):
        counts[int(rng.random() * n)] += 1
    return counts


# One list per metric (index 0 = the account's first row), or None when never reported.
_Columns = dict[str, list | None]


def _draw(rng: random.Random, ctx: _Context, p: _Profile) -> _Columns:
    first, end = p.first, p.end
    n = end - first
    level = _levels(ctx, p)
    cols: _Columns = dict.fromkeys(METRIC_FIELDS)

    # Weekly seasonality, rotated so index 0 is the weekday of `first`.
    wk = p.weekend
    pattern = (0.97, 1.0, 1.0, 0.98, 0.9, wk, wk * 0.8)
    shift = (ctx.weekday0 + first) % 7
    week = (pattern[shift:] + pattern[:shift]) * (n // 7 + 1)

    seats = [p.seats] * n
    for day, value in p.seat_changes:
        seats[max(0, day - first) :] = [value] * (n - max(0, day - first))
    n1, n2, n3 = ctx.noise_slice(rng, n), ctx.noise_slice(rng, n), ctx.noise_slice(rng, n)
    u1, u2, u3 = ctx.unif_slice(rng, n), ctx.unif_slice(rng, n), ctx.unif_slice(rng, n)
    share = p.active_share
    active = [
        min(s, int(s * share * lv * w * z + u))
        for s, lv, w, z, u in zip(seats, level, week, n1, u1, strict=False)
    ]
    lpu = p.logins_per_user
    # Every active user logged in at least once that day.
    logins = [max(a, int(a * lpu * z + u)) for a, z, u in zip(active, n2, u2, strict=True)]
    # Core-feature events per active user follow the level too: a sliding account still logs in
    # to look around but does less real work in the product (level 0.7 → core use ×0.6).
    half = p.core_per_user / 2
    core = [int(a * (half + half * lv) * z + u) for a, lv, z, u in zip(active, level, n3, u3, strict=True)]
    cols.update(logins=logins, active_users=active, licensed_seats=seats, core_events=core)

    # Distinct features used in the last 30 days: follows the best level of the last four weeks,
    # recomputed weekly.
    if p.offered is not None:
        offered = p.offered
        reach = offered * p.breadth
        used: list[int] = []
        for k in range(0, n, 7):
            best = max(level[max(0, k - 28) : k + 1 : 7])
            value = int(reach * min(1.0, best) + rng.random()) if best > 0 else 0
            used.extend([min(offered, value)] * 7)
        del used[n:]
        cols.update(features_used=used, features_offered=[offered] * n)

    if p.story == ONBOARDING:
        # The owner looked around on four days; nobody else has been invited yet.
        visits = {0: (2, 3, 1), 1: (1, 2, 1), 5: (1, 4, 2), 9: (2, 3, 2)}
        for k in range(n):
            age = first + k - p.start
            logins[k], active[k], core[k] = (
                (visits[age][0], 1, visits[age][1]) if age in visits else (0, 0, 0)
            )
            if p.offered is not None:
                cols["features_used"][k] = max(
                    (f for day, (*_, f) in visits.items() if day <= age), default=0
                )

    trouble_from, trouble_to = p.trouble if p.trouble else (end, end)
    t0, t1 = max(0, min(n, trouble_from - first)), max(0, min(n, trouble_to - first))
    t1 = max(t0, t1)

    # Support: tickets, the high-priority share and how long those stay open, CSAT answers.
    if p.tickets_month is not None:
        per_day = p.tickets_month / 30
        factor = {"spike": rng.uniform(2.5, 4.0), "silence": 0.0}.get(p.ticket_mode, 1.3)
        tickets = _sparse(rng, t0, per_day * t0)
        tickets += _sparse(rng, t1 - t0, per_day * factor * (t1 - t0))
        tickets += _sparse(rng, n - t1, per_day * (n - t1))
        forced = {day - first: count for day, count in p.escalations if first <= day < end}
        for k, count in forced.items():
            tickets[k] += count
        high, open_hp = [0] * n, [0] * n
        response: list[float | None] = [None] * n
        counts, sums = [0] * n, [0] * n
        for k in range(n):
            count = tickets[k]
            if not count:
                continue
            troubled = t0 <= k < t1
            escalations = forced.get(k, 0)
            for i in range(count):
                if i < escalations or rng.random() < (p.hp_share * 2.5 if troubled else p.hp_share):
                    high[k] += 1
                    stay = n if i < escalations else rng.randint(4, 18) if troubled else rng.randint(1, 5)
                    for j in range(k, min(n, k + stay)):
                        open_hp[j] += 1
                if p.csat and rng.random() < 0.5:
                    counts[k] += 1
                    sums[k] += rng.choices(_CSAT_SCORES, _CSAT_BAD if troubled else p.csat_weights)[0]
            response[k] = round(rng.uniform(4, 30) if troubled else rng.uniform(0.5, 9), 2)
        cols.update(
            tickets_opened=tickets,
            high_priority_tickets=high,
            open_high_priority=open_hp,
            first_response_hours=response,
        )
        if p.csat:
            cols.update(csat_count=counts, csat_sum=sums)

    if p.nps_days is not None:
        scores: list[int | None] = [None] * n
        for day, score in p.nps_days:
            if first <= day < end:
                scores[day - first] = score
        cols["nps"] = scores

    # Marketing e-mail: a weekly newsletter on the account's day, opened less when in trouble.
    if p.email_recipients:
        sent, opened = [0] * n, [0] * n
        recipients = p.email_recipients
        for k in range((p.email_weekday - (ctx.weekday0 + first)) % 7, n, 7):
            sent[k] = recipients
            rate = p.open_rate_trouble if t0 <= k < t1 else p.open_rate
            noisy = recipients * rate * 1.1 * ctx.noise[k % _TABLE] + rng.random() * 0.9
            opened[k] = min(recipients, int(noisy))
        cols.update(emails_sent=sent, emails_opened=opened)

    # Training sessions and release-notes views stop while the account is in trouble.
    if p.training_90 is not None:
        training = _sparse(rng, t0, p.training_90 / 90 * t0) + [0] * (t1 - t0)
        cols["training_sessions"] = training + _sparse(rng, n - t1, p.training_90 / 90 * (n - t1))
    releases = _sparse(rng, t0, p.release_month / 30 * t0) + [0] * (t1 - t0)
    releases += _sparse(rng, n - t1, p.release_month / 30 * (n - t1))
    if p.no_use_from is not None:
        for k in range(max(0, p.no_use_from - first), n):
            releases[k] = 0
    cols["release_notes_views"] = releases

    if p.overdue is not None:
        overdue = [0] * n
        for begin, stop in p.overdue:
            for g in range(max(begin, first), min(stop, end)):
                overdue[g - first] = g - begin + 1
        cols["invoice_days_overdue"] = overdue
    return cols


def _metric_rows(ctx: _Context, p: _Profile, cols: _Columns) -> Iterator[tuple]:
    n = p.end - p.first
    none = [None] * n
    return zip(
        [p.pk] * n,
        ctx.db_dates[p.first : p.end],
        *(none if cols[name] is None else cols[name] for name in METRIC_FIELDS),
        strict=True,
    )


# --- Score history -------------------------------------------------------------------------

# The windows of health.scoring.metric_aggregates: (first, last) days before as_of, inclusive.
# `tests/health/test_demo_health.py` checks the replay below against recompute_health.
_WINDOWS = {
    "14": (0, 13),
    "prior60": (14, 73),
    "30": (0, 29),
    "core_prior": (30, 89),
    "prior90": (30, 119),
    "90": (0, 89),
}
_LOOKBACK = {
    "seats": ("licensed_seats", 90),
    "features_used_now": ("features_used", 30),
    "features_offered_now": ("features_offered", 90),
    "open_hp": ("open_high_priority", 30),
    "overdue": ("invoice_days_overdue", 30),
}


class _Replay:
    """Scores past days from the metrics still in memory, through the scorer's own arithmetic.

    `recompute_health` costs about 0.15 s a day for 400 accounts on SQLite (half of it in its
    queries), so the default 130 days of history would take 20 s; this takes about 3 s. Each
    account's window sums come from prefix sums of the lists just drawn, its facts (touches,
    champions, cancellation intent) from three queries made once, and
    `health.scoring.score_account` turns them into exactly the snapshot recompute_health would
    write (`tests/health/test_demo_health.py` compares them day by day). Today itself is scored
    by recompute_health. Fresh demo data has no CSM overrides, so none are looked up.
    """

    def __init__(self, ctx: _Context, days: Sequence[int], events: Sequence[SignalEvent]) -> None:
        from accounts.models import Touchpoint

        from .scoring import CANCELLATION_WINDOW_DAYS, METRICS_WINDOW_DAYS, ModelSpec, published_model

        self.ctx = ctx
        self.days = sorted(days)
        model = published_model()
        self.model_id = model.pk
        self.spec = ModelSpec.load(model)
        self.window = METRICS_WINDOW_DAYS
        self.cancel_window = CANCELLATION_WINDOW_DAYS
        self.touches: dict[int, tuple[list[int], list[Any]]] = {}
        localtime = timezone.localtime
        for account_id, occurred_at in Touchpoint.objects.order_by("account_id", "occurred_at").values_list(
            "account_id", "occurred_at"
        ):
            index, moments = self.touches.setdefault(account_id, ([], []))
            index.append(ctx.index(localtime(occurred_at).date()))
            moments.append(occurred_at)
        self.has_contacts: set[int] = set()
        self.champions: dict[int, list[int | None]] = {}  # account → day index each champion left
        for account_id, is_champion, left_on in Contact.objects.values_list(
            "account_id", "is_champion", "left_on"
        ):
            self.has_contacts.add(account_id)
            if is_champion:
                self.champions.setdefault(account_id, []).append(
                    None if left_on is None else ctx.index(left_on)
                )
        self.cancellations: dict[int, list[int]] = {}
        for event in events:
            if event.kind == EventKind.CANCELLATION_INTENT:
                self.cancellations.setdefault(event.account_id, []).append(ctx.index(event.occurred_on))
        # Churned accounts keep the score of their last scored day on the account row, as the
        # nightly copy_latest_to_accounts would have left it: pk → (day, score, tier, 7-day change).
        self.final: dict[int, tuple[date, int | None, str, int | None]] = {}

    def snapshots(self, account: Account, p: _Profile, cols: _Columns) -> list[tuple]:
        from .scoring import score_account

        ctx, first, end = self.ctx, p.first, p.end
        gone = ctx.index(account.churned_on) if account.churned_on else None
        days = [h for h in self.days if h >= p.start and (gone is None or h < gone)]
        if not days:
            return []
        dates, n = ctx.day_dates, len(days)
        his = [min(end - 1, h) for h in days]
        los = [max(first, h - self.window + 1) for h in days]

        # Each window as (k0, k1) slices of the account's lists, for every day at once.
        def slices(bounds: tuple[int, int]) -> list[tuple[int, int]]:
            a, b = bounds
            return [
                (max(first, h - b) - first, min(hi, h - a) - first + 1)
                for h, hi in zip(days, his, strict=True)
            ]

        windows = {key: slices(bounds) for key, bounds in _WINDOWS.items()}

        def counted(key: str) -> list[int]:
            return [k1 - k0 if k1 > k0 else 0 for k0, k1 in windows[key]]

        def summed(name: str, key: str) -> list[Any]:
            column = cols[name]
            if column is None:
                return [None] * n
            prefix = list(accumulate(column, initial=0))
            return [prefix[k1] - prefix[k0] if k1 > k0 else None for k0, k1 in windows[key]]

        def days_of(name: str, key: str) -> list[int]:
            return [0] * n if cols[name] is None else counted(key)

        logins = cols["logins"]
        assert logins is not None
        login_prefix = list(accumulate((x > 0 for x in logins), initial=0))
        login_at = [k for k, x in enumerate(logins) if x]
        agg_columns = {
            "logins_14": summed("logins", "14"),
            "logins_14_days": days_of("logins", "14"),
            "logins_prior": summed("logins", "prior60"),
            "logins_prior_days": days_of("logins", "prior60"),
            "login_days_14": [
                login_prefix[k1] - login_prefix[k0] if k1 > k0 else 0 for k0, k1 in windows["14"]
            ],
            "login_days_prior": [
                login_prefix[k1] - login_prefix[k0] if k1 > k0 else 0 for k0, k1 in windows["prior60"]
            ],
            "training_30": summed("training_sessions", "30"),
            "training_30_days": days_of("training_sessions", "30"),
            "logins_30": summed("logins", "30"),
            "logins_30_days": days_of("logins", "30"),
            "active_30": summed("active_users", "30"),
            "active_30_days": days_of("active_users", "30"),
            "core_30": summed("core_events", "30"),
            "core_30_days": days_of("core_events", "30"),
            "core_prior": summed("core_events", "core_prior"),
            "core_prior_days": days_of("core_events", "core_prior"),
            "tickets_30": summed("tickets_opened", "30"),
            "tickets_30_days": days_of("tickets_opened", "30"),
            "tickets_prior": summed("tickets_opened", "prior90"),
            "tickets_prior_days": days_of("tickets_opened", "prior90"),
            "csat_count": summed("csat_count", "90"),
            "csat_sum": summed("csat_sum", "90"),
            "emails_sent": summed("emails_sent", "90"),
            "emails_opened": summed("emails_opened", "90"),
            "training": summed("training_sessions", "90"),
            "training_days": days_of("training_sessions", "90"),
            "release_notes": summed("release_notes_views", "30"),
            "release_notes_days": days_of("release_notes_views", "30"),
        }
        keys = list(agg_columns)
        per_day = list(zip(*agg_columns.values(), strict=True))

        nps = cols["nps"]
        nps_at = [k for k, x in enumerate(nps) if x is not None] if nps is not None else []
        touch_index, touch_moments = self.touches.get(p.pk, ([], []))
        champions = self.champions.get(p.pk, [])
        cancellations = self.cancellations.get(p.pk, [])
        base_facts = {
            "pk": p.pk,
            "value_tier": account.value_tier,
            "contract_start": account.contract_start,
            "override_score": None,
            "has_contacts": p.pk in self.has_contacts,
        }
        rows = []
        scores: dict[int, int | None] = {}
        for i, h in enumerate(days):
            lo, hi = los[i], his[i]
            agg: dict[str, Any] = {}
            if lo <= hi:
                agg = dict(zip(keys, per_day[i], strict=True))
                agg["last_date"], agg["first_date"] = dates[hi], dates[lo]
                seen = bisect_right(login_at, hi - first) - 1
                agg["last_login"] = (
                    dates[login_at[seen] + first] if seen >= 0 and login_at[seen] + first >= lo else None
                )
            facts = dict(base_facts)
            facts["has_champion"] = any(left is None or left > h for left in champions)
            facts["cancellation_intent"] = any(h - self.cancel_window < on <= h for on in cancellations)
            for key, (name, lookback) in _LOOKBACK.items():
                column = cols[name]
                fresh = column is not None and first <= hi and hi > h - lookback
                facts[key] = column[hi - first] if fresh else None  # type: ignore[index]
            latest = bisect_right(nps_at, hi - first) - 1
            fresh = latest >= 0 and nps_at[latest] + first > h - 365
            facts["nps_latest"] = nps[nps_at[latest]] if fresh else None  # type: ignore[index]
            touched = bisect_right(touch_index, h) - 1
            facts["last_touch"] = touch_moments[touched] if touched >= 0 else None
            score = score_account(facts, agg, self.spec, dates[h])
            scores[h] = score.score
            rows.append(
                (
                    p.pk,
                    ctx.db_dates[h],
                    self.model_id,
                    score.score,
                    score.computed_score,
                    score.tier,
                    score.confidence,
                    score.stale,
                    score.override,
                    json.dumps(score.measures),
                )
            )
        if gone is not None:
            last, week_ago = scores[days[-1]], scores.get(days[-1] - 7)
            delta = last - week_ago if last is not None and week_ago is not None else None
            self.final[p.pk] = (dates[days[-1]], last, score.tier, delta)
        return rows

    def copy_final_scores(self) -> None:
        accounts = []
        for pk, (day, score, tier, delta) in self.final.items():
            accounts.append(
                Account(
                    pk=pk, health_score=score, health_tier=tier, health_delta_7d=delta, health_scored_on=day
                )
            )
        fields = ["health_score", "health_tier", "health_delta_7d", "health_scored_on"]
        Account.objects.bulk_update(accounts, fields, batch_size=500)


def history_days(*, today: date, days: int, accounts: int) -> list[date]:
    """The past days to score, oldest first: every day of the last 90 (the account page's 90-day
    chart) and weekly before that, back to the first metrics. Books over LARGE_BOOK accounts get
    only the 30 days before today (enough for the 7- and 30-day comparisons): 10,000 accounts ×
    a year would be 3.65 million snapshots (~4 GB of measure JSON) and a quarter of an hour of
    scoring; even the 90 days of the default would add two minutes."""
    if accounts > LARGE_BOOK:
        return [today - timedelta(days=n) for n in range(min(days - 1, LARGE_BOOK_HISTORY_DAYS), 0, -1)]
    daily = min(days, DAILY_HISTORY_DAYS)
    found = [
        today - timedelta(days=n)
        for n in range(days - 1, daily - 1, -1)
        if (n - daily + 1) % HISTORY_STEP_DAYS == 0
    ]
    return found + [today - timedelta(days=n) for n in range(daily - 1, 0, -1)]


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
    rng: random.Random, ctx: _Context, profiles: list[tuple[Account, _Profile]], left: Mapping[int, date]
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

    by_id = {account.external_id: account for account, _ in profiles}
    stories = {
        CHAMPION_LEFT: [
            (EventKind.DOWNGRADE_REQUESTED, 11, "Finance asked to remove 20 warehouse seats"),
            (EventKind.CANCELLATION_INTENT, 4, "The GM asked what it takes to cancel before the renewal"),
        ],
        STORY_ACCOUNTS["churned_price"]: [
            (EventKind.CANCELLATION_INTENT, 30, "Budget cut: may cancel to save cost")
        ],
        STORY_ACCOUNTS["churned_competitor"]: [
            (EventKind.CANCELLATION_INTENT, 15, "Decided to move to a cheaper competitor")
        ],
        STORY_ACCOUNTS["churned_closed"]: [(EventKind.CANCELLATION_INTENT, 10, "Closing the café")],
        CHURNED_ONBOARDING: [(EventKind.CANCELLATION_INTENT, 3, "Never got it running; asked to cancel")],
    }
    for external_id, items in stories.items():
        account = by_id.get(external_id)
        if account is None:
            continue
        anchor = account.churned_on or today
        for kind, offset, note in items:
            add(account, kind, anchor - timedelta(days=offset), note)
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
    ctx = _Context(rng, days=days, today=today, postgres=connection.vendor == "postgresql")
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
    profiles: list[tuple[Account, _Profile]] = []
    for account in accounts:
        planned = (moods or {}).get(account.pk)
        if planned is not None and planned.mood in _MOODS:
            mood, shift_on = planned.mood, planned.shift_on
        elif account.status == AccountStatus.CHURNED:
            mood, shift_on = "steady", None
        else:
            mood, shift_on = rng.choices(_MOODS, (5, 50, 30, 15))[0], None
        p = _generic_profile(
            rng, ctx, account, mood=mood, shift_on=shift_on, champion_left_on=left.get(account.pk)
        )
        if account.external_id in _STORY_IDS:
            p = _story_profile(rng, ctx, account, p, left.get(account.pk))
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
    replay = _Replay(ctx, replay_days, events) if replay_days else None
    metrics = _TableWriter(DailyMetric, ("account", "date", *METRIC_FIELDS))
    snapshots = _TableWriter(HealthSnapshot, _SNAPSHOT_FIELDS, buffer=ROWS_PER_WRITE // 5)
    for account, p in profiles:
        if p.end <= p.first:
            continue
        cols = _draw(rng, ctx, p)
        metrics.add(_metric_rows(ctx, p, cols))
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
    from .alerts import raise_alerts
    from .scoring import recompute_health

    run = recompute_health(as_of=today)
    alerts = raise_alerts(as_of=today, prepared=getattr(run, "prepared", None))
    return {"snapshots": run.scored, "alerts": alerts.raised}


def ensure_published_model() -> HealthModel:
    """The published health model; DESIGN.md's defaults when there is none (the data migration
    ships them, but a flushed test database or a hand-cleaned one may have lost them)."""
    from .defaults import create_default_model

    model = HealthModel.objects.filter(status=ModelStatus.PUBLISHED).first()
    if model is None:
        version = (HealthModel.objects.aggregate(latest=Max("version"))["latest"] or 0) + 1
        model = create_default_model(HealthModel, HealthDimension, HealthMeasure, version=version)
    return model


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
