"""A CSM works the queue in a real Chromium: each action swaps the list in place, no page load."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Touchpoint
from playbooks.models import Task, TaskStatus
from tests.conftest import PASSWORD
from tests.factories import AccountFactory
from tests.playbooks.factories import TaskFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/queue/$"))


def mark_the_page(page) -> None:
    """A full page load would wipe this; an htmx swap keeps it."""
    page.evaluate("window.__marker = 1")


def still_the_same_page(page) -> bool:
    return page.evaluate("window.__marker") == 1


@pytest.fixture
def three_tasks(alice_csm):
    now = timezone.now()
    acme = AccountFactory(name="Acme Ltd", owner=alice_csm, health_tier="high", health_score=35)
    globex = AccountFactory(name="Globex", owner=alice_csm, health_tier="medium", health_score=55)
    initech = AccountFactory(name="Initech", owner=alice_csm, health_tier="low", health_score=68)
    return (
        TaskFactory(account=acme, title="Call the champion", due_at=now - timedelta(hours=2)),
        TaskFactory(account=globex, title="Send the value reminder", due_at=now + timedelta(hours=3)),
        TaskFactory(account=initech, title="Offer a training", due_at=now + timedelta(days=1)),
    )


def test_a_csm_works_the_queue_without_leaving_the_page(page, alice_csm, three_tasks):
    call, reminder, training = three_tasks
    log_in(page, "alice")
    rows = page.locator(".queue-list li[id^='task-']")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Acme Ltd")  # overdue first
    expect(rows.first).to_contain_text("overdue by")
    mark_the_page(page)
    url = page.url

    # Done, with an outcome and a note.
    row = page.locator(f"#task-{call.pk}")
    row.get_by_label("Outcome", exact=True).select_option(label="Reached the customer")
    row.get_by_label("Outcome notes").fill("Grace is back; renewal on track")
    row.get_by_role("button", name="Done").click()
    expect(page.locator(f"#task-{call.pk}")).to_have_count(0)
    expect(page.locator(".queue-status")).to_contain_text("Done: Call the champion (Acme Ltd).")
    expect(rows).to_have_count(2)

    # Snooze to the next working morning.
    row = page.locator(f"#task-{reminder.pk}")
    row.get_by_label("Snooze for").select_option(label="Next working morning")
    row.get_by_role("button", name="Snooze").click()
    expect(page.locator(f"#task-{reminder.pk}")).to_have_count(0)
    expect(page.locator(".queue-status")).to_contain_text("Snoozed until")
    expect(page.locator(".count-strip")).to_contain_text("1 snoozed")

    # Log a call on the third; the task stays.
    row = page.locator(f"#task-{training.pk}")
    row.get_by_text("Log a call").click()
    row.get_by_label("Subject").fill("Called about the training")
    row.get_by_label("Notes", exact=True).fill("Two new hires; booked for Thursday")
    row.get_by_role("button", name="Log it").click()
    expect(page.locator(".queue-status")).to_contain_text("Logged on Initech: Called about the training.")
    expect(page.locator(f"#task-{training.pk}")).to_be_visible()

    assert still_the_same_page(page) and page.url == url
    call.refresh_from_db()
    assert (call.status, call.outcome, call.outcome_note) == (
        "done",
        "reached",
        "Grace is back; renewal on track",
    )
    assert call.completed_by == alice_csm
    reminder.refresh_from_db()
    assert reminder.status == TaskStatus.SNOOZED and reminder.snoozed_until > timezone.now()
    touchpoint = Touchpoint.objects.get(subject="Called about the training")
    assert (touchpoint.account_id, touchpoint.author, touchpoint.kind) == (
        training.account_id,
        alice_csm,
        "call",
    )
    assert touchpoint.body == "Two new hires; booked for Thursday"
    training.refresh_from_db()
    assert training.status == TaskStatus.OPEN


def test_the_done_button_works_from_the_keyboard(page, three_tasks):
    call, _reminder, _training = three_tasks
    log_in(page, "alice")
    mark_the_page(page)
    row = page.locator(f"#task-{call.pk}")

    row.get_by_label("Outcome", exact=True).focus()
    page.keyboard.press("Tab")  # the outcome notes
    page.keyboard.press("Tab")  # Done
    expect(row.get_by_role("button", name="Done")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator(f"#task-{call.pk}")).to_have_count(0)
    expect(page.locator(".queue-status")).to_contain_text("Done: Call the champion")
    assert still_the_same_page(page)
    call.refresh_from_db()
    assert call.status == TaskStatus.DONE and call.outcome == "reached"


def test_a_task_done_in_another_tab_leaves_with_a_message(page, three_tasks):
    call, _reminder, _training = three_tasks
    log_in(page, "alice")
    mark_the_page(page)
    # Meanwhile, in another tab:
    Task.objects.filter(pk=call.pk).update(status="done", completed_at=timezone.now(), outcome="no_answer")

    page.locator(f"#task-{call.pk}").get_by_role("button", name="Done").click()

    expect(page.locator(".queue-status")).to_contain_text("This task is already done.")
    expect(page.locator(f"#task-{call.pk}")).to_have_count(0)
    assert still_the_same_page(page)
    call.refresh_from_db()
    assert call.outcome == "no_answer"
