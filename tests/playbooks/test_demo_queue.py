"""The demo's working day: after seeding, both CSMs have work waiting and the manager has heard
about the breaches."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Account
from csworkbench.demo.seed import seed_demo
from csworkbench.demo.stories import STORY_ACCOUNTS
from playbooks.models import OPEN_STATUSES, Notification, NotificationKind, PlaybookRun, Task, Team

pytestmark = pytest.mark.django_db

SMALL = {"accounts": 60, "days": 60}


@pytest.fixture(autouse=True)
def fast_demo(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def seeded(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        counts = seed_demo(seed=7, **SMALL)
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["csm", "csm2", "manager"])}
    return counts, users


def test_both_csms_start_the_day_with_open_and_overdue_tasks(seeded):
    counts, users = seeded
    now = timezone.now()

    for name in ("csm", "csm2"):
        mine = Task.objects.filter(assignee=users[name], status__in=OPEN_STATUSES)
        assert mine.exists(), name
        assert mine.filter(due_at__lt=now).exists(), name
        assert counts["open_tasks"][name] == mine.count()


def test_harbor_logistics_runs_the_high_risk_squad(seeded):
    harbor = Account.objects.get(external_id=STORY_ACCOUNTS["champion_left"])

    run = PlaybookRun.objects.get(account=harbor, status="active")

    assert run.playbook.risk_level == "high"
    assert harbor.name.startswith("Harbor Logistics")
    harbor.refresh_from_db()
    assert harbor.risk_level == "high"
    # The squad's lead step is with the team's manager; the rest with the owner.
    assignees = set(run.tasks.values_list("assignee__username", flat=True))
    assert "manager" in assignees and harbor.owner.username in assignees


def test_the_manager_has_heard_about_the_breaches(seeded):
    _counts, users = seeded

    breaches = Notification.objects.filter(recipient=users["manager"], kind=NotificationKind.SLA_BREACHED)

    assert breaches.exists()
    assert Task.objects.filter(breached_at__isnull=False).exists()
    team = Team.objects.get(name="Taipei CS")
    assert set(team.members.values_list("username", flat=True)) == {"csm", "csm2"}
    assert list(team.managers.values_list("username", flat=True)) == ["manager"]


def test_the_demo_queue_pages_open(seeded, client):
    _counts, users = seeded

    client.force_login(users["csm"])
    assert client.get("/queue/").status_code == 200
    client.force_login(users["manager"])
    assert client.get("/queue/team/").status_code == 200
