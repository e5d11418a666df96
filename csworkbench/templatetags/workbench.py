"""Small display helpers shared by the queue pages; they format, they never query."""

from datetime import datetime

from django import template
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _

from health.explain import alert_words, delta_badge, tier_badge
from health.models import AlertKind

register = template.Library()


@register.filter(name="tier_badge")
def tier_badge_filter(tier: str):
    return tier_badge(tier)


@register.filter(name="delta_badge")
def delta_badge_filter(delta: int | None):
    return delta_badge(delta, with_period=True)


@register.filter
def alert_label(alert) -> str:
    if alert is None:
        return ""
    return AlertKind(alert.kind).label if alert.kind in AlertKind.values else alert.kind


@register.filter
def alert_sentence(alert) -> str:
    return alert_words(alert.kind, alert.evidence) if alert is not None else ""


@register.simple_tag
def due_words(due: datetime, now: datetime):
    """“due in 2 hours” or “overdue by 1 day”, with the exact time for the title."""
    if due < now:
        text = _("overdue by %(time)s") % {"time": timesince(due, now, depth=1)}
        css = "due overdue"
    else:
        text = _("due in %(time)s") % {"time": timeuntil(due, now, depth=1)}
        css = "due"
    return format_html('<time class="{}" datetime="{}">{}</time>', css, due.isoformat(), text)
