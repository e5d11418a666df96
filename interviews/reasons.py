"""Exit-interview reasons as the reports count them: by main reason and period (avoidable and
unavoidable churn apart), by a cut (lifecycle stage, industry, size, region, channel, tier or
CSM at churn), and the drill-down to the interviews behind any of those numbers.

Each report is one GROUP BY (and a query for the categories, or the CSMs' names), never a query
per interview; the drill-down lists the interviews in the same terms the reports counted them.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import BooleanField, CharField, Count, DateField, F, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce, NullIf, Trunc
from django.utils.translation import gettext_lazy as _

from accounts.models import AcquisitionChannel, EmployeeBand, Industry, ValueTier
from accounts.querysets import LifecycleStage

from .churn import ZERO
from .models import ExitInterview, InterviewStatus, ReasonCategory
from .periods import Period, Span

# --- reasons by period ---------------------------------------------------------------------------

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


# --- cuts ----------------------------------------------------------------------------------------


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


# --- drill-down ----------------------------------------------------------------------------------


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
