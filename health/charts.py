"""The health history chart, drawn on the server as SVG.

Pure Python: it takes rows already read from the database and returns markup. Every piece of
text goes through `format_html`/`conditional_escape`, so an account name or a translation can
never inject markup; numbers are formatted here, never interpolated raw.

Long ranges are downsampled to at most MAX_POINTS points: the days are cut into consecutive
buckets and each bucket keeps its lowest and its highest score (in date order), so a sharp dip
or spike survives even on a multi-year chart. A bucket with no score at all keeps one empty
point, which breaks the line. The line also breaks where two or more days in a row have no
snapshot (two or more buckets when sampled). Version changes are found on the full series
before sampling, so no marker is lost.
"""

import itertools
import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils.formats import date_format
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Tier

MAX_POINTS = 400
RANGES = {"90d": 90, "1y": 365, "all": None}
RANGE_LABELS = {"90d": gettext_lazy("90 days"), "1y": gettext_lazy("1 year"), "all": gettext_lazy("All")}
DEFAULT_RANGE = "90d"

# The drawing area inside a 720 × 250 viewBox; the right margin holds the band labels.
WIDTH, HEIGHT = 720, 250
LEFT, RIGHT, TOP, BOTTOM = 34, 616, 24, 222

# (tier, lowest score, highest score + 1, band fill, label colour). Fills are pale so the ink
# line keeps better than 12:1 contrast over them; label colours pass AA (4.5:1) on white.
BANDS = (
    (Tier.HEALTHY, 80, 100, "#dcefe1", "#1d6b36"),
    (Tier.LOW, 60, 80, "#edf3d5", "#4b5a0c"),
    (Tier.MEDIUM, 40, 60, "#fbeccd", "#8a5300"),
    (Tier.HIGH, 0, 40, "#f8dede", "#a61b1b"),
)
INK = "#1b1f24"
MUTED = "#55606d"


def chart_range(value: str | None) -> str:
    """The requested range, or the default for anything unknown."""
    return value if value in RANGES else DEFAULT_RANGE


def range_start(range_key: str, today: date) -> date | None:
    days = RANGES[chart_range(range_key)]
    return None if days is None else today - timedelta(days=days - 1)


@dataclass(frozen=True)
class ChartPoint:
    date: date
    score: int | None
    tier: str
    version: int

    @property
    def tier_label(self) -> str:
        return Tier(self.tier).label if self.tier in Tier.values else ""


@dataclass
class HealthChart:
    range_key: str
    start: date
    end: date
    points: list[ChartPoint]  # what is drawn (and listed in the table), after sampling
    bucket_days: int  # 1 when every day is drawn
    version_changes: list[ChartPoint]
    summary: str
    svg: SafeString
    ranges: list[dict] = field(default_factory=list)

    @property
    def sampled(self) -> bool:
        return self.bucket_days > 1

    def table_rows(self) -> str:
        """The values table's rows, newest first. Built here in one pass: up to 365 rows through
        the template language cost more than the rest of the account page."""
        date_label, score_label = _("Date"), _("Score")
        tier_label, version_label = _("Health tier"), _("Model version")
        no_score = _("insufficient data")
        return format_html_join(
            "\n",
            '<tr><td data-label="{}"><time datetime="{}">{}</time></td>'
            '<td data-label="{}" class="num">{}</td><td data-label="{}">{}</td>'
            '<td data-label="{}">v{}</td></tr>',
            (
                (
                    date_label,
                    point.date.isoformat(),
                    date_format(point.date, "SHORT_DATE_FORMAT"),
                    score_label,
                    no_score if point.score is None else point.score,
                    tier_label,
                    point.tier_label or "—",
                    version_label,
                    point.version,
                )
                for point in reversed(self.points)
            ),
        )


def downsample(points: list[ChartPoint], max_points: int = MAX_POINTS) -> tuple[list[ChartPoint], int]:
    """At most `max_points` points: the lowest and highest of each bucket of consecutive days."""
    if len(points) <= max_points:
        return points, 1
    bucket = math.ceil(len(points) / (max_points // 2))
    kept: list[ChartPoint] = []
    for start in range(0, len(points), bucket):
        chunk = points[start : start + bucket]
        scored = [p for p in chunk if p.score is not None]
        if not scored:
            kept.append(chunk[0])
            continue
        low = min(scored, key=lambda p: p.score)
        high = max(scored, key=lambda p: p.score)
        kept.extend(sorted({low, high}, key=lambda p: p.date))
    return kept, bucket


def version_changes(points: list[ChartPoint]) -> list[ChartPoint]:
    """The first point scored by each new model version."""
    return [point for before, point in itertools.pairwise(points) if point.version != before.version]


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _join(parts) -> SafeString:
    return mark_safe("".join(conditional_escape(part) for part in parts))  # noqa: S308 - each part escaped


def _when(day: date) -> str:
    return date_format(day, "SHORT_DATE_FORMAT")


def summarise(points: list[ChartPoint], start: date, end: date, changes: list[ChartPoint]) -> str:
    scores = [p.score for p in points if p.score is not None]
    if not scores:
        text = _("No health score between %(start)s and %(end)s.") % {
            "start": _when(start),
            "end": _when(end),
        }
    else:
        text = _(
            "From %(start)s to %(end)s: first score %(first)s, last %(last)s, "
            "lowest %(lowest)s, highest %(highest)s."
        ) % {
            "start": _when(start),
            "end": _when(end),
            "first": scores[0],
            "last": scores[-1],
            "lowest": min(scores),
            "highest": max(scores),
        }
    for change in changes:
        text += " " + _("Model v%(version)s from %(date)s.") % {
            "version": change.version,
            "date": _when(change.date),
        }
    return text


def _month_ticks(start: date, end: date) -> list[date]:
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    step = next((s for s in (1, 2, 3, 6, 12, 24, 60) if months / s <= 6), 120)
    ticks = []
    year, month = start.year, start.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        tick = date(year, month, 1)
        if tick > end:
            break
        if (tick.year * 12 + tick.month - 1) % step == 0:
            ticks.append(tick)
    return ticks


def draw(
    points: list[ChartPoint],
    *,
    start: date,
    end: date,
    title: str,
    summary: str,
    changes: list[ChartPoint],
    gap_days: int,
    chart_id: str = "health-chart-svg",
) -> SafeString:
    span = max((end - start).days, 1)

    def x(day: date) -> float:
        return LEFT + (day - start).days / span * (RIGHT - LEFT)

    def y(score: float) -> float:
        return BOTTOM - score / 100 * (BOTTOM - TOP)

    parts: list = [
        format_html(
            '<svg class="health-chart-svg" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title {}-desc" '
            'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
            WIDTH,
            HEIGHT,
            chart_id,
            chart_id,
        ),
        format_html('<title id="{}-title">{}</title>', chart_id, title),
        format_html('<desc id="{}-desc">{}</desc>', chart_id, summary),
        mark_safe('<g class="bands" aria-hidden="true">'),
    ]
    for tier, low, high, fill, ink in BANDS:
        top, bottom = y(high), y(low)
        parts.append(
            format_html(
                '<rect class="band band-{}" x="{}" y="{}" width="{}" height="{}" fill="{}"/>',
                tier.value,
                LEFT,
                _num(top),
                RIGHT - LEFT,
                _num(bottom - top),
                fill,
            )
        )
        parts.append(
            format_html(
                '<text class="band-label" x="{}" y="{}" fill="{}" font-size="12" dominant-baseline="middle">'
                "{}</text>",
                RIGHT + 8,
                _num((top + bottom) / 2),
                ink,
                tier.label,
            )
        )
    parts.append(mark_safe("</g>"))

    parts.append(format_html('<g class="axes" aria-hidden="true" fill="{}" font-size="11">', MUTED))
    for score in (0, 40, 60, 80, 100):
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>',
                LEFT - 6,
                _num(y(score)),
                score,
            )
        )
    for tick in _month_ticks(start, end):
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="1"/>'
                '<text x="{}" y="{}" text-anchor="middle">{}</text>',
                _num(x(tick)),
                _num(x(tick)),
                BOTTOM,
                BOTTOM + 4,
                MUTED,
                _num(x(tick)),
                BOTTOM + 17,
                date_format(tick, "YEAR_MONTH_FORMAT"),
            )
        )
    parts.append(mark_safe("</g>"))

    parts.append(format_html('<g class="version-markers" fill="{}" font-size="11">', INK))
    for change in changes:
        cx = x(change.date)
        parts.append(
            format_html(
                '<line class="version-marker" x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" '
                'stroke-width="1.5" stroke-dasharray="4 3"/>'
                '<text class="version-label" x="{}" y="{}" text-anchor="middle">{}</text>',
                _num(cx),
                _num(cx),
                TOP,
                BOTTOM,
                INK,
                _num(min(max(cx, LEFT + 30), RIGHT - 30)),
                TOP - 8,
                _("model v%(version)s") % {"version": change.version},
            )
        )
    parts.append(mark_safe("</g>"))

    # The line, broken wherever a score is missing or days are missing between two points.
    segments: list[list[ChartPoint]] = []
    previous: ChartPoint | None = None
    for point in points:
        if point.score is None:
            previous = None
            continue
        if previous is None or (point.date - previous.date).days > gap_days:
            segments.append([])
        segments[-1].append(point)
        previous = point
    for segment in segments:
        if len(segment) == 1:
            only = segment[0]
            parts.append(
                format_html(
                    '<circle class="score-dot" cx="{}" cy="{}" r="2.5" fill="{}"/>',
                    _num(x(only.date)),
                    _num(y(only.score)),
                    INK,
                )
            )
            continue
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{_num(x(p.date))},{_num(y(p.score))}" for i, p in enumerate(segment)
        )
        parts.append(
            format_html(
                '<path class="score-line" d="{}" fill="none" stroke="{}" stroke-width="2" '
                'stroke-linejoin="round" stroke-linecap="round"/>',
                path,
                INK,
            )
        )
    parts.append(mark_safe("</svg>"))
    return _join(parts)


def build_chart(
    rows, *, range_key: str, today: date, title: str, chart_id: str = "health-chart-svg"
) -> HealthChart:
    """`rows` are (date, score, tier, model version) in date order, already limited to the range."""
    range_key = chart_range(range_key)
    full = [ChartPoint(day, score, tier or "", version) for day, score, tier, version in rows]
    start = range_start(range_key, today) or (full[0].date if full else today)
    end = max(today, full[-1].date) if full else today
    changes = version_changes(full)
    points, bucket = downsample(full)
    summary = summarise(full, start, end, changes)
    svg = draw(
        points,
        start=start,
        end=end,
        title=title,
        summary=summary,
        changes=changes,
        gap_days=2 * bucket,
        chart_id=chart_id,
    )
    ranges = [{"key": key, "label": RANGE_LABELS[key], "current": key == range_key} for key in RANGES]
    return HealthChart(range_key, start, end, points, bucket, changes, summary, svg, ranges)
