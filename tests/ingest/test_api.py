"""POST /api/v1/metrics: bearer tokens, JSON errors for every bad request, idempotent upserts."""

import hashlib
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from csworkbench.core.models import AuditEvent
from health.models import DailyMetric
from ingest.tokens import authenticate_token, create_api_token, revoke_api_token
from tests.factories import AccountFactory
from tests.health_factories import DailyMetricFactory

pytestmark = pytest.mark.django_db

URL = reverse("api:metrics")
YESTERDAY = (timezone.localdate() - timedelta(days=1)).isoformat()
TWO_DAYS_AGO = (timezone.localdate() - timedelta(days=2)).isoformat()


@pytest.fixture
def raw_token(ada_admin):
    _token, raw = create_api_token(name="product analytics", created_by=ada_admin)
    return raw


@pytest.fixture
def accounts():
    return AccountFactory(external_id="ACME-1"), AccountFactory(external_id="ZETA-2")


@pytest.fixture
def post(client, raw_token):
    def send(payload, *, token=raw_token, raw_body=None, **headers):
        body = raw_body if raw_body is not None else json.dumps(payload)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return client.post(URL, body, content_type="application/json", headers=headers)

    return send


def batch():
    return {
        "metrics": [
            {
                "account": "ACME-1",
                "date": YESTERDAY,
                "logins": 12,
                "active_users": 4,
                "first_response_hours": 2.5,
            },
            {
                "account": "ZETA-2",
                "date": YESTERDAY,
                "logins": 0,
                "csat_count": 2,
                "csat_sum": 9,
                "nps": None,
            },
        ]
    }


# --- Authentication -----------------------------------------------------------------------------


def test_it_refuses_a_request_without_a_token(post, accounts):
    response = post(batch(), token=None)
    assert response.status_code == 401
    assert response.json()["error"] == "missing_token"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not DailyMetric.objects.exists()


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token abc"])
def test_it_refuses_other_authorization_schemes(client, accounts, header):
    response = client.post(
        URL, json.dumps(batch()), content_type="application/json", HTTP_AUTHORIZATION=header
    )
    assert response.status_code == 401
    assert "detail" in response.json()


def test_it_refuses_a_wrong_token(post, raw_token, accounts):
    response = post(batch(), token=raw_token[:-1] + ("A" if raw_token[-1] != "A" else "B"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_it_refuses_a_revoked_token(post, raw_token, accounts):
    revoke_api_token(token=ApiToken.objects.get(), revoked_by=None)
    response = post(batch())
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_the_token_is_stored_only_as_a_hash(raw_token):
    token = ApiToken.objects.get()
    assert token.token_hash == hashlib.sha256(raw_token.encode()).hexdigest()
    assert token.prefix == raw_token[:8]
    stored = " ".join(str(value) for value in ApiToken.objects.values().get().values())
    assert raw_token not in stored
    assert authenticate_token(raw_token) == token


def test_last_use_is_recorded_at_most_once_a_minute(raw_token):
    token = authenticate_token(raw_token)
    first = ApiToken.objects.get().last_used_at
    assert first is not None and token.last_used_at == first
    authenticate_token(raw_token)
    assert ApiToken.objects.get().last_used_at == first
    ApiToken.objects.update(last_used_at=first - timedelta(minutes=2))
    authenticate_token(raw_token)
    assert ApiToken.objects.get().last_used_at > first - timedelta(minutes=1)


def test_it_needs_no_session_and_no_csrf_token(raw_token, accounts):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        URL,
        json.dumps(batch()),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw_token}"},
    )
    assert response.status_code == 200


# --- Bad requests -----------------------------------------------------------------------------


def test_any_method_but_post_gets_a_json_405(client, raw_token):
    response = client.get(URL, headers={"Authorization": f"Bearer {raw_token}"})
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["error"] == "method_not_allowed"
    assert client.put(URL).status_code == 405


@pytest.mark.parametrize("body", ["{", "not json", '{"metrics": [}', "[" * 100_000, "\xff"])
def test_malformed_json_is_a_400(post, accounts, body):
    response = post(None, raw_body=body.encode("latin-1") if body == "\xff" else body)
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"


@pytest.mark.parametrize(
    "payload",
    [[], {"rows": []}, {"metrics": {}}, {"metrics": "x"}, {"metrics": [], "extra": 1}, 42, None],
)
def test_a_body_of_the_wrong_shape_is_a_400(post, accounts, payload):
    response = post(payload)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_shape"


def test_every_bad_row_is_reported_and_nothing_is_written(post, accounts):
    rows = [
        {"account": "ACME-1", "date": YESTERDAY, "logins": 3},  # fine, but not written either
        {"account": "NOPE", "date": "2025-13-01", "logins": "12"},
        {
            "account": "ACME-1",
            "date": TWO_DAYS_AGO,
            "logins": True,
            "active_users": 2.5,
            "nps": 11,
            "colour": 1,
        },
        "not an object",
        {"date": YESTERDAY, "csat_count": 2, "csat_sum": 11},
        {"account": "ACME-1", "date": YESTERDAY, "logins": -1},
    ]
    response = post({"metrics": rows})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_rows"
    found = [(error["index"], error["field"]) for error in body["errors"]]
    assert found == [
        (1, "account"),
        (1, "date"),
        (1, "logins"),
        (2, "colour"),
        (2, "logins"),
        (2, "active_users"),
        (2, "nps"),
        (3, ""),
        (4, "account"),
        (5, "logins"),
    ]
    reasons = {(error["index"], error["field"]): error["reason"] for error in body["errors"]}
    assert "not a string" in reasons[(1, "logins")]
    assert "true or false" in reasons[(2, "logins")]
    assert "whole number" in reasons[(2, "active_users")]
    assert "NOPE" in reasons[(1, "account")]
    assert body["error_count"] == len(found)
    assert not DailyMetric.objects.exists()


def test_absurd_numbers_are_row_errors_not_crashes(post, accounts):
    rows = [
        {"account": "ACME-1", "date": YESTERDAY, "first_response_hours": 1e308},
        {"account": "ACME-1", "date": TWO_DAYS_AGO, "first_response_hours": 1e-30, "logins": 10**30},
    ]
    response = post(None, raw_body=json.dumps({"metrics": rows}).replace("1e-30", "NaN"))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [
        (0, "first_response_hours"),
        (1, "logins"),
        (1, "first_response_hours"),
    ]
    assert "less than 100000" in errors[0]["reason"]


def test_row_level_rules_match_the_csv_rules(post, accounts):
    response = post(
        {
            "metrics": [
                {"account": "ACME-1", "date": YESTERDAY, "csat_count": 2, "csat_sum": 11},
                {"account": "ACME-1", "date": TWO_DAYS_AGO, "csat_count": 2},
                {"account": "ZETA-2", "date": YESTERDAY},
                {"account": "ZETA-2", "date": YESTERDAY, "logins": 1},
            ]
        }
    )
    errors = response.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(0, "csat_sum"), (1, "csat_sum"), (3, "date")]
    assert "between 2 and 10" in errors[0]["reason"]
    assert "Row 2" in errors[2]["reason"]


def test_a_body_over_the_limit_is_a_413(post, accounts, settings):
    settings.API_MAX_BODY_BYTES = 1000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post({"metrics": [{"account": "ACME-1", "date": YESTERDAY, "logins": 1}] * 30})
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"
    # Django's own limit may be higher: the view still checks what it read.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000_000
    assert post({"metrics": [{"account": "ACME-1", "date": YESTERDAY, "logins": 1}] * 30}).status_code == 413
    assert not DailyMetric.objects.exists()


def test_more_than_ten_thousand_rows_is_a_413(post, accounts):
    response = post({"metrics": [{}] * 10_001})
    assert response.status_code == 413
    assert response.json()["error"] == "too_many_rows"


# --- Writing ----------------------------------------------------------------------------------------


def test_it_upserts_and_sending_the_same_batch_twice_changes_nothing(post, accounts):
    first = post(batch())
    assert first.status_code == 200
    assert first.json() == {"received": 2, "created": 2, "updated": 0, "unchanged": 0}
    acme = DailyMetric.objects.get(account__external_id="ACME-1")
    assert (acme.logins, acme.active_users, acme.first_response_hours) == (12, 4, Decimal("2.50"))
    rows = list(DailyMetric.objects.order_by("pk").values())
    second = post(batch())
    assert second.json() == {"received": 2, "created": 0, "updated": 0, "unchanged": 2}
    assert list(DailyMetric.objects.order_by("pk").values()) == rows


def test_a_changed_value_updates_and_a_missing_one_keeps_the_stored_value(post, accounts):
    DailyMetricFactory(account=accounts[0], date=YESTERDAY, logins=5, active_users=3, nps=8)
    response = post({"metrics": [{"account": "ACME-1", "date": YESTERDAY, "logins": 6}]})
    assert response.json() == {"received": 1, "created": 0, "updated": 1, "unchanged": 0}
    metric = DailyMetric.objects.get()
    assert (metric.logins, metric.active_users, metric.nps) == (6, 3, 8)


def test_each_accepted_request_is_audited(post, accounts):
    post(batch())
    audit = AuditEvent.objects.get(action="import")
    assert audit.target == "api:product analytics"
    assert audit.details["created"] == 2 and audit.details["via"] == "api"


def test_an_empty_batch_is_accepted(post):
    assert post({"metrics": []}).json() == {"received": 0, "created": 0, "updated": 0, "unchanged": 0}


def test_an_account_deleted_between_the_check_and_the_write_is_a_row_error(post, accounts, monkeypatch):
    from ingest import api, api_views

    _acme, zeta = accounts

    def write_after_a_deletion(**kwargs):
        zeta.delete()  # as if an admin deleted it while the request was being checked
        return api.upsert_metrics(**kwargs)

    monkeypatch.setattr(api_views, "upsert_metrics", write_after_a_deletion)
    response = post(batch())
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_rows"
    assert [(error["index"], error["field"]) for error in body["errors"]] == [(1, "account")]
    assert not DailyMetric.objects.exists()  # not even ACME-1's row


def test_an_account_replaced_between_the_check_and_the_write_asks_for_a_resend(post, accounts, monkeypatch):
    from ingest import api, api_views

    _acme, zeta = accounts

    def write_after_a_replacement(**kwargs):
        zeta.delete()  # the rows name the deleted account's id; a new one takes its external ID
        AccountFactory(external_id="ZETA-2")
        return api.upsert_metrics(**kwargs)

    monkeypatch.setattr(api_views, "upsert_metrics", write_after_a_replacement)
    response = post(batch())
    assert response.status_code == 400
    assert response.json()["error"] == "accounts_changed"
    assert not DailyMetric.objects.exists()
