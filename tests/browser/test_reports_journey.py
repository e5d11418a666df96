import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from interviews.periods import period_for
from tests.conftest import PASSWORD
from tests.interviews.factories import ChurnedAccountFactory, DoneInterviewFactory, category

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_drills_from_the_reason_table_to_the_interviews_behind_it(page, maria_manager):
    start = period_for("month", timezone.localdate()).start
    for name, key in (
        ("Pricey Partners", "price_value"),
        ("Costly Co", "price_value"),
        ("Buggy Ltd", "product"),
    ):
        account = ChurnedAccountFactory(name=name, churned_on=start)
        DoneInterviewFactory(account=account, primary_category=category(key))

    page.goto("/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()

    expect(page.get_by_role("img", name="Exit-interview reasons by period")).to_be_visible()
    table = page.locator("#reason-table")
    expect(table).to_be_visible()
    row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Price / value"))
    row.get_by_role("link", name="2", exact=True).first.click()

    expect(page).to_have_url(re.compile(r"/reports/interviews/\?category=price_value"))
    expect(page.get_by_role("heading", name="Interviews behind the number")).to_be_visible()
    results = page.locator("#drill-table tbody")
    expect(results).to_contain_text("Pricey Partners")
    expect(results).to_contain_text("Costly Co")
    expect(results).not_to_contain_text("Buggy Ltd")

    results.get_by_role("link", name="Costly Co").click()
    expect(page).to_have_url(re.compile(r"/interviews/accounts/\d+/$"))


def test_the_period_switch_swaps_the_report_in_place(page, maria_manager):
    page.goto("/login/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/reports/")
    page.get_by_role("button", name="Quarterly").click()
    expect(page).to_have_url(re.compile(r"unit=quarter"))
    expect(page.get_by_role("button", name="Quarterly")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#logo-chart-title")).to_have_count(1)


@pytest.mark.parametrize("language", ["en", "zh-hant", "zh-hans"])
def test_a_manager_follows_lost_customers_on_a_phone_without_sideways_scrolling(
    browser, live_server, maria_manager, alice_csm, language
):
    """The logo-churn bar opens the customers lost, interviewed or not; on a 390 px phone the
    report and the drill-down fit the screen (the cut switcher once pushed the page to 666 px)."""
    start = period_for("month", timezone.localdate()).start
    waiting = ChurnedAccountFactory(name="Quiet Co", churned_on=start, owner=alice_csm)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/login/")
    page.locator("input[name=username]").fill("maria")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password]").press("Enter")
    page.goto("/reports/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.locator("#logo-chart-title").locator("xpath=..").locator("a").last.click()
    expect(page).to_have_url(re.compile(r"/reports/churned/\?period="))
    expect(page.locator("#churned-table")).to_contain_text("Quiet Co")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator(f'a[href="/interviews/accounts/{waiting.pk}/"]').click()
    expect(page).to_have_url(re.compile(rf"/interviews/accounts/{waiting.pk}/$"))
    context.close()
