"""The report charts, drawn on the server as SVG, in the pattern of health/charts.py.

Pure Python over numbers already computed by interviews.churn and interviews.reasons: no
queries. Every piece of text goes through `format_html`, numbers are formatted here. Each chart
carries a <title> and a <desc> and sits beside a data table in the template, so nothing is only
in the picture.

Benchmark bands come from DESIGN.md, each stated in the unit its source uses (annual or monthly)
and converted to the chart's unit by compounding: a monthly rate m is 1 − (1 − m)^3 a quarter and
1 − (1 − m)^12 a year, and back. Only bands that mean something at the chart's unit are drawn:
monthly charts show the monthly benchmarks and the enterprise band; quarterly and yearly charts
the annual ones.
"""

import math
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 560, 18, 226
INK = "#1b1f24"
MUTED = "#55606d"
BAR = "#2f5d8a"
LINE = "#b4461b"
# Category colours, in taxonomy order; all keep 3:1 against white for the bars' edges.
PALETTE = ("#2f5d8a", "#b4461b", "#2e7d4f", "#7a4da3", "#8a6d00", "#a1306b", "#3d7c8c", "#5b5b5b")

MONTHS = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True)
class Benchmark:
    key: str
    label: object  # lazy
    low: float  # a fraction, in the benchmark's own unit
    high: float
    unit: str  # "month" or "year"
    fill: str
    ink: str


BENCHMARKS = (
    Benchmark("enterprise", gettext_lazy("Mature/enterprise SaaS"), 0.05, 0.07, "year", "#dcefe1", "#1d6b36"),
    Benchmark("b2b", gettext_lazy("B2B average"), 0.10, 0.15, "year", "#edf3d5", "#4b5a0c"),
    Benchmark("small_mature", gettext_lazy("Small mature SaaS"), 0.01, 0.03, "month", "#fbeccd", "#8a5300"),
    Benchmark("young", gettext_lazy("Young businesses"), 0.03, 0.05, "month", "#f8dede", "#a61b1b"),
)
BANDS_BY_UNIT = {
    "month": ("enterprise", "small_mature", "young"),
    "quarter": ("enterprise", "b2b"),
    "year": ("enterprise", "b2b"),
}


def convert(rate: float, from_unit: str, to_unit: str) -> float:
    """A churn rate over `from_unit` as the compounding-equivalent rate over `to_unit`."""
    return 1 - (1 - rate) ** (MONTHS[to_unit] / MONTHS[from_unit])


@dataclass(frozen=True)
class Band:
    key: str
    label: str
    low: float
    high: float
    fill: str
    ink: str
    converted: bool

    @property
    def text(self) -> str:
        low, high = _pct(self.low), _pct(self.high)
        approx = "≈" if self.converted else ""
        return f"{self.label} {approx}{low}–{high}"


def bands_for(unit: str) -> list[Band]:
    by_key = {b.key: b for b in BENCHMARKS}
    bands = []
    for key in BANDS_BY_UNIT[unit]:
        b = by_key[key]
        bands.append(
            Band(
                key,
                str(b.label),
                convert(b.low, b.unit, unit),
                convert(b.high, b.unit, unit),
                b.fill,
                b.ink,
                converted=b.unit != unit,
            )
        )
    return bands


def nice_ticks(low: float, high: float, *, count: int = 4, whole: bool = False) -> list[float]:
    """Round axis ticks covering [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten (1, 2
    or 5 for whole counts), about `count` of them."""
    span = high - low if high > low else abs(high) or 1.0
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in steps if m * magnitude >= raw * (1 - 1e-9))
    if whole:
        step = max(step, 1)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(n * step, 10) for n in range(first, max(last, first + 1) + 1)]


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _pct(value: float) -> str:
    text = f"{value * 100:.1f}"
    if float(text) == 0:
        return "0%"  # never "-0%"
    return (text[:-2] if text.endswith(".0") else text) + "%"


def _join(parts) -> SafeString:
    return mark_safe("".join(conditional_escape(part) for part in parts))  # noqa: S308 - each part escaped


@dataclass
class Series:
    name: str
    values: list  # Decimal | float | None, one per label
    style: str = "bar"  # "bar" or "line"
    hrefs: list | None = None
    colour: str = BAR


def _open(chart_id: str, title: str, summary: str) -> list:
    return [
        format_html(
            '<svg class="health-chart-svg report-chart-svg" viewBox="0 0 {} {}" role="img" '
            'aria-labelledby="{}-title {}-desc" '
            'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
            WIDTH,
            HEIGHT,
            chart_id,
            chart_id,
        ),
        format_html('<title id="{}-title">{}</title>', chart_id, title),
        format_html('<desc id="{}-desc">{}</desc>', chart_id, summary),
    ]


def _x_labels(labels: list[str], slot: float) -> list:
    parts = [format_html('<g class="x-labels" aria-hidden="true" fill="{}" font-size="11">', MUTED)]
    step = max(1, round(len(labels) / 12))
    for i, label in enumerate(labels):
        if i % step:
            continue
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="middle">{}</text>',
                _num(LEFT + slot * (i + 0.5)),
                BOTTOM + 16,
                label,
            )
        )
    parts.append(mark_safe("</g>"))
    return parts


def rate_chart(
    *,
    labels: list[str],
    series: list[Series],
    bands: list[Band],
    title: str,
    summary: str,
    chart_id: str,
) -> SafeString:
    """Bars (and lines) of ratios per period over pale benchmark bands, labelled on the right."""
    values = [float(v) for s in series for v in s.values if v is not None]
    ticks = nice_ticks(min([*values, 0.0]), max([*values, *(b.high for b in bands), 0.01]))
    low, high = ticks[0], ticks[-1]

    def y(value: float) -> float:
        return BOTTOM - (value - low) / (high - low) * (BOTTOM - TOP)

    slot = (RIGHT - LEFT) / max(len(labels), 1)
    parts = _open(chart_id, title, summary)
    parts.append(mark_safe('<g class="bands">'))
    for band in bands:
        top, bottom = y(band.high), y(band.low)
        parts.append(
            format_html(
                '<rect class="band band-{}" x="{}" y="{}" width="{}" height="{}" fill="{}" '
                'fill-opacity="0.8">'
                "<title>{}</title></rect>"
                '<text class="band-label" x="{}" y="{}" fill="{}" font-size="11" dominant-baseline="middle">'
                "{}</text>",
                band.key,
                LEFT,
                _num(top),
                RIGHT - LEFT,
                _num(max(bottom - top, 1)),
                band.fill,
                band.text,
                RIGHT + 6,
                _num((top + bottom) / 2),
                band.ink,
                band.text,
            )
        )
    parts.append(mark_safe("</g>"))
    parts.append(format_html('<g class="axes" aria-hidden="true" fill="{}" font-size="11">', MUTED))
    for tick in ticks:
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>',
                LEFT - 6,
                _num(y(tick)),
                _pct(tick),
            )
        )
    parts.append(
        format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="1"/>',
            LEFT,
            RIGHT,
            _num(y(0)),
            _num(y(0)),
            MUTED,
        )
    )
    parts.append(mark_safe("</g>"))
    bar_series = [s for s in series if s.style == "bar"]
    bar_width = slot * 0.7 / max(len(bar_series), 1)
    for n, s in enumerate(bar_series):
        parts.append(format_html('<g class="bars" fill="{}">', s.colour))
        for i, value in enumerate(s.values):
            if value is None:
                continue
            x = LEFT + slot * i + slot * 0.15 + bar_width * n
            top, bottom = sorted((y(float(value)), y(0)))
            rect = format_html(
                '<rect class="bar" x="{}" y="{}" width="{}" height="{}"><title>{}: {} {}</title></rect>',
                _num(x),
                _num(top),
                _num(bar_width),
                _num(max(bottom - top, 0.5)),
                labels[i],
                s.name,
                _pct(float(value)),
            )
            href = s.hrefs[i] if s.hrefs else None
            parts.append(format_html('<a href="{}">{}</a>', href, rect) if href else rect)
        parts.append(mark_safe("</g>"))
    for s in series:
        if s.style != "line":
            continue
        points = [(LEFT + slot * (i + 0.5), y(float(v))) for i, v in enumerate(s.values) if v is not None]
        if len(points) > 1:
            path = " ".join(
                f"{'M' if i == 0 else 'L'}{_num(px)},{_num(py)}" for i, (px, py) in enumerate(points)
            )
            parts.append(
                format_html(
                    '<path class="line" d="{}" fill="none" stroke="{}" stroke-width="2"/>', path, s.colour
                )
            )
        for px, py in points:
            parts.append(
                format_html('<circle cx="{}" cy="{}" r="3" fill="{}"/>', _num(px), _num(py), s.colour)
            )
    parts.extend(_x_labels(labels, slot))
    # No legend inside: the right margin holds the band labels; the caption names the series.
    parts.append(mark_safe("</svg>"))
    return _join(parts)


@dataclass
class Stack:
    name: str
    counts: list[int]  # one per label
    hrefs: list[str]
    colour: str


def stacked_chart(
    *, labels: list[str], stacks: list[Stack], title: str, summary: str, chart_id: str
) -> SafeString:
    """Counts per period stacked by reason category; every segment links to its interviews."""
    totals = [sum(s.counts[i] for s in stacks) for i in range(len(labels))]
    ticks = nice_ticks(0, max([*totals, 1]), whole=True)
    high = ticks[-1]

    def y(value: float) -> float:
        return BOTTOM - value / high * (BOTTOM - TOP)

    slot = (RIGHT - LEFT) / max(len(labels), 1)
    parts = _open(chart_id, title, summary)
    parts.append(format_html('<g class="axes" aria-hidden="true" fill="{}" font-size="11">', MUTED))
    for tick in ticks:
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>',
                LEFT - 6,
                _num(y(tick)),
                int(tick),
            )
        )
    parts.append(mark_safe("</g>"))
    base = [0] * len(labels)
    for stack in stacks:
        parts.append(format_html('<g class="segments" fill="{}" stroke="#fff">', stack.colour))
        for i, count in enumerate(stack.counts):
            if not count:
                continue
            top, bottom = y(base[i] + count), y(base[i])
            base[i] += count
            parts.append(
                format_html(
                    '<a href="{}"><rect class="segment" x="{}" y="{}" width="{}" height="{}">'
                    "<title>{}: {} {}</title></rect></a>",
                    stack.hrefs[i],
                    _num(LEFT + slot * i + slot * 0.15),
                    _num(top),
                    _num(slot * 0.7),
                    _num(bottom - top),
                    labels[i],
                    stack.name,
                    count,
                )
            )
        parts.append(mark_safe("</g>"))
    parts.extend(_x_labels(labels, slot))
    parts.append(format_html('<g class="legend" font-size="11" fill="{}">', INK))
    for n, stack in enumerate(stacks):
        y0 = TOP + n * 16
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}">{}</text>',
                RIGHT + 6,
                y0,
                stack.colour,
                RIGHT + 20,
                y0 + 9,
                stack.name,
            )
        )
    parts.append(mark_safe("</g>"))
    parts.append(mark_safe("</svg>"))
    return _join(parts)


def describe_rates(name: str, labels: list[str], values: list[Decimal | None]) -> str:
    """A one-sentence summary for screen readers: the latest value, the lowest and the highest."""
    known = [(label, v) for label, v in zip(labels, values, strict=True) if v is not None]
    if not known:
        return _("%(name)s: no data in these periods.") % {"name": name}
    lowest = min(known, key=lambda item: item[1])
    highest = max(known, key=lambda item: item[1])
    return _(
        "%(name)s: %(last)s in %(last_period)s; lowest %(low)s (%(low_period)s), "
        "highest %(high)s (%(high_period)s)."
    ) % {
        "name": name,
        "last": _pct(float(known[-1][1])),
        "last_period": known[-1][0],
        "low": _pct(float(lowest[1])),
        "low_period": lowest[0],
        "high": _pct(float(highest[1])),
        "high_period": highest[0],
    }
