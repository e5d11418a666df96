"""schemathesis drives the metrics API in-process (WSGI) from docs/api/openapi.yaml: requests
valid and invalid by the schema, with and without a token; never a 5xx, and every answer is
described by the document (status, content type, body, headers)."""

from datetime import timedelta
from pathlib import Path

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from health.models import DailyMetric
from ingest.tokens import create_api_token
from tests.factories import AccountFactory

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "api" / "openapi.yaml"
schema = schemathesis.openapi.from_path(SCHEMA_PATH)
schema.app = get_wsgi_application()

# Business rules the schema cannot state (the account must exist, csat_sum within 1–5 per
# response) turn schema-valid rows into a documented 400, so "positive data accepted" is not
# checked; everything else is.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """schemathesis calls the WSGI handler directly, whose end-of-request signal would close the
    database connection the test's transaction lives on; Django's own test client detaches the
    handler the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def token(db, ada_admin):
    AccountFactory(external_id="ACME-1")
    _token, raw = create_api_token(name="schemathesis", created_by=ada_admin)
    return raw


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_the_api_answers_as_documented(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


def test_the_documented_example_is_written(token):
    operation = schema["/metrics"]["POST"]
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    case = operation.Case(
        body={"metrics": [{"account": "ACME-1", "date": day, "logins": 190, "first_response_hours": 2.5}]},
        media_type="application/json",
    )
    response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
    assert response.status_code == 200
    assert response.json() == {"received": 1, "created": 1, "updated": 0, "unchanged": 0}
    assert DailyMetric.objects.filter(account__external_id="ACME-1").count() == 1


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("POST", {}, 401),
        ("POST", {"Authorization": "Bearer not-a-token"}, 401),
        ("GET", None, 405),
    ],
)
def test_the_refusals_match_the_document(token, method, headers, status):
    operation = schema["/metrics"]["POST"]
    case = operation.Case(body={"metrics": []}, media_type="application/json")
    case.method = method
    sent = {"Authorization": f"Bearer {token}"} if headers is None else headers
    response = case.call(headers=sent)
    assert response.status_code == status
    case.method = "POST"  # validate against the one documented operation
    case.validate_response(response, checks=CHECKS)


def test_an_oversized_batch_is_a_documented_413(token):
    operation = schema["/metrics"]["POST"]
    day = timezone.localdate().isoformat()
    rows = [{"account": "ACME-1", "date": day}] * 10_001
    case = operation.Case(body={"metrics": rows}, media_type="application/json")
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 413
    case.validate_response(response, checks=CHECKS)
