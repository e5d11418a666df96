"""Daily health metrics that match the demo accounts' stories: how each account behaves over the
window (its profile: seats, usage level, slips, trouble with support, surveys, invoices) and the
columns of daily metrics drawn from it.

The real scorer (`health.scoring`) then finds what each story says: Northwind thriving, Harbor's
core-feature use sliding after its champion left, Polite Co answering e-mails while nobody logs
in, Sprout not activated yet, churned accounts fading out before they leave, most of the book
steady or growing and about a fifth of it slipping at some point in the year. The story accounts'
pinned numbers are data: the [story.health] blocks of data/stories.toml.

Speed matters (10,000 accounts × 365 days is 3.65 million rows), so nothing here works per row
with model instances or Decimals: each account gets a handful of Python lists (its usage level
per day, weekly seasonality, noise read from shared tables). Everything is drawn from the
caller's `random.Random` in a fixed order: same seed, same rows.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from accounts.models import Account, EmployeeBand, Industry
from health.models import METRIC_FIELDS

from .records import relative_date
from .stories import STORY_BY_EXTERNAL_ID

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
class Profile:
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
    # Story accounts only: the days a user looked around, by day of the contract:
    # (logins, core events, features used). Nobody else logs in.
    visits: dict[int, tuple[int, int, int]] | None = None


class Context:
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
    ctx: Context,
    account: Account,
    *,
    mood: str,
    shift_on: date | None,
    champion_left_on: date | None,
) -> Profile:
    days = ctx.days
    start = ctx.index(account.contract_start)
    end = days if account.churned_on is None else min(days, ctx.index(account.churned_on))
    seats = rng.randint(*_SEATS.get(account.employee_band, (5, 30)))
    p = Profile(
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


def _nps_days(rng: random.Random, p: Profile, days: int) -> list[tuple[int, int]]:
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


def _overdue_episodes(rng: random.Random, p: Profile, days: int, *, churned: bool) -> list[tuple[int, int]]:
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


def plan_profile(
    rng: random.Random,
    ctx: Context,
    account: Account,
    *,
    mood: str,
    shift_on: date | None,
    champion_left_on: date | None,
) -> Profile:
    """How the account behaves over the window: the generic draw, then, for a story account, the
    parts of its story pinned down."""
    p = _generic_profile(rng, ctx, account, mood=mood, shift_on=shift_on, champion_left_on=champion_left_on)
    story = STORY_BY_EXTERNAL_ID.get(account.external_id)
    if story is not None:
        _pin_story(rng, ctx, account, p, story.record.get("health"))
    return p


# Profile fields of a [story.health] block that hold (day, value) pairs; slips, trouble, overdue
# and no_use_from hold days too. Everything else is set as written.
_DAY_PAIRS = ("seat_changes", "nps_days", "escalations")


def _pin_story(
    rng: random.Random, ctx: Context, account: Account, p: Profile, health: Mapping[str, Any] | None
) -> None:
    p.story = account.external_id
    p.slips, p.trouble, p.ticket_mode = [], None, ""
    p.overdue = []
    p.csat, p.offered = True, _OFFERED.get(account.plan, 16)
    p.training_90 = p.training_90 or 1.0
    p.email_recipients = p.email_recipients or 4
    p.tickets_month = p.tickets_month or 2.0
    if health is None:
        if account.churned_on is not None:
            # A churned story without its own numbers fades out over the two to four months
            # before it leaves.
            gone = ctx.index(account.churned_on)
            begin = max(p.start + 14, gone - rng.randint(70, 110))
            p.slips = [(begin, gone - begin, 0.75, 0, 0.0)]
            p.trouble, p.ticket_mode = (begin + (gone - begin) // 3, gone), "spike"
        return

    def day(text: str) -> int:
        if text == "end":
            return p.end
        return ctx.index(
            relative_date(text, today=ctx.today, start=account.contract_start, churn=account.churned_on)
        )

    for name, value in health.items():
        if name in _DAY_PAIRS:
            value = [(day(on), number) for on, number in value]
            if name == "nps_days":
                value = [(on, score) for on, score in value if on >= p.first]
        elif name == "overdue":
            value = [(day(begin), day(stop)) for begin, stop in value]
        elif name == "slips":
            value = [(day(begin), *shape) for begin, *shape in value]
        elif name == "trouble":
            value = (day(value[0]), day(value[1]))
        elif name == "no_use_from":
            value = day(value)
        elif name == "visits":
            value = {age: (logins, core, features) for age, logins, core, features in value}
        elif name == "not_reported":
            for never in value:
                setattr(p, never, None)
            continue
        setattr(p, name, value)


# --- Columns -------------------------------------------------------------------------------


def _levels(ctx: Context, p: Profile) -> list[float]:
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
Columns = dict[str, list | None]


def draw_columns(rng: random.Random, ctx: Context, p: Profile) -> Columns:
    first, end = p.first, p.end
    n = end - first
    level = _levels(ctx, p)
    cols: Columns = dict.fromkeys(METRIC_FIELDS)

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

    if p.visits is not None:
        # Someone looked around on a few days; nobody else has been invited yet.
        visits = p.visits
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


def metric_rows(ctx: Context, p: Profile, cols: Columns) -> Iterator[tuple]:
    n = p.end - p.first
    none = [None] * n
    return zip(
        [p.pk] * n,
        ctx.db_dates[p.first : p.end],
        *(none if cols[name] is None else cols[name] for name in METRIC_FIELDS),
        strict=True,
    )
