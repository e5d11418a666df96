"""The inbox, the deliveries log, the email templates and the compose page through the HTTP stack:
roles, methods, HTMX fragments, errors, query counts and what ends up in the database."""

import json

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Touchpoint
from playbooks.models import Delivery, EmailTemplate, Notification, SentEmail, Task
from playbooks.notifications import notify
from tests.factories import AccountFactory, ContactFactory
from tests.form_tokens import with_token

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, *args):
    return reverse(f"notifications:{name}", args=args)


@pytest.fixture
def template(db):
    return EmailTemplate.objects.create(
        key="test-checking-in",
        name="Checking in",
        subject="Checking in on {account_name}",
        body="Hi {contact_name},\n{usage_highlights}\n{csm_name} {__class__} {{ 7*7 }}",
    )


@pytest.fixture
def pat(alice_account):
    return ContactFactory(account=alice_account, name="Pat Lee", email="pat@acme.example", is_primary=True)


def notes_for(user, count, account=None):
    return [
        notify(recipients=[user], kind="plan", title=f"Note {n}", account=account)[0] for n in range(count)
    ]


# --- inbox -------------------------------------------------------------------------------------


def test_the_inbox_lists_my_notifications_unread_first(client_for, alice_csm, bob_other_csm, alice_account):
    old, newer = notes_for(alice_csm, 2, account=alice_account)
    Notification.objects.filter(pk=newer.pk).update(read_at=timezone.now())
    notify(recipients=[bob_other_csm], kind="plan", title="Bob only")

    page = client_for(alice_csm).get(url("inbox")).content.decode()

    assert "Bob only" not in page
    assert page.index("Note 0") < page.index("Note 1")  # unread before read, though older
    assert "1 unread" in page
    assert f'action="{url("read", old.pk)}"' in page and f'hx-post="{url("read", old.pk)}"' in page
    assert f'action="{url("read_all")}"' in page
    assert "Acme Ltd" in page


def test_the_inbox_costs_the_same_queries_for_many_notifications(
    client_for, alice_csm, alice_account, django_assert_num_queries
):
    client = client_for(alice_csm)
    notes_for(alice_csm, 2, account=alice_account)
    # session, user, roles, the nav's unread badge, the unread count, page count, page rows
    with django_assert_num_queries(7):
        client.get(url("inbox"))
    notes_for(alice_csm, 60, account=AccountFactory())
    with django_assert_num_queries(7):
        response = client.get(url("inbox"))
    assert response.content.decode().count('class="is-unread"') == 50
    assert "Page 1 of 2" in response.content.decode()


def test_the_inbox_pages_as_a_fragment_for_htmx(client_for, alice_csm):
    notes_for(alice_csm, 51)
    response = client_for(alice_csm).get(url("inbox") + "?page=2", **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="notification-list"' in body
    assert "Note 0" in body


def test_marking_one_read_swaps_its_row(client_for, alice_csm):
    [note] = notes_for(alice_csm, 1)
    response = client_for(alice_csm).post(url("read", note.pk), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.strip().startswith(f'<tr id="notification-{note.pk}"')
    assert "notifications-read" in json.loads(response["HX-Trigger"])
    note.refresh_from_db()
    assert note.read_at is not None


def test_marking_one_read_without_htmx_redirects_back(client_for, alice_csm):
    [note] = notes_for(alice_csm, 1)
    response = client_for(alice_csm).post(url("read", note.pk), {"next": url("inbox") + "?page=1"})
    assert response.status_code == 302
    assert response["Location"] == url("inbox") + "?page=1"
    response = client_for(alice_csm).post(url("read", note.pk), {"next": "https://evil.example/"})
    assert response["Location"] == url("inbox")


def test_nobody_marks_someone_elses_notification(client_for, alice_csm, bob_other_csm):
    [note] = notes_for(alice_csm, 1)
    assert client_for(bob_other_csm).post(url("read", note.pk)).status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


def test_reading_needs_a_post(client_for, alice_csm):
    [note] = notes_for(alice_csm, 1)
    assert client_for(alice_csm).get(url("read", note.pk)).status_code == 405
    assert client_for(alice_csm).get(url("read_all")).status_code == 405
    assert client_for(alice_csm).post(url("inbox")).status_code == 405


def test_mark_all_read(client_for, alice_csm, bob_other_csm):
    notes_for(alice_csm, 3)
    [bobs] = notes_for(bob_other_csm, 1)
    response = client_for(alice_csm).post(url("read_all"), **HTMX)
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert "0 unread" in response.content.decode()
    assert not Notification.objects.filter(recipient=alice_csm, read_at__isnull=True).exists()
    bobs.refresh_from_db()
    assert bobs.read_at is None
    response = client_for(alice_csm).post(url("read_all"))
    assert response.status_code == 302


def test_the_inbox_needs_a_login(client):
    response = client.get(url("inbox"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


# --- deliveries --------------------------------------------------------------------------------


@pytest.fixture
def failed(db):
    return Delivery.objects.create(
        channel="email",
        to="pat@acme.example",
        subject="Checking in",
        status="failed",
        attempts=6,
        last_error="550",
    )


def test_managers_see_deliveries_filtered_by_status(client_for, maria_manager, failed):
    Delivery.objects.create(channel="email", to="ok@example.com", subject="Fine", status="sent")
    client = client_for(maria_manager)
    page = client.get(url("deliveries")).content.decode()
    assert "Checking in" in page and "Fine" in page
    assert f'action="{url("retry", failed.pk)}"' in page
    page = client.get(url("deliveries") + "?status=failed").content.decode()
    assert "Checking in" in page and "Fine" not in page
    response = client.get(url("deliveries") + "?status=sent", **HTMX)
    body = response.content.decode()
    assert "<html" not in body and 'id="delivery-list"' in body
    assert "Fine" in body and "Checking in" not in body


def test_the_deliveries_page_costs_the_same_queries_for_many_rows(
    client_for, maria_manager, django_assert_num_queries
):
    client = client_for(maria_manager)
    Delivery.objects.create(channel="email", to="a@example.com", subject="One")
    # session, user, roles, the nav's unread badge, page count, page rows
    with django_assert_num_queries(6):
        client.get(url("deliveries"))
    Delivery.objects.bulk_create(
        Delivery(channel="email", to="a@example.com", subject=f"N{n}") for n in range(30)
    )
    with django_assert_num_queries(6):
        client.get(url("deliveries"))


@pytest.mark.parametrize("user", ["alice_csm", "ivan_interviewer"])
def test_csms_and_interviewers_do_not_see_deliveries(client_for, request, user, failed):
    client = client_for(request.getfixturevalue(user))
    assert client.get(url("deliveries")).status_code == 403
    assert client.post(url("retry", failed.pk)).status_code == 403
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_a_manager_retries_a_failed_delivery(
    client_for, maria_manager, failed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(maria_manager).post(url("retry", failed.pk), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.strip().startswith(f'<tr id="delivery-{failed.pk}"')
    assert "Sending again." in body
    failed.refresh_from_db()
    # No broker in tests: the eager task sent it once the request's transaction committed.
    assert failed.status == "sent"
    assert failed.attempts == 7
    assert len(mail.outbox) == 1


def test_retry_without_htmx_redirects(client_for, ada_admin, failed):
    response = client_for(ada_admin).post(url("retry", failed.pk))
    assert response.status_code == 302
    assert response["Location"] == url("deliveries")


def test_a_delivery_that_did_not_fail_is_not_retried(client_for, maria_manager):
    sent = Delivery.objects.create(channel="email", to="a@example.com", status="sent")
    response = client_for(maria_manager).post(url("retry", sent.pk), **HTMX)
    assert response.status_code == 422
    assert "not failed" in response.content.decode()


def test_retry_needs_a_post(client_for, maria_manager, failed):
    assert client_for(maria_manager).get(url("retry", failed.pk)).status_code == 405
    assert client_for(maria_manager).post(url("retry", 999999)).status_code == 404


# --- email templates ---------------------------------------------------------------------------


def test_managers_list_templates(client_for, maria_manager, template):
    page = client_for(maria_manager).get(url("templates")).content.decode()
    assert "Checking in" in page
    assert f'href="{url("template_edit", template.pk)}"' in page


@pytest.mark.parametrize("user", ["alice_csm", "ivan_interviewer"])
def test_csms_and_interviewers_do_not_edit_templates(client_for, request, user, template):
    client = client_for(request.getfixturevalue(user))
    assert client.get(url("templates")).status_code == 403
    assert client.get(url("template_edit", template.pk)).status_code == 403
    assert client.post(url("template_create"), {"name": "x"}).status_code == 403
    assert client.post(url("template_preview"), {"subject": "x"}).status_code == 403


def test_a_manager_creates_a_template(client_for, maria_manager):
    data = {"name": "Welcome", "key": "welcome", "subject": "Welcome, {contact_name}", "body": "Hello"}
    response = client_for(maria_manager).post(url("template_create"), with_token(maria_manager, data))
    assert response.status_code == 302
    assert response["Location"] == url("templates")
    assert EmailTemplate.objects.get(key="welcome").subject == "Welcome, {contact_name}"


def test_an_invalid_template_shows_errors_by_the_field(client_for, maria_manager, template):
    data = {"name": "Dup", "key": template.key, "subject": "", "body": "Hello"}
    response = client_for(maria_manager).post(url("template_create"), data, **HTMX)
    body = response.content.decode()
    assert response.status_code == 422
    assert "<html" not in body
    assert 'id="template-form"' in body
    assert "This field is required." in body
    assert "already exists" in body
    response = client_for(maria_manager).post(url("template_create"), data)
    assert response.status_code == 422
    assert "<html" in response.content.decode()
    assert EmailTemplate.objects.filter(key=template.key).count() == 1


def test_a_manager_edits_a_template_with_htmx(client_for, maria_manager, template):
    data = {"name": "Checking in", "key": template.key, "subject": "New subject", "body": "New body"}
    response = client_for(maria_manager).post(url("template_edit", template.pk), data, **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == url("templates")
    template.refresh_from_db()
    assert template.subject == "New subject"


def test_the_edit_page_previews_for_my_first_account(client_for, alice_csm, maria_manager, template, pat):
    AccountFactory(name="Another account", owner=maria_manager)
    page = client_for(maria_manager).get(url("template_edit", template.pk)).content.decode()
    assert 'name="preview_account"' in page
    assert "Checking in on Another account" in page
    assert f'hx-post="{url("template_preview")}"' in page


def test_the_preview_renders_unsaved_text_for_the_chosen_account(
    client_for, maria_manager, alice_account, pat
):
    data = {
        "subject": "About {account_name}",
        "body": "Dear {contact_name} {{ 7*7 }} <b>",
        "preview_account": alice_account.pk,
    }
    response = client_for(maria_manager).post(url("template_preview"), data, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.strip().startswith('<div id="template-preview"')
    assert "About Acme Ltd" in body
    assert "Dear Pat Lee {{ 7*7 }} &lt;b&gt;" in body
    assert not EmailTemplate.objects.filter(subject="About {account_name}").exists()


def test_the_preview_works_without_javascript(client_for, maria_manager, alice_account, template, pat):
    data = {
        "name": "Checking in",
        "key": template.key,
        "subject": "Changed {account_name}",
        "body": "x",
        "preview_account": alice_account.pk,
        "template_pk": template.pk,
    }
    response = client_for(maria_manager).post(url("template_preview"), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" in page
    assert "Changed Acme Ltd" in page
    assert f'action="{url("template_edit", template.pk)}"' in page
    template.refresh_from_db()
    assert template.subject == "Checking in on {account_name}"


def test_the_preview_needs_a_post(client_for, maria_manager):
    assert client_for(maria_manager).get(url("template_preview")).status_code == 405


# --- compose -----------------------------------------------------------------------------------


def test_the_compose_page_fills_in_the_chosen_template(client_for, alice_csm, alice_account, template, pat):
    response = client_for(alice_csm).get(url("compose", alice_account.pk) + f"?template={template.pk}")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="Checking in on Acme Ltd"' in page
    assert "Hi Pat Lee," in page
    assert "{__class__} {{ 7*7 }}" in page
    assert "pat@acme.example" in page
    assert '<label for="id_subject">' in page and '<label for="id_body">' in page
    assert f'hx-get="{url("compose", alice_account.pk)}"' in page


def test_choosing_a_template_with_htmx_returns_the_draft(client_for, alice_csm, alice_account, template, pat):
    response = client_for(alice_csm).get(url("compose", alice_account.pk), {"template": template.pk}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.strip().startswith('<form id="email-draft"')
    assert "Checking in on Acme Ltd" in body


def test_sending_lands_on_the_timeline(
    client_for, alice_csm, alice_account, template, pat, django_capture_on_commit_callbacks
):
    client = client_for(alice_csm)
    data = {
        "template": template.pk,
        "contact": pat.pk,
        "subject": "Checking in",
        "body": "Hi Pat,\nAll well?",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("compose", alice_account.pk), with_token(alice_csm, data))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:detail", args=[alice_account.pk])
    sent = SentEmail.objects.get()
    assert sent.sent_by == alice_csm
    assert sent.template == template
    assert sent.delivery.status == "sent"
    touchpoint = Touchpoint.objects.get(account=alice_account)
    assert touchpoint.kind == "email"
    assert touchpoint.subject == "Checking in"
    [message] = mail.outbox
    assert message.body == "Hi Pat,\nAll well?"
    page = client.get(response["Location"]).content.decode()
    assert "Checking in" in page
    assert "Email to pat@acme.example queued." in page


def test_sending_with_htmx_redirects_the_browser(client_for, maria_manager, alice_account, pat):
    data = with_token(maria_manager, contact=pat.pk, subject="Hello", body="Body")
    response = client_for(maria_manager).post(url("compose", alice_account.pk), data, **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("accounts:detail", args=[alice_account.pk])
    assert SentEmail.objects.get().sent_by == maria_manager


def test_a_task_is_linked_to_its_email(client_for, alice_csm, alice_account, pat):
    task = Task.objects.create(
        account=alice_account, title="Send the care email", assignee=alice_csm, due_at=timezone.now()
    )
    page = client_for(alice_csm).get(url("compose", alice_account.pk), {"task": task.pk}).content.decode()
    assert 'value="Send the care email"' in page
    data = with_token(alice_csm, contact=pat.pk, subject="Hello", body="Body", task=task.pk)
    client_for(alice_csm).post(url("compose", alice_account.pk), data)
    assert SentEmail.objects.get().task == task


def test_an_invalid_email_comes_back_with_errors(client_for, alice_csm, alice_account, pat):
    data = {"contact": pat.pk, "subject": "", "body": ""}
    response = client_for(alice_csm).post(url("compose", alice_account.pk), data, **HTMX)
    body = response.content.decode()
    assert response.status_code == 422
    assert "<html" not in body
    assert body.count("This field is required.") == 2
    assert not SentEmail.objects.exists()


def test_an_account_without_an_address_cannot_be_emailed(client_for, alice_csm, alice_account):
    ContactFactory(account=alice_account, email="")
    page = client_for(alice_csm).get(url("compose", alice_account.pk)).content.decode()
    assert "no contact with an email address" in page
    response = client_for(alice_csm).post(url("compose", alice_account.pk), {"subject": "Hi", "body": "x"})
    assert response.status_code == 422
    assert "Choose whom to write to." in response.content.decode()


def test_a_contact_of_another_account_is_refused(client_for, alice_csm, alice_account, bob_account, pat):
    stranger = ContactFactory(account=bob_account, email="s@bob.example")
    data = {"contact": stranger.pk, "subject": "Hi", "body": "x"}
    response = client_for(alice_csm).post(url("compose", alice_account.pk), data)
    assert response.status_code == 422
    assert not SentEmail.objects.exists()


def test_a_csm_may_not_email_another_csms_account(client_for, bob_other_csm, alice_account, pat):
    client = client_for(bob_other_csm)
    assert client.get(url("compose", alice_account.pk)).status_code == 403
    data = {"contact": pat.pk, "subject": "Hi", "body": "x"}
    assert client.post(url("compose", alice_account.pk), data).status_code == 403
    assert not SentEmail.objects.exists()


def test_interviewers_do_not_email_customers(client_for, ivan_interviewer, alice_account, pat):
    assert client_for(ivan_interviewer).get(url("compose", alice_account.pk)).status_code == 403


def test_compose_for_a_missing_account_is_404(client_for, alice_csm):
    assert client_for(alice_csm).get(url("compose", 999999)).status_code == 404


def test_compose_refuses_other_methods(client_for, alice_csm, alice_account):
    assert client_for(alice_csm).put(url("compose", alice_account.pk)).status_code == 405
