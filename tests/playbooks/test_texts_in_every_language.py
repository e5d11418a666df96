"""What the app writes for people to read later is read in the reader's language (issue 14, item
14): a notification written by a worker (in English) reads in Chinese in a Chinese inbox, and so
does the guidance a rule or an approved plan writes on a task."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext

from playbooks import services
from playbooks.models import MatrixRow, Notification, Task
from playbooks.rules import run_rules
from tests.factories import AccountFactory
from tests.health.factories import HealthSnapshotFactory
from tests.playbooks.factories import RuleFactory, TeamFactory

pytestmark = pytest.mark.django_db

TAIPEI = ZoneInfo("Asia/Taipei")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=TAIPEI)


@pytest.fixture
def team(alice_csm, maria_manager):
    return TeamFactory(name="Taipei CS", members=[alice_csm], managers=[maria_manager])


def page_in(client, language: str, url: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client.get(url).content.decode()


def in_language(language: str, render) -> str:
    with translation.override(language):
        return render()


def test_a_task_assigned_notification_reads_in_the_readers_language(
    client_for, team, alice_csm, maria_manager
):
    account = AccountFactory(owner=alice_csm, name="Acme")
    high = MatrixRow.objects.get(risk_level="high").playbook
    with translation.override("en"):  # a worker, or an English-speaking CSM, starts it
        services.start_playbook(account=account, playbook=high, started_by=alice_csm, now=NOW)
    notification = Notification.objects.get(recipient=maria_manager, kind="task_assigned")
    assert notification.title == "2 new tasks on Acme"

    client = client_for(maria_manager)
    for language in ("zh-hant", "zh-hans"):
        expected = in_language(
            language,
            lambda: (
                ngettext("%(count)s new task on %(account)s", "%(count)s new tasks on %(account)s", 2)
                % {"count": 2, "account": "Acme"}
            ),
        )
        assert expected != notification.title  # the catalogue has it
        html = page_in(client, language, reverse("notifications:inbox"))
        assert expected in html
        assert "2 new tasks on Acme" not in html
    assert "2 new tasks on Acme" in page_in(client, "en", reverse("notifications:inbox"))


def test_a_rules_notification_and_its_task_guidance_read_in_chinese(client_for, team, alice_csm):
    account = AccountFactory(owner=alice_csm, name="Acme", health_score=30, health_tier="high")
    HealthSnapshotFactory(account=account, date=date(2026, 11, 20), score=30)
    rule = RuleFactory(
        name="Below 40",
        threshold=40,
        set_risk_level="high",
        task_title="Call them",
        task_due_amount=4,
        task_due_unit="business_hours",
        notify_owner=True,
    )
    with translation.override("en"):
        run_rules(as_of=date(2026, 11, 20), now=NOW)

    client = client_for(alice_csm)
    title = in_language(
        "zh-hant",
        lambda: gettext("Rule “%(rule)s” fired for %(account)s") % {"rule": rule.name, "account": "Acme"},
    )
    assert title in page_in(client, "zh-hant", reverse("notifications:inbox"))
    task = Task.objects.get(account=account, rule=rule)
    assert task.guidance.startswith("Created by the rule “Below 40”")
    queue = page_in(client, "zh-hant", reverse("playbooks:queue"))
    assert task.guidance_texts["zh-hant"] in queue
    assert not task.guidance_texts["zh-hant"].startswith("Created by")
    assert "Created by the rule" not in queue


def test_numbers_keep_their_thousands_separators_in_chinese(client_for, alice_csm):
    account = AccountFactory(owner=alice_csm, mrr=56479)
    client = client_for(alice_csm)
    for language in ("en", "zh-hant", "zh-hans"):
        html = page_in(client, language, reverse("accounts:detail", args=[account.pk]))
        assert "56,479" in html, language
        assert "56479" not in html.replace('value="56479', ""), language


def test_an_sla_breach_lists_due_times_in_the_readers_date_format(
    client_for, team, alice_csm, maria_manager, django_capture_on_commit_callbacks
):
    from django.utils import timezone
    from django.utils.formats import date_format

    from tests.playbooks.factories import TaskFactory

    due = timezone.now() - timedelta(hours=2)
    TaskFactory(account=AccountFactory(owner=alice_csm, name="Acme"), assignee=alice_csm, due_at=due)
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        assert services.escalate_breaches() == 1

    client = client_for(maria_manager)
    for language in ("en", "zh-hant", "zh-hans"):
        shown = in_language(language, lambda: date_format(timezone.localtime(due), "SHORT_DATETIME_FORMAT"))
        html = page_in(client, language, reverse("notifications:inbox"))
        assert shown in html, language
    assert f"{timezone.localtime(due):%Y-%m-%d %H:%M}" not in page_in(
        client, "zh-hant", reverse("notifications:inbox")
    )
