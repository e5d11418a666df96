"""The closed loop: action items from interviews and churn reviews, and the review's effect."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from csworkbench.core.models import AuditEvent
from interviews import action_items
from interviews.models import ActionItem
from interviews.periods import period_for
from tests.form_tokens import tokens_in, with_token
from tests.interviews.factories import (
    ActionItemFactory,
    ChurnedAccountFactory,
    DoneInterviewFactory,
    category,
)

pytestmark = pytest.mark.django_db

NEW = "/reports/actions/new/"
REVIEW = "/reports/review/"
OCTOBER = period_for("month", date(2026, 10, 1))


def interview_on(day: date, key: str = "product", **kwargs):
    return DoneInterviewFactory(
        account=ChurnedAccountFactory(churned_on=day), primary_category=category(key), **kwargs
    )


# --- raising ------------------------------------------------------------------------------------


def test_an_interviewer_raises_an_item_from_the_interview_page(client_for, ivan_interviewer, churned_account):
    interview = DoneInterviewFactory(
        account=churned_account, interviewer=ivan_interviewer, primary_category=category("service")
    )
    client = client_for(ivan_interviewer)
    page = client.get(reverse("interviews:interview", args=[churned_account.pk])).content.decode()
    assert f"{NEW}?interview={interview.pk}" in page

    form = client.get(NEW, {"interview": interview.pk})
    assert form.status_code == 200 and form.context["form"]["category"].value() == category("service").pk
    response = client.post(
        f"{NEW}?interview={interview.pk}",
        {
            "title": "Onboarding checklist for tier A",
            "team": "cs",
            "category": category("service").pk,
            "form_token": tokens_in(form)[0],  # the one the page rendered
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("interviews:interview", args=[churned_account.pk])
    item = ActionItem.objects.get()
    assert (item.interview, item.review_period, item.status, item.created_by) == (
        interview,
        "",
        "open",
        ivan_interviewer,
    )
    assert AuditEvent.objects.filter(action="action_item.raised", account=churned_account).exists()
    page = client.get(reverse("interviews:interview", args=[churned_account.pk])).content.decode()
    assert "Onboarding checklist for tier A" in page


def test_a_manager_raises_an_item_from_the_churn_review(client_for, maria_manager):
    response = client_for(maria_manager).post(
        f"{NEW}?period=2026-10",
        {
            "title": "Price page rewrite",
            "team": "marketing",
            "category": category("price_value").pk,
            "owner": maria_manager.pk,
        }
        | with_token(maria_manager),
    )
    assert response.status_code == 302 and response["Location"] == f"{REVIEW}?period=2026-10"
    item = ActionItem.objects.get()
    assert (item.review_period, item.interview, item.owner, item.category.key) == (
        "2026-10",
        None,
        maria_manager,
        "price_value",
    )


def test_an_item_needs_a_source(client_for, maria_manager):
    response = client_for(maria_manager).get(NEW)
    assert response.status_code == 302
    with pytest.raises(ValidationError):
        action_items.raise_action_item(user=maria_manager, title="Floating", team="cs")


def test_a_form_with_errors_is_422_and_saves_nothing(client_for, maria_manager):
    response = client_for(maria_manager).post(f"{NEW}?period=2026-10", {"title": "", "team": "nonsense"})
    assert response.status_code == 422 and not ActionItem.objects.exists()


@pytest.mark.parametrize("url", [NEW, "/reports/actions/"])
def test_users_without_a_role_get_403(client_for, nora_no_role, url):
    assert client_for(nora_no_role).get(url, {"period": "2026-10"}).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client):
    assert client.get(NEW).status_code == 302


def test_action_pages_refuse_other_methods(client_for, maria_manager):
    assert client_for(maria_manager).delete(NEW).status_code == 405
    assert client_for(maria_manager).post("/reports/actions/").status_code == 405


# --- moving along -------------------------------------------------------------------------------


def test_the_owner_marks_an_item_done_and_can_reopen_it(client_for, alice_csm, maria_manager):
    item = ActionItemFactory(owner=alice_csm, created_by=maria_manager)
    client = client_for(alice_csm)
    data = {"title": item.title, "team": item.team, "status": "done", "owner": alice_csm.pk}
    assert client.post(f"/reports/actions/{item.pk}/", data).status_code == 302
    item.refresh_from_db()
    assert item.status == "done" and item.done_at is not None
    client.post(f"/reports/actions/{item.pk}/", {**data, "status": "in_progress"})
    item.refresh_from_db()
    assert item.status == "in_progress" and item.done_at is None
    assert AuditEvent.objects.filter(action="action_item.updated").count() == 2


def test_another_csm_cannot_change_someone_elses_item(client_for, bob_other_csm, maria_manager):
    item = ActionItemFactory(created_by=maria_manager)
    assert client_for(bob_other_csm).get(f"/reports/actions/{item.pk}/").status_code == 403
    with pytest.raises(PermissionDenied):
        action_items.update_action_item(item=item, user=bob_other_csm, status="done")


def test_the_list_shows_open_items_first_and_filters_by_status(client_for, alice_csm):
    ActionItemFactory(title="Still open")
    ActionItemFactory(title="Finished", status="done", done_at=timezone.now())
    client = client_for(alice_csm)
    html = client.get("/reports/actions/").content.decode()
    assert "Still open" in html and "Finished" not in html
    assert "Finished" in client.get("/reports/actions/", {"status": "done"}).content.decode()


# --- the churn review ---------------------------------------------------------------------------


def test_the_review_lists_top_reasons_with_their_items_and_effect(client_for, maria_manager):
    # Raised at the October review, when price drove 3 exits; in November it drove 1.
    for day in (3, 9, 20):
        interview_on(date(2026, 10, day), "price_value")
    interview_on(date(2026, 10, 4), "product")
    interview_on(date(2026, 11, 2), "price_value")
    interview_on(date(2026, 11, 5), "service")
    interview_on(date(2026, 11, 6), "service")
    item = ActionItemFactory(
        title="Annual plan discount",
        review_period="2026-10",
        category=category("price_value"),
        created_at=timezone.make_aware(timezone.datetime(2026, 11, 1, 9)),
    )
    ActionItemFactory(title="Done last time", review_period="2026-10", status="done", done_at=timezone.now())

    response = client_for(maria_manager).get(REVIEW, {"period": "2026-11"})
    html = response.content.decode()

    rows = response.context["rows"]
    assert [r["category"].key for r in rows][:2] == ["service", "price_value"]
    price = next(r for r in rows if r["category"].key == "price_value")
    assert (price["now"].count, price["before"].count) == (1, 3)
    (entry,) = price["action_items"]
    assert entry["item"] == item and (entry["effect"].before, entry["effect"].now) == (3, 1)
    assert "Effect: 3 in October 2026 → 1 now" in html
    assert "Done last time" in html and "not done" in html  # the October items, done or not
    assert f"{NEW}?period=2026-11&amp;category=price_value" in html


def test_the_effect_of_an_interview_item_counts_from_the_month_of_that_churn():
    interview = interview_on(date(2026, 9, 14), "product")
    item = ActionItemFactory(interview=interview, review_period="", category=category("product"))
    assert action_items.raised_period(item) == period_for("month", date(2026, 9, 1))


def test_the_review_defaults_to_last_month(client_for, maria_manager):
    response = client_for(maria_manager).get(REVIEW, {"period": "garbage"})
    assert response.context["period"] == period_for("month", timezone.localdate()).previous()


def test_the_review_makes_the_same_number_of_queries_with_more_items(client_for, maria_manager):
    client = client_for(maria_manager)

    def more(n):
        for i in range(n):
            interview_on(date(2026, 10, 1 + i % 28), ("product", "service", "price_value")[i % 3])
            ActionItemFactory(
                review_period=("2026-09", "2026-10")[i % 2], category=category(("product", "service")[i % 2])
            )

    more(2)
    with CaptureQueriesContext(connection) as small:
        client.get(REVIEW, {"period": "2026-10"})
    more(12)
    with CaptureQueriesContext(connection) as large:
        client.get(REVIEW, {"period": "2026-10"})
    assert len(large.captured_queries) == len(small.captured_queries)


def test_an_item_raised_from_an_interview_takes_its_reason(maria_manager):
    interview = interview_on(date(2026, 10, 3), "competitor")
    item = action_items.raise_action_item(
        user=maria_manager, interview=interview, title="Battlecard", team="sales"
    )
    assert item.category.key == "competitor"
    assert item.review_period == ""


def test_due_dates_sort_the_list(client_for, maria_manager):
    ActionItemFactory(title="Later", due_on=timezone.localdate() + timedelta(days=20))
    ActionItemFactory(title="Sooner", due_on=timezone.localdate() + timedelta(days=2))
    html = client_for(maria_manager).get("/reports/actions/").content.decode()
    assert html.index("Sooner") < html.index("Later")


def test_the_review_downloads_as_csv_with_neutralised_cells(client_for, maria_manager):
    interview_on(date(2026, 10, 3), "price_value")
    ActionItemFactory(
        title="=HYPERLINK(1)",
        review_period="2026-09",
        category=category("price_value"),
        created_at=timezone.make_aware(timezone.datetime(2026, 10, 1, 9)),
    )
    response = client_for(maria_manager).get(REVIEW, {"period": "2026-10", "format": "csv"})
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert "Price / value,yes,1," in body and "'=HYPERLINK(1)" in body


def test_an_interviewer_sees_the_action_list_without_links_to_reports(client_for, ivan_interviewer):
    ActionItemFactory(title="Fix SSO", review_period="2026-10")
    response = client_for(ivan_interviewer).get("/reports/actions/")
    html = response.content.decode()
    assert response.status_code == 200 and "Fix SSO" in html
    assert 'href="/reports/"' not in html and 'href="/reports/review/' not in html
