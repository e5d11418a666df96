"""The churn and revenue formulas, checked against numbers worked out by hand."""

from datetime import date
from decimal import Decimal

import pytest

from interviews import churn as metrics
from interviews.periods import Period, Span, parse_period, parse_span, period_for, recent_periods
from interviews.reasons import drill_down, reasons_by_cut, reasons_by_period
from tests.factories import AccountFactory, MrrMovementFactory, UserFactory
from tests.interviews.factories import ChurnedAccountFactory, DoneInterviewFactory, category

pytestmark = pytest.mark.django_db

OCTOBER = period_for("month", date(2026, 10, 1))
NOVEMBER = period_for("month", date(2026, 11, 1))


def churned(contract_start: date, churned_on: date, **kwargs):
    return ChurnedAccountFactory(contract_start=contract_start, churned_on=churned_on, **kwargs)


# --- periods ------------------------------------------------------------------------------------


def test_periods_are_named_and_bounded_by_their_unit():
    assert OCTOBER.key == "2026-10" and OCTOBER.end == date(2026, 11, 1)
    quarter = period_for("quarter", date(2026, 11, 23))
    assert (quarter.key, quarter.start, quarter.end) == ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1))
    year = period_for("year", date(2026, 11, 23))
    assert (year.key, year.start, year.end) == ("2026", date(2026, 1, 1), date(2027, 1, 1))
    assert period_for("month", date(2026, 12, 31)).end == date(2027, 1, 1)


def test_it_parses_period_keys_and_rejects_nonsense():
    assert parse_period("2026-10") == OCTOBER
    assert parse_period("2026-Q4") == period_for("quarter", date(2026, 10, 1))
    assert parse_period("2026") == period_for("year", date(2026, 6, 1))
    for bad in ("", "2026-13", "2026-Q5", "26-10", "yesterday", None):
        assert parse_period(bad) is None
    assert parse_span("2026-10..2026-11") == Span(OCTOBER, NOVEMBER)
    assert parse_span("2026-11..2026-10") is None
    assert parse_span("2026-10").key == "2026-10"


def test_recent_periods_end_with_the_current_one():
    periods = recent_periods("quarter", date(2026, 11, 23))
    assert [p.key for p in periods][-3:] == ["2026-Q2", "2026-Q3", "2026-Q4"]
    assert len(periods) == 8
    assert len(recent_periods("month", date(2026, 1, 15))) == 12
    assert recent_periods("month", date(2026, 1, 15))[0].key == "2025-02"


# --- logo churn ---------------------------------------------------------------------------------


def test_logo_churn_counts_customers_active_at_the_start_and_those_of_them_lost():
    AccountFactory(contract_start=date(2026, 1, 1))  # A: active throughout
    churned(date(2026, 1, 1), date(2026, 10, 15))  # B: lost in October
    churned(date(2026, 1, 1), date(2026, 9, 30))  # C: gone before October
    churned(date(2026, 10, 5), date(2026, 10, 20))  # D: arrived and left within October
    AccountFactory(contract_start=date(2026, 10, 1))  # E: arrived on October's first day
    churned(date(2026, 9, 30), date(2026, 10, 1))  # F: lost on October's first day
    churned(date(2026, 1, 1), date(2026, 11, 1))  # G: lost on November's first day

    october, november = metrics.logo_churn([OCTOBER, NOVEMBER])

    assert (october.active_at_start, october.lost, october.joined) == (4, 2, 2)  # A B F G; B F; D E
    assert october.rate == Decimal("0.5")
    assert (november.active_at_start, november.lost, november.joined) == (3, 1, 0)  # A E G; G
    assert metrics.percent(november.rate) == "33.3%"


def test_logo_churn_of_an_empty_period_is_none_not_a_division_by_zero():
    AccountFactory(contract_start=date(2026, 1, 1))
    (empty,) = metrics.logo_churn([period_for("month", date(2020, 3, 1))])
    assert (empty.active_at_start, empty.lost, empty.rate) == (0, 0, None)
    assert metrics.percent(empty.rate) == "—"


def test_logo_churn_sums_months_into_quarters():
    for churned_on in (date(2026, 10, 3), date(2026, 11, 3), date(2026, 12, 3)):
        churned(date(2025, 1, 1), churned_on)
    AccountFactory(contract_start=date(2025, 1, 1))
    (quarter,) = metrics.logo_churn([period_for("quarter", date(2026, 10, 1))])
    assert (quarter.active_at_start, quarter.lost) == (4, 3)
    assert quarter.rate == Decimal("0.75")


# --- revenue ------------------------------------------------------------------------------------


@pytest.fixture
def movements():
    x, y, z, w = AccountFactory(), AccountFactory(), AccountFactory(), AccountFactory()
    for account, kind, amount, day in (
        (x, "new", 1000, date(2026, 1, 10)),
        (x, "expansion", 200, date(2026, 5, 1)),
        (x, "contraction", 100, date(2026, 10, 10)),
        (y, "new", 800, date(2026, 2, 1)),
        (y, "churn", 800, date(2026, 10, 20)),
        (z, "new", 500, date(2026, 3, 1)),
        (z, "churn", 500, date(2026, 6, 1)),
        (z, "reactivation", 500, date(2026, 10, 5)),
        (z, "expansion", 300, date(2026, 10, 25)),
        (w, "new", 400, date(2026, 10, 3)),
    ):
        MrrMovementFactory(account=account, kind=kind, amount=Decimal(amount), occurred_on=day)


def test_revenue_metrics_follow_the_formulas(movements):
    october, november = metrics.revenue([OCTOBER, NOVEMBER])

    # Starting MRR: 1000 + 200 + 800 + 500 − 500.
    assert october.starting == Decimal("2000.00")
    assert (october.new, october.expansion, october.contraction, october.churned, october.reactivation) == (
        Decimal("400.00"),
        Decimal("300.00"),
        Decimal("100.00"),
        Decimal("800.00"),
        Decimal("500.00"),
    )
    assert october.gross_churn == Decimal("0.45")  # (800 + 100) / 2000
    assert october.net_churn == Decimal("0.3")  # (800 + 100 − 300) / 2000
    assert october.nrr == Decimal("0.7")  # (2000 + 300 − 100 − 800) / 2000
    assert october.ending == Decimal("2300.00")
    assert november.starting == october.ending
    assert (november.gross_churn, november.net_churn, november.nrr) == (0, 0, 1)


def test_reactivation_is_not_counted_as_expansion(movements):
    (before,) = metrics.revenue([OCTOBER])
    MrrMovementFactory(kind="reactivation", amount=Decimal("999"), occurred_on=date(2026, 10, 9))
    (after,) = metrics.revenue([OCTOBER])
    assert after.reactivation == before.reactivation + Decimal("999")
    assert (after.gross_churn, after.net_churn, after.nrr) == (
        before.gross_churn,
        before.net_churn,
        before.nrr,
    )


def test_expansion_beyond_losses_gives_negative_net_churn_and_nrr_above_one():
    MrrMovementFactory(kind="new", amount=Decimal("1000"), occurred_on=date(2026, 1, 1))
    MrrMovementFactory(kind="expansion", amount=Decimal("250"), occurred_on=date(2026, 10, 2))
    MrrMovementFactory(kind="contraction", amount=Decimal("50"), occurred_on=date(2026, 10, 3))
    (october,) = metrics.revenue([OCTOBER])
    assert october.gross_churn == Decimal("0.05")
    assert october.net_churn == Decimal("-0.2")
    assert october.nrr == Decimal("1.2")


def test_revenue_of_a_period_with_no_starting_mrr_is_none():
    MrrMovementFactory(kind="new", amount=Decimal("1000"), occurred_on=date(2026, 10, 2))
    (october,) = metrics.revenue([OCTOBER])
    assert october.starting == 0 and october.new == Decimal("1000.00")
    assert (october.gross_churn, october.net_churn, october.nrr) == (None, None, None)
    assert metrics.percent(october.nrr) == "—"


# --- reasons and cuts ---------------------------------------------------------------------------


def interview(on: date, key: str = "product", mrr: int = 1000, **kwargs):
    account = ChurnedAccountFactory(churned_on=on, mrr=Decimal(mrr), **kwargs.pop("account", {}))
    return DoneInterviewFactory(account=account, primary_category=category(key), **kwargs)


def test_reasons_are_counted_per_period_with_mrr_lost_and_unavoidable_apart():
    interview(date(2026, 10, 2), "product", 1000)
    interview(date(2026, 10, 9), "product", 500, avoidable=False)  # the interviewer's judgement
    interview(date(2026, 11, 2), "price_value", 300)
    interview(date(2026, 11, 3), "unavoidable", 700)
    interview(date(2026, 11, 4), "product", 900, status="draft", completed_at=None)  # not done
    interview(date(2026, 9, 30), "product", 100)  # before the first period

    report = reasons_by_period([OCTOBER, NOVEMBER])

    product = report.category_of["product"]
    assert [(c.count, c.mrr) for c in product.cells] == [(2, Decimal("1500")), (0, 0)]
    assert [c.count for c in report.category_of["price_value"].cells] == [0, 1]
    assert [(c.count, c.mrr) for c in report.avoidable_totals] == [(1, Decimal("1000")), (1, Decimal("300"))]
    assert [(c.count, c.mrr) for c in report.unavoidable_totals] == [(1, Decimal("500")), (1, Decimal("700"))]
    # One definition of unavoidable, the interviewer's judgement: the product interview judged
    # unavoidable is listed under unavoidable churn, so each section's rows add up to its total.
    sections = {
        "avoidable": [
            (r.category.key, [c.count for c in r.cells]) for r in report.avoidable if r.total.count
        ],
        "unavoidable": [
            (r.category.key, [c.count for c in r.cells]) for r in report.unavoidable if r.total.count
        ],
    }
    assert sections == {
        "avoidable": [("product", [1, 0]), ("price_value", [0, 1])],
        "unavoidable": [("product", [1, 0]), ("unavoidable", [0, 1])],
    }
    for rows, totals in (
        (report.avoidable, report.avoidable_totals),
        (report.unavoidable, report.unavoidable_totals),
    ):
        assert [sum(r.cells[i].count for r in rows) for i in range(2)] == [t.count for t in totals]


def test_an_interview_without_a_churn_date_of_its_own_counts_at_the_accounts():
    interview(date(2026, 10, 2), churned_on=None)
    report = reasons_by_period([OCTOBER])
    assert report.category_of["product"].cells[0].count == 1


def test_cuts_use_the_snapshot_at_churn_and_fall_back_to_the_account():
    alice = UserFactory(username="alice-cut", first_name="Alice", last_name="Chen")
    bob = UserFactory(username="bob-cut", first_name="Bob", last_name="Lin")
    interview(
        date(2026, 10, 2), tier_at_churn="A", account={"value_tier": "C", "owner": bob}, csm_at_churn=alice
    )
    interview(date(2026, 10, 3), tier_at_churn="", account={"value_tier": "C", "owner": bob})
    interview(date(2026, 10, 4), "service", tier_at_churn="A", account={"owner": None})
    span = Span(OCTOBER, OCTOBER)
    categories = [category("product"), category("service")]

    tiers = {row.value: row for row in reasons_by_cut("tier", span, categories).rows}
    assert tiers["A"].total.count == 2 and [c.count for c in tiers["A"].cells] == [1, 1]
    assert tiers["C"].total.count == 1 and tiers["C"].label == "Tier C"

    csms = {row.label: row.total.count for row in reasons_by_cut("csm", span, categories).rows}
    assert csms == {"Alice Chen": 1, "Bob Lin": 1, "Unassigned": 1}


def test_drill_down_returns_the_interviews_behind_a_cell():
    wanted = interview(date(2026, 10, 2), "service", tier_at_churn="A")
    interview(date(2026, 10, 3), "service", tier_at_churn="B")
    interview(date(2026, 11, 3), "service", tier_at_churn="A")
    interview(date(2026, 10, 3), "product", tier_at_churn="A")
    found = drill_down(span=Span(OCTOBER, OCTOBER), category="service", cut="tier", value="A")
    assert list(found) == [wanted]


def test_a_period_that_is_to_date_has_an_end_after_today():
    today = date(2026, 11, 23)
    assert recent_periods("month", today)[-1] == Period("month", date(2026, 11, 1), date(2026, 12, 1))
