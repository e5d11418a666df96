"""What the account page's health section shows: the score chart, the comparisons with a week
and a month before, open alerts in words, and the active override.

Reads a fixed handful of queries per page (history, the snapshots compared, open alerts, the
active override), whatever the length of the history.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .charts import build_chart, chart_range, range_start
from .explain import compare
from .models import Alert, HealthOverride, HealthSnapshot
from .words import alert_words, delta_badge, override_words, tier_badge

# A comparison uses the snapshot exactly N days back, or the nearest one up to this many days
# earlier, so one missed nightly run does not blank the panel.
COMPARE_TOLERANCE_DAYS = 3
COMPARISONS = (7, 30)


@dataclass
class AlertView:
    alert: Alert
    label: str
    sentence: str


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
