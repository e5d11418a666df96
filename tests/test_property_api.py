"""POST /api/v1/metrics with generated bodies: never a 500; a 200 with exact counts or a 400 that
names each bad row's index and field, and then nothing written."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csworkbench.core.models import AuditEvent
from health.models import METRIC_FIELDS, DailyMetric
from ingest.tokens import create_api_token
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

URL = reverse("api:metrics")
ACCOUNTS = ("ACME-1", "ZETA-2", "OMNI-3")
TODAY = timezone.localdate()
PROPERTY = settings(
    max_examples=100,
    deadline=None,
    database=None,  # no example database in the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def send(client, ada_admin):
    for external_id in ACCOUNTS:
        AccountFactory(external_id=external_id)
    _token, raw = create_api_token(name="property", created_by=ada_admin)

    def post(body: bytes):
        """One request in a savepoint rolled back afterwards: each example starts from no metrics."""
        with transaction.atomic():
            response = client.post(
                URL, body, content_type="application/json", headers={"Authorization": f"Bearer {raw}"}
            )
            written = DailyMetric.objects.count()
            audited = AuditEvent.objects.filter(action="import").count()
            transaction.set_rollback(True)
        return response, written, audited

    return post


# --- generated values: mostly plausible, often slightly wrong -------------------------------

past_dates = st.dates(min_value=TODAY - timedelta(days=3000), max_value=TODAY).map(lambda d: d.isoformat())
odd_dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),  # 1999, 2150, tomorrow…
    st.sampled_from(["2026-02-30", "2026-13-01", "20261101", "", "yesterday", "2026-1-1"]),
    st.integers(),
    st.none(),
)
counts = st.integers(min_value=0, max_value=2_147_483_647)
odd_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.text(max_size=8),
    st.sampled_from([None, "12", 1e308, -0.0, 12.0, 99999.995]),
)
json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10)
)
any_json = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def valid_row(account: str, day: str, values: dict) -> dict:
    """Counts as drawn, then the fields with their own rules brought within them."""
    row = {"account": account, "date": day, **values}
    if "csat_count" in row or "csat_sum" in row:  # both or neither, each score 1–5
        count = (row.pop("csat_count", None) or 0) % 1000 + 1
        row["csat_count"], row["csat_sum"] = count, count * 3
    if row.get("nps") is not None:
        row["nps"] %= 11
    if row.get("features_used") is not None and row.get("features_offered") is not None:
        row["features_used"] = min(row["features_used"], row["features_offered"])  # never more than offered
    if row.get("first_response_hours") is not None:
        row["first_response_hours"] = round(row["first_response_hours"] % 99999 / 7, 2)
    return row


valid_rows = st.lists(
    st.builds(
        valid_row,
        st.sampled_from(ACCOUNTS),
        past_dates,
        st.dictionaries(st.sampled_from(METRIC_FIELDS), st.one_of(counts, st.none()), max_size=6),
    ),
    max_size=8,
    unique_by=lambda row: (row["account"], row["date"]),
)

messy_row = st.one_of(
    st.fixed_dictionaries(
        {
            "account": st.one_of(
                st.sampled_from(ACCOUNTS), st.sampled_from(["NOPE", "", "acme-1"]), any_json
            ),
            "date": st.one_of(past_dates, odd_dates),
        },
        optional={
            **{name: st.one_of(counts, odd_numbers) for name in METRIC_FIELDS},
            "unknown_field": any_json,
        },
    ),
    any_json,  # not even an object
)

bodies = st.one_of(
    st.lists(messy_row, max_size=8).map(lambda rows: json.dumps({"metrics": rows}).encode()),
    any_json.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=64),
    st.text(max_size=64).map(str.encode),
)


# --- the properties -----------------------------------------------------------------------------


def check_refusal(response, written: int, audited: int, rows) -> None:
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["error"] in {"malformed_json", "invalid_shape", "invalid_rows"}
    assert isinstance(body["detail"], str) and body["detail"]
    assert (written, audited) == (0, 0), "a refused request wrote something"
    if body["error"] == "invalid_rows":
        assert body["error_count"] >= len(body["errors"]) >= 1
        for error in body["errors"]:
            assert 0 <= error["index"] < len(rows)
            row = rows[error["index"]]
            assert isinstance(error["field"], str) and isinstance(error["reason"], str) and error["reason"]
            if isinstance(row, dict):
                # One of the row's own keys (cut to 40 characters), or a required field it lacks.
                known = {"account", "date", *METRIC_FIELDS, *(str(key)[:40] for key in row)}
                assert error["field"] in known, error
            else:
                assert error["field"] == "", "a row that is not an object has no field to name"


@PROPERTY
@given(body=bodies)
def test_any_body_is_answered_with_200_or_a_400_that_wrote_nothing(send, body):
    response, written, audited = send(body)
    assert response.status_code in {200, 400}, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    try:
        rows = json.loads(body)["metrics"]
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        rows = None
    if response.status_code == 200:
        answer = response.json()
        assert answer == {"received": len(rows), "created": len(rows), "updated": 0, "unchanged": 0}
        assert written == len(rows)
        assert audited == 1
    else:
        check_refusal(response, written, audited, rows if isinstance(rows, list) else [])


@PROPERTY
@given(rows=valid_rows)
def test_valid_rows_are_all_written_with_exact_counts(send, rows):
    response, written, audited = send(json.dumps({"metrics": rows}).encode())
    assert response.status_code == 200, response.content[:500]
    assert response.json() == {"received": len(rows), "created": len(rows), "updated": 0, "unchanged": 0}
    assert (written, audited) == (len(rows), 1)


@PROPERTY
@given(rows=valid_rows.filter(bool), data=st.data())
def test_one_bad_row_refuses_the_whole_batch(send, rows, data):
    index = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    field = data.draw(
        st.sampled_from([name for name in METRIC_FIELDS if name not in ("csat_count", "csat_sum")])
    )
    bad = data.draw(st.one_of(st.integers(max_value=-1), st.text(max_size=5), st.booleans(), st.just(2**40)))
    rows[index] = {**rows[index], field: bad}
    response, written, audited = send(json.dumps({"metrics": rows}).encode())
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"index": index, "field": field} in [{"index": e["index"], "field": e["field"]} for e in errors]
    assert (written, audited) == (0, 0)
