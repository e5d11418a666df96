"""A manager changes a risk level's response time and sees, before saving, what it will move
(issue 14, item 4); after saving, the next task of that level is due by the new time."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.factories import AccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_previews_and_saves_a_new_response_time(page, maria_manager, alice_csm):
    from playbooks import services
    from playbooks.business_time import add_business_hours
    from playbooks.defaults import ensure_defaults
    from playbooks.models import MatrixRow

    ensure_defaults()  # a transactional test starts from a flushed database
    page.goto("/login/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/playbooks/matrix/")
    page.get_by_role("link", name="Edit row Medium").click()

    impact = page.locator("#matrix-impact")
    assert "Draft the initial retention plan — 24 business hours" in impact.inner_text()
    previews = []
    page.on(
        "request", lambda request: previews.append(request.url) if "response_amount=" in request.url else None
    )
    page.get_by_role("spinbutton", name="Respond within").fill("16")
    # The preview follows what is typed, with nothing saved yet.
    expect(page.locator("#matrix-impact")).to_contain_text("→")
    text = page.locator("#matrix-impact").inner_text()
    assert "from 24 business hours to 16 business hours" in text
    assert "Draft the initial retention plan — 24 business hours → 16 business hours" in text
    assert "Offer 1:1 training on the core features — 45 business hours, overrides the matrix" in text
    assert MatrixRow.objects.get(risk_level="medium").response_amount == 24
    # The preview asks with the two fields only: the CSRF token stays out of URLs and logs.
    assert previews and all("csrfmiddlewaretoken" not in url and "signals=" not in url for url in previews)

    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/playbooks/matrix/")
    assert "now due within 16 business hours" in page.locator(".messages").inner_text()
    assert "16 business hours (this row)" in page.locator("#matrix-medium").inner_text()

    now = timezone.now()
    run = services.start_playbook(
        account=AccountFactory(owner=alice_csm),
        playbook=MatrixRow.objects.get(risk_level="medium").playbook,
        started_by=alice_csm,
        now=now,
    )
    first = run.tasks.get(step__position=1)
    calendar = services.calendar_for(alice_csm)
    assert first.due_at == add_business_hours(now, 16, calendar)
