"""The reports' periods (a month, a quarter or a year) and spans of consecutive periods: their
keys for URLs, their labels for tables and chart axes in the reader's language, parsing a key
back, and the recent periods a report shows.
"""

from dataclasses import dataclass
from datetime import date

from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

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
