"""The demo's score history: every past day the account page charts, scored from the metrics
still in memory through the scorer's own arithmetic (`Replay`), and which days those are
(`history_days`). Today itself is scored by `health.recompute.recompute_health` (see health.py).
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Sequence
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from django.utils import timezone

from accounts.models import Account, Contact, Touchpoint
from health.models import EventKind, SignalEvent
from health.score_inputs import METRICS_WINDOW_DAYS
from health.scoring import CANCELLATION_WINDOW_DAYS, ModelSpec, published_model, score_account

from .metrics import Columns, Context, Profile

# Books larger than this get 30 days of score history, not a year (see `history_days`).
LARGE_BOOK = 2000
LARGE_BOOK_HISTORY_DAYS = 30
# Every day of the last 90 is scored (the account page's 90-day chart), weekly before that.
DAILY_HISTORY_DAYS = 90
HISTORY_STEP_DAYS = 7

# The windows of health.score_inputs.metric_aggregates: (first, last) days before as_of, inclusive.
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


class Replay:
    """Scores past days from the metrics still in memory, through the scorer's own arithmetic.

    `recompute_health` costs about 0.15 s a day for 400 accounts on SQLite (half of it in its
    queries), so the default 130 days of history would take 20 s; this takes about 3 s. Each
    account's window sums come from prefix sums of the lists just drawn, its facts (touches,
    champions, cancellation intent) from three queries made once, and
    `health.scoring.score_account` turns them into exactly the snapshot recompute_health would
    write (`tests/health/test_demo_health.py` compares them day by day). Today itself is scored
    by recompute_health. Fresh demo data has no CSM overrides, so none are looked up.
    """

    def __init__(self, ctx: Context, days: Sequence[int], events: Sequence[SignalEvent]) -> None:
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

    def snapshots(self, account: Account, p: Profile, cols: Columns) -> list[tuple]:
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
