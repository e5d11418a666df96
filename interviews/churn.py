"""Logo churn and revenue (MRR) churn per period: pure functions over querysets.

Each series is one conditional aggregation (one pair of counts or sums per period), never a
query per account. Churn reasons and the cuts are reasons.py; the periods, periods.py.

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

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, Q, QuerySet, Sum, When

from accounts.models import Account, MovementKind, MrrMovement

from .periods import Period, Span


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
