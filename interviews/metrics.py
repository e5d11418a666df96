"""Churn and revenue metrics, reasons by period and the cuts: pure functions over querysets.

Every report is a few grouped queries, never a query per account or per interview: the logo
and revenue series are one conditional aggregation each (one pair of counts or sums per period),
reasons and cuts one GROUP BY each.

Formulas (docs/reports.md repeats them for the people reading the charts):

- A customer is *active at the start* of a period when its contract started before the period
  and it had not churned before it: ``contract_start < start`` and (``churned_on`` is empty or
  ``churned_on >= start``). Accounts that arrive during the period are not in the denominator,
  and so are not counted as lost either if they leave within it: logo churn can never exceed 100%.
- Logo churn rate = customers active at the start who churned within the period ÷ customers
  active at the start.
- Starting MRR = the sum of every signed MRR movement before the period starts (new, expansion
  and reactivation add; contraction and churn subtract).
- Gross MRR churn = (churned + contraction) ÷ starting MRR.
- Net MRR churn = (churned + contraction − expansion) ÷ starting MRR.
- NRR = (starting MRR + expansion − contraction − churned) ÷ starting MRR.
- Reactivation is *not* expansion: it is revenue won back from customers who had left, which is
  not retention of the starting base, just as new business is not. It is shown in its own column
  and left out of net MRR churn and NRR.
- A ratio over an empty base (no customers or no MRR at the start) is None, shown as "—".
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateField,
    DecimalField,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, NullIf, Trunc
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from accounts.models import (
    Account,
    AcquisitionChannel,
    EmployeeBand,
    Industry,
    MovementKind,
    MrrMovement,
    ValueTier,
)
from accounts.querysets import LifecycleStage

from .models import ExitInterview, InterviewStatus, ReasonCategory

# --- periods ------------------------------------------------------------------------------------

UNITS = {"month": _("Monthly"), "quarter": _("Quarterly"), "year": _("Yearly")}
DEFAULT_UNIT = "month"
# How many periods a report shows, the current one (to date) last.
PERIOD_COUNTS = {"month": 12, "quarter": 8, "year": 5}


@dataclass(frozen=True)
class Period:
    unit: str
    start: date
    end: date  # exclusive

    @property
    def key(self) -> str:
        if self.unit == "year":
            return f"{self.start.year}"
        if self.unit == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def label(self) -> str:
        if self.unit == "year":
            return str(self.start.year)
        if self.unit == "quarter":
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        return date_format(self.start, "YEAR_MONTH_FORMAT")

    @property
    def short_label(self) -> str:
        if self.unit == "month":
            # A date format, per language: "Oct 26" in English, "26年10月" in Chinese.
            return date_format(
                self.start, pgettext("a month with its year in a table header; a date format", "M y")
            )
        return self.label

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def previous(self) -> "Period":
        return period_for(self.unit, date.fromordinal(self.start.toordinal() - 1))

    def next(self) -> "Period":
        return period_for(self.unit, self.end)


def axis_labels(periods: list["Period"]) -> list[str]:
    """Labels that fit under a chart's bars in every language: months name their year only at the
    first bar and at each January ("Oct 2026, Nov, Dec, Jan 2027"; "2026年10月, 11月…")."""
    if not periods or periods[0].unit != "month":
        return [period.short_label for period in periods]
    with_year = pgettext("a month with its year on a chart axis; a date format", "M Y")
    alone = pgettext("a month alone on a chart axis; a date format", "M")
    return [
        date_format(p.start, with_year if i == 0 or p.start.month == 1 else alone)
        for i, p in enumerate(periods)
    ]


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_for(unit: str, day: date) -> Period:
    """The month, quarter or year that contains `day`."""
    if unit == "year":
        return Period(unit, date(day.year, 1, 1), date(day.year + 1, 1, 1))
    if unit == "quarter":
        start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        return Period(unit, start, _add_months(start, 3))
    start = date(day.year, day.month, 1)
    return Period("month", start, _add_months(start, 1))


def parse_period(key: str | None) -> Period | None:
    """ "2026-10" (month), "2026-Q4" (quarter) or "2026" (year); None for anything else."""
    key = (key or "").strip()
    try:
        if len(key) == 4 and key.isdigit():
            return period_for("year", date(int(key), 1, 1))
        year, _sep, rest = key.partition("-")
        if rest.upper().startswith("Q") and len(rest) == 2:
            quarter = int(rest[1])
            if 1 <= quarter <= 4:
                return period_for("quarter", date(int(year), quarter * 3 - 2, 1))
            return None
        if len(year) == 4 and len(rest) == 2:
            return period_for("month", date(int(year), int(rest), 1))
    except ValueError:
        return None
    return None


@dataclass(frozen=True)
class Span:
    """Consecutive periods (one or many) that a drill-down or a cut covers."""

    first: Period
    last: Period

    @property
    def start(self) -> date:
        return self.first.start

    @property
    def end(self) -> date:
        return self.last.end

    @property
    def key(self) -> str:
        return self.first.key if self.first == self.last else f"{self.first.key}..{self.last.key}"

    @property
    def label(self) -> str:
        return self.first.label if self.first == self.last else f"{self.first.label} – {self.last.label}"


def parse_span(key: str | None) -> Span | None:
    """A period key, or two joined by "..", e.g. "2025-12..2026-11"."""
    first_key, _sep, last_key = (key or "").partition("..")
    first = parse_period(first_key)
    last = parse_period(last_key) if last_key else first
    if first is None or last is None or last.end <= first.start:
        return None
    return Span(first, last)


def recent_periods(unit: str, today: date, count: int | None = None) -> list[Period]:
    """The last `count` periods of `unit`, oldest first, ending with the one containing today."""
    count = count or PERIOD_COUNTS[unit]
    periods = [period_for(unit, today)]
    while len(periods) < count:
        periods.insert(0, periods[0].previous())
    return periods


def ratio(numerator, denominator) -> Decimal | None:
    """numerator ÷ denominator, or None over an empty base."""
    if not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator)


def percent(value: Decimal | None, places: int = 1) -> str:
    """A ratio as a percentage for display; "—" when there is none."""
    if value is None:
        return "—"
    return f"{value * 100:.{places}f}%"


# --- logo churn ---------------------------------------------------------------------------------


@dataclass
class LogoChurn:
    period: Period
    active_at_start: int
    lost: int
    joined: int

    @property
    def rate(self) -> Decimal | None:
        return ratio(self.lost, self.active_at_start)


def active_at_start(start: date) -> Q:
    return Q(contract_start__lt=start) & (Q(churned_on__isnull=True) | Q(churned_on__gte=start))


def logo_churn(periods: list[Period], accounts: QuerySet[Account] | None = None) -> list[LogoChurn]:
    """Customers active at the start of each period, how many of them churned in it, and how many
    arrived during it. One query whatever the number of periods or accounts."""
    accounts = Account.objects.all() if accounts is None else accounts
    aggregates = {}
    for i, period in enumerate(periods):
        base = active_at_start(period.start)
        aggregates[f"active_{i}"] = Count("pk", filter=base)
        aggregates[f"lost_{i}"] = Count(
            "pk", filter=base & Q(churned_on__gte=period.start, churned_on__lt=period.end)
        )
        aggregates[f"joined_{i}"] = Count(
            "pk", filter=Q(contract_start__gte=period.start, contract_start__lt=period.end)
        )
    totals = accounts.aggregate(**aggregates) if periods else {}
    return [
        LogoChurn(period, totals[f"active_{i}"] or 0, totals[f"lost_{i}"] or 0, totals[f"joined_{i}"] or 0)
        for i, period in enumerate(periods)
    ]


# --- revenue ------------------------------------------------------------------------------------

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=14, decimal_places=2)


@dataclass
class Revenue:
    period: Period
    starting: Decimal
    new: Decimal
    expansion: Decimal
    contraction: Decimal
    churned: Decimal
    reactivation: Decimal

    @property
    def gross_churn(self) -> Decimal | None:
        return ratio(self.churned + self.contraction, self.starting) if self.starting > 0 else None

    @property
    def net_churn(self) -> Decimal | None:
        if self.starting <= 0:
            return None
        return ratio(self.churned + self.contraction - self.expansion, self.starting)

    @property
    def nrr(self) -> Decimal | None:
        if self.starting <= 0:
            return None
        return ratio(self.starting + self.expansion - self.contraction - self.churned, self.starting)

    @property
    def ending(self) -> Decimal:
        return self.starting + self.new + self.expansion + self.reactivation - self.contraction - self.churned


def signed_amount() -> Case:
    """The movement's amount with its direction, as SQL (MrrMovement.signed_amount in Python)."""
    return Case(
        When(kind__in=[MovementKind.CONTRACTION, MovementKind.CHURN], then=-F("amount")),
        default=F("amount"),
        output_field=MONEY,
    )


REVENUE_KINDS = {
    "new": MovementKind.NEW,
    "expansion": MovementKind.EXPANSION,
    "contraction": MovementKind.CONTRACTION,
    "churned": MovementKind.CHURN,
    "reactivation": MovementKind.REACTIVATION,
}


def revenue(periods: list[Period], movements: QuerySet[MrrMovement] | None = None) -> list[Revenue]:
    """Starting MRR and each kind of movement per period, from MrrMovement rows. One query."""
    movements = MrrMovement.objects.all() if movements is None else movements
    aggregates = {}
    for i, period in enumerate(periods):
        aggregates[f"starting_{i}"] = Sum(signed_amount(), filter=Q(occurred_on__lt=period.start))
        within = Q(occurred_on__gte=period.start, occurred_on__lt=period.end)
        for name, kind in REVENUE_KINDS.items():
            aggregates[f"{name}_{i}"] = Sum("amount", filter=within & Q(kind=kind), output_field=MONEY)
    totals = movements.aggregate(**aggregates) if periods else {}

    def money(key: str) -> Decimal:
        return Decimal(totals[key] or 0).quantize(ZERO)

    return [
        Revenue(period, money(f"starting_{i}"), **{name: money(f"{name}_{i}") for name in REVENUE_KINDS})
        for i, period in enumerate(periods)
    ]


# --- reasons and cuts ---------------------------------------------------------------------------

TRUNC_KINDS = {"month": "month", "quarter": "quarter", "year": "year"}


def reported_interviews() -> QuerySet[ExitInterview]:
    """Completed interviews with a main reason, each with the date it counts at (the churn date
    copied at interview time, else the account's) and whether it was avoidable (the interviewer's
    judgement, else the category's default)."""
    return (
        ExitInterview.objects.filter(status=InterviewStatus.DONE, primary_category__isnull=False)
        .annotate(
            churn_date=Coalesce("churned_on", "account__churned_on", output_field=DateField()),
            is_avoidable=Coalesce("avoidable", "primary_category__avoidable", output_field=BooleanField()),
        )
        .filter(churn_date__isnull=False)
    )


def in_span(interviews: QuerySet[ExitInterview], start: date, end: date) -> QuerySet[ExitInterview]:
    return interviews.filter(churn_date__gte=start, churn_date__lt=end)


@dataclass
class Cell:
    count: int = 0
    mrr: Decimal = ZERO

    def add(self, count: int, mrr) -> None:
        self.count += count
        self.mrr += Decimal(mrr or 0)


@dataclass
class ReasonRow:
    category: ReasonCategory
    cells: list[Cell]  # one per period
    avoidable: bool | None = None  # the interviewer's judgement of the row's interviews; None: both

    @property
    def total(self) -> Cell:
        total = Cell()
        for cell in self.cells:
            total.add(cell.count, cell.mrr)
        return total


def _sum_cells(rows: list[ReasonRow], width: int) -> list[Cell]:
    totals = [Cell() for _i in range(width)]
    for row in rows:
        for total, cell in zip(totals, row.cells, strict=True):
            total.add(cell.count, cell.mrr)
    return totals


@dataclass
class ReasonReport:
    """One definition of unavoidable: the interviewer's judgement of each interview (an unset
    judgement takes the main reason's default). The avoidable and unavoidable sections list the
    categories of the interviews judged so, so each section's rows add up to its total; a
    category whose interviews were judged both ways appears in both."""

    periods: list[Period]
    avoidable: list[ReasonRow]
    unavoidable: list[ReasonRow]
    # Every interview of a category, however it was judged: the chart, the cuts, the review.
    category_of: dict[str, ReasonRow] = field(default_factory=dict)

    @property
    def rows(self) -> list[ReasonRow]:
        return list(self.category_of.values())

    @property
    def avoidable_totals(self) -> list[Cell]:
        return _sum_cells(self.avoidable, len(self.periods))

    @property
    def unavoidable_totals(self) -> list[Cell]:
        return _sum_cells(self.unavoidable, len(self.periods))

    @property
    def is_empty(self) -> bool:
        return not any(row.total.count for row in self.rows)


def reasons_by_period(periods: list[Period]) -> ReasonReport:
    """Interviews and MRR lost per main reason and period, with avoidable and unavoidable churn
    totalled apart. Two queries: the categories, and one GROUP BY."""
    categories = list(ReasonCategory.objects.order_by("position", "key"))
    report = ReasonReport(periods=periods, avoidable=[], unavoidable=[])
    if not periods:
        return report
    merged = {c.pk: ReasonRow(c, [Cell() for _p in periods]) for c in categories}
    judged = {
        (c.pk, judgement): ReasonRow(c, [Cell() for _p in periods], avoidable=judgement)
        for c in categories
        for judgement in (True, False)
    }
    index = {period.start: i for i, period in enumerate(periods)}
    unit = periods[0].unit
    grouped = (
        in_span(reported_interviews(), periods[0].start, periods[-1].end)
        .annotate(period_start=Trunc("churn_date", TRUNC_KINDS[unit], output_field=DateField()))
        .values("period_start", "primary_category_id", "is_avoidable")
        .annotate(count=Count("pk"), mrr=Sum("mrr_at_churn"))
        .order_by()
    )
    for group in grouped:
        start = group["period_start"]
        i = index.get(start if isinstance(start, date) else date.fromisoformat(str(start)[:10]))
        pk = group["primary_category_id"]
        if i is None or pk not in merged:
            continue
        merged[pk].cells[i].add(group["count"], group["mrr"])
        judged[(pk, bool(group["is_avoidable"]))].cells[i].add(group["count"], group["mrr"])
    for category in categories:
        row = merged[category.pk]
        if not category.is_active and not row.total.count:
            continue
        report.category_of[category.key] = row
        for judgement in (True, False):
            section = judged[(category.pk, judgement)]
            # A category's own section always shows it; the other only when some were judged so.
            if judgement == category.avoidable or section.total.count:
                (report.avoidable if judgement else report.unavoidable).append(section)
    return report


@dataclass(frozen=True)
class Cut:
    key: str
    label: str
    choices: dict | None  # value -> label; None when the labels come from elsewhere


def _lifecycle():
    return F("lifecycle_stage_at_churn")


def _tier():
    return Coalesce(NullIf("tier_at_churn", Value("")), "account__value_tier", output_field=CharField())


def _csm():
    return Cast(Coalesce("csm_at_churn_id", "account__owner_id"), output_field=CharField())


CUTS = {
    "lifecycle": Cut("lifecycle", _("Lifecycle stage at churn"), dict(LifecycleStage.choices)),
    "industry": Cut("industry", _("Industry"), dict(Industry.choices)),
    "employee_band": Cut("employee_band", _("Company size"), dict(EmployeeBand.choices)),
    "region": Cut("region", _("Region"), None),
    "channel": Cut("channel", _("Acquisition channel"), dict(AcquisitionChannel.choices)),
    "tier": Cut("tier", _("Value tier at churn"), dict(ValueTier.choices)),
    "csm": Cut("csm", _("CSM at churn"), None),
}
DEFAULT_CUT = "lifecycle"
CUT_EXPRESSIONS = {
    "lifecycle": _lifecycle,
    "industry": lambda: F("account__industry"),
    "employee_band": lambda: F("account__employee_band"),
    "region": lambda: F("account__region"),
    "channel": lambda: F("account__acquisition_channel"),
    "tier": _tier,
    "csm": _csm,
}


def with_cut(interviews: QuerySet[ExitInterview], cut: str) -> QuerySet[ExitInterview]:
    """Annotate `cut_value`: the interview's snapshot where it has one, else the account's; "" when
    neither says."""
    return interviews.annotate(
        cut_value=Coalesce(CUT_EXPRESSIONS[cut](), Value(""), output_field=CharField())
    )


@dataclass
class CutRow:
    value: str
    label: str
    cells: list[Cell]  # one per category, in the report's category order
    total: Cell
    avoidable: Cell
    unavoidable: Cell


@dataclass
class CutReport:
    cut: Cut
    span: Span
    categories: list[ReasonCategory]
    rows: list[CutRow]


def cut_labels(cut: str, values: list[str]) -> dict[str, str]:
    """Display labels for a cut's values: the choices, a user's name for the CSM cut (one query)."""
    labels: dict[str, str] = {"": str(_("Not recorded"))}
    if CUTS[cut].choices:
        labels.update({key: str(label) for key, label in CUTS[cut].choices.items()})
    if cut == "csm":
        ids = [int(v) for v in values if v.isdigit()]
        users = get_user_model().objects.filter(pk__in=ids).only("first_name", "last_name", "username")
        labels.update({str(u.pk): u.get_full_name() or u.get_username() for u in users})
        labels[""] = str(_("Unassigned"))
    return labels


def reasons_by_cut(cut: str, span: Span, categories: list[ReasonCategory]) -> CutReport:
    """Interviews and MRR lost by the cut's value and main reason, over `span`. One GROUP BY (and
    one query for CSM names)."""
    grouped = (
        with_cut(in_span(reported_interviews(), span.start, span.end), cut)
        .values("cut_value", "primary_category_id", "is_avoidable")
        .annotate(count=Count("pk"), mrr=Sum("mrr_at_churn"))
        .order_by()
    )
    column = {c.pk: i for i, c in enumerate(categories)}
    rows: dict[str, CutRow] = {}
    for group in grouped:
        value = group["cut_value"] or ""
        row = rows.get(value)
        if row is None:
            row = rows[value] = CutRow(value, value, [Cell() for _c in categories], Cell(), Cell(), Cell())
        if group["primary_category_id"] in column:
            row.cells[column[group["primary_category_id"]]].add(group["count"], group["mrr"])
        row.total.add(group["count"], group["mrr"])
        (row.avoidable if group["is_avoidable"] else row.unavoidable).add(group["count"], group["mrr"])
    labels = cut_labels(cut, list(rows))
    for row in rows.values():
        row.label = labels.get(row.value, row.value)
    ordered = sorted(rows.values(), key=lambda r: (-r.total.count, -r.total.mrr, r.label))
    return CutReport(CUTS[cut], span, categories, ordered)


# --- drill-down ---------------------------------------------------------------------------------


def drill_down(
    *,
    span: Span | None,
    category: str = "",
    cut: str = "",
    value: str | None = None,
    avoidable: bool | None = None,
) -> QuerySet[ExitInterview]:
    """The interviews behind one number of a report, in the same terms the report counted them."""
    interviews = reported_interviews().select_related("account", "primary_category", "sub_reason")
    if span is not None:
        interviews = in_span(interviews, span.start, span.end)
    if category:
        interviews = interviews.filter(primary_category__key=category)
    if avoidable is not None:
        interviews = interviews.filter(is_avoidable=avoidable)
    if cut in CUTS and value is not None:
        interviews = with_cut(interviews, cut).filter(cut_value=value)
    return interviews.order_by("-churn_date", "account__name", "pk")


def churned_in(span: Span) -> QuerySet[Account]:
    """The customers the logo-churn rate counts as lost in `span`: active at its start, churned
    in it. Each with its exit interview, if there is one (one query: a one-to-one join)."""
    return (
        Account.objects.filter(
            active_at_start(span.start) & Q(churned_on__gte=span.start, churned_on__lt=span.end)
        )
        .select_related("owner", "exit_interview", "exit_interview__primary_category")
        .order_by("-churned_on", "name", "pk")
    )


# Every table a report reads (the drill-down and the review read live). Users are not counted
# here: every login writes `last_login`, which would expire every report; the CSM cut's names
# are fingerprinted instead (data_version(names=True)).
REPORT_TABLES = (
    "accounts_account",
    "accounts_mrrmovement",
    "health_healthmodel",
    "health_healthsnapshot",
    "interviews_exitinterview",
    "interviews_exitinterview_secondary_categories",
    "interviews_reasoncategory",
    "interviews_subreason",
)
# What the backtest reads: snapshots, the accounts' status and churn date, the model.
BACKTEST_TABLES = ("accounts_account", "health_healthmodel", "health_healthsnapshot")


def data_version(tables: tuple[str, ...] = REPORT_TABLES, *, names: bool = True) -> str | None:
    """A key that changes with every committed write to `tables`, or None where the database
    keeps no such counters (SQLite: the reports are then computed each time). With `names`, it
    also changes when a user's name changes (the CSM cut shows names).

    PostgreSQL counts the rows each table had inserted, updated and deleted, whatever wrote them
    (services, bulk updates, the recompute's COPY, raw SQL). A writing session publishes its
    counts when its transaction ends, at most once a second, so a cached report can trail a
    write by about a second. A statistics reset changes `stats_reset`, so it cannot bring an old
    key back. The names are hashed from the user table itself: a few hundred rows, not counters,
    so a login (which writes `last_login`) leaves the key alone."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        # Within a transaction PostgreSQL would keep serving the counters it read first.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            """
            SELECT coalesce(string_agg(relname || '=' || (n_tup_ins + n_tup_upd + n_tup_del), ','
                                       ORDER BY relname), '')
                || ',' || coalesce((SELECT stats_reset::text FROM pg_stat_database
                                    WHERE datname = current_database()), '')
                || ',' || CASE WHEN %s THEN (
                    SELECT md5(coalesce(string_agg(
                        id || ':' || username || ':' || first_name || ':' || last_name, ',' ORDER BY id), ''))
                    FROM auth_user) ELSE '' END
            FROM pg_stat_user_tables WHERE relname = ANY(%s)
            """,
            [names, list(tables)],
        )
        return cursor.fetchone()[0]
