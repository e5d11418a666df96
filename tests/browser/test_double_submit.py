"""A second click sends nothing more: the buttons disable themselves (static/js/app.js), and the form's
one-time token makes the server write once whatever reaches it (csworkbench.core.idempotency)."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Touchpoint
from playbooks.models import Delivery, SentEmail
from tests.conftest import PASSWORD
from tests.factories import AccountFactory, ContactFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, username: str, home: str = r"/queue/$") -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(home))


def slow_posts(page, pattern: str) -> None:
    """Let each matching POST reach the server, then hold its answer a moment: the click that
    follows lands while the first sending is done on the server but not yet on the screen."""

    def hold(route):
        if route.request.method != "POST":
            route.continue_()
            return
        response = route.fetch()
        page.wait_for_timeout(500)
        route.fulfill(response=response)

    page.route(pattern, hold)


def click_twice(page, button) -> None:
    """An impatient second click while the first sending is in flight (force: even if disabled,
    which then sends nothing, as in a real browser)."""
    with page.expect_request(lambda request: request.method == "POST"):
        button.click()
    page.wait_for_timeout(100)
    button.click(force=True, no_wait_after=True)


def test_a_twice_clicked_touchpoint_is_logged_once(page, alice_csm):
    acme = AccountFactory(name="Acme Ltd", owner=alice_csm)
    log_in(page, "alice")
    page.goto(f"/accounts/{acme.pk}/")
    page.get_by_text("Log a touchpoint").click()
    page.get_by_label("Subject").fill("Renewal call")
    slow_posts(page, "**/touchpoints/")
    button = page.get_by_role("button", name="Log touchpoint")
    click_twice(page, button)
    expect(button).to_be_disabled()  # the courtesy, while the answer is on its way

    expect(page.locator(".timeline-entry.is-new")).to_contain_text("Renewal call")
    expect(page.locator(".timeline-entry")).to_have_count(1)
    assert Touchpoint.objects.filter(subject="Renewal call").count() == 1
    # The swapped-in form has a fresh token and a live button: the next one goes through.
    page.get_by_text("Log a touchpoint").click()
    page.get_by_label("Subject").fill("Follow-up call")
    page.get_by_role("button", name="Log touchpoint").click()
    expect(page.locator(".timeline-entry")).to_have_count(2)


def test_a_twice_clicked_customer_email_is_sent_once(page, alice_csm):
    acme = AccountFactory(name="Acme Ltd", owner=alice_csm)
    ContactFactory(account=acme, name="Pat Lee", email="pat@acme.example", is_primary=True)
    log_in(page, "alice")
    page.goto(f"/notifications/accounts/{acme.pk}/email/")
    page.get_by_label("Subject").fill("Checking in")
    page.get_by_label("Message").fill("Hi Pat")
    slow_posts(page, f"**/notifications/accounts/{acme.pk}/email/")
    button = page.get_by_role("button", name="Send the email")
    click_twice(page, button)
    expect(button).to_be_disabled()

    expect(page).to_have_url(re.compile(rf"/accounts/{acme.pk}/$"))
    expect(page.locator(".messages")).to_contain_text("Email to pat@acme.example queued.")
    assert SentEmail.objects.count() == 1
    assert Delivery.objects.filter(to="pat@acme.example").count() == 1


def test_the_same_form_posted_twice_at_once_without_the_courtesy_still_writes_once(page, alice_csm):
    """What a script, a flaky network's resend or an old browser does: both posts reach us."""
    acme = AccountFactory(name="Acme Ltd", owner=alice_csm)
    log_in(page, "alice")
    page.goto(f"/accounts/{acme.pk}/")
    page.get_by_text("Log a touchpoint").click()
    page.get_by_label("Subject").fill("Sent twice")
    statuses = page.evaluate(
        """async () => {
            const form = document.querySelector("#timeline form");
            const csrf = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
            const headers = {"X-CSRFToken": csrf, "HX-Request": "true"};
            const send = () => fetch(form.action, {method: "POST", body: new FormData(form), headers})
                .then(async (r) => [r.status, await r.text()]);
            return Promise.all([send(), send()]);
        }"""
    )
    assert [status for status, _html in statuses] == [200, 200]
    assert sum("nothing was sent twice" in html for _status, html in statuses) == 1
    assert Touchpoint.objects.filter(subject="Sent twice").count() == 1
