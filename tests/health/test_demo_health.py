"""The demo's health data tells its stories through the real scorer (DESIGN.md, "Demo data tells
stories"): these fail if a story stops showing, whoever changed the generator or the scorer."""

import random
from collections import Counter
from datetime import date, timedelta

import pytest
from django.db.models import Count, F, Max, Min, Q, Sum

from accounts.models import Account, Contact
from csworkbench.demo.health import seed_metrics
from csworkbench.demo.history import LARGE_BOOK, history_days
from csworkbench.demo.seed import seed_demo
from csworkbench.demo.stories import STORY_ACCOUNTS
from health.models import Alert, DailyMetric, EventKind, HealthModel, HealthSnapshot, SignalEvent
from health.recompute import recompute_health

TODAY = date(2026, 3, 2)
SMALL = {"accounts": 60, "days": 120, "today": TODAY}
SNAPSHOT_FIELDS = ("score", "computed_score", "tier", "confidence", "stale", "override", "measures")


@pytest.fixture(autouse=True)
def fast_demo(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def seeded(db):
    return seed_demo(seed=7, **SMALL)


def story(key: str) -> Account:
    return Account.objects.get(external_id=STORY_ACCOUNTS[key])


def today_snapshot(account: Account) -> HealthSnapshot:
    return account.health_snapshots.get(date=TODAY)


def raw(snapshot: HealthSnapshot, measure: str):
    return snapshot.measures[measure]["raw"]


def open_alerts(account: Account) -> dict[str, dict]:
    return dict(account.alerts.filter(resolved_on__isnull=True).values_list("kind", "evidence"))


# --- What gets written ---------------------------------------------------------------------


def test_it_counts_what_it_wrote(seeded):
    assert seeded["metrics"] == DailyMetric.objects.count() > 60 * 60
    assert seeded["events"] == SignalEvent.objects.count() > 0
    assert seeded["snapshots"] == HealthSnapshot.objects.count()
    assert seeded["alerts"] == Alert.objects.count() > 0


def test_metrics_run_from_contract_start_to_churn_inside_the_window(seeded):
    first_day = TODAY - timedelta(days=119)
    spans = Account.objects.annotate(first=Min("daily_metrics__date"), last=Max("daily_metrics__date"))
    for account in spans:
        if account.churned_on and account.churned_on <= first_day:
            assert account.first is None  # gone before the window opened
            continue
        assert account.first == max(account.contract_start, first_day), account.external_id
        if account.churned_on:
            assert account.last == account.churned_on - timedelta(days=1), account.external_id
        else:
            assert account.last >= TODAY - timedelta(days=12), account.external_id
    # One row per account and day, none missing in between (the stale ones stop, they never skip).
    for account in spans.annotate(rows=Count("daily_metrics")).filter(first__isnull=False):
        assert account.rows == (account.last - account.first).days + 1


def test_metrics_are_internally_consistent(seeded):
    rows = DailyMetric.objects
    assert not rows.filter(active_users__gt=F("licensed_seats")).exists()
    assert not rows.filter(emails_opened__gt=F("emails_sent")).exists()
    assert not rows.filter(features_used__gt=F("features_offered")).exists()
    assert not rows.filter(high_priority_tickets__gt=F("tickets_opened")).exists()
    assert not rows.filter(csat_sum__lt=F("csat_count")).exists()
    assert not rows.filter(csat_sum__gt=F("csat_count") * 5).exists()
    assert not rows.filter(logins=0, active_users__gt=0).exists()
    assert rows.filter(nps__isnull=False).exists() and rows.filter(invoice_days_overdue__gt=0).exists()
    # Some customers never connected a source: missing data, not zeros.
    assert rows.filter(csat_count__isnull=True).exists()
    assert rows.filter(csat_count__gt=0).exists()


def test_weekends_are_quiet_for_office_businesses(seeded):
    offices = DailyMetric.objects.exclude(account__industry__in=["retail", "hospitality", "ecommerce"])
    # week_day: 1 = Sunday, 7 = Saturday.
    weekday = offices.filter(date__week_day__in=[2, 3, 4, 5, 6]).aggregate(n=Count("id"), s=Sum("logins"))
    weekend = offices.filter(date__week_day__in=[1, 7]).aggregate(n=Count("id"), s=Sum("logins"))
    assert weekend["s"] / weekend["n"] < 0.4 * weekday["s"] / weekday["n"]


def test_the_same_seed_gives_the_same_signals_and_scores(db):
    def fingerprint():
        return (
            list(
                DailyMetric.objects.values("account__external_id")
                .annotate(
                    n=Count("id"), logins=Sum("logins"), core=Sum("core_events"), t=Sum("tickets_opened")
                )
                .order_by("account__external_id")
            ),
            list(
                SignalEvent.objects.order_by("account__external_id", "kind", "occurred_on").values_list(
                    "account__external_id", "kind", "occurred_on"
                )
            ),
            list(
                HealthSnapshot.objects.order_by("account__external_id", "date").values_list(
                    "account__external_id", "date", "score", "tier"
                )
            ),
        )

    first_counts = seed_demo(seed=3, **SMALL)
    first = fingerprint()
    second_counts = seed_demo(seed=3, **SMALL)

    assert second_counts == first_counts
    assert fingerprint() == first


# --- Score history -------------------------------------------------------------------------


def test_history_is_daily_for_90_days_then_weekly(seeded):
    northwind = story("thriving")
    dates = list(northwind.health_snapshots.order_by("date").values_list("date", flat=True))
    daily = [TODAY - timedelta(days=n) for n in range(89, -1, -1)]
    assert dates[-90:] == daily
    older = dates[:-90]
    assert older and all((b - a).days == 7 for a, b in zip(older, [*older[1:], daily[0]], strict=True))
    # Churned accounts keep the last score they had before leaving.
    for account in Account.objects.churned().filter(churned_on__gt=TODAY - timedelta(days=90)):
        last = account.health_snapshots.latest("date")
        assert last.date == account.churned_on - timedelta(days=1)
        assert (account.health_score, account.health_tier) == (last.score, last.tier)


def test_replayed_history_matches_recompute_health(seeded):
    """The history is scored in memory for speed; it must be exactly what the scorer writes."""
    for days_ago in (1, 7, 30, 45, 89, 96, 103):
        day = TODAY - timedelta(days=days_ago)
        replayed = {
            row[0]: row[1:]
            for row in HealthSnapshot.objects.filter(date=day).values_list("account_id", *SNAPSHOT_FIELDS)
        }
        assert replayed, day

        recompute_health(as_of=day)

        scored = HealthSnapshot.objects.filter(date=day).values_list("account_id", *SNAPSHOT_FIELDS)
        assert {row[0]: row[1:] for row in scored} == replayed, day


def test_large_books_get_30_days_of_history():
    assert history_days(today=TODAY, days=365, accounts=LARGE_BOOK + 1) == [
        TODAY - timedelta(days=n) for n in range(30, 0, -1)
    ]
    default = history_days(today=TODAY, days=365, accounts=400)
    assert default == sorted(default) and TODAY not in default
    assert len(default) == 89 + len(range(96, 365, 7))


# --- The stories ---------------------------------------------------------------------------


def test_northwind_is_healthy_and_rising(seeded):
    northwind = story("thriving")
    snapshot = today_snapshot(northwind)

    assert snapshot.tier == "healthy" and snapshot.score >= 85
    assert raw(snapshot, "login_trend") >= 0.95 and raw(snapshot, "seat_utilisation") >= 0.7
    assert northwind.health_tier == "healthy"
    metrics = northwind.daily_metrics
    assert (
        metrics.get(date=TODAY).licensed_seats > metrics.get(date=TODAY - timedelta(days=90)).licensed_seats
    )
    recent = metrics.filter(date__gt=TODAY - timedelta(days=28)).aggregate(s=Sum("logins"))["s"]
    earlier = metrics.filter(date__lte=TODAY - timedelta(days=92)).order_by("-date")[:28]
    assert recent > sum(row.logins for row in earlier)


def test_harbor_slid_after_its_champion_left(seeded):
    harbor = story("champion_left")
    left_on = harbor.contacts.get(is_champion=True).left_on
    snapshot = today_snapshot(harbor)

    assert SignalEvent.objects.filter(
        account=harbor, kind=EventKind.CHAMPION_LEFT, occurred_on=left_on
    ).exists()
    # The data alone says at risk; the GM asking about cancel terms makes it High.
    assert snapshot.computed_score < 60
    assert snapshot.tier in ("high", "medium") and harbor.health_tier == snapshot.tier
    alerts = open_alerts(harbor)
    assert alerts["key_contact_left"]["left_on"] == left_on.isoformat()
    assert -50 <= alerts["core_feature_drop"]["change_percent"] <= -30
    assert raw(snapshot, "champion_present") == 0
    # Before the champion left, it was a healthy account.
    before = harbor.health_snapshots.get(date=left_on - timedelta(days=1))
    assert before.tier in ("healthy", "low") and before.score - snapshot.computed_score >= 20


def test_polite_co_answers_emails_but_nobody_logs_in(seeded):
    polite = story("polite")
    snapshot = today_snapshot(polite)

    last_login = polite.daily_metrics.filter(logins__gt=0).aggregate(d=Max("date"))["d"]
    assert 30 <= (TODAY - last_login).days <= 40
    assert snapshot.override == "no_login" or "login_drop" in open_alerts(polite)
    assert snapshot.tier == "high" and snapshot.score <= 39
    assert raw(snapshot, "email_open_rate") >= 0.8 and raw(snapshot, "latest_nps") >= 9
    assert raw(snapshot, "seat_utilisation") == 0


def test_the_onboarding_smb_has_barely_started(seeded):
    sprout = story("onboarding")
    snapshot = today_snapshot(sprout)

    assert sprout.lifecycle_stage(TODAY) == "onboarding"
    assert raw(snapshot, "seat_utilisation") < 0.1
    assert raw(snapshot, "feature_breadth") <= 0.2
    usage = sprout.daily_metrics.aggregate(
        total=Sum("logins"), days=Count("id", filter=Q(logins__gt=0)), most=Max("active_users")
    )
    assert 1 <= usage["days"] <= 5 and usage["total"] <= 8 and usage["most"] == 1
    assert snapshot.tier in ("medium", "high")


def test_churned_accounts_fade_out_before_they_leave(seeded):
    faded = 0
    for account in Account.objects.churned().filter(churned_on__gt=TODAY - timedelta(days=50)):
        rows = account.daily_metrics.order_by("date")
        if rows.count() < 75:
            continue
        values = list(rows.values_list("active_users", flat=True))
        assert sum(values[-14:]) < 0.7 * sum(values[:14]), account.external_id
        faded += 1
    assert faded >= 2
    assert SignalEvent.objects.filter(
        kind=EventKind.CANCELLATION_INTENT, account__external_id=STORY_ACCOUNTS["churned_price"]
    ).exists()


def test_at_least_one_data_source_went_stale(seeded):
    stale = HealthSnapshot.objects.filter(date=TODAY, stale=True)

    assert stale.exists()
    for snapshot in stale:
        last = snapshot.account.daily_metrics.aggregate(d=Max("date"))["d"]
        assert 9 <= (TODAY - last).days <= 12
        assert "stale_data" in open_alerts(snapshot.account)


def test_cancellation_intent_and_downgrades_are_recorded(seeded):
    kinds = Counter(SignalEvent.objects.values_list("kind", flat=True))
    assert kinds[EventKind.CANCELLATION_INTENT] >= 3
    assert kinds[EventKind.DOWNGRADE_REQUESTED] >= 1
    # Every champion who left in the window has its event, on the same day.
    for contact in Contact.objects.filter(is_champion=True, left_on__gte=TODAY - timedelta(days=119)):
        assert SignalEvent.objects.filter(
            account_id=contact.account_id, kind=EventKind.CHAMPION_LEFT, occurred_on=contact.left_on
        ).exists()
    # Some active account voiced cancellation intent: High risk by override.
    voiced = HealthSnapshot.objects.filter(date=TODAY, override="cancellation_intent")
    assert voiced.exclude(account__external_id__in=STORY_ACCOUNTS.values()).exists()


@pytest.mark.parametrize("seed", [7, 3])
def test_the_tier_spread_is_believable(db, seed):
    seed_demo(seed=seed, accounts=200, days=120, today=TODAY)

    tiers = Counter(Account.objects.active().values_list("health_tier", flat=True))
    total = sum(tiers.values())
    assert (tiers["healthy"] + tiers["low"]) / total >= 0.7
    assert tiers["healthy"] > tiers["low"] > tiers["medium"]
    assert 0.06 <= tiers["medium"] / total <= 0.25
    assert 0.03 <= tiers["high"] / total <= 0.14
    assert tiers[""] == 0


def test_seed_metrics_works_without_planned_moods(db):
    seed_demo(seed=5, **SMALL)
    DailyMetric.objects.all().delete()
    SignalEvent.objects.all().delete()
    accounts = list(Account.objects.order_by("pk"))

    counts = seed_metrics(accounts=accounts, days=30, rng=random.Random(1), today=TODAY)

    assert counts["metrics"] == DailyMetric.objects.count() > 0
    assert counts["snapshots"] == 0
    assert not DailyMetric.objects.filter(
        ~Q(date__gte=TODAY - timedelta(days=29)) | Q(date__gt=TODAY)
    ).exists()


def test_it_brings_back_the_default_model_when_none_is_published(db):
    HealthModel.objects.update(status="retired")

    seed_demo(seed=5, accounts=20, days=30, today=TODAY)

    model = HealthModel.objects.get(status="published")
    assert model.dimensions.count() == 4
    assert HealthSnapshot.objects.filter(date=TODAY, model=model).exists()
