"""The scoring arithmetic, pinned with hand-computed examples."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Account
from health.models import DailyMetric, HealthOverride, HealthSnapshot, SignalEvent, tier_for
from health.recompute import recompute_health
from health.scoring import band_score
from tests.factories import AccountFactory, ContactFactory, TouchpointFactory

TODAY = timezone.localdate()


def days_ago(n):
    return TODAY - timedelta(days=n)


def metrics(account, first, last, **values):
    """One row per day from `first` to `last` days ago, inclusive, with the given values."""
    DailyMetric.objects.bulk_create(
        DailyMetric(account=account, date=days_ago(n), **values) for n in range(last, first - 1, -1)
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.1, 0), (0.2, 0), (0.35, 25), (0.5, 50), (0.7, 75), (0.9, 100), (3.0, 100)],
)
def test_login_trend_bands_are_piecewise_linear_and_clamped(value, expected):
    assert band_score(value, [[0.2, 0], [0.5, 50], [0.9, 100]]) == pytest.approx(expected)


@pytest.mark.parametrize(("nps", "expected"), [(0, 20), (6, 20), (7, 60), (8, 60), (9, 100), (10, 100)])
def test_nps_bands_are_steps(nps, expected):
    assert band_score(nps, [[0, 20], [7, 60], [9, 100]], "step") == expected


@pytest.mark.parametrize(
    ("score", "tier"),
    [
        (0, "high"),
        (39, "high"),
        (40, "medium"),
        (59, "medium"),
        (60, "low"),
        (79, "low"),
        (80, "healthy"),
        (100, "healthy"),
    ],
)
def test_tier_boundaries(score, tier):
    assert tier_for(score) == tier


@pytest.fixture
def acme(db):
    """Tier B (touch cadence 14 days), a champion, touched 10 days ago: touch recency and
    champion both score 100."""
    account = AccountFactory(
        name="Acme Ltd", external_id="ACME", value_tier="B", contract_start=days_ago(400)
    )
    ContactFactory(account=account, is_champion=True)
    TouchpointFactory(account=account, occurred_at=timezone.now() - timedelta(days=10))
    return account


def snapshot(account):
    return HealthSnapshot.objects.get(account=account, date=TODAY)


def test_missing_measures_drop_out_and_lower_confidence_not_the_score(acme):
    # Only the invoice is reported: 15 days overdue scores 50.
    metrics(acme, 1, 1, invoice_days_overdue=15)
    recompute_health(as_of=TODAY)
    snap = snapshot(acme)
    # Relationship (25) shares equally over 4 measures: 6.25 each. NPS is missing, so the
    # score is the mean of invoice 50, touch 100 and champion 100 = 83.33 -> 83.
    assert snap.score == 83
    assert snap.tier == "healthy"
    assert snap.confidence == pytest.approx(0.188, abs=0.001)  # 18.75 of 100 weight points
    assert snap.measures["latest_nps"]["sub"] is None
    assert snap.measures["login_trend"]["raw"] is None
    assert snap.measures["invoice_overdue"] == {
        "dimension": "relationship",
        "raw": 15.0,
        "sub": 50.0,
        "weight": 33.33,
        "contribution": 16.67,
    }


def test_a_second_dimension_reweights_by_dimension_weight(acme):
    metrics(acme, 1, 1, invoice_days_overdue=15)
    # CSAT: two responses of 1 and 3 -> mean 2.0 -> sub-score 0. Support (20) over 3 measures.
    metrics(acme, 5, 5, csat_count=2, csat_sum=4)
    recompute_health(as_of=TODAY)
    # (6.25 * (50 + 100 + 100) + 6.667 * 0) / (18.75 + 6.667) = 61.48 -> 61
    snap = snapshot(acme)
    assert snap.score == 61
    assert snap.tier == "low"
    assert snap.measures["csat"]["raw"] == 2.0 and snap.measures["csat"]["sub"] == 0.0


def test_usage_trends_are_computed_from_their_windows(acme):
    # 60 days before the last 14: 10 logins a day; last 14 days: 5 a day -> ratio 0.5 -> 50.
    metrics(acme, 14, 73, logins=10, licensed_seats=10, active_users=5)
    metrics(acme, 0, 13, logins=5, licensed_seats=10, active_users=5)
    recompute_health(as_of=TODAY)
    snap = snapshot(acme)
    assert snap.measures["login_trend"]["raw"] == 0.5
    assert snap.measures["login_trend"]["sub"] == 50.0
    # 5 active of 10 seats = 0.5 -> (0.5 - 0.2) / 0.6 * 100 = 50
    assert snap.measures["seat_utilisation"]["sub"] == 50.0


def test_no_login_for_30_days_caps_the_score_at_39(acme):
    metrics(acme, 31, 100, logins=8, invoice_days_overdue=0)
    metrics(acme, 0, 30, logins=0, invoice_days_overdue=0)
    recompute_health(as_of=TODAY)
    snap = snapshot(acme)
    assert snap.computed_score > 39
    assert snap.score == 39 and snap.tier == "high" and snap.override == "no_login"


def test_a_source_that_stopped_sending_is_stale_not_zero_usage(acme):
    metrics(acme, 20, 100, logins=8, core_events=50, invoice_days_overdue=0)
    recompute_health(as_of=TODAY)
    snap = snapshot(acme)
    assert snap.stale is True
    assert snap.override == ""  # not read as "no login"
    assert snap.measures["login_trend"]["raw"] is None  # no recent window, so no trend
    assert snap.confidence < 0.5


def test_cancellation_intent_forces_high_risk(acme):
    metrics(acme, 1, 1, invoice_days_overdue=0)
    SignalEvent.objects.create(account=acme, kind="cancellation_intent", occurred_on=days_ago(3))
    recompute_health(as_of=TODAY)
    snap = snapshot(acme)
    assert snap.computed_score == 100
    assert snap.score == 39 and snap.tier == "high" and snap.override == "cancellation_intent"


@pytest.mark.parametrize(
    ("forced", "tier"),
    [(39, "high"), (40, "medium"), (59, "medium"), (60, "low"), (79, "low"), (80, "healthy")],
)
def test_a_csm_override_sets_the_score_and_its_tier(acme, alice_csm, forced, tier):
    HealthOverride.objects.create(
        account=acme,
        score=forced,
        reason="Signed a 2-year renewal",
        expires_on=days_ago(-10),
        created_by=alice_csm,
    )
    recompute_health(as_of=TODAY)
    snap = snapshot(acme)
    assert (snap.score, snap.tier, snap.override) == (forced, tier, "csm")


def test_an_expired_override_no_longer_applies(acme, alice_csm):
    HealthOverride.objects.create(
        account=acme, score=10, reason="old", expires_on=days_ago(1), created_by=alice_csm
    )
    recompute_health(as_of=TODAY)
    assert snapshot(acme).override == ""


def test_recompute_is_idempotent_and_copies_the_latest_onto_the_account(acme):
    metrics(acme, 1, 1, invoice_days_overdue=15)
    recompute_health(as_of=days_ago(7))
    recompute_health(as_of=TODAY)
    recompute_health(as_of=TODAY)
    assert HealthSnapshot.objects.filter(account=acme, date=TODAY).count() == 1
    acme.refresh_from_db()
    assert acme.health_score == 83 and acme.health_tier == "healthy"
    week_ago = HealthSnapshot.objects.get(account=acme, date=days_ago(7)).score
    assert acme.health_delta_7d == 83 - week_ago
    # Recomputing the past does not overwrite today's figures on the account.
    recompute_health(as_of=days_ago(3))
    acme.refresh_from_db()
    assert acme.health_scored_on == TODAY


def test_churned_accounts_are_scored_only_while_they_were_customers(db):
    gone = AccountFactory(status="churned", churned_on=days_ago(10), churn_type="cancelled")
    recompute_health(as_of=TODAY)
    recompute_health(as_of=days_ago(20))
    assert list(HealthSnapshot.objects.filter(account=gone).values_list("date", flat=True)) == [days_ago(20)]


def test_recompute_costs_the_same_queries_for_3_or_30_accounts(db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def run():
        with CaptureQueriesContext(connection) as ctx:
            recompute_health(as_of=TODAY)
        return len(ctx.captured_queries)

    for _ in range(3):
        account = AccountFactory()
        metrics(account, 0, 20, logins=3, invoice_days_overdue=0)
    few = run()
    for _ in range(27):
        account = AccountFactory()
        ContactFactory(account=account, is_champion=True)
        metrics(account, 0, 20, logins=3, invoice_days_overdue=0)
    assert run() == few


def test_the_command_scores_one_account_for_a_given_day(acme, capsys):
    other = AccountFactory()
    call_command("recompute_health", "--date", days_ago(2).isoformat(), "--account", "ACME")
    assert HealthSnapshot.objects.filter(account=acme, date=days_ago(2)).exists()
    assert not HealthSnapshot.objects.filter(account=other).exists()
    assert "Scored 1 accounts" in capsys.readouterr().out


def test_the_command_reports_bad_arguments(acme):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("recompute_health", "--date", "23/11/2026")
    with pytest.raises(CommandError, match="No account"):
        call_command("recompute_health", "--account", "NOPE")
    assert not Account.objects.exclude(health_score=None).exists()


def test_the_facts_read_for_all_accounts_at_once_pick_the_right_rows(acme, alice_csm):
    # The latest NPS of the year, even from before the 150-day metrics window; not an older one.
    metrics(acme, 300, 300, nps=3)
    metrics(acme, 200, 200, nps=9)
    metrics(acme, 1, 1, invoice_days_overdue=0)
    # Of two live overrides, the one set last; a revoked one counts for nothing.
    for score, set_days_ago, revoked in ((20, 5, None), (70, 2, None), (90, 1, timezone.now())):
        HealthOverride.objects.create(
            account=acme,
            score=score,
            reason="r",
            expires_on=days_ago(-10),
            created_by=alice_csm,
            created_at=timezone.now() - timedelta(days=set_days_ago),
            revoked_at=revoked,
        )
    # A second account: its champion left, an older touch only, and no NPS within the year.
    other = AccountFactory(value_tier="C", contract_start=days_ago(400))
    ContactFactory(account=other, is_champion=True, left_on=days_ago(3))
    TouchpointFactory(account=other, occurred_at=timezone.now() - timedelta(days=60))
    TouchpointFactory(account=other, occurred_at=timezone.now() + timedelta(days=2))  # not yet
    metrics(other, 400, 400, nps=10)
    metrics(other, 1, 1, invoice_days_overdue=0)
    recompute_health(as_of=TODAY)
    mine, theirs = snapshot(acme), snapshot(other)
    assert mine.measures["latest_nps"]["raw"] == 9.0
    assert (mine.score, mine.override) == (70, "csm")
    assert theirs.measures["latest_nps"]["raw"] is None
    assert theirs.measures["champion_present"]["raw"] == 0.0
    assert theirs.measures["touch_recency"]["raw"] == 2.0  # 60 days over a 30-day cadence


# --- honest missing data (issue 16): no cap or sub-score from data never sent -----------------


def test_a_source_that_never_sends_logins_is_not_capped_for_no_login(acme):
    # Months of invoices and tickets, but no logins column at all: nothing says they stopped.
    metrics(acme, 0, 100, invoice_days_overdue=0, tickets_opened=1)
    recompute_health(as_of=TODAY)
    snap = snapshot(acme)
    assert snap.override == ""
    assert snap.score == snap.computed_score and snap.score > 39
    assert snap.measures["login_trend"]["raw"] is None


def test_no_login_counts_from_the_first_login_report_not_the_first_metric(acme):
    # Invoices for 100 days; logins reported (all zero) only for the last 10: not yet 30 days
    # of evidence.
    metrics(acme, 11, 100, invoice_days_overdue=0)
    metrics(acme, 0, 10, logins=0, invoice_days_overdue=0)
    recompute_health(as_of=TODAY)
    assert snapshot(acme).override == ""


def test_never_a_touchpoint_is_no_data_not_as_old_as_the_contract(db):
    account = AccountFactory(value_tier="B", contract_start=days_ago(400))
    ContactFactory(account=account, is_champion=True)
    metrics(account, 1, 1, invoice_days_overdue=0)
    recompute_health(as_of=TODAY)
    snap = snapshot(account)
    assert snap.measures["touch_recency"]["raw"] is None
    assert snap.measures["touch_recency"]["weight"] == 0.0
    # Invoice 100 and champion 100: the missing touch neither lowers nor raises the score.
    assert snap.score == 100
    assert snap.confidence < 0.2
