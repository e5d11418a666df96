from datetime import timedelta

import pytest
from django.utils import timezone

from health.alerts import raise_alerts
from health.models import Alert, DailyMetric, SignalEvent
from tests.factories import AccountFactory, ContactFactory, TouchpointFactory

TODAY = timezone.localdate()


def days_ago(n):
    return TODAY - timedelta(days=n)


def metrics(account, first, last, **values):
    DailyMetric.objects.bulk_create(
        DailyMetric(account=account, date=days_ago(n), **values) for n in range(last, first - 1, -1)
    )


def open_alert(account, kind):
    return Alert.objects.get(account=account, kind=kind, resolved_on__isnull=True)


@pytest.fixture
def account(db):
    return AccountFactory(name="Acme Ltd", renewal_date=TODAY + timedelta(days=300))


def test_logins_falling_from_daily_to_weekly_raise_an_alert_with_the_numbers(account):
    metrics(account, 14, 73, logins=6)
    # The last 14 days: logins on two days only.
    metrics(account, 0, 13, logins=0)
    DailyMetric.objects.filter(account=account, date__in=[days_ago(3), days_ago(10)]).update(logins=4)
    raise_alerts(as_of=TODAY)
    evidence = open_alert(account, "login_drop").evidence
    assert evidence["login_days_per_week_before"] == 7.0
    assert evidence["login_days_per_week_now"] == 1.0
    assert evidence["from"] == days_ago(13).isoformat()


def test_core_feature_use_down_more_than_30_percent(account):
    metrics(account, 30, 89, core_events=100)
    metrics(account, 0, 29, core_events=59)
    raise_alerts(as_of=TODAY)
    assert open_alert(account, "core_feature_drop").evidence["change_percent"] == -41


def test_ticket_spike_and_sudden_silence(db):
    spiky, silent = AccountFactory(), AccountFactory()
    for acc in (spiky, silent):
        metrics(acc, 30, 119, tickets_opened=0)
        DailyMetric.objects.filter(account=acc, date__in=[days_ago(40), days_ago(70), days_ago(100)]).update(
            tickets_opened=2
        )
    metrics(spiky, 0, 29, tickets_opened=1)  # 30 in a month against 2 a month
    metrics(silent, 0, 29, tickets_opened=0)
    raise_alerts(as_of=TODAY)
    assert open_alert(spiky, "ticket_spike").evidence == {"monthly_before": 2.0, "last_30_days": 30}
    assert open_alert(silent, "ticket_silence").evidence["monthly_before"] == 2.0


def test_risk_words_in_chinese_and_english_notes(db):
    zh, en, calm = AccountFactory(), AccountFactory(), AccountFactory()
    TouchpointFactory(account=zh, subject="續約討論", body="客戶說價格太貴,考慮換掉我們")
    TouchpointFactory(account=en, subject="Call", body="They are UNHAPPY with support and may cancel")
    TouchpointFactory(account=calm, subject="Call", body="Loves the new reports")
    raise_alerts(as_of=TODAY)
    assert open_alert(zh, "risk_words").evidence["words"] == ["太貴", "換掉"]
    assert open_alert(en, "risk_words").evidence["words"] == ["cancel", "unhappy"]
    assert not Alert.objects.filter(account=calm).exists()


def test_key_contact_left_and_cancellation_intent(account):
    ContactFactory(account=account, name="Grace Ho", is_champion=True, left_on=days_ago(12))
    SignalEvent.objects.create(
        account=account, kind="cancellation_intent", occurred_on=days_ago(2), note="CFO call"
    )
    raise_alerts(as_of=TODAY)
    assert open_alert(account, "key_contact_left").evidence == {
        "name": "Grace Ho",
        "role": "champion",
        "left_on": days_ago(12).isoformat(),
    }
    assert open_alert(account, "cancellation_intent").evidence == {
        "date": days_ago(2).isoformat(),
        "note": "CFO call",
    }


def test_renewal_near_with_no_reply_or_an_overdue_invoice(db):
    quiet = AccountFactory(renewal_date=TODAY + timedelta(days=45))
    TouchpointFactory(account=quiet, occurred_at=timezone.now() - timedelta(days=50))
    raise_alerts(as_of=TODAY)
    evidence = open_alert(quiet, "renewal_at_risk").evidence
    assert evidence["days_to_renewal"] == 45 and evidence["last_touch"] == days_ago(50).isoformat()


def test_a_stale_source_and_no_engagement(db):
    stale, disengaged = AccountFactory(), AccountFactory()
    metrics(stale, 12, 60, logins=3)
    metrics(disengaged, 0, 40, release_notes_views=0, training_sessions=0)
    raise_alerts(as_of=TODAY)
    assert open_alert(stale, "stale_data").evidence == {
        "last_metrics": days_ago(12).isoformat(),
        "days_without": 12,
    }
    assert open_alert(disengaged, "no_engagement").evidence["days"] == 30


def test_an_alert_stays_one_row_while_it_holds_and_resolves_when_it_ends(account):
    SignalEvent.objects.create(account=account, kind="cancellation_intent", occurred_on=days_ago(2))
    raise_alerts(as_of=days_ago(1))
    raise_alerts(as_of=TODAY)
    alert = Alert.objects.get(account=account, kind="cancellation_intent")
    assert (alert.raised_on, alert.last_seen_on, alert.resolved_on) == (days_ago(1), TODAY, None)
    SignalEvent.objects.all().delete()
    raise_alerts(as_of=TODAY)
    alert.refresh_from_db()
    assert alert.resolved_on == TODAY
