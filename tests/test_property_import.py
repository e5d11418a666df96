"""Generated CSV files through `load_csv`, for metrics and accounts: no exception escapes; a file
is either loaded whole, or refused with line-numbered errors and nothing written."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounts.models import Account, Contact
from csworkbench.core.models import AuditEvent
from health.models import METRIC_FIELDS, DailyMetric
from ingest.load import load_csv
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
ACCOUNTS = ("ACME-1", "ZETA-2")
PROPERTY = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ACCOUNT_COLUMNS = (
    "external_id",
    "name",
    "industry",
    "employee_band",
    "acquisition_channel",
    "contract_start",
    "value_tier",
    "mrr",
    "renewal_date",
    "status",
    "churned_on",
    "owner",
)


@pytest.fixture
def load(alice_csm):
    for external_id in ACCOUNTS:
        AccountFactory(external_id=external_id)

    def run(kind: str, data: bytes):
        """Load in a savepoint rolled back afterwards, so every example starts from the same rows."""
        with transaction.atomic():
            before = snapshot()
            result = load_csv(kind=kind, file=io.BytesIO(data), name="property.csv")
            after = snapshot()
            transaction.set_rollback(True)
        return result, before, after

    return run


def snapshot() -> dict[str, int]:
    return {
        "metrics": DailyMetric.objects.count(),
        "accounts": Account.objects.count(),
        "contacts": Contact.objects.count(),
        "audit": AuditEvent.objects.filter(action="import").count(),
    }


# --- cells, rows, files ------------------------------------------------------------------------

past_dates = st.dates(min_value=TODAY - timedelta(days=4000), max_value=TODAY).map(lambda d: d.isoformat())
small_counts = st.integers(min_value=0, max_value=5).map(str)  # pass the cross-field rules (csat, nps)
dates = st.one_of(
    past_dates,
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["2026-02-30", "2026/11/01", "01-11-2026", " 2026-11-01 ", ""]),
)
numbers = st.one_of(
    st.integers(min_value=0, max_value=3_000_000_000).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.decimals(allow_nan=True, allow_infinity=True, places=3).map(str),
    st.sampled_from(["1,000", "1e5", "٣", "12 ", " 7", "0x10", "NaN", "-0", "9" * 400]),
)
odd_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20
)  # quotes, commas, newlines, emoji, NULs…
cells = {
    "metrics": {
        "account": st.one_of(st.sampled_from(ACCOUNTS), st.sampled_from(["NOPE", "acme-1", ""]), odd_text),
        "date": st.one_of(past_dates, dates),
        **{name: st.one_of(small_counts, st.just(""), numbers, odd_text) for name in METRIC_FIELDS},
    },
    "accounts": {
        "external_id": st.one_of(st.sampled_from(["NEW-1", "NEW-2", "ACME-1", ""]), odd_text),
        "name": st.one_of(
            st.just("New customer"), odd_text.filter(str.strip), st.text(min_size=201, max_size=210)
        ),
        "industry": st.sampled_from(["software", "Retail", "banking", ""]),
        "employee_band": st.sampled_from(["11-50", "1000+", "lots", ""]),
        "acquisition_channel": st.sampled_from(["inbound", "partner", "tv", ""]),
        "contract_start": st.one_of(past_dates, dates),
        "value_tier": st.sampled_from(["A", "b", "Z", ""]),
        "mrr": st.one_of(numbers, st.sampled_from(["1200.00", "12.345", "-5", ""])),
        "renewal_date": dates,
        "status": st.sampled_from(["", "active", "churned", "gone"]),
        "churned_on": dates,
        "owner": st.sampled_from(["", "alice", "nobody"]),
    },
}
HEADERS = {"metrics": ("account", "date", *METRIC_FIELDS), "accounts": ACCOUNT_COLUMNS}


REQUIRED = {
    "metrics": ("account", "date"),
    "accounts": (
        "external_id",
        "name",
        "industry",
        "employee_band",
        "acquisition_channel",
        "contract_start",
        "value_tier",
    ),
}


@st.composite
def csv_files(draw, kind: str) -> bytes:
    """Mostly a plausible file (the required columns, some optional ones, in any order), with
    now and then a column missing, unknown or repeated, a ragged row, a broken quote, another
    encoding or stray bytes."""
    optional = [name for name in HEADERS[kind] if name not in REQUIRED[kind]]
    header = draw(st.permutations([*REQUIRED[kind], *draw(st.lists(st.sampled_from(optional), unique=True))]))
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        header = header[1:]
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        header = [*header, draw(st.sampled_from(["Unknown", header[0] if header else "x", " DATE ", ""]))]
    rows = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        row = [draw(cells[kind].get(column.strip().lower(), odd_text)) for column in header]
        if draw(st.integers(min_value=0, max_value=9)) == 0:  # a short or long row
            row = row[:-1] if draw(st.booleans()) else [*row, "extra"]
        rows.append(row)
    out = io.StringIO()
    lineterminator = draw(st.sampled_from(["\n", "\r\n"]))
    csv.writer(out, lineterminator=lineterminator).writerows([header, *rows])
    text = out.getvalue()
    if draw(st.integers(min_value=0, max_value=9)) == 0:  # a broken quote
        text = text.replace(",", ',"', 1)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16", "cp950"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        position = draw(st.integers(min_value=0, max_value=len(data)))
        data = data[:position] + draw(st.binary(min_size=1, max_size=8)) + data[position:]
    return data


def check(result, before: dict, after: dict, kind: str) -> None:
    event("loaded" if result.ok else "refused")  # shown by --hypothesis-show-statistics
    if result.ok:
        assert not result.errors
        assert result.loaded == result.created + result.updated + result.unchanged == result.rows
        table = "metrics" if kind == "metrics" else "accounts"
        assert after[table] - before[table] == result.created
        assert after["audit"] == before["audit"] + 1
    else:
        assert result.error_count >= len(result.errors) >= 1
        for error in result.errors:
            assert isinstance(error["line"], int) and error["line"] >= 1, error
            assert isinstance(error["column"], str) and error["reason"], error
        assert (result.created, result.updated, result.unchanged) == (0, 0, 0)
        assert after == before, "a refused file wrote something"


@PROPERTY
@given(data=csv_files("metrics"))
def test_any_metrics_file_loads_whole_or_not_at_all(load, data):
    result, before, after = load("metrics", data)
    check(result, before, after, "metrics")


@PROPERTY
@given(data=csv_files("accounts"))
def test_any_accounts_file_loads_whole_or_not_at_all(load, data):
    result, before, after = load("accounts", data)
    check(result, before, after, "accounts")


@PROPERTY
@given(data=st.binary(max_size=200), kind=st.sampled_from(["metrics", "accounts"]))
def test_random_bytes_are_refused_or_loaded_never_raised(load, data, kind):
    result, before, after = load(kind, data)
    check(result, before, after, kind)


@PROPERTY
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(ACCOUNTS), st.integers(min_value=1, max_value=3000), st.integers(0, 10**6)),
        min_size=1,
        max_size=20,
        unique_by=lambda row: row[:2],
    ),
    bom=st.booleans(),
    crlf=st.booleans(),
)
def test_a_clean_metrics_file_is_loaded_row_for_row(load, rows, bom, crlf):
    end = "\r\n" if crlf else "\n"
    lines = ["account,date,logins"] + [
        f"{account},{(TODAY - timedelta(days=days)).isoformat()},{logins}" for account, days, logins in rows
    ]
    data = ("\ufeff" if bom else "").encode() + end.join(lines).encode() + end.encode()
    result, before, after = load("metrics", data)
    assert result.ok, result.errors[:3]
    assert result.created == len(rows) == after["metrics"] - before["metrics"]
