import re

import pytest
from playwright.sync_api import expect

from accounts.models import Touchpoint
from tests.conftest import PASSWORD
from tests.factories import AccountFactory, ContactFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_csm_sorts_opens_an_account_and_logs_a_touchpoint(page, alice_csm):
    AccountFactory(name="Small Shop", owner=alice_csm, mrr=300)
    acme = AccountFactory(name="Acme Ltd", owner=alice_csm, mrr=9000, value_tier="A")
    ContactFactory(account=acme, name="Grace Ho", is_champion=True, is_primary=True)
    AccountFactory(name="Middle Co", mrr=1500)

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/queue/$"))

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Accounts").click()
    expect(page.get_by_role("heading", name="Accounts", level=1)).to_be_visible()
    rows = page.locator("#account-results tbody tr")
    expect(rows.first).to_contain_text("Acme Ltd")  # sorted by name first

    # Sort by MRR, twice for descending: HTMX swaps the results and pushes the URL.
    page.locator("#account-results th", has_text="MRR").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"sort=mrr"))
    expect(rows.first).to_contain_text("Small Shop")
    page.locator("#account-results th", has_text="MRR").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"sort=-mrr"))
    expect(rows.first).to_contain_text("Acme Ltd")

    rows.first.get_by_role("link", name="Acme Ltd").click()
    expect(page.get_by_role("heading", name="Acme Ltd", level=1)).to_be_visible()
    expect(page.locator(".contact-list")).to_contain_text("Grace Ho")

    page.get_by_text("Log a touchpoint").click()
    page.get_by_label("Kind", exact=True).select_option("call")
    page.get_by_label("Contact", exact=True).select_option(label="Grace Ho")
    page.get_by_label("Subject").fill("Renewal call with Grace")
    page.get_by_label("Notes").fill("Happy with the new dashboards; wants a training for two new hires.")
    page.get_by_label("Sentiment").select_option("positive")
    url_before = page.url
    page.get_by_role("button", name="Log touchpoint").click()

    entry = page.locator(".timeline-entry.is-new")
    expect(entry).to_contain_text("Renewal call with Grace")
    expect(entry).to_contain_text("with Grace Ho")
    assert page.url == url_before  # swapped in place, no page load
    touchpoint = Touchpoint.objects.get(subject="Renewal call with Grace")
    assert touchpoint.author == alice_csm and touchpoint.account == acme
