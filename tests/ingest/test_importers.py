"""The CSV loader: every kind loads, reloading changes nothing, and bad files load nothing."""

import io
from datetime import UTC, date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Account, Contact, MrrMovement, Touchpoint
from csworkbench.core.models import AuditEvent
from csworkbench.demo.seed import seed_demo
from csworkbench.demo.stories import STORY_ACCOUNTS
from health.models import METRIC_FIELDS, DailyMetric, SignalEvent
from ingest.cells import MAX_STORED_ERRORS
from ingest.load import load_csv
from tests.conftest import needs
from tests.factories import AccountFactory, ContactFactory
from tests.health_factories import DailyMetricFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()
TWO_DAYS_AGO = (TODAY - timedelta(days=2)).isoformat()
SAMPLES = Path(settings.BASE_DIR) / "docs" / "samples"

ACCOUNTS_HEADER = (
    "external_id,name,industry,employee_band,region,acquisition_channel,plan,mrr,contract_start,"
    "renewal_date,owner,value_tier,status,churned_on,churn_type"
)


def load(kind: str, content: str | bytes, **kwargs):
    data = content.encode() if isinstance(content, str) else content
    return load_csv(kind=kind, file=io.BytesIO(data), **kwargs)


def errors_of(result) -> list[tuple[int, str]]:
    return [(error["line"], error["column"]) for error in result.errors]


@pytest.fixture
def acme(alice_csm):
    return AccountFactory(external_id="ACME-1", name="Acme", owner=alice_csm)


@pytest.fixture
def zeta():
    return AccountFactory(external_id="ZETA-2", name="Zeta")


# --- Each kind loads ------------------------------------------------------------------------


def test_it_creates_accounts_with_their_owner(alice_csm):
    result = load(
        "accounts",
        f"{ACCOUNTS_HEADER}\n"
        "NEW-1,Northwind 北風,retail,51-200,Taipei,partner,Business,2400.50,"
        "2024-01-15,2026-01-15,alice,A,active,,\n"
        "NEW-2,Old Co,other,1-10,,inbound,,0,2020-05-01,,,C,churned,2024-02-01,cancelled\n",
    )
    assert result.ok, result.errors
    assert (result.rows, result.created, result.updated, result.unchanged) == (2, 2, 0, 0)
    northwind = Account.objects.get(external_id="NEW-1")
    assert northwind.name == "Northwind 北風"
    assert northwind.owner == alice_csm
    assert northwind.mrr == Decimal("2400.50")
    assert northwind.renewal_date == date(2026, 1, 15)
    old = Account.objects.get(external_id="NEW-2")
    assert (old.status, old.churned_on, old.churn_type, old.owner) == (
        "churned",
        date(2024, 2, 1),
        "cancelled",
        None,
    )


def test_it_updates_only_the_columns_in_the_file(acme):
    header = "external_id,name,industry,employee_band,acquisition_channel,contract_start,value_tier"
    result = load("accounts", f"{header}\nACME-1,Acme Renamed,retail,1-10,partner,{acme.contract_start},A\n")
    assert result.ok, result.errors
    assert (result.created, result.updated) == (0, 1)
    acme.refresh_from_db()
    assert acme.name == "Acme Renamed"
    assert acme.mrr == Decimal("1200.00")  # no mrr column: left as it was
    assert acme.owner.username == "alice"


def test_reactivating_an_account_clears_its_churn_fields():
    account = AccountFactory(external_id="BACK-1", status="churned", churned_on=TODAY, churn_type="cancelled")
    header = "external_id,name,industry,employee_band,acquisition_channel,contract_start,value_tier,status"
    result = load(
        "accounts", f"{header}\nBACK-1,Back,retail,1-10,partner,{account.contract_start},B,active\n"
    )
    assert result.ok, result.errors
    account.refresh_from_db()
    assert (account.status, account.churned_on, account.churn_type) == ("active", None, "")


def test_it_upserts_contacts_by_email_or_else_by_name(acme):
    known = ContactFactory(account=acme, name="Amy Tsai", email="AMY@acme.example", role="Buyer")
    nameless = ContactFactory(account=acme, name="Bo Lin", email="", role="")
    result = load(
        "contacts",
        "account,name,email,role,is_champion,is_primary,left_on\n"
        "ACME-1,Amy T.,amy@acme.example,Head of Ops,yes,yes,\n"
        "ACME-1,Bo Lin,,Analyst,no,no,2025-06-30\n"
        "ACME-1,Cy Wu,cy@acme.example,,,,\n",
    )
    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (1, 2, 0)
    known.refresh_from_db()
    nameless.refresh_from_db()
    assert (known.name, known.role, known.is_champion, known.is_primary) == (
        "Amy T.",
        "Head of Ops",
        True,
        True,
    )
    assert (nameless.role, nameless.left_on) == ("Analyst", date(2025, 6, 30))
    assert Contact.objects.get(email="cy@acme.example").is_champion is False


def test_a_new_primary_contact_replaces_the_previous_one(acme):
    old = ContactFactory(account=acme, name="Old Primary", is_primary=True)
    result = load("contacts", "account,name,email,is_primary\nACME-1,New Primary,new@acme.example,true\n")
    assert result.ok, result.errors
    old.refresh_from_db()
    assert old.is_primary is False
    assert Contact.objects.get(account=acme, is_primary=True).name == "New Primary"


def test_it_loads_metrics_and_empty_cells_mean_not_reported(acme):
    result = load(
        "metrics",
        f"account,date,logins,active_users,first_response_hours,csat_count,csat_sum,nps\n"
        f"ACME-1,{YESTERDAY},12,4,3.456,2,9,10\n"
        f"ACME-1,{TWO_DAYS_AGO},0,,,,,\n",
    )
    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    latest = DailyMetric.objects.get(account=acme, date=YESTERDAY)
    assert (latest.logins, latest.active_users, latest.csat_count, latest.csat_sum, latest.nps) == (
        12,
        4,
        2,
        9,
        10,
    )
    assert latest.first_response_hours == Decimal("3.46")  # hours are rounded to the column's two places
    earlier = DailyMetric.objects.get(account=acme, date=TWO_DAYS_AGO)
    assert earlier.logins == 0  # zero is a value
    assert earlier.active_users is None and earlier.nps is None  # empty is "not reported"


def test_a_value_not_reported_keeps_the_one_already_stored(acme):
    DailyMetricFactory(account=acme, date=YESTERDAY, logins=5, active_users=3, nps=7)
    result = load("metrics", f"account,date,logins,active_users,nps\nACME-1,{YESTERDAY},9,,\n")
    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    metric = DailyMetric.objects.get(account=acme, date=YESTERDAY)
    assert (metric.logins, metric.active_users, metric.nps) == (9, 3, 7)


def test_it_loads_events_and_updates_their_note(acme):
    content = f"account,kind,occurred_on,note\nACME-1,champion_left,{YESTERDAY},Amy left\n"
    assert load("events", content).created == 1
    result = load("events", content.replace("Amy left", "Amy left for a competitor"))
    assert (result.created, result.updated) == (0, 1)
    assert SignalEvent.objects.get(account=acme).note == "Amy left for a competitor"


def test_it_loads_mrr_movements(acme):
    result = load(
        "mrr",
        "account,kind,occurred_on,amount,note\n"
        f"ACME-1,expansion,{YESTERDAY},300.00,10 more seats\n"
        f"ACME-1,contraction,{YESTERDAY},300.00,\n",
    )
    assert result.ok, result.errors
    assert sorted(MrrMovement.objects.filter(account=acme).values_list("kind", "amount")) == [
        ("contraction", Decimal("300.00")),
        ("expansion", Decimal("300.00")),
    ]


def test_it_loads_touchpoints_in_the_teams_time_zone(acme, alice_csm):
    result = load(
        "touchpoints",
        "account,kind,occurred_at,author,subject,body,sentiment\n"
        f'ACME-1,call,{YESTERDAY} 14:30,alice,Renewal call,"Happy, wants SSO",positive\n'
        f"ACME-1,note,{YESTERDAY}T09:00:00+00:00,,From the CRM,,\n",
    )
    assert result.ok, result.errors
    call = Touchpoint.objects.get(subject="Renewal call")
    assert (call.author, call.body, call.sentiment) == (alice_csm, "Happy, wants SSO", "positive")
    assert timezone.localtime(call.occurred_at).strftime("%H:%M") == "14:30"
    note = Touchpoint.objects.get(subject="From the CRM")
    assert (note.author, note.sentiment) == (None, "neutral")
    assert note.occurred_at.astimezone(UTC).hour == 9


def test_a_successful_load_is_audited(acme, maria_manager):
    load("events", f"account,kind,occurred_on\nACME-1,downgrade_requested,{YESTERDAY}\n", actor=maria_manager)
    audit = AuditEvent.objects.get(action="import")
    assert audit.actor == maria_manager
    assert audit.details["kind"] == "events"
    assert audit.details["created"] == 1


# --- Reloading changes nothing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        ("accounts", f"{ACCOUNTS_HEADER}\nNEW-1,New,retail,1-10,,inbound,,10,2024-01-01,,alice,B,active,,\n"),
        ("contacts", "account,name,email,is_primary\nACME-1,Amy,amy@acme.example,yes\nACME-1,Bo,,no\n"),
        ("metrics", f"account,date,logins,nps\nACME-1,{YESTERDAY},3,\nZETA-2,{YESTERDAY},,8\n"),
        ("events", f"account,kind,occurred_on,note\nACME-1,champion_left,{YESTERDAY},gone\n"),
        ("mrr", f"account,kind,occurred_on,amount\nACME-1,new,{YESTERDAY},99.50\n"),
        ("touchpoints", f"account,kind,occurred_at,subject\nACME-1,call,{YESTERDAY} 10:00,Hello\n"),
    ],
)
def test_loading_the_same_file_twice_changes_nothing(acme, zeta, kind, content):
    first = load(kind, content)
    assert first.ok, first.errors
    assert first.created > 0
    snapshot = {
        model: list(model.objects.order_by("pk").values())
        for model in (Account, Contact, DailyMetric, SignalEvent, MrrMovement, Touchpoint)
    }
    second = load(kind, content)
    assert second.ok, second.errors
    assert (second.created, second.updated, second.unchanged) == (0, 0, first.rows)
    for model, rows in snapshot.items():
        assert list(model.objects.order_by("pk").values()) == rows, model


# --- Every error path ---------------------------------------------------------------------------


def test_a_file_in_another_encoding_is_refused_whole(acme):
    content = f"account,kind,occurred_on,note\nACME-1,champion_left,{YESTERDAY},Café\n".encode("latin-1")
    result = load("events", content)
    assert errors_of(result) == [(1, "")]
    assert "UTF-8" in result.errors[0]["reason"]
    assert not SignalEvent.objects.exists()


def test_a_byte_order_mark_is_accepted(acme):
    result = load("events", f"\ufeffaccount,kind,occurred_on\nACME-1,champion_left,{YESTERDAY}\n".encode())
    assert result.ok, result.errors
    assert result.created == 1


def test_missing_unknown_and_repeated_columns_are_each_reported_on_line_1(acme):
    result = load("mrr", "account,kind,amount,colour,amount,size\nACME-1,new,10,red,10,L\n")
    assert errors_of(result) == [(1, "colour"), (1, "amount"), (1, "size"), (1, ""), (1, "occurred_on")]
    reasons = [error["reason"] for error in result.errors]
    assert reasons[0] == reasons[2] == "Unknown column."
    assert "more than once" in reasons[1]
    # The known columns are listed once for the file, not once per unknown column.
    assert "occurred_on" in reasons[3] and sum("occurred_on" in reason for reason in reasons) == 1
    assert "missing" in reasons[4]


def test_every_problem_of_a_line_is_reported_in_one_pass(alice_csm):
    """Checks across columns run beside the cell errors, so one fix round is enough."""
    body = (
        f"{ACCOUNTS_HEADER}\n"
        "ONE-1,One,retail,1-10,,inbound,,abc,2024-05-01,2024-01-01,alice,B,active,,\n"  # mrr + renewal
        "ONE-2,Two,nope,1-10,,inbound,,0,2024-01-01,,alice,B,churned,,\n"  # industry + churned_on
        "ONE-2,Two again,retail,1-10,,inbound,,0,2024-01-01,,alice,B,active,,\n"  # duplicate of line 3
        "ONE-4,Four,retail,1-10,,inbound,,0,not-a-date,2024-01-01,alice,B,active,,\n"  # date only
    )
    result = load("accounts", body)
    assert errors_of(result) == [
        (2, "mrr"),
        (2, "renewal_date"),
        (3, "industry"),
        (3, "churned_on"),
        (4, "external_id"),
        (5, "contract_start"),
    ]
    assert not Account.objects.filter(external_id__startswith="ONE-").exists()


def test_features_used_above_features_offered_is_refused(acme):
    result = load("metrics", f"account,date,features_used,features_offered\nACME-1,{YESTERDAY},9,5\n")
    assert errors_of(result) == [(2, "features_used")]
    assert "9" in result.errors[0]["reason"] and "5" in result.errors[0]["reason"]
    assert not DailyMetric.objects.exists()
    assert load("metrics", f"account,date,features_used,features_offered\nACME-1,{YESTERDAY},5,5\n").ok


def test_the_csat_message_counts_one_response_in_the_singular(acme):
    result = load("metrics", f"account,date,csat_count,csat_sum\nACME-1,{YESTERDAY},1,9\n")
    assert "With 1 response the sum" in result.errors[0]["reason"]


def test_column_names_are_matched_whatever_their_case_and_spaces(acme):
    result = load("events", f" Account ,KIND,Occurred_On\nACME-1,champion_left,{YESTERDAY}\n")
    assert result.ok, result.errors


def test_a_semicolon_separated_file_gets_a_hint(acme):
    result = load("events", f"account;kind;occurred_on\nACME-1;champion_left;{YESTERDAY}\n")
    assert len(result.errors) == 1
    assert "commas" in result.errors[0]["reason"]


def test_a_row_with_the_wrong_number_of_cells_is_reported(acme):
    result = load(
        "events",
        f"account,kind,occurred_on\nACME-1,champion_left,{YESTERDAY}\nACME-1,champion_left\n"
        f"ACME-1,cancellation_intent,{YESTERDAY},extra\n",
    )
    assert errors_of(result) == [(3, ""), (4, "")]
    assert "2 cells" in result.errors[0]["reason"] and "3" in result.errors[0]["reason"]
    assert not SignalEvent.objects.exists()


def test_only_an_active_csm_owns_an_account(alice_csm, maria_manager, ivan_interviewer, ada_admin):
    from tests.factories import UserFactory

    UserFactory(username="gone", roles=["csm"], is_active=False)
    rows = "".join(
        f"OWN-{n},Owner {n},retail,1-10,,inbound,,0,2024-01-01,,{owner},B,active,,\n"
        for n, owner in enumerate(["ivan", "maria", "ada", "gone", "alice"], start=1)
    )

    result = load("accounts", f"{ACCOUNTS_HEADER}\n{rows}")

    assert errors_of(result) == [(2, "owner"), (3, "owner"), (4, "owner"), (5, "owner")]
    reasons = [error["reason"] for error in result.errors]
    assert all("only CSMs own accounts" in reason for reason in reasons[:3]), reasons
    assert "deactivated" in reasons[3]
    # All or nothing: the good row waits with the bad ones.
    assert not Account.objects.filter(external_id__startswith="OWN-").exists()

    fixed = load(
        "accounts", f"{ACCOUNTS_HEADER}\nOWN-5,Owner 5,retail,1-10,,inbound,,0,2024-01-01,,alice,B,active,,\n"
    )
    assert not fixed.errors
    assert Account.objects.get(external_id="OWN-5").owner == alice_csm


def test_unknown_accounts_owners_and_authors_are_reported(acme):
    accounts = load(
        "accounts", f"{ACCOUNTS_HEADER}\nNEW-1,New,retail,1-10,,inbound,,0,2024-01-01,,nobody,B,active,,\n"
    )
    assert errors_of(accounts) == [(2, "owner")]
    assert "nobody" in accounts.errors[0]["reason"]
    touchpoints = load(
        "touchpoints",
        f"account,kind,occurred_at,author,subject\nNOPE-9,call,{YESTERDAY} 10:00,ghost,Hi\n",
    )
    assert errors_of(touchpoints) == [(2, "account"), (2, "author")]
    assert "NOPE-9" in touchpoints.errors[0]["reason"]


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("twelve", "not a whole number"),
        ("1.5", "not a whole number"),
        ("1,200", "not a whole number"),
        ("+3", "not a whole number"),
        ("-1", "negative"),
        ("2147483648", "at most 2147483647"),
        ("9" * 5000, "at most 2147483647"),
    ],
)
def test_counts_must_be_whole_non_negative_numbers(acme, cell, reason):
    result = load("metrics", f'account,date,logins\nACME-1,{YESTERDAY},"{cell}"\n')
    assert errors_of(result) == [(2, "logins")]
    assert reason in result.errors[0]["reason"]


def test_money_must_be_a_positive_amount_with_two_decimals(acme):
    result = load(
        "mrr",
        "account,kind,occurred_on,amount\n"
        f"ACME-1,new,{YESTERDAY},abc\n"
        f"ACME-1,new,{YESTERDAY},0\n"
        f"ACME-1,new,{YESTERDAY},-5\n"
        f"ACME-1,new,{YESTERDAY},10.005\n"
        f"ACME-1,new,{YESTERDAY},1e3\n"
        f"ACME-1,new,{YESTERDAY},10000000000\n"
        f"ACME-1,new,{YESTERDAY},{'9' * 39}\n",
    )
    assert errors_of(result) == [(line, "amount") for line in range(2, 9)]
    reasons = [error["reason"] for error in result.errors]
    assert "not a number" in reasons[0] and "not a number" in reasons[4]
    assert "greater than zero" in reasons[1] and "greater than zero" in reasons[2]
    assert "2 decimal places" in reasons[3]
    assert "less than" in reasons[5] and "less than" in reasons[6]


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("1999-12-31", "before 2000-01-01"),
        ((TODAY + timedelta(days=2)).isoformat(), "in the future"),
        ("2025-02-30", "not a valid date"),
        ("03/02/2025", "YYYY-MM-DD"),
        ("2025-W01-1", "YYYY-MM-DD"),
    ],
)
def test_dates_must_parse_and_be_in_range(acme, cell, reason):
    result = load("metrics", f"account,date,logins\nACME-1,{cell},1\n")
    assert errors_of(result) == [(2, "date")]
    assert reason in result.errors[0]["reason"]


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("0001-01-01 00:00", "before 2000-01-01"),
        ("9999-12-31 23:59-05:00", "in the future"),
        ((TODAY + timedelta(days=3)).isoformat() + " 10:00", "in the future"),
        ("2025-01-01 25:00", "not a valid date and time"),
        ("2025-01-01", "YYYY-MM-DD HH:MM"),
        ("yesterday", "YYYY-MM-DD HH:MM"),
    ],
)
def test_touchpoint_times_must_parse_and_be_in_range(acme, cell, reason):
    result = load("touchpoints", f"account,kind,occurred_at,subject\nACME-1,call,{cell},Hi\n")
    assert errors_of(result) == [(2, "occurred_at")]
    assert reason in result.errors[0]["reason"]


def test_tomorrow_is_allowed_for_sources_in_other_time_zones(acme):
    assert load("metrics", f"account,date,logins\nACME-1,{TODAY + timedelta(days=1)},1\n").ok


def test_a_renewal_may_be_in_the_future_but_not_before_the_contract():
    future = load(
        "accounts",
        f"{ACCOUNTS_HEADER}\nNEW-1,New,retail,1-10,,inbound,,0,2024-01-01,2030-01-01,,B,active,,\n",
    )
    assert future.ok, future.errors
    backwards = load(
        "accounts",
        f"{ACCOUNTS_HEADER}\nNEW-2,New,retail,1-10,,inbound,,0,2024-01-01,2023-01-01,,B,active,,\n",
    )
    assert errors_of(backwards) == [(2, "renewal_date")]


def test_values_outside_the_choices_are_reported_with_the_choices():
    result = load(
        "accounts", f"{ACCOUNTS_HEADER}\nNEW-1,New,Retail,huge,,cold_call,,0,2024-01-01,,,Z,active,,\n"
    )
    assert errors_of(result) == [(2, "employee_band"), (2, "acquisition_channel"), (2, "value_tier")]
    assert "1-10" in result.errors[0]["reason"]  # the allowed values are listed
    # "Retail" matched "retail": choices ignore case.


def test_churn_columns_must_agree_with_the_status():
    result = load(
        "accounts",
        f"{ACCOUNTS_HEADER}\n"
        "NEW-1,A,retail,1-10,,inbound,,0,2024-01-01,,,B,churned,,\n"
        "NEW-2,B,retail,1-10,,inbound,,0,2024-01-01,,,B,active,2024-05-01,cancelled\n",
    )
    assert errors_of(result) == [(2, "churned_on"), (3, "churned_on"), (3, "churn_type")]
    no_status = load(
        "accounts",
        "external_id,name,industry,employee_band,acquisition_channel,contract_start,value_tier,churned_on\n"
        "NEW-3,C,retail,1-10,inbound,2024-01-01,B,2024-05-01\n",
    )
    assert errors_of(no_status) == [(1, "churned_on")]


def test_csat_and_nps_must_be_in_range(acme):
    result = load(
        "metrics",
        "account,date,csat_count,csat_sum,nps\n"
        f"ACME-1,{YESTERDAY},2,11,\n"
        f"ACME-1,{TWO_DAYS_AGO},2,1,\n"
        f"ACME-1,2025-01-01,2,,\n"
        f"ACME-1,2025-01-02,,,11\n"
        f"ACME-1,2025-01-03,3,15,10\n",
    )
    assert errors_of(result) == [(2, "csat_sum"), (3, "csat_sum"), (4, "csat_sum"), (5, "nps")]
    assert "between 2 and 10" in result.errors[0]["reason"]
    assert "together" in result.errors[2]["reason"]
    assert "at most 10" in result.errors[3]["reason"]


def test_required_values_and_bad_emails_and_booleans_are_reported(acme):
    result = load(
        "contacts",
        "account,name,email,is_champion\nACME-1,,a@b.example,yes\nACME-1,Amy,not-an-email,maybe\n",
    )
    assert errors_of(result) == [(2, "name"), (3, "email"), (3, "is_champion")]
    assert "required" in result.errors[0]["reason"]


def test_duplicate_keys_in_a_file_point_at_the_first_line(acme, zeta):
    result = load(
        "metrics",
        f"account,date,logins\nACME-1,{YESTERDAY},1\nZETA-2,{YESTERDAY},2\nACME-1,{YESTERDAY},3\n",
    )
    assert errors_of(result) == [(4, "date")]
    assert "Line 2" in result.errors[0]["reason"]
    contacts = load(
        "contacts", "account,name,email\nACME-1,Amy,amy@x.example\nACME-1,Amy Tsai,AMY@x.example\n"
    )
    assert errors_of(contacts) == [(3, "email")]
    assert contacts.errors[0]["reason"] == "Line 2 has the same account, email."
    two_primaries = load("contacts", "account,name,is_primary\nACME-1,Amy,yes\nACME-1,Bo,yes\n")
    assert errors_of(two_primaries) == [(3, "is_primary")]


def test_one_bad_row_among_good_ones_loads_nothing_and_names_its_line(acme, zeta):
    good = [f"ACME-1,{(TODAY - timedelta(days=n)).isoformat()},{n}" for n in range(1, 40)]
    rows = [*good[:25], f"ZETA-2,{YESTERDAY},lots", *good[25:]]
    result = load("metrics", "account,date,logins\n" + "\n".join(rows) + "\n")
    assert errors_of(result) == [(27, "logins")]
    assert result.rows == 40
    assert (result.created, result.updated, result.loaded) == (0, 0, 0)
    assert not DailyMetric.objects.exists()
    assert not AuditEvent.objects.filter(action="import").exists()


def test_line_numbers_count_physical_lines_and_skip_blank_ones(acme):
    result = load(
        "events",
        "account,kind,occurred_on,note\n"
        f'ACME-1,champion_left,{YESTERDAY},"a note\nover two lines"\n'
        "\n"
        ",,,\n"
        f"ACME-1,bogus,{YESTERDAY},\n",
    )
    assert errors_of(result) == [(6, "kind")]
    assert result.rows == 2


def test_errors_are_all_counted_but_only_the_first_ten_thousand_kept(acme):
    rows = "".join(f"ACME-1,{YESTERDAY},x\n" for _ in range(MAX_STORED_ERRORS + 5))
    result = load("metrics", "account,date,logins\n" + rows)
    # Each line's bad count, and each line after the first repeating the first's account and date.
    assert result.error_count == 2 * (MAX_STORED_ERRORS + 5) - 1
    assert len(result.errors) == MAX_STORED_ERRORS


def test_progress_is_reported_as_rows_are_checked(acme):
    calls = []
    rows = "".join(f"ACME-1,{(TODAY - timedelta(days=n)).isoformat()},1\n" for n in range(1, 7))
    result = load(
        "metrics",
        "account,date,logins\n" + rows,
        progress=lambda done, total: calls.append((done, total)),
        total_rows=6,
    )
    assert result.ok
    assert calls[-1] == (6, 6)


# --- Hostile files ---------------------------------------------------------------------------------


def test_formula_looking_text_loads_verbatim(acme):
    formula = '=HYPERLINK("http://evil.example","Click")'
    result = load(
        "contacts", f'account,name,role\nACME-1,"{formula.replace(chr(34), chr(34) * 2)}",+SUM(A1:A9)\n'
    )
    assert result.ok, result.errors
    contact = Contact.objects.get(account=acme)
    assert (contact.name, contact.role) == (formula, "+SUM(A1:A9)")


def test_fields_longer_than_the_column_are_rejected(acme):
    result = load("contacts", f"account,name\nACME-1,{'x' * 201}\n")
    assert errors_of(result) == [(2, "name")]
    assert "201 characters" in result.errors[0]["reason"] and "200" in result.errors[0]["reason"]
    huge = load(
        "events", f"account,kind,occurred_on,note\nACME-1,champion_left,{YESTERDAY},{'y' * 200_000}\n"
    )
    assert not huge.ok
    assert not SignalEvent.objects.exists()


def test_an_empty_file_is_an_error_and_a_header_alone_loads_nothing(acme):
    for content in ("", "\ufeff", "\n\n"):
        result = load("metrics", content)
        assert errors_of(result) == [(1, "")], repr(content)
        assert "empty" in result.errors[0]["reason"]
    header_only = load("metrics", "account,date,logins\n")
    assert header_only.ok
    assert (header_only.rows, header_only.loaded) == (0, 0)


def test_a_binary_file_is_refused_without_a_crash(acme):
    result = load("metrics", b"account,date,logins\nACME-1,\x00\x00,1\n")
    assert not result.ok
    png = load("metrics", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert errors_of(png) == [(1, "")]


# --- Samples and PostgreSQL ----------------------------------------------------------------------------


def test_the_documented_samples_load_into_the_demo_data(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seed_demo(accounts=12, days=30)
    for kind in ("accounts", "contacts", "metrics", "events", "mrr", "touchpoints"):
        with (SAMPLES / f"{kind}.csv").open("rb") as handle:
            result = load_csv(kind=kind, file=handle)
        assert result.ok, (kind, result.errors)
        assert result.rows > 0
    assert Account.objects.get(external_id="TEAL-200002").owner.username == "csm2"
    assert Touchpoint.objects.filter(account__external_id=STORY_ACCOUNTS["champion_left"]).exists()


def test_metric_rows_take_the_copy_path_on_postgresql(acme, zeta):
    needs(connection.vendor == "postgresql", "the COPY path runs on PostgreSQL only")
    DailyMetricFactory(account=zeta, date=YESTERDAY, logins=1, nps=5)
    header = "date,account," + ",".join(METRIC_FIELDS)
    plain = [YESTERDAY, "ACME-1", *["1"] * len(METRIC_FIELDS)]
    # Rows the shortcut leaves to the full check: spaces, extra decimals, leading zeros, empty cells.
    unusual = [YESTERDAY, " ZETA-2 ", " 7 ", *[""] * (len(METRIC_FIELDS) - 1)]
    hours = METRIC_FIELDS.index("first_response_hours")
    plain[2 + hours] = "2.345"
    result = load("metrics", "\n".join([header, ",".join(plain), ",".join(unusual)]) + "\n")
    assert result.ok, result.errors
    assert (result.created, result.updated) == (1, 1)
    acme_metric = DailyMetric.objects.get(account=acme)
    assert acme_metric.first_response_hours == Decimal("2.35")
    assert acme_metric.csat_sum == 1 and acme_metric.invoice_days_overdue == 1
    zeta_metric = DailyMetric.objects.get(account=zeta)
    assert (zeta_metric.logins, zeta_metric.nps) == (7, 5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'import_metrics_%%'")
        assert cursor.fetchone()[0] == 0  # the staging table is gone


def test_a_bad_row_after_many_good_ones_stages_nothing_on_postgresql(acme):
    needs(connection.vendor == "postgresql", "the COPY path runs on PostgreSQL only")
    rows = [f"ACME-1,{(TODAY - timedelta(days=n)).isoformat()},{n}" for n in range(1, 300)]
    rows.append(f"ACME-1,{YESTERDAY},5")  # a duplicate of the first row, found last
    result = load("metrics", "account,date,logins\n" + "\n".join(rows) + "\n")
    assert errors_of(result) == [(301, "date")]
    assert not DailyMetric.objects.exists()


def test_new_metric_rows_copy_straight_into_the_table_on_postgresql(acme, zeta):
    needs(connection.vendor == "postgresql", "the COPY path runs on PostgreSQL only")
    # Columns in another order, Windows line ends, no line end after the last row.
    content = (
        "date,nps,account,logins,csat_count,csat_sum\r\n"
        f"{YESTERDAY},9,ACME-1,3,2,7\r\n"
        f"{TWO_DAYS_AGO},,ZETA-2,0,,\r\n"
        f"{TWO_DAYS_AGO},10,ACME-1,,,"
    )
    result = load("metrics", content)
    assert result.ok, result.errors
    assert (result.rows, result.created, result.updated, result.unchanged) == (3, 3, 0, 0)
    rows = DailyMetric.objects.order_by("account__external_id", "date").values_list(
        "account__external_id", "date", "logins", "nps", "csat_count", "csat_sum", "active_users"
    )
    assert [(a, d.isoformat(), *rest) for a, d, *rest in rows] == [
        ("ACME-1", TWO_DAYS_AGO, None, 10, None, None, None),
        ("ACME-1", YESTERDAY, 3, 9, 2, 7, None),
        ("ZETA-2", TWO_DAYS_AGO, 0, None, None, None, None),
    ]


def test_a_file_naming_a_stored_row_falls_back_from_the_stream_to_the_merge(acme):
    needs(connection.vendor == "postgresql", "the COPY path runs on PostgreSQL only")
    DailyMetricFactory(account=acme, date=YESTERDAY, logins=1, nps=5)
    # The new row comes first: the stream takes it, then fails on the stored one and is rolled back.
    result = load("metrics", f"account,date,logins\nACME-1,{TWO_DAYS_AGO},2\nACME-1,{YESTERDAY},4\n")
    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (1, 1, 0)
    assert DailyMetric.objects.get(account=acme, date=YESTERDAY).nps == 5  # not reported: kept
    assert DailyMetric.objects.get(account=acme, date=YESTERDAY).logins == 4
    assert DailyMetric.objects.get(account=acme, date=TWO_DAYS_AGO).logins == 2


def test_a_metrics_file_is_written_while_it_is_still_being_checked_on_postgresql(settings):
    needs(connection.vendor == "postgresql", "the COPY path runs on PostgreSQL only")
    from django.db import DEFAULT_DB_ALIAS, connections

    accounts = AccountFactory.create_batch(10)
    days = 3_000
    lines = ["account,date,logins"]
    lines += [
        f"{account.external_id},{(TODAY - timedelta(days=n)).isoformat()},{n % 9}"
        for account in accounts
        for n in range(1, days + 1)
    ]
    backend = connection.connection.info.backend_pid
    side = connections.create_connection(DEFAULT_DB_ALIAS)
    copied: list[int] = []

    def progress(done: int, total: int) -> None:
        # Another session watches this one's COPY: rows arrive before the check is over.
        with side.cursor() as cursor:
            cursor.execute("SELECT tuples_processed FROM pg_stat_progress_copy WHERE pid = %s", [backend])
            row = cursor.fetchone()
        if done < len(accounts) * days:
            copied.append(row[0] if row else 0)

    try:
        result = load("metrics", "\n".join(lines) + "\n", progress=progress)
    finally:
        side.close()
    assert result.ok, result.errors
    assert result.created == DailyMetric.objects.count() == len(accounts) * days
    assert max(copied) > 0, "nothing reached the database before the whole file was checked"


def test_an_account_deleted_after_the_check_loads_nothing(acme, zeta, monkeypatch):
    from ingest import cells

    real_load = cells.Lookups.load

    def stale(cls, **kwargs):
        found = real_load(**kwargs)
        Account.objects.filter(pk=zeta.pk).delete()  # gone once the names were looked up
        return found

    monkeypatch.setattr(cells.Lookups, "load", classmethod(stale))
    result = load("metrics", f"account,date,logins\nACME-1,{YESTERDAY},2\nZETA-2,{YESTERDAY},3\n")
    assert not result.ok
    assert errors_of(result) == [(1, "")]
    assert "deleted while the file was loading" in result.errors[0]["reason"]
    assert not DailyMetric.objects.exists()


def test_deleting_an_account_deletes_its_metrics(acme, zeta):
    DailyMetricFactory(account=acme, date=YESTERDAY)
    DailyMetricFactory(account=zeta, date=YESTERDAY)
    acme.delete()
    assert list(DailyMetric.objects.values_list("account_id", flat=True)) == [zeta.pk]


def test_line_numbers_stay_right_around_quoted_and_odd_rows_in_a_metrics_file(acme, zeta):
    rows = [
        f"ACME-1,{YESTERDAY},1,",
        f'"ZETA-2",{YESTERDAY},2,"a\nb"',  # quoted, over two lines: a bad nps
        "",
        f"ACME-1,{TWO_DAYS_AGO},x,11",  # two bad cells on line 6
        f"NOPE-9,{YESTERDAY},3,",
        f"ACME-1,{YESTERDAY},4,",  # the same account and day as line 2
        f" ZETA-2 ,{TWO_DAYS_AGO}, 5 ,10",  # spaces: fine
    ]
    result = load("metrics", "account,date,logins,nps\n" + "\n".join(rows) + "\n")
    assert errors_of(result) == [(3, "nps"), (6, "logins"), (6, "nps"), (7, "account"), (8, "date")]
    assert "Line 2" in result.errors[-1]["reason"]
    assert result.rows == 6
    assert not DailyMetric.objects.exists()


def test_a_line_the_csv_module_cannot_read_is_named_in_a_metrics_file(acme):
    huge = "9" * 200_000  # past the csv module's field limit
    content = f'account,date,logins\nACME-1,{YESTERDAY},"1\n"\nACME-1,{TWO_DAYS_AGO},{huge}\n'
    result = load("metrics", content)
    assert errors_of(result) == [(4, "")]
    assert "cannot be read as CSV" in result.errors[0]["reason"]
    assert not DailyMetric.objects.exists()


def test_a_job_left_running_by_a_stopped_worker_is_queued_again_after_a_while(maria_manager):
    from accounts.models import ImportJob
    from ingest.jobs import MAX_IMPORT_ATTEMPTS, STALLED_AFTER, requeue_interrupted_jobs

    now = timezone.now()
    lost = ImportJob.objects.create(
        kind="metrics", original_name="lost.csv", status="running", attempt=1, finished_at=now - STALLED_AFTER
    )
    legacy = ImportJob.objects.create(  # started before jobs recorded a sign of life
        kind="metrics", original_name="old.csv", status="running", created_at=now - STALLED_AFTER * 2
    )
    alive = ImportJob.objects.create(
        kind="metrics", original_name="busy.csv", status="running", finished_at=now - STALLED_AFTER / 2
    )
    waiting = ImportJob.objects.create(
        kind="metrics", original_name="later.csv", status="pending", created_at=now - STALLED_AFTER * 2
    )
    tired = ImportJob.objects.create(
        kind="metrics",
        original_name="tired.csv",
        status="running",
        attempt=MAX_IMPORT_ATTEMPTS,
        finished_at=now - STALLED_AFTER * 2,
    )
    assert requeue_interrupted_jobs() == 3
    for job in (lost, legacy, alive, waiting, tired):
        job.refresh_from_db()
    assert [(job.status, job.attempt) for job in (lost, legacy, alive, waiting, tired)] == [
        ("queued", 1),
        ("queued", 1),
        ("running", 0),
        ("pending", 0),
        ("failed", MAX_IMPORT_ATTEMPTS),
    ]
    assert tired.error_count == 1 and "stopped without finishing 3 times" in tired.errors[0]["reason"]
    assert tired.finished_at > now - timedelta(minutes=1)


def test_the_model_refuses_an_owner_who_is_not_an_active_csm(acme, ivan_interviewer):
    """The same rule for forms (the admin's change form validates the model this way)."""
    from django.core.exceptions import ValidationError

    acme.owner = ivan_interviewer
    with pytest.raises(ValidationError) as caught:
        acme.full_clean()
    assert "owner" in caught.value.message_dict
    acme.owner = acme.owner.__class__.objects.get(username="alice")
    acme.full_clean()  # an active CSM passes
