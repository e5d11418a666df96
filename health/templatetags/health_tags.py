"""Health's badges for any page that shows an account's health: they format, they never query."""

from django import template

from ..models import AlertKind
from ..words import alert_words, delta_badge, tier_badge

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
