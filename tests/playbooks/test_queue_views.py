"""The CSM's queue (/queue/) and the actions in its rows: done, snooze, log a call, ask for
sign-off, start a playbook (also from the account page)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Touchpoint
from playbooks.models import MatrixRow, PlaybookRun, Task, TaskStatus
from tests.factories import AccountFactory
from tests.form_tokens import with_token
from tests.health.factories import AlertFactory
from tests.playbooks.factories import TaskFactory, TeamFactory

pytestmark = pytest.mark.django_db

QUEUE = "/queue/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def task_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="task-(\d+)"', html)]


def done_url(task) -> str:
    return reverse("playbooks:task_done", args=[task.pk])


def snooze_url(task) -> str:
    return reverse("playbooks:task_snooze", args=[task.pk])


def touch_url(task) -> str:
    return reverse("playbooks:task_touchpoint", args=[task.pk])


def start_url(account) -> str:
    return reverse("playbooks:start_playbook", args=[account.pk])


def flash_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def task(alice_account):
    return TaskFactory(account=alice_account, title="Call the champion")


# --- the page ----------------------------------------------------------------------------------


def test_the_queue_lists_only_my_open_tasks(client_for, alice_csm, alice_account, bob_account, maria_manager):
    mine = TaskFactory(account=alice_account, title="Mine")
    TaskFactory(account=bob_account, title="Bob's")
    TaskFactory(account=alice_account, assignee=maria_manager, title="The lead's step")
    TaskFactory(account=alice_account, title="Finished", status="done", completed_at=timezone.now())
    TaskFactory(
        account=alice_account,
        title="Snoozed",
        status="snoozed",
        snoozed_until=timezone.now() + timedelta(hours=2),
    )

    response = client_for(alice_csm).get(QUEUE)

    assert response.status_code == 200
    assert task_ids(response.content.decode()) == [mine.pk]
    assert response.context["counts"].snoozed == 1


def test_the_queue_puts_overdue_first_then_due_soonest_then_risk_then_mrr(client_for, alice_csm):
    now = timezone.now()

    def make(due_in_hours: float, *, tier: str = "low", mrr: str = "1000"):
        account = AccountFactory(owner=alice_csm, health_tier=tier, health_score=50, mrr=Decimal(mrr))
        return TaskFactory(account=account, due_at=now + timedelta(hours=due_in_hours))

    later_small = make(8, tier="medium", mrr="500")
    soon = make(1)
    overdue_recently = make(-1)
    later_big = make(8, tier="medium", mrr="9000")
    same_time_low_risk = make(5, tier="low")
    overdue_long_ago = make(-30)
    same_time_high_risk = make(5, tier="high")

    response = client_for(alice_csm).get(QUEUE)

    assert task_ids(response.content.decode()) == [
        overdue_long_ago.pk,
        overdue_recently.pk,
        soon.pk,
        same_time_high_risk.pk,
        same_time_low_risk.pk,
        later_big.pk,
        later_small.pk,
    ]


def test_a_row_shows_the_account_its_health_the_reason_and_when_it_is_due(client_for, alice_csm):
    harbor = AccountFactory(
        name="Harbor Logistics", owner=alice_csm, health_tier="high", health_score=34, health_delta_7d=-12
    )
    AlertFactory(account=harbor, kind="login_drop")
    AlertFactory(account=harbor, kind="key_contact_left", evidence={"name": "Grace", "left_on": "2026-10-01"})
    AlertFactory(account=harbor, kind="cancellation_intent", resolved_on=timezone.localdate())
    late = TaskFactory(
        account=harbor, title="Call the new champion", due_at=timezone.now() - timedelta(hours=3)
    )
    TaskFactory(account=harbor, title="Send the offer", due_at=timezone.now() + timedelta(days=2, hours=1))

    html = client_for(alice_csm).get(QUEUE).content.decode()

    row = html[html.index(f'id="task-{late.pk}"') :]
    row = row[: row.index("</li>")]
    assert "Harbor Logistics" in row
    assert 'class="badge tier-high"' in row
    assert '<span class="queue-score">34</span>' in row
    assert "▼ 12" in row
    # The most telling open alert; the resolved cancellation intent no longer counts.
    assert "Key contact left" in row and "Cancellation intent" not in row
    assert "“Call the new champion”" in row
    assert "overdue by 3\xa0hours" in row
    assert "due in 2\xa0days" in html


def test_the_unattended_section_lists_at_risk_accounts_without_open_tasks(
    client_for, alice_csm, bob_other_csm
):
    worked = AccountFactory(name="Worked On", owner=alice_csm, health_tier="high", health_score=30)
    TaskFactory(account=worked)
    forgotten = AccountFactory(name="Forgotten Co", owner=alice_csm, health_tier="high", health_score=31)
    flagged = AccountFactory(name="Flagged Ltd", owner=alice_csm, health_tier="low", risk_level="medium")
    AccountFactory(name="Healthy Inc", owner=alice_csm, health_tier="healthy", health_score=90)
    AccountFactory(
        name="Churned Co",
        owner=alice_csm,
        health_tier="high",
        status="churned",
        churned_on=timezone.localdate(),
    )
    AccountFactory(name="Bob's Worry", owner=bob_other_csm, health_tier="high")
    high_playbook = MatrixRow.objects.get(risk_level="high").playbook

    response = client_for(alice_csm).get(QUEUE)

    assert [a.pk for a in response.context["unattended"]] == [forgotten.pk, flagged.pk]
    html = response.content.decode()
    assert f'id="unattended-{forgotten.pk}"' in html and f'id="unattended-{worked.pk}"' not in html
    assert "Healthy Inc" not in html and "Churned Co" not in html and "Bob&#x27;s Worry" not in html
    # The matrix's playbook for the account's risk is preselected.
    select = html[html.index(f'id="playbook-{forgotten.pk}"') :]
    select = select[: select.index("</select>")]
    assert f'<option value="{high_playbook.pk}" selected>' in select
    assert response.context["counts"].unattended == 2


def test_the_unattended_account_is_offered_the_same_response_as_on_its_page(client_for, alice_csm):
    # Worked at Medium, but today's score says High: the queue offers High's playbook, as the
    # account page does (it offered Medium's).
    slipping = AccountFactory(
        name="Slipping", owner=alice_csm, health_tier="high", health_score=30, risk_level="medium"
    )
    high_playbook = MatrixRow.objects.get(risk_level="high").playbook

    html = client_for(alice_csm).get(QUEUE).content.decode()

    select = html[html.index(f'id="playbook-{slipping.pk}"') :]
    select = select[: select.index("</select>")]
    assert f'<option value="{high_playbook.pk}" selected>' in select
    page = client_for(alice_csm).get(reverse("accounts:detail", args=[slipping.pk])).content.decode()
    assert f'<option value="{high_playbook.pk}" selected>' in page


def test_an_htmx_get_returns_only_the_queue(client_for, alice_csm, task):
    response = client_for(alice_csm).get(QUEUE, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<div id="queue"')
    assert task_ids(html) == [task.pk]


@pytest.mark.parametrize("user", ["ivan_interviewer", "nora_no_role"])
def test_only_people_who_are_assigned_tasks_have_a_queue(client_for, user, request):
    assert client_for(request.getfixturevalue(user)).get(QUEUE).status_code == 403


def test_the_queue_only_takes_get(client_for, alice_csm):
    assert client_for(alice_csm).post(QUEUE).status_code == 405


def test_the_queue_needs_a_login(client):
    response = client.get(QUEUE)

    assert response.status_code == 302 and response.url.startswith("/login/")


def queue_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(QUEUE)
    assert response.status_code == 200
    return len(queries)


def add_work(csm, count: int) -> None:
    for n in range(count):
        account = AccountFactory(owner=csm, health_tier="high", health_score=30 + n, health_delta_7d=-5)
        AlertFactory(account=account, kind="login_drop")
        TaskFactory(account=account, due_at=timezone.now() + timedelta(hours=n - count // 2))
        unattended = AccountFactory(owner=csm, health_tier="medium", health_score=55)
        AlertFactory(account=unattended, kind="ticket_spike")


def test_the_queue_reads_a_fixed_number_of_queries_whatever_its_length(
    client_for, alice_csm, django_assert_num_queries
):
    client = client_for(alice_csm)
    add_work(alice_csm, 3)
    client.get(QUEUE)  # warm up: the session and per-process caches
    few = queue_queries(client)

    add_work(alice_csm, 27)

    with django_assert_num_queries(few):
        response = client.get(QUEUE)
    assert len(task_ids(response.content.decode())) == 30
    assert len(response.context["unattended"]) == 25


# --- done --------------------------------------------------------------------------------------


def test_marking_a_task_done_records_the_outcome_and_goes_back_to_the_queue(client_for, alice_csm, task):
    response = client_for(alice_csm).post(done_url(task), {"outcome": "reached", "note": "Renewal on track"})

    assert response.status_code == 302 and response.url == QUEUE
    task.refresh_from_db()
    assert (task.status, task.outcome, task.outcome_note) == ("done", "reached", "Renewal on track")
    assert task.completed_by == alice_csm
    assert flash_messages(response) == ["Done: Call the champion (Acme Ltd)."]


def test_marking_a_task_done_with_htmx_returns_the_queue_without_it(
    client_for, alice_csm, alice_account, task
):
    other = TaskFactory(account=alice_account, title="Send the recap")

    response = client_for(alice_csm).post(done_url(task), {"outcome": "no_answer"}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="queue"' in html
    assert task_ids(html) == [other.pk]
    assert "Done: Call the champion (Acme Ltd)." in html
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_done_without_an_outcome_is_refused(client_for, alice_csm, task):
    client = client_for(alice_csm)

    response = client.post(done_url(task), {"outcome": "delighted"}, **HTMX)

    assert response.status_code == 422
    html = response.content.decode()
    assert "Choose an outcome to mark the task done." in html and task_ids(html) == [task.pk]
    response = client.post(done_url(task), {})
    assert response.status_code == 302
    assert flash_messages(response) == ["Choose an outcome to mark the task done."]
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_a_task_already_done_elsewhere_leaves_the_queue_with_a_message(client_for, alice_csm, task):
    Task.objects.filter(pk=task.pk).update(status="done", completed_at=timezone.now(), outcome="reached")

    response = client_for(alice_csm).post(done_url(task), {"outcome": "no_answer"}, **HTMX)

    # htmx swaps 2xx and 422 answers only (base.html): the refreshed list must come back swappable.
    assert response.status_code == 422
    html = response.content.decode()
    assert "This task is already done." in html and task_ids(html) == []
    task.refresh_from_db()
    assert task.outcome == "reached"


def test_a_step_that_needs_approval_is_not_marked_done_by_the_csm(client_for, alice_csm, alice_account):
    task = TaskFactory(account=alice_account, needs_approval=True)

    response = client_for(alice_csm).post(done_url(task), {"outcome": "resolved"})

    assert response.status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_another_csms_task_is_not_found(client_for, alice_csm, bob_account):
    theirs = TaskFactory(account=bob_account)
    client = client_for(alice_csm)

    assert client.post(done_url(theirs), {"outcome": "reached"}).status_code == 404
    assert client.post(snooze_url(theirs), {"until": "later"}).status_code == 404
    assert client.post(touch_url(theirs), {"kind": "call", "subject": "Hi"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == TaskStatus.OPEN


def test_an_interviewer_may_not_work_tasks(client_for, ivan_interviewer, task):
    client = client_for(ivan_interviewer)

    assert client.post(done_url(task), {"outcome": "reached"}).status_code == 403
    assert client.post(snooze_url(task), {"until": "later"}).status_code == 403
    assert client.post(touch_url(task), {"kind": "call", "subject": "Hi"}).status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_task_actions_only_take_post(client_for, alice_csm, alice_account, task):
    client = client_for(alice_csm)

    for url in (done_url(task), snooze_url(task), touch_url(task), start_url(alice_account)):
        assert client.get(url).status_code == 405


# --- snooze ------------------------------------------------------------------------------------


def test_snoozing_hides_the_task_until_later(client_for, alice_csm, task):
    before = timezone.now()

    response = client_for(alice_csm).post(snooze_url(task), {"until": "later"})

    assert response.status_code == 302 and response.url == QUEUE
    task.refresh_from_db()
    assert task.status == TaskStatus.SNOOZED
    assert before + timedelta(hours=3) <= task.snoozed_until <= timezone.now() + timedelta(hours=3)


def test_snoozing_to_the_next_working_morning_uses_the_team_calendar(
    client_for, alice_csm, maria_manager, task
):
    team = TeamFactory(members=[alice_csm], managers=[maria_manager], time_zone="Europe/London")

    client_for(alice_csm).post(snooze_url(task), {"until": "tomorrow"})

    task.refresh_from_db()
    local = timezone.localtime(task.snoozed_until, team.calendar().zone)
    assert (local.hour, local.minute) == (9, 0)
    assert local.isoweekday() in range(1, 6) and task.snoozed_until > timezone.now()


def test_snoozing_with_htmx_removes_the_row_and_counts_it(client_for, alice_csm, task):
    response = client_for(alice_csm).post(snooze_url(task), {"until": "3d"}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert task_ids(html) == []
    assert "Snoozed until" in html
    assert re.search(r"<strong>1</strong> snoozed", html)


def test_snoozing_for_an_unknown_time_is_refused(client_for, alice_csm, task):
    response = client_for(alice_csm).post(snooze_url(task), {"until": "forever"}, **HTMX)

    assert response.status_code == 422
    assert "Choose how long to snooze." in response.content.decode()
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


# --- log a call --------------------------------------------------------------------------------


def test_logging_a_call_from_the_queue_puts_it_on_the_timeline(client_for, alice_csm, alice_account, task):
    response = client_for(alice_csm).post(
        touch_url(task),
        with_token(alice_csm, kind="call", subject="Called Grace", body="Back from leave next week"),
    )

    assert response.status_code == 302 and response.url == QUEUE
    touchpoint = Touchpoint.objects.get(subject="Called Grace")
    assert (touchpoint.account, touchpoint.author, touchpoint.kind) == (alice_account, alice_csm, "call")
    assert touchpoint.body == "Back from leave next week"
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN  # logging a call does not close the task


def test_logging_a_call_with_htmx_keeps_the_row_and_says_so(client_for, alice_csm, task):
    response = client_for(alice_csm).post(
        touch_url(task), with_token(alice_csm, kind="call", subject="Called Grace"), **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert task_ids(html) == [task.pk]
    assert "Logged on Acme Ltd: Called Grace." in html


def test_a_call_without_a_subject_is_refused(client_for, alice_csm, task):
    response = client_for(alice_csm).post(touch_url(task), {"kind": "call", "subject": ""}, **HTMX)

    assert response.status_code == 422
    assert "Subject: This field is required." in response.content.decode()
    assert not Touchpoint.objects.exists()


# --- sign-off ----------------------------------------------------------------------------------


def test_asking_for_signoff_disables_the_button(client_for, alice_csm, maria_manager, alice_account):
    task = TaskFactory(account=alice_account, needs_approval=True)

    response = client_for(alice_csm).post(reverse("playbooks:task_signoff", args=[task.pk]), **HTMX)

    assert response.status_code == 200
    assert "Sign-off requested" in response.content.decode()
    task.refresh_from_db()
    assert task.approval_requested_at is not None
    assert maria_manager.notifications.filter(kind="approval_requested").exists()


# --- start a playbook --------------------------------------------------------------------------


def test_starting_a_playbook_from_the_queue_fills_it(client_for, alice_csm):
    account = AccountFactory(owner=alice_csm, health_tier="high", health_score=30)
    playbook = MatrixRow.objects.get(risk_level="high").playbook

    response = client_for(alice_csm).post(start_url(account), {"playbook": playbook.pk}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert f'id="unattended-{account.pk}"' not in html
    run = PlaybookRun.objects.get(account=account)
    # No manager in this install: the CSM has every step, the lead's too.
    assert sorted(task_ids(html)) == sorted(run.tasks.values_list("pk", flat=True))
    assert run.tasks.count() == 4
    assert "Started “High risk: retention squad”" in html


def test_starting_a_playbook_with_a_plain_post_redirects_to_the_queue(client_for, alice_csm, alice_account):
    playbook = MatrixRow.objects.get(risk_level="low").playbook

    response = client_for(alice_csm).post(start_url(alice_account), {"playbook": playbook.pk})

    assert response.status_code == 302 and response.url == QUEUE
    assert PlaybookRun.objects.filter(account=alice_account, playbook=playbook, status="active").exists()


def test_a_playbook_is_not_started_twice(client_for, alice_csm, alice_account):
    playbook = MatrixRow.objects.get(risk_level="low").playbook
    client = client_for(alice_csm)
    client.post(start_url(alice_account), {"playbook": playbook.pk})

    response = client.post(start_url(alice_account), {"playbook": playbook.pk}, **HTMX)

    assert response.status_code == 422
    assert "is already running on this account" in response.content.decode()
    assert PlaybookRun.objects.filter(account=alice_account).count() == 1


def test_starting_without_a_playbook_is_refused(client_for, alice_csm, alice_account):
    response = client_for(alice_csm).post(start_url(alice_account), {"playbook": ""}, **HTMX)

    assert response.status_code == 422
    assert "Choose a playbook to start." in response.content.decode()
    assert not PlaybookRun.objects.exists()


def test_a_csm_may_not_start_a_playbook_on_another_csms_account(client_for, alice_csm, bob_account):
    playbook = MatrixRow.objects.get(risk_level="low").playbook

    response = client_for(alice_csm).post(start_url(bob_account), {"playbook": playbook.pk})

    assert response.status_code == 403
    assert not PlaybookRun.objects.exists()


# --- the account page --------------------------------------------------------------------------


def test_the_account_page_lists_open_tasks_and_starts_a_playbook(client_for, alice_csm, alice_account):
    open_task = TaskFactory(account=alice_account, title="Call the champion")
    TaskFactory(account=alice_account, title="Old news", status="done", completed_at=timezone.now())
    detail = reverse("accounts:detail", args=[alice_account.pk])
    client = client_for(alice_csm)

    html = client.get(detail).content.decode()

    assert f'id="account-task-{open_task.pk}"' in html and "Old news" not in html
    assert f'<input type="hidden" name="next" value="{detail}">' in html

    playbook = MatrixRow.objects.get(risk_level="medium").playbook
    response = client.post(start_url(alice_account), {"playbook": playbook.pk, "next": detail})

    assert response.status_code == 302 and response.url == detail
    page = client.get(detail).content.decode()
    assert "Medium risk: retention follow-up" in page
    assert "Draft the initial retention plan" in page
    alice_account.refresh_from_db()
    assert alice_account.risk_level == "medium"


def test_next_never_leads_off_the_site(client_for, alice_csm, alice_account):
    playbook = MatrixRow.objects.get(risk_level="low").playbook

    response = client_for(alice_csm).post(
        start_url(alice_account), {"playbook": playbook.pk, "next": "https://evil.example/phish"}
    )

    assert response.status_code == 302 and response.url == QUEUE


@pytest.mark.parametrize("language", ["en", "zh-hant", "zh-hans"])
def test_the_snooze_message_gives_the_date_as_the_rest_of_the_app_does(client_for, alice_csm, task, language):
    from django.conf import settings
    from django.utils import translation
    from django.utils.formats import date_format

    client = client_for(alice_csm)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = client.post(snooze_url(task), {"until": "3d"}, **HTMX).content.decode()
    task.refresh_from_db()
    with translation.override(language):
        shown = date_format(timezone.localtime(task.snoozed_until), "SHORT_DATETIME_FORMAT")
    assert shown in html
    assert f"{timezone.localtime(task.snoozed_until):%Y-%m-%d %H:%M}" not in html


def test_a_manager_works_the_tasks_assigned_to_them_from_their_own_queue(
    client_for, maria_manager, alice_account
):
    """A squad's CS-lead step goes to a manager: it is in their queue, and they mark it done there
    (the queue once answered 403 for managers)."""
    from playbooks.models import Task, TaskStatus
    from tests.playbooks.factories import TaskFactory

    mine = TaskFactory(account=alice_account, assignee=maria_manager, title="Executive call with the CFO")
    theirs = TaskFactory(account=alice_account, title="Alice's own follow-up")
    client = client_for(maria_manager)
    page = client.get("/queue/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Executive call with the CFO" in html and "Alice's own follow-up" not in html
    assert 'href="/queue/"' in html  # "My queue" is in the manager's navigation

    done = client.post(reverse("playbooks:task_done", args=[mine.pk]), {"outcome": "resolved"}, **HTMX)
    assert done.status_code == 200
    mine.refresh_from_db()
    assert mine.status == TaskStatus.DONE and mine.completed_by == maria_manager
    assert Task.objects.get(pk=theirs.pk).status == TaskStatus.OPEN
