import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from csworkbench.core.models import AuditEvent
from health.defaults import ensure_published_model
from health.models import HealthOverride
from health.recompute import recompute_health
from tests.conftest import PASSWORD
from tests.factories import AccountFactory, ContactFactory, TouchpointFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_csm_reads_the_health_history_and_overrides_the_score(page, alice_csm):
    ensure_published_model()  # transactional tests flush the migration's rows
    today = timezone.localdate()
    acme = AccountFactory(name="Acme Ltd", owner=alice_csm, value_tier="B")
    ContactFactory(account=acme, is_champion=True)
    TouchpointFactory(account=acme, occurred_at=timezone.now() - timedelta(days=10))
    for days in range(120, -1, -1):
        recompute_health(as_of=today - timedelta(days=days))

    page.goto("/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/accounts/{acme.pk}/")
    expect(page.locator("svg[role=img]").first).to_be_visible()

    page.get_by_role("button", name="1 year").click()
    expect(page).to_have_url(re.compile(r"range=1y"))
    expect(page.get_by_role("button", name="1 year")).to_have_attribute("aria-pressed", "true")

    page.get_by_text("Set an override").click()
    page.get_by_label("Score", exact=True).fill("35")
    page.get_by_label("Reason").fill("The CFO told us they are evaluating a competitor")
    page.get_by_label("Expires on").fill((today + timedelta(days=14)).isoformat())
    page.get_by_role("button", name="Save the override").click()

    expect(page.get_by_role("button", name="Revoke the override")).to_be_visible()
    expect(page.locator(".badge", has_text="High risk").first).to_be_visible()
    override = HealthOverride.objects.get(account=acme)
    assert override.score == 35 and override.created_by == alice_csm
    assert AuditEvent.objects.filter(action="health_override.set", account=acme).exists()


def test_the_published_models_measures_fit_their_card_on_a_desktop(browser, live_server, maria_manager):
    """Each measure's definition wraps under its name: the table once measured 2,035 px inside a
    1,198 px card, with the weights off-screen at 1440 px. The shipped version's note is words."""
    model = ensure_published_model()
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/health-models/{model.version}/")
    table = page.locator("table.data-table").first
    expect(table).to_be_visible()
    widths = table.evaluate("t => [t.scrollWidth, t.parentElement.clientWidth]")
    assert widths[0] <= widths[1], widths
    body = page.locator("main").inner_text()
    assert model.note == model.SHIPPED_NOTE  # the shipped version, as the data migration makes it
    assert "DESIGN.md" not in body
    assert "The defaults that ship with csworkbench." in body
    context.close()
