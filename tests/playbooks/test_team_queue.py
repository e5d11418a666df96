"""The manager's team queue (/queue/team/): load per CSM, breaches, sign-offs, reassignment."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from csworkbench.core.models import AuditEvent
from playbooks import queue
from playbooks.models import Priority, TaskStatus
from tests.factories import AccountFactory, UserFactory
from tests.playbooks.factories import TaskFactory, TeamFactory

pytestmark = pytest.mark.django_db

TEAM_QUEUE = "/queue/team/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def carol(db):
    return UserFactory(username="carol", first_name="Carol", last_name="Tsai", roles=["csm"])


@pytest.fixture
def team(alice_csm, carol, maria_manager, bob_other_csm):
    """Maria's team; Bob works in another team, under another manager."""
    other_lead = UserFactory(username="olga", roles=["manager"])
    TeamFactory(name="Kaohsiung CS", members=[bob_other_csm], managers=[other_lead])
    return TeamFactory(name="Taipei CS", members=[alice_csm, carol], managers=[maria_manager])


def ago(hours: float):
    return timezone.now() - timedelta(hours=hours)


def reassign_url(task) -> str:
    return reverse("playbooks:task_reassign", args=[task.pk])


def signoff_url(task) -> str:
    return reverse("playbooks:task_signoff_done", args=[task.pk])


def ids(html: str, prefix: str) -> list[int]:
    return [int(pk) for pk in re.findall(rf'id="{prefix}-(\d+)"', html)]


@pytest.mark.parametrize("user", ["alice_csm", "ivan_interviewer", "nora_no_role"])
def test_only_managers_see_the_team_queue(client_for, user, request):
    assert client_for(request.getfixturevalue(user)).get(TEAM_QUEUE).status_code == 403


def test_the_team_queue_only_takes_get(client_for, maria_manager):
    assert client_for(maria_manager).post(TEAM_QUEUE).status_code == 405


def test_it_shows_the_load_per_csm_of_my_teams(
    client_for, team, alice_csm, carol, bob_other_csm, maria_manager
):
    now = timezone.now()
    later_today = now + (queue.end_of_day(now) - now) / 2
    acme = AccountFactory(owner=alice_csm, mrr=Decimal("1000"))
    globex = AccountFactory(owner=alice_csm, mrr=Decimal("500"))
    TaskFactory(account=acme, due_at=ago(2))
    TaskFactory(account=acme, due_at=later_today, priority=Priority.URGENT)
    TaskFactory(account=globex, status="snoozed", snoozed_until=now + timedelta(hours=1))
    TaskFactory(account=globex, status="done", completed_at=now)
    TaskFactory(account=AccountFactory(owner=carol, mrr=Decimal("700")))
    TaskFactory(account=AccountFactory(owner=bob_other_csm))

    response = client_for(maria_manager).get(TEAM_QUEUE)

    assert response.status_code == 200
    load = {
        row.username: (row.open_tasks, row.overdue, row.due_today, row.urgent, row.mrr_at_stake)
        for row in response.context["load"]
    }
    # Each account's MRR counts once per CSM, however many tasks are open on it.
    assert load == {"alice": (3, 1, 1, 1, Decimal("1500")), "carol": (1, 0, 0, 0, Decimal("700"))}
    html = response.content.decode()
    assert "Alice Chen" in html and "Carol Tsai" in html and "Bob Lin" not in html


def test_it_lists_my_teams_breaches_with_the_escalated_ones_marked(
    client_for, team, alice_csm, bob_other_csm, maria_manager
):
    escalated = TaskFactory(account=AccountFactory(owner=alice_csm), due_at=ago(30), breached_at=ago(29))
    fresh = TaskFactory(account=AccountFactory(owner=alice_csm), due_at=ago(1))
    TaskFactory(account=AccountFactory(owner=alice_csm), due_at=ago(1) + timedelta(days=2))
    TaskFactory(account=AccountFactory(owner=bob_other_csm), due_at=ago(5))

    response = client_for(maria_manager).get(TEAM_QUEUE)

    html = response.content.decode()
    assert ids(html, "breach") == [escalated.pk, fresh.pk]
    assert "Past due: 2 tasks" in html
    row = html[html.index(f'id="breach-{escalated.pk}"') :]
    assert "escalated" in row[: row.index("</li>")]
    row = html[html.index(f'id="breach-{fresh.pk}"') :]
    assert "escalated" not in row[: row.index("</li>")]


def test_a_manager_without_teams_watches_every_csm(client_for, alice_csm, bob_other_csm, maria_manager):
    late = TaskFactory(account=AccountFactory(owner=bob_other_csm), due_at=ago(3))

    response = client_for(maria_manager).get(TEAM_QUEUE)

    assert response.status_code == 200
    assert {row.username for row in response.context["load"]} == {"alice", "bob"}
    assert ids(response.content.decode(), "breach") == [late.pk]


def test_an_htmx_get_is_the_whole_page(client_for, team, maria_manager):
    # Navigation to the page is a normal load; only actions swap the #team fragment.
    assert "<html" in client_for(maria_manager).get(TEAM_QUEUE).content.decode()


# --- reassignment ------------------------------------------------------------------------------


def test_a_manager_reassigns_a_breached_task_within_the_team(
    client_for, team, alice_csm, carol, maria_manager
):
    task = TaskFactory(account=AccountFactory(owner=alice_csm), due_at=ago(3), title="Call the champion")

    response = client_for(maria_manager).post(reassign_url(task), {"assignee": carol.pk})

    assert response.status_code == 302 and response.url == TEAM_QUEUE
    task.refresh_from_db()
    assert task.assignee == carol
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Call the champion now with Carol Tsai."]
    assert AuditEvent.objects.filter(action="task.reassign", actor=maria_manager).count() == 1


def test_reassigning_with_htmx_returns_the_team_fragment(client_for, team, alice_csm, carol, maria_manager):
    task = TaskFactory(account=AccountFactory(owner=alice_csm), due_at=ago(3), title="Call the champion")

    response = client_for(maria_manager).post(reassign_url(task), {"assignee": carol.pk}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<div id="team"')
    assert "Call the champion now with Carol Tsai." in html
    row = html[html.index(f'id="assignee-{task.pk}"') :]
    assert f'<option value="{carol.pk}" selected>' in row[: row.index("</select>")]


def test_reassigning_to_someone_outside_the_team_changes_nothing(
    client_for, team, alice_csm, bob_other_csm, maria_manager
):
    task = TaskFactory(account=AccountFactory(owner=alice_csm), due_at=ago(3))
    client = client_for(maria_manager)

    response = client.post(reassign_url(task), {"assignee": bob_other_csm.pk}, **HTMX)

    assert response.status_code == 422
    assert "Choose someone in your team." in response.content.decode()
    response = client.post(reassign_url(task), {"assignee": bob_other_csm.pk})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.assignee == alice_csm
    assert not AuditEvent.objects.filter(action="task.reassign").exists()


def test_a_manager_without_teams_reassigns_between_csms(client_for, alice_csm, bob_other_csm, maria_manager):
    task = TaskFactory(account=AccountFactory(owner=alice_csm), due_at=ago(3))

    response = client_for(maria_manager).post(reassign_url(task), {"assignee": bob_other_csm.pk}, **HTMX)

    assert response.status_code == 200
    task.refresh_from_db()
    assert task.assignee == bob_other_csm


def test_another_teams_task_is_not_found(client_for, team, bob_other_csm, carol, maria_manager):
    theirs = TaskFactory(account=AccountFactory(owner=bob_other_csm), due_at=ago(3))

    response = client_for(maria_manager).post(reassign_url(theirs), {"assignee": carol.pk})

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.assignee == bob_other_csm


def test_a_csm_may_not_reassign(client_for, team, alice_csm, carol):
    task = TaskFactory(account=AccountFactory(owner=alice_csm), due_at=ago(3))

    response = client_for(alice_csm).post(reassign_url(task), {"assignee": carol.pk})

    assert response.status_code == 403
    task.refresh_from_db()
    assert task.assignee == alice_csm


def test_reassignment_only_takes_post(client_for, team, alice_csm, maria_manager):
    task = TaskFactory(account=AccountFactory(owner=alice_csm))

    assert client_for(maria_manager).get(reassign_url(task)).status_code == 405


# --- sign-off ----------------------------------------------------------------------------------


def test_a_manager_signs_off_a_requested_step(client_for, team, alice_csm, maria_manager):
    task = TaskFactory(
        account=AccountFactory(owner=alice_csm),
        needs_approval=True,
        approval_requested_at=ago(1),
        title="Offer",
    )
    not_asked = TaskFactory(account=AccountFactory(owner=alice_csm), needs_approval=True)
    client = client_for(maria_manager)

    html = client.get(TEAM_QUEUE).content.decode()
    assert ids(html, "signoff") == [task.pk] and not_asked.pk not in ids(html, "signoff")

    response = client.post(
        signoff_url(task), {"outcome": "resolved", "note": "Approved the discount"}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Signed off: Offer." in html and ids(html, "signoff") == []
    task.refresh_from_db()
    assert (task.status, task.completed_by, task.outcome_note) == (
        TaskStatus.DONE,
        maria_manager,
        "Approved the discount",
    )


def test_signing_off_needs_an_outcome(client_for, team, alice_csm, maria_manager):
    task = TaskFactory(
        account=AccountFactory(owner=alice_csm), needs_approval=True, approval_requested_at=ago(1)
    )

    response = client_for(maria_manager).post(signoff_url(task), {"outcome": ""}, **HTMX)

    assert response.status_code == 422
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_a_csm_may_not_sign_off(client_for, team, alice_csm):
    task = TaskFactory(
        account=AccountFactory(owner=alice_csm), needs_approval=True, approval_requested_at=ago(1)
    )

    response = client_for(alice_csm).post(signoff_url(task), {"outcome": "resolved"})

    assert response.status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


# --- queries -----------------------------------------------------------------------------------


def add_team_work(csms, count: int) -> None:
    for n in range(count):
        owner = csms[n % len(csms)]
        account = AccountFactory(owner=owner, health_tier="high", health_score=30)
        TaskFactory(account=account, due_at=ago(n + 1))
        TaskFactory(account=account, needs_approval=True, approval_requested_at=ago(1))


def test_the_team_queue_reads_a_fixed_number_of_queries_whatever_its_length(
    client_for, team, alice_csm, carol, maria_manager, django_assert_num_queries
):
    client = client_for(maria_manager)
    add_team_work([alice_csm, carol], 3)
    client.get(TEAM_QUEUE)
    with CaptureQueriesContext(connection) as few:
        client.get(TEAM_QUEUE)

    add_team_work([alice_csm, carol], 27)
    for n in range(5):
        team.members.add(UserFactory(username=f"extra{n}", roles=["csm"]))

    with django_assert_num_queries(len(few)):
        response = client.get(TEAM_QUEUE)
    first_page = ids(response.content.decode(), "breach")
    assert len(first_page) == 25  # a page of breaches, oldest due first
    page = response.content.decode()
    assert "Past due: 30 tasks" in page and "Page 1 of 2" in page
    with django_assert_num_queries(len(few)):
        second = client.get(TEAM_QUEUE, {"page": 2}, HTTP_HX_REQUEST="true")
    second_page = ids(second.content.decode(), "breach")
    assert len(second_page) == 5 and not set(second_page) & set(first_page)
    assert "<html" not in second.content.decode()  # HTMX gets the panel alone
