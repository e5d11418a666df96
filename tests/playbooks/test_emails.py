"""Customer emails: usage highlights, placeholder substitution, the recipient, the records an email
leaves, and the rules engine's batch."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Touchpoint
from csworkbench.core.models import AuditEvent
from health.models import DailyMetric
from playbooks.emails import (
    primary_contact,
    render_email,
    save_email_template,
    send_customer_email,
    send_rule_emails,
    usage_highlights,
)
from playbooks.models import Delivery, EmailTemplate, Rule, SentEmail
from tests.factories import AccountFactory, ContactFactory

TODAY = timezone.localdate()


@pytest.fixture
def template(db):
    return EmailTemplate.objects.create(
        key="test-activity-dropped",
        name="Activity dropped",
        subject="{account_name}: how can we help?",
        body="Hi {contact_name},\n\n{usage_highlights}\n\nBest,\n{csm_name}",
    )


@pytest.fixture
def pat(alice_account):
    return ContactFactory(account=alice_account, name="Pat Lee", email="pat@acme.example", is_primary=True)


@pytest.fixture
def rule(db):
    return Rule.objects.create(
        name="Score below 60 for 7 days", condition_kind="score_below", threshold=60, days=7
    )


def metric(account, days_ago, **values):
    return DailyMetric.objects.create(account=account, date=TODAY - timedelta(days=days_ago), **values)


# --- usage highlights --------------------------------------------------------------------------


def test_highlights_sum_the_last_30_days(alice_account):
    metric(alice_account, 0, logins=40, active_users=18, licensed_seats=25, core_events=300, features_used=7)
    metric(alice_account, 29, logins=2, active_users=20, licensed_seats=25, core_events=10, features_used=5)
    metric(
        alice_account, 30, logins=1000, active_users=1, licensed_seats=99, core_events=1000, features_used=99
    )
    text = usage_highlights(alice_account)
    assert text == (
        "In the last 30 days your team had 42 logins, on average 19 of 25 seats in use, "
        "310 core-feature actions, 7 different features in use."
    )


def test_highlights_mention_only_what_was_reported(alice_account):
    metric(alice_account, 1, logins=1)
    assert usage_highlights(alice_account) == "In the last 30 days your team had 1 login."


def test_highlights_without_seats_count_active_users(alice_account):
    metric(alice_account, 1, active_users=3)
    assert "on average 3 active users a day" in usage_highlights(alice_account)


def test_highlights_fall_back_to_a_neutral_line(alice_account):
    metric(alice_account, 45, logins=10)
    assert (
        usage_highlights(alice_account)
        == "We would be glad to show your team how to get more out of the product."
    )


# --- rendering ---------------------------------------------------------------------------------


def test_it_fills_in_the_four_placeholders(template, alice_account, pat, alice_csm):
    metric(alice_account, 0, logins=5)
    subject, body = render_email(template, account=alice_account, contact=pat, sender=alice_csm)
    assert subject == "Acme Ltd: how can we help?"
    assert body == "Hi Pat Lee,\n\nIn the last 30 days your team had 5 logins.\n\nBest,\nAlice Chen"


def test_hostile_text_is_left_literal(alice_account, pat, alice_csm):
    hostile = EmailTemplate(
        subject="{__class__} {{ 7*7 }}",
        body="{__class__} {{ 7*7 }} {% now 'Y' %} {contact_name.__class__} {account_name!r} "
        "{0} %(x)s {unknown} {{contact_name}} {{{csm_name}}}",
    )
    subject, body = render_email(hostile, account=alice_account, contact=pat, sender=alice_csm)
    assert subject == "{__class__} {{ 7*7 }}"
    assert body == (
        "{__class__} {{ 7*7 }} {% now 'Y' %} {contact_name.__class__} {account_name!r} "
        "{0} %(x)s {unknown} {Pat Lee} {{Alice Chen}}"
    )


def test_values_are_not_substituted_again(alice_account, alice_csm):
    sneaky = ContactFactory(account=alice_account, name="{csm_name} {usage_highlights}", email="s@x.example")
    _subject, body = render_email(
        EmailTemplate(subject="Hi", body="Dear {contact_name}"),
        account=alice_account,
        contact=sneaky,
        sender=alice_csm,
    )
    assert body == "Dear {csm_name} {usage_highlights}"


def test_the_subject_is_one_line(alice_csm):
    account = AccountFactory(name="Evil\r\nBcc: all@example.com", owner=alice_csm)
    subject, _body = render_email(
        EmailTemplate(subject="About {account_name}", body="x"), account=account, contact=None, sender=None
    )
    assert "\n" not in subject and "\r" not in subject
    assert subject == "About Evil Bcc: all@example.com"


def test_without_a_sender_the_owner_signs(template, alice_account, pat):
    _subject, body = render_email(template, account=alice_account, contact=pat, sender=None)
    assert body.endswith("Alice Chen")


# --- the recipient -----------------------------------------------------------------------------


def test_the_primary_contact_comes_first(alice_account):
    ContactFactory(account=alice_account, name="Champ", is_champion=True)
    primary = ContactFactory(account=alice_account, name="Prim", is_primary=True)
    assert primary_contact(alice_account) == primary


def test_a_champion_stands_in_when_the_primary_left(alice_account):
    ContactFactory(account=alice_account, name="Prim", is_primary=True, left_on=TODAY)
    ContactFactory(account=alice_account, name="Anyone")
    champion = ContactFactory(account=alice_account, name="Zed Champ", is_champion=True)
    assert primary_contact(alice_account) == champion


def test_anyone_with_an_address_who_is_still_there_is_the_last_resort(alice_account):
    ContactFactory(account=alice_account, name="No address", is_primary=True, email="")
    ContactFactory(account=alice_account, name="Left champ", is_champion=True, left_on=TODAY)
    anyone = ContactFactory(account=alice_account, name="Anyone")
    assert primary_contact(alice_account) == anyone


def test_nobody_to_write_to(alice_account):
    ContactFactory(account=alice_account, email="")
    assert primary_contact(alice_account) is None


# --- sending -----------------------------------------------------------------------------------


def test_sending_records_the_email_on_the_timeline_and_sends_it(
    template, alice_account, pat, alice_csm, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sent = send_customer_email(account=alice_account, template=template, sent_by=alice_csm)

    sent.refresh_from_db()
    assert sent.contact == pat
    assert sent.to_address == "pat@acme.example"
    assert sent.subject == "Acme Ltd: how can we help?"
    assert sent.sent_by == alice_csm
    touchpoint = sent.touchpoint
    assert touchpoint.kind == "email"
    assert touchpoint.account == alice_account
    assert touchpoint.author == alice_csm
    assert touchpoint.contact == pat
    assert touchpoint.subject == sent.subject
    assert touchpoint.body == sent.body
    assert sent.delivery.status == "sent"
    [message] = mail.outbox
    assert message.to == ["pat@acme.example"]
    assert message.reply_to == ["alice@example.com"]
    assert message.subject == "Acme Ltd: how can we help?"
    assert "Hi Pat Lee," in message.body
    audit = AuditEvent.objects.get(action="email.send")
    assert audit.actor == alice_csm
    assert audit.account == alice_account
    assert audit.details["to"] == "pat@acme.example"


def test_edited_text_is_sent_as_written(template, alice_account, pat, alice_csm):
    sent = send_customer_email(
        account=alice_account,
        template=template,
        sent_by=alice_csm,
        subject="Quick question",
        body="Dear {contact_name}, literally.",
    )
    assert sent.subject == "Quick question"
    assert sent.body == "Dear {contact_name}, literally."


def test_a_csm_may_not_email_another_csms_account(template, bob_other_csm, alice_account, pat):
    with pytest.raises(PermissionDenied):
        send_customer_email(account=alice_account, template=template, sent_by=bob_other_csm)
    assert not SentEmail.objects.exists()
    assert not Touchpoint.objects.exists()


def test_an_interviewer_may_not_email_customers(template, ivan_interviewer, alice_account, pat):
    with pytest.raises(PermissionDenied):
        send_customer_email(account=alice_account, template=template, sent_by=ivan_interviewer)


def test_a_manager_may(template, maria_manager, alice_account, pat):
    sent = send_customer_email(account=alice_account, template=template, sent_by=maria_manager)
    assert "Maria Wang" in sent.body


def test_no_contact_with_an_address_is_refused(template, alice_account, alice_csm):
    ContactFactory(account=alice_account, email="")
    with pytest.raises(ValidationError, match="no contact with an email"):
        send_customer_email(account=alice_account, template=template, sent_by=alice_csm)
    assert not Delivery.objects.exists()


def test_a_contact_who_left_is_refused(template, alice_account, alice_csm):
    gone = ContactFactory(account=alice_account, left_on=TODAY)
    with pytest.raises(ValidationError):
        send_customer_email(account=alice_account, template=template, sent_by=alice_csm, contact=gone)


def test_a_contact_of_another_account_is_refused(template, alice_account, bob_account, alice_csm, pat):
    stranger = ContactFactory(account=bob_account)
    with pytest.raises(PermissionDenied):
        send_customer_email(account=alice_account, template=template, sent_by=alice_csm, contact=stranger)


def test_an_empty_message_is_refused(template, alice_account, alice_csm, pat):
    with pytest.raises(ValidationError):
        send_customer_email(account=alice_account, template=None, sent_by=alice_csm, subject=" ", body="x")


def test_a_long_subject_still_fits_the_timeline(alice_account, alice_csm, pat):
    sent = send_customer_email(
        account=alice_account, template=None, sent_by=alice_csm, subject="S" * 290, body="B"
    )
    assert len(sent.subject) == 290
    assert len(sent.touchpoint.subject) == 200


# --- the rules engine's batch ------------------------------------------------------------------


def rule_accounts(count, owner):
    accounts = []
    for n in range(count):
        account = AccountFactory(name=f"Batch {n}", owner=owner)
        ContactFactory(account=account, name=f"Contact {n}", email=f"c{n}@example.com", is_primary=True)
        ContactFactory(account=account, name=f"Other {n}", email=f"o{n}@example.com")
        metric(account, 1, logins=n + 1)
        accounts.append(account)
    return accounts


def test_rule_emails_go_out_in_a_fixed_number_of_queries(
    template, rule, alice_csm, django_capture_on_commit_callbacks
):
    small = rule_accounts(2, alice_csm)
    large = rule_accounts(8, alice_csm)
    with CaptureQueriesContext(connection) as few:
        assert send_rule_emails(rule=rule, accounts=small, template=template) == 2
    with CaptureQueriesContext(connection) as many, django_capture_on_commit_callbacks(execute=False):
        assert send_rule_emails(rule=rule, accounts=large, template=template) == 8
    assert len(few) == len(many)


def test_rule_emails_are_personal_and_recorded(template, rule, alice_csm, django_capture_on_commit_callbacks):
    accounts = rule_accounts(3, alice_csm)
    nobody = AccountFactory(name="Nobody to write to", owner=alice_csm)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_rule_emails(rule=rule, accounts=[*accounts, nobody], template=template) == 3

    emails = {
        e.account.name: e for e in SentEmail.objects.select_related("account", "touchpoint", "delivery")
    }
    assert set(emails) == {"Batch 0", "Batch 1", "Batch 2"}
    second = emails["Batch 1"]
    assert second.rule == rule
    assert second.template == template
    assert second.sent_by is None
    assert second.to_address == "c1@example.com"
    assert second.subject == "Batch 1: how can we help?"
    assert "Hi Contact 1," in second.body
    assert "2 logins" in second.body
    assert second.body.endswith("Alice Chen")
    assert second.touchpoint.kind == "email"
    assert second.touchpoint.author is None
    assert second.delivery.status == "sent"
    assert sorted(m.to[0] for m in mail.outbox) == ["c0@example.com", "c1@example.com", "c2@example.com"]
    assert AuditEvent.objects.filter(action="email.send", details__rule=rule.name).count() == 3


def test_no_accounts_no_emails(template, rule):
    assert send_rule_emails(rule=rule, accounts=[], template=template) == 0


# --- templates ---------------------------------------------------------------------------------


def test_managers_save_templates_with_an_audit_row(maria_manager):
    template = save_email_template(user=maria_manager, key="hello", name="Hello", subject="Hi", body="Hello")
    template = save_email_template(
        user=maria_manager, template=template, key="hello", name="Hello again", subject="Hi", body="Hello"
    )
    assert EmailTemplate.objects.get(key="hello").name == "Hello again"
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "email_template.create",
        "email_template.change",
    ]


def test_csms_do_not_edit_templates(alice_csm):
    with pytest.raises(PermissionDenied):
        save_email_template(user=alice_csm, key="hello", name="Hello", subject="Hi", body="Hello")


def test_a_bad_key_is_refused(maria_manager):
    with pytest.raises(ValidationError) as error:
        save_email_template(user=maria_manager, key="not a slug!", name="Hello", subject="Hi", body="Hello")
    assert "key" in error.value.message_dict
