"""The interviewer's home: waiting, mine in progress, done."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from health.models import EventKind, SignalEvent
from interviews import services
from tests.factories import AccountFactory
from tests.interviews.factories import ChurnedAccountFactory, category

pytestmark = pytest.mark.django_db
URL = reverse("interviews:workspace")


def days_ago(n):
    return timezone.localdate() - timedelta(days=n)


def interview(account, user, *, done=False):
    started = services.start_interview(account=account, interviewer=user)
    services.save_draft(
        interview=started, user=user, changes={"answer_1": "Why", "primary_category": category("product")}
    )
    return services.complete_interview(interview=started, user=user) if done else started


def test_it_lists_waiting_accounts_oldest_churn_first_never_the_users_own(
    client_for, ivan_interviewer, alice_csm
):
    ChurnedAccountFactory(name="Recent", owner=alice_csm, churned_on=days_ago(3))
    ChurnedAccountFactory(name="Oldest", owner=alice_csm, churned_on=days_ago(90))
    ChurnedAccountFactory(name="Ivan's own", owner=ivan_interviewer, churned_on=days_ago(200))
    churning = AccountFactory(name="Churning", owner=alice_csm)
    SignalEvent.objects.create(account=churning, kind=EventKind.CANCELLATION_INTENT, occurred_on=days_ago(2))
    AccountFactory(name="Still happy", owner=alice_csm)

    response = client_for(ivan_interviewer).get(URL)

    assert response.status_code == 200
    names = [account.name for account in response.context["awaiting"]]
    assert names == ["Oldest", "Recent", "Churning"]
    assert response.context["awaiting_count"] == 3


def test_it_splits_my_drafts_from_my_done_interviews(client_for, ivan_interviewer, maria_manager, alice_csm):
    draft = interview(ChurnedAccountFactory(name="Draft Co", owner=alice_csm), ivan_interviewer)
    done = interview(ChurnedAccountFactory(name="Done Co", owner=alice_csm), ivan_interviewer, done=True)
    interview(ChurnedAccountFactory(name="Maria's", owner=alice_csm), maria_manager)

    response = client_for(ivan_interviewer).get(URL)

    assert list(response.context["drafts"]) == [draft]
    assert list(response.context["done"]) == [done]
    assert list(response.context["awaiting"]) == []  # accounts with an interview no longer wait
    html = response.content.decode()
    assert "Draft Co" in html and "Done Co" in html and "Maria&#x27;s" not in html


def test_the_query_count_does_not_grow_with_the_rows(
    client_for, ivan_interviewer, alice_csm, django_assert_num_queries
):
    client = client_for(ivan_interviewer)

    def fill(n):
        for i in range(n):
            ChurnedAccountFactory(owner=alice_csm, churned_on=days_ago(10 + i))
            churning = AccountFactory(owner=alice_csm)
            SignalEvent.objects.create(
                account=churning, kind=EventKind.CANCELLATION_INTENT, occurred_on=days_ago(1)
            )
            interview(ChurnedAccountFactory(owner=alice_csm), ivan_interviewer)
            interview(ChurnedAccountFactory(owner=alice_csm), ivan_interviewer, done=True)

    fill(1)
    # session, user, roles, unread count; churned and churning (rows, count), drafts (rows, count), done
    with django_assert_num_queries(11):
        client.get(URL)
    fill(5)
    with django_assert_num_queries(11):
        response = client.get(URL)
    assert len(response.context["done"]) == 6
    assert response.context["awaiting_count"] == 12 and len(response.context["awaiting"]) == 12


def test_long_lists_are_capped_and_counted(client_for, ivan_interviewer, alice_csm, monkeypatch):
    from interviews import views

    monkeypatch.setattr(views, "WORKSPACE_ROWS", 3)
    monkeypatch.setattr(views, "DRAFT_ROWS", 2)
    for i in range(2):
        ChurnedAccountFactory(name=f"Churned {i}", owner=alice_csm, churned_on=days_ago(10 + i))
    for i in range(2):
        churning = AccountFactory(name=f"Churning {i}", owner=alice_csm)
        SignalEvent.objects.create(
            account=churning, kind=EventKind.CANCELLATION_INTENT, occurred_on=days_ago(1)
        )
    long_ago = AccountFactory(name="Intent long ago", owner=alice_csm)
    SignalEvent.objects.create(
        account=long_ago, kind=EventKind.CANCELLATION_INTENT, occurred_on=days_ago(400)
    )
    for i in range(3):
        interview(ChurnedAccountFactory(name=f"Draft {i}", owner=alice_csm), ivan_interviewer)

    response = client_for(ivan_interviewer).get(URL)

    names = [account.name for account in response.context["awaiting"]]
    assert names == ["Churned 1", "Churned 0", "Churning 0"]
    assert response.context["awaiting_count"] == 4  # the intent of long ago no longer counts
    assert len(response.context["drafts"]) == 2 and response.context["drafts_count"] == 3
    html = response.content.decode()
    assert "Showing the 3 oldest of 4." in html
    assert "Showing the 2 saved most recently of 3." in html


@pytest.mark.parametrize("user", ["alice_csm", "ada_admin", "nora_no_role"])
def test_other_roles_get_403(request, client_for, user):
    assert client_for(request.getfixturevalue(user)).get(URL).status_code == 403


def test_managers_open_it_too(client_for, maria_manager):
    assert client_for(maria_manager).get(URL).status_code == 200


def test_post_gets_405(client_for, ivan_interviewer):
    assert client_for(ivan_interviewer).post(URL).status_code == 405
