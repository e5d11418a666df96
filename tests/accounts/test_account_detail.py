from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from accounts.models import Touchpoint
from tests.factories import ContactFactory, TouchpointFactory
from tests.form_tokens import with_token


def detail(account):
    return reverse("accounts:detail", args=[account.pk])


def log_url(account):
    return reverse("accounts:log_touchpoint", args=[account.pk])


def valid_touchpoint(**overrides):
    data = {
        "kind": "call",
        "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "subject": "Walked the champion through the new reports",
        "body": "She will show them to her team on Friday.",
        "sentiment": "positive",
        "contact": "",
    }
    data.update(overrides)
    return data


def test_it_shows_header_facts_contacts_and_timeline(client_for, alice_csm, alice_account):
    ContactFactory(account=alice_account, name="Grace Ho", is_champion=True, is_primary=True)
    ContactFactory(account=alice_account, name="Henry Lee", left_on=timezone.localdate() - timedelta(days=3))
    TouchpointFactory(account=alice_account, subject="Quarterly review", author=alice_csm)
    response = client_for(alice_csm).get(detail(alice_account))
    content = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Acme Ltd</h1>" in content
    assert "Grace Ho" in content and "Champion" in content
    assert "Henry Lee" in content and "Left on" in content
    assert "Quarterly review" in content
    assert "Log a touchpoint" in content
    assert "Mature" in content


def test_a_csm_sees_but_cannot_log_on_another_csms_account(client_for, alice_csm, bob_account):
    client = client_for(alice_csm)
    content = client.get(detail(bob_account)).content.decode()
    assert "Bobcat Industries" in content
    assert "Log a touchpoint" not in content
    response = client.post(log_url(bob_account), valid_touchpoint())
    assert response.status_code == 403
    assert not Touchpoint.objects.exists()


def test_an_interviewer_sees_basics_only(client_for, ivan_interviewer, alice_csm):
    from tests.interviews.factories import ChurnedAccountFactory

    churned = ChurnedAccountFactory(name="Acme Ltd", owner=alice_csm, health_score=31, health_tier="high")
    ContactFactory(account=churned, name="Grace Ho")
    TouchpointFactory(account=churned, subject="Quarterly review")
    content = client_for(ivan_interviewer).get(detail(churned)).content.decode()
    assert "Acme Ltd" in content
    assert "Grace Ho" not in content
    assert "Quarterly review" not in content
    assert "1,200" not in content  # MRR is not a basic fact
    assert "Health score" not in content and "health-score" not in content
    assert client_for(ivan_interviewer).post(log_url(churned), valid_touchpoint()).status_code == 403


def test_an_interviewer_cannot_open_an_account_there_is_no_interview_for(
    client_for, ivan_interviewer, alice_account
):
    assert client_for(ivan_interviewer).get(detail(alice_account)).status_code == 404
    assert client_for(ivan_interviewer).post(log_url(alice_account), valid_touchpoint()).status_code == 404


def test_a_missing_account_is_a_404(client_for, alice_csm):
    assert client_for(alice_csm).get(reverse("accounts:detail", args=[999999])).status_code == 404
    assert client_for(alice_csm).post(reverse("accounts:log_touchpoint", args=[999999])).status_code == 404


def test_a_csm_logs_a_touchpoint_on_their_account_and_is_redirected(client_for, alice_csm, alice_account):
    grace = ContactFactory(account=alice_account, name="Grace Ho")
    response = client_for(alice_csm).post(
        log_url(alice_account), with_token(alice_csm, valid_touchpoint(contact=grace.pk))
    )
    assert response.status_code == 302
    assert response["Location"] == detail(alice_account)
    touchpoint = Touchpoint.objects.get()
    assert touchpoint.account == alice_account
    assert touchpoint.author == alice_csm
    assert touchpoint.contact == grace
    assert touchpoint.sentiment == "positive"


def test_the_htmx_post_returns_the_timeline_with_the_new_entry(client_for, alice_csm, alice_account):
    TouchpointFactory(
        account=alice_account, subject="Older call", occurred_at=timezone.now() - timedelta(days=3)
    )
    response = client_for(alice_csm).post(
        log_url(alice_account), with_token(alice_csm, valid_touchpoint()), headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert content.lstrip().startswith('<section class="card" id="timeline"')
    new = Touchpoint.objects.get(subject="Walked the champion through the new reports")
    assert f'id="touchpoint-{new.pk}"' in content
    assert content.index("Walked the champion") < content.index("Older call")


def test_a_manager_may_log_on_any_account(client_for, maria_manager, bob_account):
    response = client_for(maria_manager).post(
        log_url(bob_account), with_token(maria_manager, valid_touchpoint())
    )
    assert response.status_code == 302
    assert Touchpoint.objects.get().author == maria_manager


def test_bad_input_shows_errors_by_the_field_and_saves_nothing(
    client_for, alice_csm, alice_account, bob_account
):
    foreign_contact = ContactFactory(account=bob_account)
    future = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client_for(alice_csm).post(
        log_url(alice_account),
        valid_touchpoint(kind="telegram", subject="", occurred_at=future, contact=foreign_contact.pk),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    content = response.content.decode()
    for field in ("kind", "subject", "occurred_at", "contact"):
        assert f'id="id_{field}-error"' in content, field
    assert 'id="id_body-error"' not in content
    assert "A touchpoint cannot be in the future." in content
    assert "This field is required." in content
    assert not Touchpoint.objects.exists()


def test_logging_refuses_get(client_for, alice_csm, alice_account):
    assert client_for(alice_csm).get(log_url(alice_account)).status_code == 405


def test_the_timeline_pages_through_every_entry(client_for, alice_csm, alice_account):
    """55 entries: the first page shows the latest 50 and a way to the other 5 (it once said
    "Showing the latest 50 of 55 entries" and stopped there)."""
    now = timezone.now()
    for n in range(55):
        TouchpointFactory(
            account=alice_account, subject=f"Entry {n:02d}", occurred_at=now - timedelta(hours=n)
        )
    client = client_for(alice_csm)
    first = client.get(reverse("accounts:detail", args=[alice_account.pk])).content.decode()
    assert "Entry 00" in first and "Entry 49" in first and "Entry 50" not in first
    assert "Entries 1–50 of 55" in first and 'href="?timeline=2#timeline"' in first

    older = client.get(
        reverse("accounts:detail", args=[alice_account.pk]),
        {"timeline": 2},
        headers={"HX-Request": "true", "HX-Target": "timeline"},
    ).content.decode()
    assert "<html" not in older and older.lstrip().startswith('<section class="card" id="timeline"')
    assert all(f"Entry {n}" in older for n in range(50, 55)) and "Entry 49" not in older
    assert "Entries 51–55 of 55" in older and "Newer entries" in older
