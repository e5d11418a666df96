import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from interviews.models import ExitInterview, InterviewStatus
from tests.conftest import PASSWORD
from tests.factories import AccountFactory
from tests.interviews.factories import category

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_interviewer_holds_an_exit_interview_on_a_phone(page, ivan_interviewer, alice_csm, maria_manager):
    category("product")  # transactional tests flush the migration's taxonomy: ship it again
    account = AccountFactory(
        name="Brightpath Tutoring",
        owner=alice_csm,
        status="churned",
        churn_type="cancelled",
        churned_on=timezone.localdate() - timedelta(days=12),
    )
    AccountFactory(
        name="Ivan's own", owner=ivan_interviewer, status="churned", churned_on=timezone.localdate()
    )
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto("/login/")
    page.get_by_label("Username").fill("ivan")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/interviews/$"))
    expect(page.get_by_role("heading", name="Exit interviews", level=1)).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Ivan's own")

    page.get_by_role("link", name="Brightpath Tutoring").click()
    expect(page.get_by_role("heading", name="Exit interview: Brightpath Tutoring")).to_be_visible()

    page.get_by_label("1. What was the main reason").fill("The price went up 30% at renewal.")
    expect(page.locator("#autosave-status")).to_contain_text("Draft saved at")
    assert ExitInterview.objects.get(account=account).answer_1 == "The price went up 30% at renewal."
    page.get_by_label("2. Before deciding").fill("We asked our CSM for a discount; no answer for two weeks.")
    page.get_by_label("3. Looking back").fill("A smaller plan for a team of our size.")
    page.get_by_label("4. What will you use instead").fill("A cheaper local tool.")
    page.get_by_label("5. Under what circumstances").fill("Half the price, or a plan per teacher.")

    page.get_by_label("Main reason", exact=True).select_option(label="Price / value")
    # The sub-reasons narrow to the chosen category; the avoidable default follows it.
    sub_reasons = page.get_by_label("Sub-reason", exact=True)
    expect(sub_reasons.locator("option", has_text="Closed or bankrupt")).to_have_count(0)
    sub_reasons.select_option(label="Too expensive")
    expect(page.get_by_label("Avoidable", exact=True)).to_be_checked()
    page.get_by_label("Service", exact=True).check()
    page.get_by_label("Competitor named").fill("ShopPilot")
    page.get_by_label("Likelihood to return").select_option(label="Unlikely")
    page.get_by_label("How it was held").select_option(label="Phone call")
    expect(page.locator("#autosave-status")).to_contain_text("Draft saved at")

    # One column on a phone: nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("button", name="Complete interview").click()

    expect(page).to_have_url(re.compile(r"/interviews/$"))
    expect(page.locator(".messages")).to_contain_text("completed")
    interview = ExitInterview.objects.get(account=account)
    assert interview.status == InterviewStatus.DONE and interview.interviewer == ivan_interviewer
    assert interview.primary_category.key == "price_value" and interview.sub_reason.key == "too_expensive"
    assert interview.avoidable is True and interview.competitor == "ShopPilot"
    assert list(interview.secondary_categories.values_list("key", flat=True)) == ["service"]
    assert interview.answer_5 == "Half the price, or a plan per teacher."

    # The manager's reason report counts it, and its drill-down leads back to it.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Log out").click()
    page.goto("/login/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/reports/")
    row = (
        page.locator("#reason-table")
        .get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name="Price / value"))
    )
    row.get_by_role("link", name="1", exact=True).first.click()
    expect(page.locator("#drill-table tbody")).to_contain_text("Brightpath Tutoring")
