"""Date and time inputs carry ISO values in every language (issue 14, item 2).

`<input type="date">` keeps only a YYYY-MM-DD value (datetime-local: YYYY-MM-DDTHH:MM); a value in
the language's format (2027/01/16 in Chinese) shows an empty field, and the next save then loses
the date (the plan form failed with "required", the interview autosave wiped "Held on"). Every
page with a date input is opened in English, Traditional and Simplified Chinese."""

import re
from datetime import date

import pytest
from django.conf import settings

from interviews.models import ExitInterview
from tests.factories import AccountFactory
from tests.interviews.factories import ActionItemFactory, ChurnedAccountFactory, ExitInterviewFactory
from tests.playbooks.factories import draft_plan_for

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "zh-hant", "zh-hans"]
DAY = date(2027, 1, 16)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_DATETIME_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$")


def value_of(html: str, name: str) -> str | None:
    """The value of the input called `name` (None when it has none)."""
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert tag, f"no input named {name}"
    found = re.search(r'value="([^"]*)"', tag.group(0))
    return found.group(1) if found else None


@pytest.fixture
def in_language(client_for):
    def login(user, language):
        client = client_for(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        return client

    return login


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_plan_form_carries_its_target_date_in_iso(in_language, alice_csm, language):
    plan = draft_plan_for(AccountFactory(owner=alice_csm), target_date=DAY)
    html = in_language(alice_csm, language).get(f"/plans/{plan.pk}/edit/").content.decode()
    assert value_of(html, "target_date") == "2027-01-16"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_interview_keeps_its_held_on_date_through_an_autosave(
    in_language, ivan_interviewer, alice_csm, language
):
    account = ChurnedAccountFactory(owner=alice_csm)
    ExitInterviewFactory(account=account, interviewer=ivan_interviewer, held_on=DAY)
    client = in_language(ivan_interviewer, language)
    html = client.get(f"/interviews/accounts/{account.pk}/").content.decode()
    shown = value_of(html, "held_on")
    assert shown == "2027-01-16"

    # What a browser posts back: the field's value as shown.
    data = {f"answer_{n}": "" for n in range(1, 6)} | {"answer_1": "Too expensive", "held_on": shown}
    client.post(f"/interviews/accounts/{account.pk}/autosave/", data, headers={"HX-Request": "true"})
    assert ExitInterview.objects.get(account=account).held_on == DAY


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_account_page_dates_are_iso(in_language, alice_csm, alice_account, language):
    html = in_language(alice_csm, language).get(f"/accounts/{alice_account.pk}/").content.decode()
    assert ISO_DATETIME_LOCAL.match(value_of(html, "occurred_at") or ""), value_of(html, "occurred_at")
    expires = value_of(html, "override-expires_on")
    assert expires is None or ISO_DATE.match(expires), expires
    minimum = re.search(r'name="override-expires_on"[^>]*min="([^"]+)"', html)
    assert minimum is None or ISO_DATE.match(minimum.group(1))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_action_item_form_carries_its_due_date_in_iso(in_language, maria_manager, language):
    item = ActionItemFactory(due_on=DAY)
    html = in_language(maria_manager, language).get(f"/reports/actions/{item.pk}/").content.decode()
    assert value_of(html, "due_on") == "2027-01-16"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_audit_filter_keeps_its_dates_in_iso(in_language, maria_manager, language):
    html = (
        in_language(maria_manager, language).get("/audit/?since=2027-01-01&until=2027-01-16").content.decode()
    )
    assert (value_of(html, "since"), value_of(html, "until")) == ("2027-01-01", "2027-01-16")
