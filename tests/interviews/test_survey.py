"""The self-serve survey: a signed one-time link, answered without a login."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from csworkbench.core.models import AuditEvent
from interviews import services
from interviews.models import ExitInterview, InterviewChannel, SurveyInvitation
from playbooks.models import Delivery
from tests.factories import ContactFactory
from tests.form_tokens import with_token
from tests.interviews.factories import category

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(churned_account, ivan_interviewer):
    interview = services.start_interview(account=churned_account, interviewer=ivan_interviewer)
    return services.save_draft(
        interview=interview, user=ivan_interviewer, changes={"answer_2": "Asked on the call"}
    )


def invite(draft, user, language="en"):
    invitation, signed = services.invite_to_survey(
        interview=draft, user=user, email="grace@example.com", language=language
    )
    return invitation, reverse("survey:answer", args=[signed])


def five(**answers):
    return {f"answer_{n}": answers.get(f"answer_{n}", "") for n in range(1, 6)}


def test_the_link_works_once_without_a_login(client, draft, ivan_interviewer):
    invitation, url = invite(draft, ivan_interviewer)

    page = client.get(url)
    assert page.status_code == 200
    assert "What was the main reason you decided to stop using the product?" in page.content.decode()
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()

    response = client.post(url, five(answer_1="Too expensive", answer_5="Half the price"))
    assert response.status_code == 200 and "Thank you" in response.content.decode()

    draft.refresh_from_db()
    assert (draft.answer_1, draft.answer_5) == ("Too expensive", "Half the price")
    assert draft.answer_2 == "Asked on the call"  # a blank answer leaves the interviewer's notes
    assert draft.channel == InterviewChannel.SURVEY
    invitation.refresh_from_db()
    assert invitation.used_at is not None
    assert AuditEvent.objects.filter(action="interview.survey_answered").exists()

    again = client.get(url)
    assert again.status_code == 410 and "already been used" in again.content.decode()
    assert client.post(url, five(answer_1="Overwrite")).status_code == 410
    draft.refresh_from_db()
    assert draft.answer_1 == "Too expensive"


def test_an_expired_link_answers_410(client, draft, ivan_interviewer):
    invitation, url = invite(draft, ivan_interviewer)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    response = client.get(url)
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert client.post(url, five(answer_1="x")).status_code == 410


def test_a_tampered_link_is_404(client, draft, ivan_interviewer):
    _invitation, url = invite(draft, ivan_interviewer)
    token = url.rstrip("/").rsplit("/", 1)[1]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")

    assert client.get(reverse("survey:answer", args=[forged])).status_code == 404
    assert client.get(reverse("survey:answer", args=["not-a-token"])).status_code == 404


def test_a_validly_signed_token_that_was_never_issued_is_404(client, draft):
    signed = services._signer().sign("made-up-token")
    assert client.get(reverse("survey:answer", args=[signed])).status_code == 404


def test_only_the_hash_of_the_token_is_stored(draft, ivan_interviewer):
    invitation, url = invite(draft, ivan_interviewer)
    token = services._signer().unsign(url.rstrip("/").rsplit("/", 1)[1])
    assert token not in invitation.token_hash and len(invitation.token_hash) == 64


def test_the_survey_speaks_the_invitations_language(client, draft, ivan_interviewer):
    _invitation, url = invite(draft, ivan_interviewer, language="zh-hant")

    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert '<html lang="zh-hant">' in html
    assert "導致您做出這個決定的最主要原因是什麼?" in html
    assert "在何種情況下,您會考慮重新使用我們的產品?" in html
    assert "What was the main reason" not in html
    assert response["Content-Language"] == "zh-hant"


def test_answers_are_length_limited(client, draft, ivan_interviewer):
    _invitation, url = invite(draft, ivan_interviewer)
    response = client.post(url, five(answer_1="x" * 4001))
    assert response.status_code == 422
    draft.refresh_from_db()
    assert draft.answer_1 == ""


def test_an_empty_submission_does_not_spend_the_link(client, draft, ivan_interviewer):
    invitation, url = invite(draft, ivan_interviewer)
    assert client.post(url, five()).status_code == 422
    invitation.refresh_from_db()
    assert invitation.used_at is None


def test_the_survey_post_is_csrf_protected(draft, ivan_interviewer):
    from django.test import Client

    _invitation, url = invite(draft, ivan_interviewer)
    assert Client(enforce_csrf_checks=True).post(url, five(answer_1="x")).status_code == 403


def test_a_completed_interview_closes_its_links(client, draft, ivan_interviewer):
    _invitation, url = invite(draft, ivan_interviewer)
    services.save_draft(
        interview=draft,
        user=ivan_interviewer,
        changes={"answer_1": "x", "primary_category": category("product")},
    )
    services.complete_interview(interview=draft, user=ivan_interviewer)
    assert client.get(url).status_code == 410


def test_the_survey_page_answers_put_with_405(client, draft, ivan_interviewer):
    _invitation, url = invite(draft, ivan_interviewer)
    assert client.put(url).status_code == 405


# --- sending it from the interview page ----------------------------------------------------------


def test_the_interviewer_emails_a_contact_the_link(
    client_for, ivan_interviewer, churned_account, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    contact = ContactFactory(account=churned_account, name="Grace Lin", email="grace@example.com")
    url = reverse("interviews:send_survey", args=[churned_account.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(ivan_interviewer).post(
            url, with_token(ivan_interviewer, contact=contact.pk, language="zh-hant")
        )

    assert response.status_code == 302
    interview = ExitInterview.objects.get(account=churned_account)  # sending starts the interview
    invitation = interview.invitations.get()
    assert (invitation.email, invitation.language) == ("grace@example.com", "zh-hant")
    delivery = Delivery.objects.get(to="grace@example.com")
    assert delivery.status == "sent"
    assert len(mailoutbox) == 1
    link = next(line for line in mailoutbox[0].body.splitlines() if "/survey/" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client_for(ivan_interviewer).get("/" + path)
    assert page.status_code == 200 and "導致您做出這個決定" in page.content.decode()


def test_sending_needs_an_address(client_for, ivan_interviewer, churned_account):
    url = reverse("interviews:send_survey", args=[churned_account.pk])
    response = client_for(ivan_interviewer).post(url, {"language": "en"})
    assert response.status_code == 422
    assert not SurveyInvitation.objects.exists()


def test_the_owner_cannot_send_the_survey(client_for, alice_csm, churned_account):
    url = reverse("interviews:send_survey", args=[churned_account.pk])
    assert client_for(alice_csm).post(url, {"email": "x@example.com", "language": "en"}).status_code == 403


def _stored_text() -> str:
    """Every column of every delivery and invitation row, as text: what an admin or a database
    dump could read."""
    rows = [*Delivery.objects.values(), *SurveyInvitation.objects.values()]
    return "\n".join(str(value) for row in rows for value in row.values())


def _emailed_path(message) -> str:
    link = next(line for line in message.body.splitlines() if "/survey/" in line)
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def test_an_unsent_survey_email_holds_no_live_link(
    client_for, client, ivan_interviewer, churned_account, mailoutbox
):
    from playbooks.notifications import send_delivery

    url = reverse("interviews:send_survey", args=[churned_account.pk])
    page = client_for(ivan_interviewer).get(reverse("interviews:interview", args=[churned_account.pk]))
    # The form as the page gives it, hidden fields (a one-time form token) included.
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.content.decode()))
    data = {**hidden, "email": "grace@example.com", "language": "en"}
    # Without the on-commit callbacks, the delivery waits in the queue as it would for Celery.
    response = client_for(ivan_interviewer).post(url, data)
    assert response.status_code == 302
    delivery = Delivery.objects.get(to="grace@example.com")
    invitation = SurveyInvitation.objects.get()
    assert delivery.status == "pending" and not mailoutbox

    stored = _stored_text()
    assert "/survey/" not in stored
    assert services.SURVEY_LINK_PLACEHOLDER in delivery.body
    # Nothing stored signs into a link that opens the survey.
    client.logout()
    for value in {invitation.token_hash, delivery.body, str(delivery.payload), str(invitation.pk)}:
        forged = reverse("survey:answer", args=[services._signer().sign(value)])
        assert client.get(forged).status_code == 404

    send_delivery(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert "/survey/" not in _stored_text()  # the link went out in the email only
    path = _emailed_path(mailoutbox[-1])
    assert services.SURVEY_LINK_PLACEHOLDER not in mailoutbox[-1].body
    assert client.get(path).status_code == 200
    assert client.post(path, five(answer_1="Too expensive")).status_code == 200
    assert client.post(path, five(answer_1="Again")).status_code == 410
    assert client.get(path).status_code == 410
    interview = ExitInterview.objects.get(account=churned_account)
    assert interview.answer_1 == "Too expensive"


def test_a_retry_after_a_failed_send_mints_a_fresh_link(client, draft, ivan_interviewer, mailoutbox):
    from unittest import mock

    from django.core.mail import EmailMessage

    from playbooks.notifications import DeliveryError, send_delivery

    services.send_survey(interview=draft, user=ivan_interviewer, email="grace@example.com", language="en")
    delivery = Delivery.objects.get(to="grace@example.com")
    attempted = []

    def refuse(message, fail_silently=False):
        attempted.append(message.body)
        raise OSError("connection refused")

    with mock.patch.object(EmailMessage, "send", refuse), pytest.raises(DeliveryError):
        send_delivery(delivery.pk)
    failed_path = _emailed_path(mock.Mock(body=attempted[0]))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "/survey/" not in _stored_text()

    send_delivery(delivery.pk)

    sent_path = _emailed_path(mailoutbox[-1])
    assert sent_path != failed_path
    assert client.get(failed_path).status_code == 404  # the attempt that failed: dead
    assert client.get(sent_path).status_code == 200


def test_a_link_made_before_the_email_went_out_dies_when_it_is_sent(client, draft, ivan_interviewer):
    from playbooks.notifications import send_delivery

    invitation = services.send_survey(
        interview=draft, user=ivan_interviewer, email="grace@example.com", language="en"
    )
    # A link minted earlier (as for an attempt whose email was lost) stops working once the
    # email goes out with its own.
    earlier = services.mint_survey_link(invitation=invitation)
    earlier_path = "/" + earlier.split("://", 1)[1].split("/", 1)[1]
    assert client.get(earlier_path).status_code == 200
    send_delivery(Delivery.objects.get(to="grace@example.com").pk)
    assert client.get(earlier_path).status_code == 404


def test_the_upgrade_takes_live_links_out_of_survey_emails_queued_before_it(
    client, draft, ivan_interviewer, mailoutbox
):
    """playbooks 0006: a survey email queued (or failed) by the previous release kept its link
    in the body until sent. The migration puts the placeholder there and names the invitation."""
    import importlib

    from django.apps import apps

    from csworkbench.core.links import absolute_url
    from playbooks.notifications import send_delivery

    scrub = importlib.import_module("playbooks.migrations.0006_survey_links_out_of_deliveries")
    invitation, signed = services.invite_to_survey(
        interview=draft, user=ivan_interviewer, email="grace@example.com", language="en"
    )
    old_path = reverse("survey:answer", args=[signed])
    body = f"Hello,\n\n{absolute_url(old_path)}\n\nThank you."
    legacy = {"channel": "email", "to": "grace@example.com", "subject": "Five questions", "body": body}
    pending = Delivery.objects.create(**legacy, payload={"secret_body": True})
    failed = Delivery.objects.create(**legacy, payload={"secret_body": True}, status="failed")
    other = Delivery.objects.create(**{**legacy, "body": "No survey here.", "to": "x@example.com"})

    scrub.scrub_survey_links(apps, None)

    assert "/survey/" not in _stored_text()
    for delivery in (pending, failed):
        delivery.refresh_from_db()
        assert delivery.body == f"Hello,\n\n{services.SURVEY_LINK_PLACEHOLDER}\n\nThank you."
        assert delivery.payload == {services.SURVEY_PAYLOAD_KEY: invitation.pk}
    other.refresh_from_db()
    assert (other.body, other.payload) == ("No survey here.", {})

    send_delivery(pending.pk)
    assert client.get(old_path).status_code == 404  # the link that sat in the database is dead
    assert client.get(_emailed_path(mailoutbox[-1])).status_code == 200
