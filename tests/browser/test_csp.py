"""Every role's pages run under the Content-Security-Policy without a single violation.

Chromium reports a refused inline script, style, eval or foreign resource both as a console
message and as a `securitypolicyviolation` event; the test listens for both while each role
logs in and walks its pages, htmx swaps included.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from health.defaults import ensure_published_model
from tests.conftest import PASSWORD
from tests.factories import AccountFactory, ContactFactory
from tests.health.factories import HealthSnapshotFactory
from tests.interviews.factories import ChurnedAccountFactory
from tests.playbooks.factories import TaskFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile}:${event.lineNumber}`);
});
"""


def watch(page) -> list[str]:
    """Console messages about the policy, for the whole life of the page."""
    reported: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda message: reported.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return reported


def log_in(page, username):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def visit(page, path, reported):
    response = page.goto(path)
    assert response is not None and response.status == 200, (path, response and response.status)
    page.wait_for_load_state("networkidle")
    violations = page.evaluate("window.__cspViolations")
    assert not violations, f"{path}: {violations}"
    assert not reported, f"{path}: {reported}"
    assert page.evaluate("document.querySelectorAll('head style').length") == 0, path


@pytest.fixture
def world(alice_csm, maria_manager, ivan_interviewer, ada_admin):
    from playbooks.models import Team

    ensure_published_model()  # transactional tests flush the migration's rows
    team = Team.objects.create(name="Taipei CS")
    team.members.add(alice_csm)
    team.managers.add(maria_manager)
    acme = AccountFactory(name="Acme Ltd", owner=alice_csm, value_tier="A")
    ContactFactory(account=acme, is_champion=True)
    today = timezone.localdate()
    for days in range(0, 90, 7):
        HealthSnapshotFactory(account=acme, date=today - timedelta(days=days), score=60 + days % 30)
    TaskFactory(account=acme, title="Call about the renewal")
    churned = ChurnedAccountFactory(name="Gone Co")
    return {"acme": acme, "churned": churned}


def test_the_csm_pages_respect_the_policy(page, world):
    reported = watch(page)
    log_in(page, "alice")
    acme = world["acme"]
    for path in ("/queue/", "/accounts/", f"/accounts/{acme.pk}/", "/reports/", "/notifications/"):
        visit(page, path, reported)

    # htmx swaps: sort the accounts, switch the chart's range.
    page.goto("/accounts/")
    page.locator("#account-results th", has_text="MRR").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"sort=mrr"))
    page.goto(f"/accounts/{acme.pk}/")
    expect(page.locator("svg[role=img]").first).to_be_visible()
    page.get_by_role("button", name="1 year").click()
    expect(page).to_have_url(re.compile(r"range=1y"))
    page.wait_for_load_state("networkidle")
    assert not page.evaluate("window.__cspViolations")
    assert not reported


def test_the_manager_pages_respect_the_policy(page, world):
    reported = watch(page)
    log_in(page, "maria")
    for path in (
        "/plans/approvals/",
        "/queue/team/",
        "/rules/",
        "/rules/new/",
        "/reports/",
        "/reports/interviews/",
        "/interviews/",
        "/health-models/",
        "/imports/",
        "/audit/",
        "/playbooks/matrix/",
    ):
        visit(page, path, reported)
    page.goto("/audit/")
    page.locator("#id_action").select_option("plan.")
    expect(page).to_have_url(re.compile(r"action=plan"))
    page.wait_for_load_state("networkidle")
    assert not page.evaluate("window.__cspViolations")


def test_the_interviewer_pages_respect_the_policy(page, world):
    reported = watch(page)
    log_in(page, "ivan")
    for path in ("/interviews/", f"/interviews/accounts/{world['churned'].pk}/"):
        visit(page, path, reported)


def test_the_admin_pages_respect_the_policy(page, world):
    reported = watch(page)
    log_in(page, "ada")
    for path in ("/accounts/", "/audit/", "/imports/", "/admin/"):
        visit(page, path, reported)


def test_the_django_admin_respects_the_policy(page, world, alice_csm):
    from tests.factories import UserFactory

    UserFactory(username="root", is_staff=True, is_superuser=True)
    reported = watch(page)
    log_in(page, "root")
    for path in ("/admin/auth/user/", f"/admin/auth/user/{alice_csm.pk}/change/", "/admin/accounts/account/"):
        visit(page, path, reported)
