"""notify and the delivery lifecycle: in-app notifications, email copies, failures, retries,
reading, and the thin Celery wrappers."""

import smtplib
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from csworkbench.core.models import AuditEvent
from playbooks import tasks
from playbooks.emails import send_customer_email
from playbooks.models import Delivery, EmailTemplate, Notification, Team, WebhookChannel
from playbooks.notifications import (
    DeliveryError,
    mark_failed,
    mark_read,
    notify,
    requeue_stuck_deliveries,
    retry_delivery,
    send_delivery,
)
from tests.factories import ContactFactory, UserFactory


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "https://cs.example.com"


@pytest.fixture
def team(maria_manager, alice_csm):
    team = Team.objects.create(name="North")
    team.managers.add(maria_manager)
    team.members.add(alice_csm)
    return team


def test_it_notifies_each_distinct_active_recipient_once(alice_csm, bob_other_csm, alice_account):
    gone = UserFactory(username="gone", is_active=False)
    notifications = notify(
        recipients=[alice_csm, alice_csm, None, gone, bob_other_csm],
        kind="rule_fired",
        title="Acme Ltd dropped to Medium risk",
        body="Score below 60 for 7 days",
        url="/accounts/1/",
        account=alice_account,
    )
    assert [n.recipient for n in notifications] == [alice_csm, bob_other_csm]
    assert all(n.pk for n in notifications)
    stored = Notification.objects.get(recipient=alice_csm)
    assert stored.kind == "rule_fired"
    assert stored.account == alice_account
    assert stored.read_at is None
    assert not Delivery.objects.exists()


def test_email_copies_go_to_recipients_with_an_address(alice_csm, django_capture_on_commit_callbacks):
    no_address = UserFactory(username="noaddress", email="")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify(
            recipients=[alice_csm, no_address],
            kind="sla_breached",
            title="2 task(s) breached\ntheir SLA",
            body="· Acme — Call",
            url="/queue/team/",
            email=True,
        )
    assert len(callbacks) == 1
    delivery = Delivery.objects.get()
    assert delivery.channel == "email"
    assert delivery.to == "alice@example.com"
    assert delivery.notification.recipient == alice_csm
    assert delivery.status == "sent"
    assert delivery.attempts == 1
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "2 task(s) breached their SLA"
    assert "· Acme — Call" in message.body
    assert "https://cs.example.com/queue/team/" in message.body
    assert Notification.objects.count() == 2


def test_nothing_is_sent_before_the_transaction_commits(alice_csm, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(recipients=[alice_csm], kind="plan", title="Plan approved", email=True)
    assert len(callbacks) == 1
    assert mail.outbox == []
    assert Delivery.objects.get().status == "pending"


def test_chat_posts_go_to_each_active_channel_of_the_team(
    team, alice_csm, django_capture_on_commit_callbacks
):
    WebhookChannel.objects.create(team=team, name="Room", flavor="wecom", url="http://127.0.0.1:9/send?key=k")
    WebhookChannel.objects.create(
        team=team, name="Old", flavor="slack", url="http://127.0.0.1:9/x", is_active=False
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(
            recipients=[alice_csm], kind="sla_breached", title="Breach", body="x", url="/q/", chat_team=team
        )
    delivery = Delivery.objects.get()
    assert delivery.channel == "webhook"
    assert delivery.payload["msgtype"] == "markdown"
    assert "https://cs.example.com/q/" in delivery.payload["markdown"]["content"]
    assert len(callbacks) == 1


def test_a_failing_smtp_server_is_recorded_on_the_attempt(alice_csm, monkeypatch):
    def refuse(self, fail_silently=False):
        raise smtplib.SMTPRecipientsRefused({"alice@example.com": (550, b"mailbox unavailable")})

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    delivery = Delivery.objects.create(channel="email", to="alice@example.com", subject="Hi", body="Body")
    with pytest.raises(DeliveryError, match="mailbox unavailable"):
        send_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.attempts == 1
    assert "mailbox unavailable" in delivery.last_error


def test_a_failed_notification_email_tells_the_recipients_managers(team, alice_csm, maria_manager):
    [notification] = notify(recipients=[alice_csm], kind="plan", title="Plan approved")
    delivery = Delivery.objects.create(channel="email", notification=notification, to="alice@example.com")
    mark_failed(delivery.pk, "SMTP down")
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.last_error == "SMTP down"
    notice = Notification.objects.get(kind="delivery_failed")
    assert notice.recipient == maria_manager
    assert "alice@example.com" in notice.title
    assert "SMTP down" in notice.body
    # Never by email: that may be exactly what is broken.
    assert not Delivery.objects.filter(notification=notice).exists()


def test_mark_failed_notifies_only_once(team, maria_manager):
    channel = WebhookChannel.objects.create(team=team, name="Room", flavor="slack", url="http://127.0.0.1:9/")
    delivery = Delivery.objects.create(channel="webhook", webhook=channel, to=str(channel))
    mark_failed(delivery.pk, "HTTP 500")
    mark_failed(delivery.pk, "HTTP 500 again")
    assert Notification.objects.filter(kind="delivery_failed").count() == 1
    delivery.refresh_from_db()
    assert delivery.last_error == "HTTP 500"


def test_a_sent_delivery_is_never_marked_failed(alice_csm):
    delivery = Delivery.objects.create(
        channel="email", to="a@example.com", status="sent", sent_at=timezone.now()
    )
    mark_failed(delivery.pk, "late error")
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert not Notification.objects.exists()


def test_a_failed_customer_email_tells_its_sender(
    alice_csm, alice_account, django_capture_on_commit_callbacks
):
    ContactFactory(account=alice_account, email="pat@acme.example", is_primary=True)
    template = EmailTemplate.objects.create(key="care", name="Care", subject="Hi", body="Hello")
    sent = send_customer_email(account=alice_account, template=template, sent_by=alice_csm)
    mark_failed(sent.delivery_id, "550 no such user")
    notice = Notification.objects.get(kind="delivery_failed")
    assert notice.recipient == alice_csm
    assert notice.account == alice_account
    assert notice.url == f"/accounts/{alice_account.pk}/"


def test_a_failed_rule_email_tells_the_accounts_owner(alice_csm, alice_account):
    contact = ContactFactory(account=alice_account, email="pat@acme.example")
    template = EmailTemplate.objects.create(key="care", name="Care", subject="Hi", body="Hello")
    sent = send_customer_email(account=alice_account, template=template, contact=contact)
    mark_failed(sent.delivery_id, "550")
    assert Notification.objects.get(kind="delivery_failed").recipient == alice_csm


def test_with_no_manager_anywhere_the_admins_hear_of_it(ada_admin):
    lonely = Team.objects.create(name="Lonely")
    channel = WebhookChannel.objects.create(
        team=lonely, name="Room", flavor="slack", url="http://127.0.0.1:9/"
    )
    delivery = Delivery.objects.create(channel="webhook", webhook=channel, to=str(channel))
    mark_failed(delivery.pk, "HTTP 404")
    assert Notification.objects.get(kind="delivery_failed").recipient == ada_admin


def test_a_manager_retries_a_failed_delivery(maria_manager, django_capture_on_commit_callbacks):
    delivery = Delivery.objects.create(
        channel="email",
        to="pat@acme.example",
        subject="Hi",
        body="B",
        status="failed",
        attempts=6,
        last_error="x",
    )
    with django_capture_on_commit_callbacks(execute=True):
        retry_delivery(delivery=delivery, user=maria_manager)
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert delivery.attempts == 7
    assert delivery.last_error == ""
    assert len(mail.outbox) == 1
    audit = AuditEvent.objects.get(action="delivery.retry")
    assert audit.actor == maria_manager


def test_a_csm_may_not_retry(alice_csm):
    delivery = Delivery.objects.create(channel="email", to="x@example.com", status="failed")
    with pytest.raises(PermissionDenied):
        retry_delivery(delivery=delivery, user=alice_csm)
    delivery.refresh_from_db()
    assert delivery.status == "failed"


def test_only_failed_deliveries_are_retried(maria_manager):
    delivery = Delivery.objects.create(channel="email", to="x@example.com", status="sent")
    with pytest.raises(ValidationError, match="sent"):
        retry_delivery(delivery=delivery, user=maria_manager)


def test_stuck_pending_deliveries_are_enqueued_again(db, django_capture_on_commit_callbacks):
    old = Delivery.objects.create(
        channel="email",
        to="x@example.com",
        subject="S",
        body="B",
        created_at=timezone.now() - timedelta(hours=3),
    )
    fresh = Delivery.objects.create(channel="email", to="y@example.com", subject="S", body="B")
    with django_capture_on_commit_callbacks(execute=True):
        assert requeue_stuck_deliveries() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == "sent"
    assert fresh.status == "pending"


def test_mark_read_one_or_all(alice_csm, bob_other_csm):
    first, second = (notify(recipients=[alice_csm], kind="plan", title=title)[0] for title in ("One", "Two"))
    [bobs] = notify(recipients=[bob_other_csm], kind="plan", title="Bob's")
    assert mark_read(user=alice_csm, notification=first) == 1
    assert first.read_at is not None
    assert mark_read(user=alice_csm, notification=first) == 0
    assert mark_read(user=alice_csm) == 1
    second.refresh_from_db()
    bobs.refresh_from_db()
    assert second.read_at is not None
    assert bobs.read_at is None
    with pytest.raises(PermissionDenied):
        mark_read(user=alice_csm, notification=bobs)


# --- the Celery wrappers -----------------------------------------------------------------------


def test_the_deliver_task_sends_an_email(db):
    delivery = Delivery.objects.create(channel="email", to="x@example.com", subject="S", body="B")
    assert tasks.deliver.delay(delivery.pk).get() == "sent"
    assert len(mail.outbox) == 1


def test_the_deliver_task_ignores_a_deleted_delivery(db):
    assert tasks.deliver.apply(args=[987654]).get() == "missing"


def test_the_scheduled_wrappers_call_their_services(db, monkeypatch):
    monkeypatch.setattr("playbooks.services.escalate_breaches", lambda: 3)
    monkeypatch.setattr("playbooks.services.wake_snoozed_tasks", lambda: 2)
    monkeypatch.setattr("playbooks.notifications.requeue_stuck_deliveries", lambda: 1)
    assert tasks.escalate_sla_breaches.delay().get() == {"breached": 3}
    assert tasks.wake_snoozed_tasks.delay().get() == {"woken": 2}
    assert tasks.requeue_stuck_deliveries.delay().get() == {"requeued": 1}


def test_run_rules_passes_the_day(db, monkeypatch):
    days = []

    def fake_run_rules(*, as_of):
        days.append(as_of)
        return SimpleNamespace(fired=4)

    monkeypatch.setattr("playbooks.rules.run_rules", fake_run_rules)
    assert tasks.run_rules.delay("2025-03-04").get() == {"date": "2025-03-04", "fired": 4}
    assert tasks.run_rules.delay().get()["date"] == timezone.localdate().isoformat()
    assert days == [date(2025, 3, 4), timezone.localdate()]


@pytest.mark.parametrize(("count", "title"), [(1, "1 new task on Acme Ltd"), (3, "3 new tasks on Acme Ltd")])
def test_a_new_task_notification_counts_in_words(alice_csm, count, title):
    """ngettext, not "task(s)" (issue 14, item 14)."""
    from playbooks.models import Notification
    from playbooks.services import notify_assignees
    from tests.factories import AccountFactory
    from tests.playbooks.factories import TaskFactory

    account = AccountFactory(owner=alice_csm, name="Acme Ltd")
    tasks = [TaskFactory(account=account) for _ in range(count)]
    notify_assignees(tasks=tasks, actor=None)
    assert Notification.objects.get(recipient=alice_csm).title == title
