"""A retention plan's journey through two people's browsers: the CSM drafts it from a playbook
task in their queue and submits; the manager sends it back with a comment from the approval
inbox; the CSM reads the comment, edits and resubmits; the manager approves; the next step
lands in the CSM's queue; the CSM puts the plan in motion and closes it as saved."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from playbooks.models import PlanStatus, RetentionPlan, Task, TaskStatus
from playbooks.services import start_playbook
from tests.conftest import PASSWORD
from tests.factories import AccountFactory
from tests.playbooks.factories import (
    PlaybookFactory,
    PlaybookStepFactory,
    SubReasonFactory,
    TeamFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, username):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def log_out(page):
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/"))


def test_a_plan_goes_from_the_csms_queue_through_approval_to_saved(page, alice_csm, maria_manager):
    TeamFactory(name="Taipei CS", members=[alice_csm], managers=[maria_manager])
    SubReasonFactory()  # Price / value › Too expensive
    harbor = AccountFactory(
        name="Harbor Logistics", owner=alice_csm, mrr=Decimal(9000), health_score=34, health_tier="high"
    )
    playbook = PlaybookFactory(name="Retention squad (journey)", risk_level="high")
    PlaybookStepFactory(playbook=playbook, title="Prepare a tailored offer", kind="retention_plan")
    drafting_task = start_playbook(account=harbor, playbook=playbook, started_by=alice_csm).tasks.get()

    # The CSM drafts the plan from the task in her queue.
    log_in(page, "alice")
    expect(page).to_have_url(re.compile(r"/queue/$"))
    row = page.locator(f"#task-{drafting_task.pk}")
    expect(row).to_contain_text("Prepare a tailored offer")
    row.get_by_role("link", name="Draft the plan").click()
    expect(page.get_by_role("heading", name="Draft a retention plan", level=1)).to_be_visible()
    page.get_by_label("Root cause").select_option(label="Price / value")
    page.get_by_label("Sub-reason").select_option(label="Price / value › Too expensive")
    page.get_by_label("What we know").fill("The champion left; the new lead finds us expensive.")
    page.get_by_label("Objectives").fill("Renew for a year with the reports back in weekly use.")
    page.locator("#id_offers-0-kind").select_option("discount")
    page.locator("#id_offers-0-description").fill("Off the renewal")
    page.locator("#id_offers-0-discount_percent").fill("20")
    page.locator("#id_offers-0-cost").fill("21600")
    page.locator("#id_offers-0-duration_months").fill("12")
    page.locator("#id_steps-0-title").fill("Training for the new operations lead")
    page.locator("#id_steps-0-due_offset_hours").fill("16")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", name="Retention plan for Harbor Logistics")).to_be_visible()
    expect(page.locator(".plan-total-cost")).to_have_text("21,600")
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator("#plan .message-success")).to_contain_text("Submitted for approval")
    plan = RetentionPlan.objects.get(account=harbor)
    assert plan.status == PlanStatus.SUBMITTED and plan.task_id == drafting_task.pk
    assert Task.objects.get(pk=drafting_task.pk).status == TaskStatus.DONE
    log_out(page)

    # The manager sends it back from the approval inbox, in the row.
    log_in(page, "maria")
    expect(page).to_have_url(re.compile(r"/plans/approvals/$"))
    row = page.locator(f"#plan-row-{plan.pk}")
    expect(row).to_contain_text("Harbor Logistics")
    expect(row).to_contain_text("MRR at stake 9,000")
    expect(row).to_contain_text("offers cost 21,600")
    row.get_by_label("Comment").fill("20% is too deep: offer 10% and a training package.")
    url_before = page.url
    row.get_by_role("button", name="Request changes").click()
    expect(page.locator(f"#plan-row-{plan.pk}")).to_contain_text("Sent back for changes")
    assert page.url == url_before  # swapped in place
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CHANGES_REQUESTED
    log_out(page)

    # The CSM sees the comment, edits and resubmits.
    log_in(page, "alice")
    page.goto(f"/plans/{plan.pk}/")
    expect(page.locator(".plan-history")).to_contain_text("20% is too deep")
    page.get_by_role("link", name="Edit the plan").click()
    expect(page.locator(".notice")).to_contain_text("Maria Wang asked for changes")
    page.locator("#id_offers-0-discount_percent").fill("10")
    page.locator("#id_offers-0-cost").fill("10800")
    page.locator("#id_offers-1-kind").select_option("free_module")
    page.locator("#id_offers-1-description").fill("Training package")
    page.locator("#id_offers-1-cost").fill("1200")
    page.get_by_role("button", name="Save the plan").click()
    expect(page.locator(".plan-total-cost")).to_have_text("12,000")
    page.get_by_label("Note for the approver").fill("10% and training, as asked.")
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator("#plan .message-success")).to_contain_text("Submitted for approval")
    log_out(page)

    # The manager approves.
    log_in(page, "maria")
    row = page.locator(f"#plan-row-{plan.pk}")
    expect(row).to_contain_text("offers cost 12,000")
    row.get_by_role("button", name="Approve").click()
    expect(page.locator(f"#plan-row-{plan.pk}")).to_contain_text("Approved: the plan for Harbor Logistics")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED
    log_out(page)

    # The next step is in the CSM's queue; she puts the plan in motion and closes it as saved.
    log_in(page, "alice")
    expect(page.locator("#queue")).to_contain_text("Training for the new operations lead")
    step_task = Task.objects.get(title="Training for the new operations lead")
    assert step_task.assignee == alice_csm and step_task.status == TaskStatus.OPEN
    page.goto(f"/plans/{plan.pk}/")
    page.get_by_role("button", name="Put the plan in motion").click()
    expect(page.locator("#plan .message-success")).to_contain_text("The plan is active")
    page.get_by_label("Outcome", exact=True).select_option("saved")
    page.get_by_label("Outcome notes").fill("Renewed for twelve months.")
    page.get_by_role("button", name="Close the plan").click()
    expect(page.locator("#plan .message-success")).to_contain_text("closed: Saved")

    plan.refresh_from_db()
    assert (plan.status, plan.outcome, plan.outcome_note) == ("closed", "saved", "Renewed for twelve months.")
    assert list(plan.events.order_by("version").values_list("to_status", flat=True)) == [
        "draft",
        "submitted",
        "changes_requested",
        "submitted",
        "approved",
        "active",
        "closed",
    ]
    assert plan.events.get(to_status="changes_requested").actor == maria_manager
    assert sorted(plan.offers.values_list("kind", flat=True)) == ["discount", "free_module"]
