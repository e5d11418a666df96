from django.conf import settings
from django.utils import timezone

from health.models import Alert, HealthSnapshot, SignalEvent
from health.tasks import nightly_health_run
from tests.factories import AccountFactory


def test_the_nightly_run_scores_and_raises_alerts(db):
    account = AccountFactory()
    SignalEvent.objects.create(account=account, kind="cancellation_intent", occurred_on=timezone.localdate())
    result = nightly_health_run.delay().get()
    assert result["scored"] == 1
    assert HealthSnapshot.objects.get(account=account).tier == "high"
    assert Alert.objects.filter(account=account, kind="cancellation_intent").exists()


def test_the_nightly_run_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["nightly-health-run"]
    assert entry["task"] == nightly_health_run.name
