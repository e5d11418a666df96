"""The demo-data generator and its `seed_demo` command."""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, Q

from accounts.models import Account, Contact, MovementKind, MrrMovement, Sentiment, Touchpoint
from csworkbench.demo.seed import seed_demo
from csworkbench.demo.stories import STORY_ACCOUNTS
from csworkbench.demo.users import DEMO_USERS
from health.models import Alert, DailyMetric, HealthSnapshot, SignalEvent
from playbooks.models import OPEN_STATUSES, Task

TODAY = date(2026, 3, 2)
SMALL = {"accounts": 60, "days": 60, "today": TODAY}


@pytest.fixture(autouse=True)
def fast_demo(settings):
    # Hashing five passwords per seeding with the real hasher dominates these tests otherwise.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The command must run the task in-process here, whatever broker the environment names.
    settings.CELERY_TASK_ALWAYS_EAGER = True


def snapshot() -> list[tuple]:
    return list(
        Account.objects.order_by("external_id").values_list(
            "external_id", "name", "mrr", "owner__username", "status", "value_tier", "churned_on"
        )
    )


@pytest.mark.django_db
def test_the_same_seed_and_day_give_the_same_data():
    first_counts = seed_demo(seed=3, **SMALL)
    first = snapshot()
    # The care emails the rules send are stamped with the moment of seeding; the rest is fixed.
    seeded = Touchpoint.objects.filter(sent_email__isnull=True).order_by("occurred_at", "subject")
    first_timeline = list(seeded.values_list("occurred_at", "subject"))

    second_counts = seed_demo(seed=3, **SMALL)

    assert snapshot() == first
    assert second_counts == first_counts
    assert list(seeded.values_list("occurred_at", "subject")) == first_timeline


@pytest.mark.django_db
def test_another_seed_gives_other_data():
    seed_demo(seed=3, **SMALL)
    first = snapshot()

    seed_demo(seed=4, **SMALL)

    assert snapshot() != first


@pytest.mark.django_db
def test_it_returns_the_counts_it_wrote():
    counts = seed_demo(seed=5, **SMALL)

    assert counts == {
        "accounts": Account.objects.count(),
        "contacts": Contact.objects.count(),
        "touchpoints": Touchpoint.objects.count(),
        "mrr_movements": MrrMovement.objects.count(),
        "metrics": DailyMetric.objects.count(),
        "events": SignalEvent.objects.count(),
        "snapshots": HealthSnapshot.objects.count(),
        "alerts": Alert.objects.count(),
        "open_tasks": {
            name: Task.objects.filter(assignee__username=name, status__in=OPEN_STATUSES).count()
            for name in ("csm", "csm2")
        },
        "users": ["csm", "csm2", "manager", "interviewer", "admin"],
    }
    assert counts["accounts"] == 60
    assert counts["metrics"] > 60 * 30 and counts["snapshots"] > 60 * 30 and counts["alerts"] > 0


@pytest.mark.django_db
def test_reseeding_replaces_the_health_data():
    seed_demo(seed=5, **SMALL)
    first = DailyMetric.objects.count(), HealthSnapshot.objects.count(), SignalEvent.objects.count()

    counts = seed_demo(seed=5, **SMALL)

    assert (DailyMetric.objects.count(), HealthSnapshot.objects.count(), SignalEvent.objects.count()) == first
    assert (counts["metrics"], counts["snapshots"], counts["events"]) == first
    # Every customer is scored today, with its score copied onto the account.
    active = Account.objects.active()
    assert HealthSnapshot.objects.filter(date=TODAY).count() == active.count()
    assert not active.filter(health_scored_on__isnull=True).exists()


@pytest.mark.django_db
def test_demo_users_get_their_groups_and_can_log_in():
    seed_demo(password="s3cret-demo", **SMALL)

    for demo in DEMO_USERS:
        user = authenticate(username=demo.username, password="s3cret-demo")
        assert user is not None, demo.username
        assert list(user.groups.values_list("name", flat=True)) == [demo.group]
        assert user.first_name and user.last_name
    user_model = get_user_model()
    assert user_model.objects.get(username="csm2").groups.get().name == "csm"
    assert user_model.objects.get(username="manager").is_staff
    admin = user_model.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert not user_model.objects.get(username="csm").is_staff


@pytest.mark.django_db
def test_reseeding_reuses_the_demo_users_and_changes_their_password():
    seed_demo(password="first-pass", **SMALL)
    ids = dict(get_user_model().objects.values_list("username", "pk"))

    seed_demo(password="second-pass", **SMALL)

    assert dict(get_user_model().objects.values_list("username", "pk")) == ids
    assert authenticate(username="csm", password="second-pass") is not None
    assert authenticate(username="csm", password="first-pass") is None


@pytest.mark.django_db
def test_every_account_has_exactly_one_primary_contact():
    seed_demo(**SMALL)

    per_account = Account.objects.annotate(
        contacts_n=Count("contacts"), primaries=Count("contacts", filter=Q(contacts__is_primary=True))
    )
    assert all(2 <= a.contacts_n <= 5 and a.primaries == 1 for a in per_account)
    # Someone who left the company is never the primary contact.
    assert not Contact.objects.filter(is_primary=True, left_on__isnull=False).exists()


@pytest.mark.django_db
def test_churned_accounts_have_a_date_a_type_and_a_churn_movement():
    seed_demo(**SMALL)

    churned = Account.objects.churned()
    assert churned.count() >= 5
    for account in churned:
        assert account.churn_type
        assert account.contract_start < account.churned_on < TODAY
        assert account.churned_on >= TODAY - timedelta(days=60)
        movement = account.mrr_movements.get(kind=MovementKind.CHURN, occurred_on=account.churned_on)
        assert movement.amount == account.mrr > 0


@pytest.mark.django_db
def test_movements_sum_to_the_mrr_of_active_accounts_and_to_zero_for_churned_ones():
    seed_demo(**SMALL)

    for account in Account.objects.prefetch_related("mrr_movements"):
        total = sum((m.signed_amount for m in account.mrr_movements.all()), Decimal(0))
        expected = account.mrr if account.status == "active" else 0
        assert total == expected, account.external_id
        first = min(account.mrr_movements.all(), key=lambda m: (m.occurred_on, m.pk))
        assert (first.kind, first.occurred_on) == (MovementKind.NEW, account.contract_start)


@pytest.mark.django_db
def test_the_story_accounts_tell_their_stories():
    seed_demo(**SMALL)

    stories = {
        key: Account.objects.get(external_id=external_id) for key, external_id in STORY_ACCOUNTS.items()
    }

    assert stories["thriving"].value_tier == "A"
    assert stories["thriving"].mrr_movements.filter(kind=MovementKind.EXPANSION).count() >= 2
    harbor = stories["champion_left"]
    assert harbor.value_tier == "A" and harbor.owner.username == "csm"
    left = harbor.contacts.get(is_champion=True)
    assert left.left_on == TODAY - timedelta(days=40)
    # What the CSM logged since (the rules' care emails aside) is all bad news or meetings.
    since = harbor.touchpoints.filter(occurred_at__date__gt=left.left_on, sent_email__isnull=True)
    assert since.exists() and not since.exclude(sentiment=Sentiment.NEGATIVE).exclude(kind="meeting").exists()
    onboarding = stories["onboarding"]
    assert onboarding.value_tier == "C" and onboarding.lifecycle_stage(TODAY) == "onboarding"
    polite = stories["polite"].touchpoints.exclude(kind="note").filter(sent_email__isnull=True)
    assert polite.count() >= 10 and set(polite.values_list("kind", "sentiment").distinct()) == {
        ("email", "positive")
    }
    churned = [stories[key] for key in STORY_ACCOUNTS if key.startswith("churned_")]
    assert len(churned) == 5
    assert all(a.status == "churned" and a.owner.username == "csm2" for a in churned)


@pytest.mark.django_db
def test_some_touchpoints_carry_risk_words():
    seed_demo(accounts=200, days=90, today=TODAY)

    risky = Q()
    for word in ("unhappy", "cancel", "取消", "不滿意", "太貴"):
        risky |= Q(body__icontains=word)
    assert Touchpoint.objects.filter(risky).exists()


@pytest.mark.django_db
def test_the_command_refuses_when_debug_is_off(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", accounts=20, days=30, stdout=StringIO())

    assert not Account.objects.exists()


@pytest.mark.django_db
def test_the_command_runs_with_debug_off_when_forced(settings):
    settings.DEBUG = False
    out = StringIO()

    call_command("seed_demo", "--force", accounts=20, days=30, stdout=out)

    assert Account.objects.count() == 20
    assert "Seeded 20 accounts" in out.getvalue()


@pytest.mark.django_db
def test_the_command_seeds_and_prints_the_demo_logins(settings):
    settings.DEBUG = True
    out = StringIO()

    call_command("seed_demo", accounts=30, days=30, seed=9, password="pw-for-demo", stdout=out)

    output = out.getvalue()
    assert Account.objects.count() == 30
    assert "/plans/approvals/" in output and "pw-for-demo" in output
    assert authenticate(username="interviewer", password="pw-for-demo") is not None


@pytest.mark.django_db
def test_if_empty_reuses_existing_data(settings):
    settings.DEBUG = True
    seed_demo(**SMALL)
    before = snapshot()
    ids = set(Account.objects.values_list("pk", flat=True))
    out = StringIO()

    call_command("seed_demo", "--if-empty", accounts=20, stdout=out)

    assert "reusing the existing demo data" in out.getvalue()
    assert snapshot() == before
    assert set(Account.objects.values_list("pk", flat=True)) == ids


@pytest.mark.django_db
def test_if_empty_seeds_an_empty_database(settings):
    settings.DEBUG = True

    call_command("seed_demo", "--if-empty", accounts=20, days=30, stdout=StringIO())

    assert Account.objects.count() == 20
