"""Health in words and badges: tiers, the 7-day change, each measure's value, an override or
cap, and each alert's evidence, as the account page, tables and tags show them.

Every sentence is one translatable template with named placeholders; user data (names, notes,
reasons) is passed as values and escaped by the template like any other text.
"""

from datetime import date
from typing import Any

from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import AlertKind, HealthOverride, HealthSnapshot, MeasureKey, Tier
from .scoring import HIGH_RISK_CAP


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


# --- Overrides in words -----------------------------------------------------------------------


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
