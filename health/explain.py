"""The account page's health section in words: why the score moved, what each alert means.

Reads a fixed handful of queries per page (history, the snapshots compared, open alerts, the
active override), whatever the length of the history. Every sentence is one translatable
template with named placeholders; user data (names, notes, reasons) is passed as values and
escaped by the template like any other text.
"""

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .charts import build_chart, chart_range, range_start
from .models import Alert, AlertKind, HealthOverride, HealthSnapshot, MeasureKey, Tier
from .scoring import HIGH_RISK_CAP

# A comparison uses the snapshot exactly N days back, or the nearest one up to this many days
# earlier, so one missed nightly run does not blank the panel.
COMPARE_TOLERANCE_DAYS = 3
COMPARISONS = (7, 30)
TOP_REASONS = 3
MAX_CHANGES = 8
MIN_POINTS = 0.5  # smaller moves of a contribution are rounding, not news


def when(day: date | str | None) -> str:
    if not day:
        return ""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return date_format(day, "SHORT_DATE_FORMAT")


def signed(number: float) -> str:
    """+5, −5 (a real minus sign), 0."""
    value = round(number)
    if value > 0:
        return f"+{value}"
    if value < 0:
        return f"\u2212{-value}"
    return "0"


def _percent(ratio: float) -> str:
    return f"{round(ratio * 100)}%"


def _change(ratio: float) -> str:
    return f"{signed((ratio - 1) * 100)}%"


def _decimal(value: float) -> str:
    return f"{value:.1f}"


def tier_label(tier: str) -> str:
    return Tier(tier).label if tier in Tier.values else ""


def measure_label(key: str) -> str:
    return MeasureKey(key).label if key in MeasureKey.values else key


def tier_badge(tier: str) -> SafeString | str:
    if tier not in Tier.values:
        return ""
    return format_html('<span class="badge tier-{}">{}</span>', tier, Tier(tier).label)


def delta_badge(delta: int | None, *, with_period: bool = False) -> SafeString | str:
    """▲ 5 / ▼ 12 for the eye, a sentence for screen readers."""
    if delta is None:
        return ""
    points = abs(delta)
    if delta > 0:
        css, arrow = "up", "▲"
        spoken = ngettext("Up %(points)s point in 7 days", "Up %(points)s points in 7 days", points)
    elif delta < 0:
        css, arrow = "down", "▼"
        spoken = ngettext("Down %(points)s point in 7 days", "Down %(points)s points in 7 days", points)
    else:
        css, arrow, spoken = "flat", "±", _("No change in 7 days")
    shown = f"{arrow} {points}"
    if with_period:
        shown = _("%(change)s in 7 days") % {"change": shown}
    return format_html(
        '<span class="delta delta-{}"><span aria-hidden="true">{}</span>'
        '<span class="visually-hidden">{}</span></span>',
        css,
        shown,
        spoken % {"points": points},
    )


# --- Measures in words ------------------------------------------------------------------------


def measure_words(key: str, entry: dict, *, cadence: int) -> tuple[str, str]:
    """(short phrase, full sentence) for a measure's current raw value."""
    raw = entry.get("raw")
    if raw is None:
        return measure_label(key), _("No data.")
    count = round(raw)
    if key == "login_trend":
        return (
            _("logins %(change)s") % {"change": _change(raw)},
            _("Logins over the last 14 days are %(percent)s of the 60 days before.")
            % {"percent": _percent(raw)},
        )
    if key == "seat_utilisation":
        return (
            _("seat use %(percent)s") % {"percent": _percent(raw)},
            _("%(percent)s of licensed seats were in use on an average day of the last 30.")
            % {"percent": _percent(raw)},
        )
    if key == "core_feature_trend":
        return (
            _("core-feature use %(change)s") % {"change": _change(raw)},
            _("Core-feature use over the last 30 days is %(percent)s of the 60 days before.")
            % {"percent": _percent(raw)},
        )
    if key == "feature_breadth":
        return (
            _("feature breadth %(percent)s") % {"percent": _percent(raw)},
            _("%(percent)s of the features offered were used in the last 30 days.")
            % {"percent": _percent(raw)},
        )
    if key == "ticket_anomaly":
        if entry.get("silence"):
            return (
                _("support gone silent"),
                _("No tickets in the last 30 days from an account that usually opens several."),
            )
        return (
            _("tickets %(ratio)s× usual") % {"ratio": _decimal(raw)},
            _("Tickets in the last 30 days are %(ratio)s× the monthly average of the 90 days before.")
            % {"ratio": _decimal(raw)},
        )
    if key == "csat":
        return (
            _("CSAT %(value)s") % {"value": _decimal(raw)},
            _("Average CSAT over 90 days is %(value)s out of 5.") % {"value": _decimal(raw)},
        )
    if key == "open_high_priority":
        return (
            ngettext("%(count)s high-priority ticket open", "%(count)s high-priority tickets open", count)
            % {"count": count},
            ngettext(
                "%(count)s high-priority ticket is open.", "%(count)s high-priority tickets are open.", count
            )
            % {"count": count},
        )
    if key == "invoice_overdue":
        if count == 0:
            return _("invoices paid on time"), _("No invoice is overdue.")
        return (
            ngettext("invoice %(count)s day overdue", "invoice %(count)s days overdue", count)
            % {"count": count},
            ngettext("An invoice is %(count)s day overdue.", "An invoice is %(count)s days overdue.", count)
            % {"count": count},
        )
    if key == "touch_recency":
        days = round(raw * cadence)
        return (
            ngettext("last touch %(count)s day ago", "last touch %(count)s days ago", days) % {"count": days},
            ngettext(
                "The last touchpoint was %(count)s day ago; this tier's cadence is %(cadence)s days.",
                "The last touchpoint was %(count)s days ago; this tier's cadence is %(cadence)s days.",
                days,
            )
            % {"count": days, "cadence": cadence},
        )
    if key == "champion_present":
        if raw >= 1:
            return _("champion in place"), _("A champion is in place.")
        return _("no champion"), _("Nobody at the customer is a champion any more.")
    if key == "latest_nps":
        return (
            _("NPS %(value)s") % {"value": count},
            _("The latest NPS response is %(value)s out of 10.") % {"value": count},
        )
    if key == "email_open_rate":
        return (
            _("email opens %(percent)s") % {"percent": _percent(raw)},
            _("%(percent)s of marketing emails were opened over 90 days.") % {"percent": _percent(raw)},
        )
    if key == "training":
        return (
            ngettext("%(count)s training session", "%(count)s training sessions", count) % {"count": count},
            ngettext(
                "%(count)s training or webinar session attended in 90 days.",
                "%(count)s training or webinar sessions attended in 90 days.",
                count,
            )
            % {"count": count},
        )
    if key == "release_notes":
        return (
            ngettext("%(count)s release-notes view", "%(count)s release-notes views", count)
            % {"count": count},
            ngettext(
                "%(count)s release-notes view in 30 days.", "%(count)s release-notes views in 30 days.", count
            )
            % {"count": count},
        )
    return measure_label(key), _decimal(raw)


def points_words(points: float) -> str:
    value = round(points)
    return ngettext("%(points)s point", "%(points)s points", abs(value)) % {"points": signed(value)}


@dataclass
class MeasureChange:
    """One item of "why it moved": a measure, the health model's change, an override or cap, or
    the smaller moves and rounding. A comparison's items add up to its headline exactly."""

    key: str
    label: str
    points: float  # share of the headline change, in score points (whole once apportioned)
    status: str  # "changed", "dropped" (no data now), "added" (data again), "model", "override", "other"
    short: str
    sentence: str
    exact: float = 0.0  # the unrounded share, which orders the items

    @property
    def points_text(self) -> str:
        return points_words(self.points)

    @property
    def direction(self) -> str:
        return "up" if self.points > 0 else "down" if self.points < 0 else "flat"


@dataclass
class Comparison:
    days: int
    then: HealthSnapshot | None
    headline: str
    detail: str = ""
    changes: list[MeasureChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    delta: int | None = None

    @property
    def top(self) -> list[MeasureChange]:
        return [change for change in self.changes if change.status != "other"][:TOP_REASONS]

    @property
    def direction(self) -> str:
        if not self.delta:
            return "flat"
        return "up" if self.delta > 0 else "down"


def _cadence(snapshot: HealthSnapshot, value_tier: str) -> int:
    return snapshot.model.cadence_days(value_tier)


def _contributions(snapshot: HealthSnapshot) -> dict[str, float]:
    return {
        key: float(entry.get("contribution") or 0)
        for key, entry in snapshot.measures.items()
        if entry.get("raw") is not None
    }


def measure_changes(
    now: HealthSnapshot, then: HealthSnapshot, *, value_tier: str, before: dict[str, float] | None = None
) -> list[MeasureChange]:
    """Every measure whose contribution moved, largest move first (unrounded points). `before` is
    what `then` contributed, by measure, scored on `now`'s model (default: as stored)."""
    if before is None:
        before = _contributions(then)
    current = _contributions(now)
    changes = []
    keys = list(dict.fromkeys([*now.measures, *then.measures]))
    for key in keys:
        entry = now.measures.get(key) or {}
        has_now, had_then = (
            entry.get("raw") is not None,
            (then.measures.get(key) or {}).get("raw") is not None,
        )
        if not has_now and not had_then:
            continue
        points = current.get(key, 0.0) - before.get(key, 0.0)
        if has_now:
            short, sentence = measure_words(key, entry, cadence=_cadence(now, value_tier))
        if has_now and had_then:
            status = "changed"
        elif has_now:
            status = "added"
            sentence = _("Counts again now that its data arrived: %(sentence)s") % {"sentence": sentence}
        else:
            status = "dropped"
            short = _("%(measure)s: no data") % {"measure": measure_label(key)}
            sentence = _("No data any more, so it dropped out and its weight went to the other measures.")
        changes.append(MeasureChange(key, measure_label(key), points, status, short, sentence, exact=points))
    changes.sort(key=lambda change: (-abs(change.points), change.key))
    return changes


def override_words(snapshot: HealthSnapshot, active: HealthOverride | None) -> list[str]:
    """Why the score shown is not (only) the model's arithmetic."""
    words = []
    if snapshot.override == "no_login":
        days = snapshot.model.no_login_days
        words.append(
            ngettext(
                "Capped at %(cap)s: no login for %(days)s day.",
                "Capped at %(cap)s: no login for %(days)s days.",
                days,
            )
            % {"cap": HIGH_RISK_CAP, "days": days}
        )
    elif snapshot.override == "cancellation_intent":
        words.append(_("High risk: cancellation intent voiced."))
    elif snapshot.override == "csm":
        if active is not None:
            by = active.created_by
            words.append(
                _("Set by %(name)s until %(date)s: %(reason)s")
                % {
                    "name": by.get_full_name() or by.get_username(),
                    "date": when(active.expires_on),
                    "reason": active.reason,
                }
            )
        else:
            words.append(_("Set by a CSM's override."))
    if (
        snapshot.override
        and snapshot.computed_score is not None
        and snapshot.computed_score != snapshot.score
    ):
        words.append(_("The model computed %(score)s.") % {"score": snapshot.computed_score})
    return words


def _override_effect(snapshot: HealthSnapshot) -> float:
    """Points the shown score differs from the model's own (a cap, cancellation intent, a CSM)."""
    if not snapshot.override or snapshot.computed_score is None or snapshot.score is None:
        return 0.0
    return float(snapshot.score - snapshot.computed_score)


def _override_item(now: HealthSnapshot, then: HealthSnapshot, points: float) -> MeasureChange:
    if now.override:
        words = " ".join(override_words(now, None))
        short = {
            "no_login": _("no-login cap"),
            "cancellation_intent": _("cancellation intent"),
            "csm": _("CSM override"),
        }.get(now.override, _("override"))
        if then.override == now.override:
            words = _("%(override)s Its effect changed with the model's score.") % {"override": words}
    else:
        short = _("override ended")
        words = _("No longer applies (on %(date)s: %(override)s)") % {
            "date": when(then.date),
            "override": " ".join(override_words(then, None)),
        }
    return MeasureChange("_override", _("Cap or override"), points, "override", short, words, exact=points)


def apportion(parts: list[float], total: int) -> list[int]:
    """Whole numbers, each within one of its part, that add up to `total` exactly (largest
    remainders get the units left over), so the listed items sum to the headline."""
    floors = [math.floor(part) for part in parts]
    left = total - sum(floors)
    order = sorted(range(len(parts)), key=lambda i: (-(parts[i] - floors[i]), i))
    if left >= 0:
        for i in order[:left]:
            floors[i] += 1
    else:  # the parts added up to less than the total's floor: take units from the smallest remainders
        for i in list(reversed(order))[:-left]:
            floors[i] -= 1
    return floors


def explain_change(now: HealthSnapshot, then: HealthSnapshot, *, value_tier: str) -> list[MeasureChange]:
    """The items of "why it moved" from `then` to `now`, adding up to `now.score - then.score`:
    each measure's move (on today's model), the model's change, a cap or override, and the smaller
    moves and rounding together. Items of zero points are left out, but measures that dropped out
    or came back."""
    delta = now.score - then.score
    before = _contributions(then)
    model_item = None
    if then.model_id != now.model_id:
        from .scoring import ModelSpec, rescore_measures

        rescored = rescore_measures(then.measures, ModelSpec.load(now.model))
        points = sum(rescored.values()) - sum(before.values())
        model_item = MeasureChange(
            "_model",
            _("Health model"),
            points,
            "model",
            _("model v%(old)s → v%(new)s") % {"old": then.model.version, "new": now.model.version},
            _("Scoring the earlier data with v%(new)s instead of v%(old)s moves it by this much.")
            % {"old": then.model.version, "new": now.model.version},
            exact=points,
        )
        before = rescored
    measures = measure_changes(now, then, value_tier=value_tier, before=before)
    listed = [c for c in measures if abs(c.points) >= MIN_POINTS or c.status in ("added", "dropped")]
    listed = listed[:MAX_CHANGES]
    items = ([model_item] if model_item is not None else []) + listed
    override = _override_effect(now) - _override_effect(then)
    if override or (now.override != then.override and (now.override or then.override)):
        items.append(_override_item(now, then, override))
    rest = delta - sum(item.exact for item in items)
    if abs(rest) > 1e-9:
        items.append(
            MeasureChange(
                "_other",
                _("Smaller moves and rounding"),
                rest,
                "other",
                _("smaller moves"),
                _("The other measures' small moves, and the score's rounding to a whole number."),
                exact=rest,
            )
        )
    for item, points in zip(items, apportion([item.exact for item in items], delta), strict=True):
        item.points = points
    items = [item for item in items if item.points or item.status in ("added", "dropped", "override")]
    items.sort(key=lambda item: (item.status == "other", -abs(item.exact), item.key))
    return items


def compare(now: HealthSnapshot, then: HealthSnapshot | None, *, days: int, value_tier: str) -> Comparison:
    if then is None:
        if days == 7:
            return Comparison(days, None, _("No score from a week ago to compare with."))
        return Comparison(days, None, _("No score from a month ago to compare with."))
    if then.score is None:
        return Comparison(days, then, _("No score on %(date)s to compare with.") % {"date": when(then.date)})
    delta = now.score - then.score
    if delta == 0:
        headline = _("No change since last week") if days == 7 else _("No change since last month")
    elif days == 7:
        headline = _("%(delta)s since last week") % {"delta": signed(delta)}
    else:
        headline = _("%(delta)s since last month") % {"delta": signed(delta)}
    comparison = Comparison(
        days,
        then,
        headline,
        detail=_("%(then)s on %(date)s, %(now)s on %(today)s.")
        % {"then": then.score, "date": when(then.date), "now": now.score, "today": when(now.date)},
        changes=explain_change(now, then, value_tier=value_tier),
        delta=delta,
    )
    if then.model_id != now.model_id:
        comparison.notes.append(
            _(
                "The health model changed from v%(old)s to v%(new)s in between, so part of the change "
                "comes from new weights or bands."
            )
            % {"old": then.model.version, "new": now.model.version}
        )
    return comparison


# --- Alerts in words --------------------------------------------------------------------------


def _number(value: Any) -> str:
    return f"{float(value):.1f}".rstrip("0").rstrip(".")


def alert_words(kind: str, evidence: dict) -> str:
    """One sentence per kind, with the evidence's numbers and dates."""
    e = evidence
    try:
        if kind == AlertKind.LOGIN_DROP:
            return _("Login days a week fell from %(before)s to %(now)s between %(start)s and %(end)s.") % {
                "now": _number(e["login_days_per_week_now"]),
                "before": _number(e["login_days_per_week_before"]),
                "start": when(e["from"]),
                "end": when(e["to"]),
            }
        if kind == AlertKind.CORE_FEATURE_DROP:
            return _(
                "Core-feature use down %(percent)s: %(now)s events a day from %(start)s to %(end)s, "
                "against %(before)s a day in the 60 days before."
            ) % {
                "percent": f"{abs(int(e['change_percent']))}%",
                "now": _number(e["per_day_now"]),
                "before": _number(e["per_day_before"]),
                "start": when(e["from"]),
                "end": when(e["to"]),
            }
        if kind == AlertKind.TICKET_SPIKE:
            count = int(e["last_30_days"])
            return ngettext(
                "%(count)s ticket in the last 30 days, against %(monthly)s a month before.",
                "%(count)s tickets in the last 30 days, against %(monthly)s a month before.",
                count,
            ) % {"count": count, "monthly": _number(e["monthly_before"])}
        if kind == AlertKind.TICKET_SILENCE:
            return _(
                "No tickets in the last 30 days, from an account that opened %(monthly)s a month before."
            ) % {"monthly": _number(e["monthly_before"])}
        if kind == AlertKind.NO_ENGAGEMENT:
            return _("No release-notes views and no training attended in %(days)s days (since %(date)s).") % {
                "days": int(e["days"]),
                "date": when(e["since"]),
            }
        if kind == AlertKind.RENEWAL_AT_RISK:
            days = int(e["days_to_renewal"])
            parts = [
                ngettext(
                    "Renews on %(date)s, in %(days)s day.", "Renews on %(date)s, in %(days)s days.", days
                )
                % {"date": when(e["renewal_date"]), "days": days}
            ]
            if e.get("last_touch"):
                parts.append(_("Last touchpoint on %(date)s.") % {"date": when(e["last_touch"])})
            else:
                parts.append(_("No touchpoint recorded."))
            overdue = int(e.get("invoice_days_overdue") or 0)
            if overdue:
                parts.append(
                    ngettext("Invoice %(count)s day overdue.", "Invoice %(count)s days overdue.", overdue)
                    % {"count": overdue}
                )
            return " ".join(parts)
        if kind == AlertKind.KEY_CONTACT_LEFT:
            values = {"name": e.get("name") or "", "date": when(e["left_on"])}
            if e.get("role") == "champion":
                if values["name"]:
                    return _("%(name)s, the champion, left on %(date)s.") % values
                return _("The champion left on %(date)s.") % values
            if values["name"]:
                return _("%(name)s, the decision maker, left on %(date)s.") % values
            return _("The decision maker left on %(date)s.") % values
        if kind == AlertKind.CANCELLATION_INTENT:
            if e.get("note"):
                return _("Cancellation intent voiced on %(date)s: “%(note)s”") % {
                    "date": when(e["date"]),
                    "note": e["note"],
                }
            return _("Cancellation intent voiced on %(date)s.") % {"date": when(e["date"])}
        if kind == AlertKind.RISK_WORDS:
            return _("Risk words %(words)s in “%(subject)s” on %(date)s.") % {
                "words": ", ".join(f"“{word}”" for word in e["words"]),
                "subject": e.get("subject") or "",
                "date": when(e["date"]),
            }
        if kind == AlertKind.STALE_DATA:
            days = int(e["days_without"])
            return ngettext(
                "No metrics received for %(days)s day; the last arrived on %(date)s.",
                "No metrics received for %(days)s days; the last arrived on %(date)s.",
                days,
            ) % {"days": days, "date": when(e["last_metrics"])}
    except (KeyError, TypeError, ValueError):
        pass  # evidence from an older format: the kind's name still says what it is
    return AlertKind(kind).label if kind in AlertKind.values else kind


@dataclass
class AlertView:
    alert: Alert
    label: str
    sentence: str


# --- The page's health context ----------------------------------------------------------------


def history_rows(account, *, range_key: str, today: date) -> list[tuple]:
    """(date, score, tier, model version) in date order: one query, no model instances."""
    rows = HealthSnapshot.objects.filter(account=account, date__lte=today)
    start = range_start(range_key, today)
    if start is not None:
        rows = rows.filter(date__gte=start)
    return list(rows.order_by("date").values_list("date", "score", "tier", "model__version"))


def chart_for(account, *, range_key: str, today: date | None = None):
    today = today or timezone.localdate()
    range_key = chart_range(range_key)
    title = _("Health score of %(name)s") % {"name": account.name}
    return build_chart(
        history_rows(account, range_key=range_key, today=today), range_key=range_key, today=today, title=title
    )


def _compared_snapshots(account) -> tuple[HealthSnapshot | None, dict[int, HealthSnapshot | None]]:
    latest_day = account.health_scored_on
    if latest_day is None:
        return None, dict.fromkeys(COMPARISONS)
    wanted = Q(date=latest_day)
    for days in COMPARISONS:
        back = latest_day - timedelta(days=days)
        wanted |= Q(date__gte=back - timedelta(days=COMPARE_TOLERANCE_DAYS), date__lte=back)
    snapshots = sorted(
        HealthSnapshot.objects.filter(account=account).filter(wanted).select_related("model"),
        key=lambda snap: snap.date,
        reverse=True,
    )
    latest = next((snap for snap in snapshots if snap.date == latest_day), None)
    before: dict[int, HealthSnapshot | None] = {}
    for days in COMPARISONS:
        back = latest_day - timedelta(days=days)
        before[days] = next(
            (s for s in snapshots if back - timedelta(days=COMPARE_TOLERANCE_DAYS) <= s.date <= back), None
        )
    return latest, before


def active_override(account, today: date) -> HealthOverride | None:
    return (
        HealthOverride.objects.filter(account=account, revoked_at__isnull=True, expires_on__gte=today)
        .select_related("created_by")
        .order_by("-created_at")
        .first()
    )


def account_health(*, account, range_key: str | None, today: date | None = None) -> dict:
    """Everything the account page's health section shows, in four queries."""
    today = today or timezone.localdate()
    chart = chart_for(account, range_key=chart_range(range_key), today=today)
    latest, before = _compared_snapshots(account)
    override = active_override(account, today)
    alerts = [
        AlertView(alert, alert.get_kind_display(), alert_words(alert.kind, alert.evidence or {}))
        for alert in account.alerts.filter(resolved_on__isnull=True).order_by("-raised_on", "kind")
    ]
    comparisons = []
    override_notes: list[str] = []
    if latest is not None:
        override_notes = override_words(latest, override)
        if latest.score is not None:
            comparisons = [
                compare(latest, before[days], days=days, value_tier=account.value_tier)
                for days in COMPARISONS
            ]
    confidence = round(latest.confidence * 100) if latest is not None else None
    return {
        "chart": chart,
        "latest": latest,
        "tier_badge": tier_badge(account.health_tier),
        "delta_badge": delta_badge(account.health_delta_7d, with_period=True),
        "confidence": f"{confidence}%" if confidence is not None and confidence < 100 else None,
        "stale": bool(latest and latest.stale),
        "override_notes": override_notes,
        "comparisons": comparisons,
        "alerts": alerts,
        "active_override": override,
        "scorable": not account.is_churned,
    }
