"""One-time form tokens (csworkbench.core.idempotency): every form that sends or creates does it once,
however often it is posted; the repeat answers as the first did, with a notice, never an error."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Touchpoint
from csworkbench.core import idempotency
from csworkbench.core.models import UsedFormToken
from interviews.models import ActionItem, ReasonCategory, SubReason, SurveyInvitation
from playbooks.models import Delivery, EmailTemplate, Playbook, RetentionPlan, Rule, SentEmail
from tests.accounts.test_account_detail import valid_touchpoint
from tests.conftest import needs
from tests.factories import ContactFactory
from tests.form_tokens import tokens_in, with_token
from tests.interviews.factories import ChurnedAccountFactory, DoneInterviewFactory, category
from tests.playbooks.factories import TaskFactory
from tests.playbooks.test_plan_views import plan_post
from tests.playbooks.test_rule_views import valid_data as rule_data
from tests.threads import race

HTMX = {"HTTP_HX_REQUEST": "true"}
ALREADY = "This form was already sent; nothing was sent twice."
MISSING = "This form is missing its one-time token"


def notices(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def post_twice(client, url, data, **extra):
    """The same form, token and all, sent twice (a double click, a resent page)."""
    return client.post(url, data, **extra), client.post(url, data, **extra)


# --- the kernel ------------------------------------------------------------------------------------


def test_a_token_reads_back_for_its_user_only(alice_csm, bob_other_csm):
    token = idempotency.new_form_token(alice_csm)
    key = idempotency.read_form_token({"form_token": token}, alice_csm)
    assert len(key) == 32 and key in token
    with pytest.raises(ValidationError):
        idempotency.read_form_token({"form_token": token}, bob_other_csm)


@pytest.mark.parametrize("value", [None, "", "nonsense", "a" * 500, "x:y:z"])
def test_a_missing_or_malformed_token_is_refused(alice_csm, value):
    data = {} if value is None else {"form_token": value}
    with pytest.raises(ValidationError) as caught:
        idempotency.read_form_token(data, alice_csm)
    assert MISSING in caught.value.messages[0]


def test_a_token_older_than_its_lifetime_is_refused_as_expired(alice_csm, monkeypatch):
    import django.core.signing

    token = idempotency.new_form_token(alice_csm)
    later = (timezone.now() + idempotency.MAX_AGE + timedelta(minutes=1)).timestamp()
    monkeypatch.setattr(django.core.signing.time, "time", lambda: later)
    with pytest.raises(ValidationError) as caught:
        idempotency.read_form_token({"form_token": token}, alice_csm)
    assert caught.value.code == "form_token_expired"


def test_a_key_is_claimed_once(rf, alice_csm):
    request = rf.post("/")
    request.user = alice_csm
    with idempotency.claimed(request, "k" * 32, purpose="test") as claim:
        claim.answer("/somewhere/")
    with (
        pytest.raises(idempotency.AlreadySent) as caught,
        idempotency.claimed(request, "k" * 32, purpose="test"),
    ):
        raise AssertionError("the block must not run for a used token")
    assert caught.value.url == "/somewhere/"


def test_a_failed_write_gives_its_token_back(rf, alice_csm):
    request = rf.post("/")
    request.user = alice_csm
    with pytest.raises(ValidationError), idempotency.claimed(request, "f" * 32, purpose="test"):
        raise ValidationError("the service refused")
    assert not UsedFormToken.objects.exists()  # so the corrected form can be sent with it


def test_old_used_tokens_are_pruned_and_the_task_is_scheduled(alice_csm):
    old = UsedFormToken.objects.create(
        key="o" * 32,
        user=alice_csm,
        purpose="t",
        created_at=timezone.now() - idempotency.MAX_AGE - timedelta(hours=1),
    )
    recent = UsedFormToken.objects.create(key="r" * 32, user=alice_csm, purpose="t")
    from csworkbench.core.tasks import prune_used_form_tokens

    assert prune_used_form_tokens() == 1
    assert list(UsedFormToken.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not UsedFormToken.objects.filter(pk=old.pk).exists()
    schedule = settings.CELERY_BEAT_SCHEDULE["prune-used-form-tokens"]
    assert schedule["task"] == "csworkbench.tasks.prune_used_form_tokens"


# --- touchpoints -----------------------------------------------------------------------------------


def log_url(account):
    return reverse("accounts:log_touchpoint", args=[account.pk])


def test_a_touchpoint_posted_twice_is_logged_once(client_for, alice_csm, alice_account):
    client = client_for(alice_csm)
    first, second = post_twice(client, log_url(alice_account), with_token(alice_csm, valid_touchpoint()))
    assert first.status_code == 302
    assert second.status_code == 302 and second["Location"] == reverse(
        "accounts:detail", args=[alice_account.pk]
    )
    assert ALREADY in notices(second)
    assert Touchpoint.objects.count() == 1
    assert ALREADY in client.get(second["Location"]).content.decode()


def test_an_htmx_touchpoint_posted_twice_answers_the_timeline_with_the_notice(
    client_for, alice_csm, alice_account
):
    client = client_for(alice_csm)
    data = with_token(alice_csm, valid_touchpoint())
    first, second = post_twice(client, log_url(alice_account), data, **HTMX)
    assert (first.status_code, second.status_code) == (200, 200)
    html = second.content.decode()
    assert "<html" not in html and 'id="timeline"' in html
    assert ALREADY in html and 'hx-swap-oob="true"' in html
    assert Touchpoint.objects.count() == 1
    # Each answer carries a new token, so the next touchpoint can be logged.
    [fresh] = tokens_in(first)
    assert fresh != data["form_token"]
    third = client.post(
        log_url(alice_account), {**valid_touchpoint(subject="Next one"), "form_token": fresh}, **HTMX
    )
    assert third.status_code == 200 and Touchpoint.objects.count() == 2


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_touchpoint_without_a_good_token_is_shown_again_with_the_error(
    client_for, alice_csm, alice_account, token
):
    data = valid_touchpoint()
    if token is not None:
        data["form_token"] = token
    response = client_for(alice_csm).post(log_url(alice_account), data, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert MISSING in html and 'value="Walked the champion through the new reports"' in html
    assert tokens_in(response)  # a fresh token to send it with
    assert not Touchpoint.objects.exists()


def test_the_account_page_renders_a_token_per_form(client_for, alice_csm, alice_account):
    response = client_for(alice_csm).get(reverse("accounts:detail", args=[alice_account.pk]))
    tokens = tokens_in(response)  # the override and the touchpoint forms
    assert len(tokens) == len(set(tokens)) == 2


# --- the queue's "log a call" ----------------------------------------------------------------------


def test_a_call_logged_twice_from_the_queue_is_logged_once(client_for, alice_csm, alice_account):
    task = TaskFactory(account=alice_account, title="Call the champion")
    other = TaskFactory(account=alice_account, title="Send the deck")
    client = client_for(alice_csm)
    page = client.get("/queue/")
    tokens = tokens_in(page)
    assert len(tokens) == 2 and len(set(tokens)) == 2  # one per row
    url = reverse("playbooks:task_touchpoint", args=[task.pk])
    data = with_token(alice_csm, kind="call", subject="Called Grace")
    first, second = post_twice(client, url, data, **HTMX)
    assert first.status_code == second.status_code == 200
    assert ALREADY in second.content.decode()
    assert Touchpoint.objects.filter(subject="Called Grace").count() == 1
    assert data["form_token"] not in second.content.decode()
    assert other.pk  # the other row's form keeps working with its own token
    response = client.post(url, with_token(alice_csm, kind="call", subject="Called again"))
    assert response.status_code == 302 and Touchpoint.objects.count() == 2


def test_a_call_without_a_token_is_refused_with_a_message(client_for, alice_csm, alice_account):
    task = TaskFactory(account=alice_account)
    url = reverse("playbooks:task_touchpoint", args=[task.pk])
    response = client_for(alice_csm).post(url, {"kind": "call", "subject": "Called"}, **HTMX)
    assert response.status_code == 422 and MISSING in response.content.decode()
    assert not Touchpoint.objects.exists()


# --- customer email --------------------------------------------------------------------------------


def test_a_customer_email_sent_twice_is_sent_once(
    client_for, alice_csm, alice_account, django_capture_on_commit_callbacks, mailoutbox
):
    pat = ContactFactory(account=alice_account, name="Pat Lee", email="pat@acme.example", is_primary=True)
    client = client_for(alice_csm)
    url = reverse("notifications:compose", args=[alice_account.pk])
    [token] = tokens_in(client.get(url))
    data = {"contact": pat.pk, "subject": "Checking in", "body": "Hi Pat", "form_token": token}
    with django_capture_on_commit_callbacks(execute=True):
        first, second = post_twice(client, url, data)
    assert first.status_code == second.status_code == 302
    assert second["Location"] == reverse("accounts:detail", args=[alice_account.pk])
    assert ALREADY in notices(second)
    assert SentEmail.objects.count() == 1 and Delivery.objects.count() == 1
    assert len(mailoutbox) == 1
    assert Touchpoint.objects.filter(kind="email").count() == 1


def test_an_htmx_email_sent_twice_redirects_the_browser_both_times(client_for, alice_csm, alice_account):
    pat = ContactFactory(account=alice_account, email="pat@acme.example", is_primary=True)
    url = reverse("notifications:compose", args=[alice_account.pk])
    data = with_token(alice_csm, contact=pat.pk, subject="Hello", body="Body")
    first, second = post_twice(client_for(alice_csm), url, data, **HTMX)
    assert (
        first["HX-Redirect"] == second["HX-Redirect"] == reverse("accounts:detail", args=[alice_account.pk])
    )
    assert ALREADY in notices(second)
    assert SentEmail.objects.count() == 1


def test_an_email_without_a_token_is_shown_again_unsent(client_for, alice_csm, alice_account):
    pat = ContactFactory(account=alice_account, email="pat@acme.example", is_primary=True)
    url = reverse("notifications:compose", args=[alice_account.pk])
    response = client_for(alice_csm).post(
        url, {"contact": pat.pk, "subject": "Hello", "body": "Body"}, **HTMX
    )
    assert response.status_code == 422
    assert MISSING in response.content.decode() and tokens_in(response)
    assert not SentEmail.objects.exists()


# --- survey invitations ----------------------------------------------------------------------------


def test_a_survey_invite_sent_twice_is_sent_once(client_for, alice_csm, ivan_interviewer):
    account = ChurnedAccountFactory(owner=alice_csm, churned_on=timezone.localdate() - timedelta(days=21))
    client = client_for(ivan_interviewer)
    [token] = tokens_in(client.get(reverse("interviews:interview", args=[account.pk])))
    url = reverse("interviews:send_survey", args=[account.pk])
    data = {"email": "grace@example.com", "language": "en", "form_token": token}
    first, second = post_twice(client, url, data)
    assert first.status_code == second.status_code == 302
    assert second["Location"] == reverse("interviews:interview", args=[account.pk])
    assert ALREADY in notices(second)
    assert SurveyInvitation.objects.count() == 1
    assert Delivery.objects.filter(to="grace@example.com").count() == 1


# --- creating: plans, action items, rules, playbooks, templates ------------------------------------


def test_a_plan_drafted_twice_is_drafted_once_and_the_repeat_lands_on_it(
    client_for, alice_csm, alice_account
):
    data = with_token(alice_csm, plan_post(alice_account))
    first, second = post_twice(client_for(alice_csm), reverse("plans:create"), data)
    plan = RetentionPlan.objects.get()
    assert first["Location"] == second["Location"] == reverse("plans:detail", args=[plan.pk])
    assert ALREADY in notices(second)


def test_an_htmx_plan_drafted_twice_redirects_the_browser_to_the_one_plan(
    client_for, alice_csm, alice_account
):
    data = with_token(alice_csm, plan_post(alice_account))
    first, second = post_twice(client_for(alice_csm), reverse("plans:create"), data, **HTMX)
    plan = RetentionPlan.objects.get()
    assert first["HX-Redirect"] == second["HX-Redirect"] == reverse("plans:detail", args=[plan.pk])


def test_a_plan_without_a_token_is_shown_again(client_for, alice_csm, alice_account):
    response = client_for(alice_csm).post(reverse("plans:create"), plan_post(alice_account), **HTMX)
    assert response.status_code == 422 and MISSING in response.content.decode()
    assert not RetentionPlan.objects.exists()


def test_an_action_item_raised_twice_is_raised_once(client_for, alice_csm, ivan_interviewer):
    account = ChurnedAccountFactory(owner=alice_csm)
    interview = DoneInterviewFactory(
        account=account, interviewer=ivan_interviewer, primary_category=category("service")
    )
    url = f"{reverse('reports:action_create')}?interview={interview.pk}"
    data = with_token(
        ivan_interviewer, title="Onboarding checklist", team="cs", category=category("service").pk
    )
    first, second = post_twice(client_for(ivan_interviewer), url, data)
    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    assert ALREADY in notices(second)
    assert ActionItem.objects.count() == 1


def test_a_rule_created_twice_is_created_once(client_for, maria_manager):
    first, second = post_twice(
        client_for(maria_manager), reverse("rules:create"), with_token(maria_manager, rule_data())
    )
    rule = Rule.objects.get(name="Quiet accounts")
    assert first["Location"] == second["Location"] == reverse("rules:edit", args=[rule.pk])
    assert ALREADY in notices(second)


def test_a_playbook_created_twice_is_created_once(client_for, maria_manager):
    data = {
        "playbook-name": "Renewal rescue",
        "playbook-is_active": "on",
        "steps-TOTAL_FORMS": 1,
        "steps-INITIAL_FORMS": 0,
        "steps-MIN_NUM_FORMS": 1,
        "steps-MAX_NUM_FORMS": 1000,
        "steps-0-position": 1,
        "steps-0-title": "Call the decision maker",
        "steps-0-kind": "task",
        "steps-0-owner_role": "csm",
        "steps-0-due_offset_hours": 8,
    }
    url = reverse("playbooks:playbook_create")
    first, second = post_twice(client_for(maria_manager), url, with_token(maria_manager, data))
    assert first.status_code == second.status_code == 302
    assert ALREADY in notices(second)
    assert Playbook.objects.filter(name="Renewal rescue").count() == 1


def test_an_email_template_created_twice_is_created_once(client_for, maria_manager):
    data = with_token(maria_manager, name="Welcome", key="welcome-x", subject="Welcome", body="Hello")
    first, second = post_twice(client_for(maria_manager), reverse("notifications:template_create"), data)
    assert first.status_code == second.status_code == 302
    assert ALREADY in notices(second)
    assert EmailTemplate.objects.filter(key="welcome-x").count() == 1


def test_a_reason_category_and_a_sub_reason_added_twice_are_added_once(client_for, maria_manager):
    client = client_for(maria_manager)
    data = with_token(maria_manager, key="legal", name="Legal", position="6", is_active="on")
    first, second = post_twice(client, reverse("interviews:category_create"), data)
    assert first.status_code == second.status_code == 302 and ALREADY in notices(second)
    legal = ReasonCategory.objects.get(key="legal")
    data = with_token(maria_manager, key="gdpr", name="Data residency", position="1", is_active="on")
    first, second = post_twice(client, reverse("interviews:sub_reason_create", args=[legal.pk]), data)
    assert first.status_code == second.status_code == 302 and ALREADY in notices(second)
    assert SubReason.objects.filter(key="gdpr").count() == 1


def test_a_health_override_sent_twice_is_set_once(client_for, alice_csm, alice_account):
    from health.models import HealthOverride

    data = with_token(
        alice_csm,
        {
            "override-score": "30",
            "override-reason": "The champion resigned today.",
            "override-expires_on": (timezone.localdate() + timedelta(days=14)).isoformat(),
        },
    )
    first, second = post_twice(
        client_for(alice_csm), reverse("health:set_override", args=[alice_account.pk]), data, **HTMX
    )
    assert first.status_code == second.status_code == 200
    assert ALREADY in second.content.decode()
    assert HealthOverride.objects.count() == 1  # not a second one replacing the first


def test_a_rule_switched_off_twice_stays_off(client_for, maria_manager):
    """Not a token: the switch says which way, so a double click cannot flip it back."""
    client = client_for(maria_manager)
    client.post(reverse("rules:create"), with_token(maria_manager, rule_data(is_enabled="on")))
    rule = Rule.objects.get(name="Quiet accounts", is_enabled=True)
    page = client.get(reverse("rules:edit", args=[rule.pk])).content.decode()
    assert 'name="enabled" value="0"' in page
    post_twice(client, reverse("rules:toggle", args=[rule.pk]), {"enabled": "0", "next": "edit"})
    rule.refresh_from_db()
    assert rule.is_enabled is False


# --- two posts at the same moment, on PostgreSQL -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_posts_of_one_form_make_one_touchpoint_and_one_email(alice_csm, alice_account):
    needs(connection.vendor == "postgresql", "the race needs PostgreSQL's row locks")
    pat = ContactFactory(account=alice_account, email="pat@acme.example", is_primary=True)
    touch = with_token(alice_csm, valid_touchpoint())
    email = with_token(alice_csm, contact=pat.pk, subject="Hello", body="Body")

    def post(url, data):
        client = Client()
        client.force_login(alice_csm)
        return lambda: client.post(url, data).status_code

    results = race(post(log_url(alice_account), touch), post(log_url(alice_account), touch))
    assert results == [302, 302]
    assert Touchpoint.objects.filter(subject=touch["subject"]).count() == 1

    compose = reverse("notifications:compose", args=[alice_account.pk])
    results = race(post(compose, email), post(compose, email))
    assert results == [302, 302]
    assert SentEmail.objects.count() == 1 and Delivery.objects.count() == 1
    assert UsedFormToken.objects.count() == 2
