"""The health-model editor through the HTTP stack: roles, methods, HTMX, errors, query counts."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from csworkbench.core.models import AuditEvent
from health import editor
from health.defaults import create_default_model
from health.editor_views import DraftForm, _dimensions
from health.models import HealthDimension, HealthMeasure, HealthModel
from tests.factories import AccountFactory, TouchpointFactory
from tests.health.editor_factories import DailyMetricFactory, RetiredModelFactory

TODAY = timezone.localdate()
NEW_INVOICE_BANDS = {"invoice_overdue_raw_1": "15", "invoice_overdue_sub_1": "70"}


@pytest.fixture
def published(db):
    model = HealthModel.objects.filter(status="published").first()
    return model or create_default_model(HealthModel, HealthDimension, HealthMeasure)


@pytest.fixture
def draft(published, maria_manager):
    return editor.create_draft(user=maria_manager)


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    # Publishing sends the task's signature (through the outbox): its apply_async, not delay.
    monkeypatch.setattr(
        editor.nightly_health_run,
        "apply_async",
        lambda args=None, kwargs=None, **options: calls.append(tuple(args or ())),
    )
    return calls


def url(name, model=None):
    return reverse(f"health_models:{name}", args=[model.version] if model else [])


def form_data(model, **overrides):
    """What the editor page posts when nothing is touched, with `overrides` typed in."""
    form = DraftForm(model=model, dimensions=_dimensions(model))
    data = {name: "" if form.initial.get(name) is None else str(form.initial[name]) for name in form.fields}
    data.update(overrides)
    return data


def invoice_account(name, overdue):
    """Touch recency 100 and the invoice: (100 + invoice sub-score) / 2 under any version."""
    account = AccountFactory(name=name, contract_start=TODAY - timedelta(days=5))
    TouchpointFactory(account=account, occurred_at=timezone.now() - timedelta(days=5))
    DailyMetricFactory(account=account, invoice_days_overdue=overdue)
    return account


def test_a_manager_starts_edits_previews_and_publishes_a_draft(
    client_for, maria_manager, published, enqueued, django_capture_on_commit_callbacks
):
    invoice_account("Anna Foods", 15)  # 75 Low now; 85 Healthy once 15 days overdue scores 70
    client = client_for(maria_manager)
    listing = client.get(url("list")).content.decode()
    assert "Start a draft" in listing
    assert f'href="{url("detail", published)}"' in listing

    response = client.post(url("start_draft"))
    draft = HealthModel.objects.get(status="draft")
    assert response.status_code == 302
    assert response["Location"] == url("edit", draft)

    page = client.get(url("edit", draft)).content.decode()
    assert 'name="invoice_overdue_raw_1"' in page
    assert f'href="{url("preview", draft)}"' in page and f'hx-get="{url("preview", draft)}"' in page

    data = form_data(draft, dimension_usage="45", note="Invoices weigh less", **NEW_INVOICE_BANDS)
    response = client.post(url("edit", draft), data)
    assert response.status_code == 302
    assert response["Location"] == url("edit", draft)
    assert HealthDimension.objects.get(model=draft, key="usage").weight == 45
    assert HealthMeasure.objects.get(dimension__model=draft, key="invoice_overdue").bands == [
        [0, 100],
        [15, 70],
        [30, 0],
    ]

    preview = client.get(url("preview", draft)).content.decode()
    assert "<html" in preview  # without htmx the link opens the whole editor with the preview
    assert "1 account would change tier" in preview
    assert "Anna Foods" in preview

    confirm = client.get(url("publish", draft)).content.decode()
    assert f"Publish version {draft.version}?" in confirm
    assert f'action="{url("publish", draft)}"' in confirm
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("publish", draft))
    assert response.status_code == 302
    assert response["Location"] == url("detail", draft)
    draft.refresh_from_db()
    published.refresh_from_db()
    assert (draft.status, draft.published_by, published.status) == ("published", maria_manager, "retired")
    assert enqueued == [()]
    detail = client.get(url("detail", draft)).content.decode()
    assert "is published" in detail
    assert "Invoices weigh less" in detail


def test_an_admin_may_use_the_editor_too(client_for, ada_admin, published):
    client = client_for(ada_admin)
    assert client.get(url("list")).status_code == 200
    assert client.post(url("start_draft")).status_code == 302
    assert HealthModel.objects.get(status="draft").created_by == ada_admin


def test_a_draft_can_start_from_an_older_version(client_for, maria_manager, published):
    old = create_default_model(HealthModel, HealthDimension, HealthMeasure, version=5, status="retired")
    HealthDimension.objects.filter(model=old, key="support").update(weight=33)
    response = client_for(maria_manager).post(url("start_draft"), {"based_on": "5"})
    draft = HealthModel.objects.get(status="draft")
    assert response["Location"] == url("edit", draft)
    assert draft.dimensions.get(key="support").weight == 33


@pytest.mark.parametrize("user_fixture", ["alice_csm", "ivan_interviewer"])
def test_csms_and_interviewers_get_403_on_every_view(request, client_for, user_fixture, draft, enqueued):
    client = client_for(request.getfixturevalue(user_fixture))
    calls = [
        (client.get, url("list")),
        (client.get, url("detail", draft)),
        (client.post, url("start_draft")),
        (client.get, url("edit", draft)),
        (client.post, url("edit", draft)),
        (client.get, url("preview", draft)),
        (client.get, url("publish", draft)),
        (client.post, url("publish", draft)),
        (client.get, url("discard", draft)),
        (client.post, url("discard", draft)),
    ]
    for method, path in calls:
        assert method(path).status_code == 403, (method.__name__, path)
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert enqueued == []


def test_the_nav_shows_the_editor_to_managers_and_admins_only(client_for, maria_manager, alice_csm):
    assert f'href="{url("list")}"' in client_for(maria_manager).get(reverse("accounts:list")).content.decode()
    assert f'href="{url("list")}"' not in client_for(alice_csm).get(reverse("accounts:list")).content.decode()


def test_wrong_methods_get_405(client_for, maria_manager, draft):
    client = client_for(maria_manager)
    assert client.get(url("start_draft")).status_code == 405
    assert client.post(url("list")).status_code == 405
    assert client.post(url("detail", draft)).status_code == 405
    assert client.post(url("preview", draft)).status_code == 405
    assert client.put(url("edit", draft)).status_code == 405
    assert client.delete(url("publish", draft)).status_code == 405
    assert client.patch(url("discard", draft)).status_code == 405


def test_the_htmx_preview_is_the_panel_alone(client_for, maria_manager, draft):
    invoice_account("Anna Foods", 15)
    invoice_account("Cora Tools", 25)  # 58 Medium, 62 Low with the draft
    invoice_account("Dora Bank", 0)  # 100 either way
    editor.update_draft(
        model=draft,
        user=maria_manager,
        measures={"invoice_overdue": {"bands": [[0, 100], [15, 70], [30, 0]]}},
    )
    response = client_for(maria_manager).get(url("preview", draft), headers={"HX-Request": "true"})
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert content.lstrip().startswith('<section id="preview"')
    assert "2 accounts would change tier" in content
    assert content.index("Anna Foods") < content.index("Cora Tools")  # the larger change first
    assert "Dora Bank" not in content
    assert 'hx-trigger="draft-saved from:body"' in content


def test_the_preview_lists_fifty_accounts_and_counts_the_rest(client_for, maria_manager, draft):
    for number in range(53):
        invoice_account(f"Mover {number:02d}", 15)
    editor.update_draft(
        model=draft,
        user=maria_manager,
        measures={"invoice_overdue": {"bands": [[0, 100], [15, 70], [30, 0]]}},
    )
    content = (
        client_for(maria_manager).get(url("preview", draft), headers={"HX-Request": "true"}).content.decode()
    )
    assert "53 accounts would change tier" in content
    assert content.count("Mover ") == 50
    assert "…and 3 more accounts." in content


def test_bad_input_answers_422_with_errors_by_the_field_and_saves_nothing(client_for, maria_manager, draft):
    data = form_data(
        draft,
        dimension_usage="-5",
        seat_utilisation_weight="-1",
        csat_raw_1="1",  # below the point before it: 2, 1, 4, 5
        login_trend_raw_0="lots",
        training_sub_3="90",  # a new point with no raw value
        stale_after_days="0",
        latest_nps_interpolation="cubic",
    )
    response = client_for(maria_manager).post(url("edit", draft), data, headers={"HX-Request": "true"})
    assert response.status_code == 422
    content = response.content.decode()
    assert "<html" not in content
    assert content.lstrip().startswith('<form id="editor"')
    for field in (
        "dimension_usage",
        "seat_utilisation_weight",
        "csat_bands",
        "login_trend_raw_0",
        "training_bands",
        "stale_after_days",
        "latest_nps_interpolation",
    ):
        assert f'id="id_{field}_error"' in content, field
    assert 'id="id_dimension_support_error"' not in content
    assert "Raw values must increase from each point to the next." in content
    assert "Point 4 needs both a raw value and a sub-score." in content
    assert 'aria-invalid="true"' in content
    assert HealthDimension.objects.get(model=draft, key="usage").weight == 40
    assert draft.note == ""
    assert not AuditEvent.objects.filter(action="health_model.draft_updated").exists()


def test_service_errors_reach_the_page_without_htmx_too(client_for, maria_manager, draft):
    zero = {f"dimension_{key}": "0" for key in ("usage", "support", "relationship", "engagement")}
    response = client_for(maria_manager).post(url("edit", draft), form_data(draft, **zero))
    content = response.content.decode()
    assert response.status_code == 422
    assert "<html" in content
    assert 'id="id_dimension_weights_error"' in content
    assert "At least one dimension needs a weight above zero." in content


def test_an_htmx_save_returns_the_editor_and_asks_the_preview_to_refresh(client_for, maria_manager, draft):
    response = client_for(maria_manager).post(
        url("edit", draft),
        form_data(draft, dimension_support="30", note="Support counts more"),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "draft-saved" in json.loads(response["HX-Trigger"])
    content = response.content.decode()
    assert content.lstrip().startswith('<form id="editor"')
    assert "Draft saved." in content
    assert 'name="dimension_support" value="30"' in content
    assert 'value="Support counts more"' in content
    assert HealthDimension.objects.get(model=draft, key="support").weight == 30


def test_a_band_point_can_be_added_and_removed(client_for, maria_manager, draft):
    data = form_data(
        draft,
        seat_utilisation_raw_2="1",
        seat_utilisation_sub_2="100",
        seat_utilisation_raw_1="0.5",
        seat_utilisation_sub_1="80",
        csat_raw_1="",
        csat_sub_1="",
    )
    assert client_for(maria_manager).post(url("edit", draft), data).status_code == 302
    bands = dict(HealthMeasure.objects.filter(dimension__model=draft).values_list("key", "bands"))
    assert bands["seat_utilisation"] == [[0.2, 0], [0.5, 80], [1, 100]]
    assert bands["csat"] == [[2, 0], [4, 80], [5, 100]]


def test_published_versions_are_not_editable_through_the_pages(client_for, maria_manager, published):
    client = client_for(maria_manager)
    response = client.get(url("edit", published))
    assert response.status_code == 302
    assert response["Location"] == url("detail", published)
    response = client.post(url("edit", published), form_data(published, dimension_usage="10"))
    assert response["Location"] == url("detail", published)
    assert HealthDimension.objects.get(model=published, key="usage").weight == 40
    htmx = client.post(url("edit", published), {}, headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == url("detail", published)


def test_publishing_a_version_someone_else_just_published_is_refused(
    client_for, maria_manager, ada_admin, draft, published, enqueued
):
    stale_page = client_for(ada_admin).get(url("publish", draft))
    assert stale_page.status_code == 200
    editor.publish_draft(model=draft, user=maria_manager)
    response = client_for(ada_admin).post(url("publish", draft), follow=True)
    assert response.redirect_chain[-1][0] == url("detail", draft)
    assert f"Version {draft.version} is not a draft any more." in response.content.decode()
    draft.refresh_from_db()
    assert draft.published_by == maria_manager
    assert AuditEvent.objects.filter(action="health_model.published").count() == 1


def test_discarding_asks_first_then_deletes_the_draft(client_for, maria_manager, draft, published):
    client = client_for(maria_manager)
    confirm = client.get(url("discard", draft)).content.decode()
    assert f"Discard draft version {draft.version}?" in confirm
    assert HealthModel.objects.filter(pk=draft.pk).exists()
    response = client.post(url("discard", draft))
    assert response["Location"] == url("list")
    assert not HealthModel.objects.filter(pk=draft.pk).exists()
    published.refresh_from_db()
    assert published.status == "published"


def test_the_detail_page_shows_weights_shares_and_bands(client_for, maria_manager, published):
    content = client_for(maria_manager).get(url("detail", published)).content.decode()
    assert "Product usage" in content
    assert "40.0%" in content  # usage 40 of 100
    assert "10.0%" in content  # each usage measure: 40% / 4
    assert "0.2 → 0; 0.5 → 50; 0.9 → 100" in content
    assert "Start a draft from this version" in content


def test_a_missing_version_is_a_404(client_for, maria_manager, db):
    assert client_for(maria_manager).get(reverse("health_models:detail", args=[999])).status_code == 404


def test_the_version_list_costs_the_same_queries_however_many_versions(
    client_for, maria_manager, published, django_assert_num_queries
):
    client = client_for(maria_manager)
    RetiredModelFactory()
    with CaptureQueriesContext(connection) as few:
        assert client.get(url("list")).status_code == 200
    RetiredModelFactory.create_batch(6)
    with django_assert_num_queries(len(few.captured_queries)):
        content = client.get(url("list")).content.decode()
    assert content.count("Old version") == 7
