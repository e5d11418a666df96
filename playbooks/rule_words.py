"""A rule in words, in the reader's language: its scope, its condition, its actions and the whole
sentence ("When a tier-A account's score is below 70 for 3 consecutive days: set Medium risk,
notify the owner"), for the rule list, the dry run, notifications and the tasks rules create."""

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from accounts.models import Industry, RiskLevel
from accounts.querysets import LifecycleStage
from health.models import AlertKind, EventKind, MeasureKey, Tier

from .business_time import SlaUnit
from .models import (
    ConditionKind,
    Rule,
)


def _number(value: Decimal | float | int | None) -> str:
    if value is None:
        return "?"
    # 70.00 reads as "70", 72.50 as "72.5".
    return f"{Decimal(value).normalize():f}"


def _join(items: list[str]) -> str:
    return _(", ").join(items)


def label_of(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def describe_scope(rule: Rule) -> str:
    """The scope beyond the value tier, e.g. "in Retail, Education; Onboarding; tagged “vip”"."""
    parts = []
    if rule.scope_industries:
        parts.append(
            _("industry: %(industries)s")
            % {"industries": _(" or ").join(label_of(Industry, i) for i in rule.scope_industries)}
        )
    if rule.scope_lifecycle_stages:
        parts.append(
            _("lifecycle stage: %(stages)s")
            % {"stages": _(" or ").join(label_of(LifecycleStage, s) for s in rule.scope_lifecycle_stages)}
        )
    if rule.scope_tag:
        parts.append(_("tagged “%(tag)s”") % {"tag": rule.scope_tag})
    return _("; ").join(parts)


def _subject(rule: Rule) -> str:
    if rule.scope_value_tiers:
        tiers = _(" or ").join(sorted(rule.scope_value_tiers))
        return _("a tier-%(tiers)s account") % {"tiers": tiers}
    return _("an account")


def describe_condition(rule: Rule) -> str:
    """The IF half, e.g. "When a tier-A account's score is below 70 for 3 consecutive days"."""
    kind = rule.condition_kind
    values = {
        "account": _subject(rule),
        "threshold": _number(rule.threshold),
        "days": rule.days,
        "measure": label_of(MeasureKey, rule.measure),
        "tier": label_of(Tier, rule.tier),
        "alert": label_of(AlertKind, rule.alert_kind),
        "event": label_of(EventKind, rule.event_kind),
    }
    once = rule.days <= 1
    if kind == ConditionKind.SCORE_BELOW:
        text = (
            _("When %(account)s's score is below %(threshold)s")
            if once
            else _("When %(account)s's score is below %(threshold)s for %(days)s consecutive days")
        )
    elif kind == ConditionKind.SCORE_ABOVE:
        text = (
            _("When %(account)s's score is above %(threshold)s")
            if once
            else _("When %(account)s's score is above %(threshold)s for %(days)s consecutive days")
        )
    elif kind == ConditionKind.TIER_IS:
        text = (
            _("When %(account)s's health tier is %(tier)s")
            if once
            else _("When %(account)s's health tier is %(tier)s for %(days)s consecutive days")
        )
    elif kind == ConditionKind.MEASURE_BELOW:
        text = (
            _("When %(account)s's “%(measure)s” sub-score is below %(threshold)s")
            if once
            else _(
                "When %(account)s's “%(measure)s” sub-score is below %(threshold)s "
                "for %(days)s consecutive days"
            )
        )
    elif kind == ConditionKind.MEASURE_ABOVE:
        text = (
            _("When %(account)s's “%(measure)s” sub-score is above %(threshold)s")
            if once
            else _(
                "When %(account)s's “%(measure)s” sub-score is above %(threshold)s "
                "for %(days)s consecutive days"
            )
        )
    elif kind == ConditionKind.ALERT_RAISED:
        text = _("When %(account)s has an open “%(alert)s” alert")
    elif kind == ConditionKind.EVENT:
        text = (
            _("When %(account)s records “%(event)s” today")
            if once
            else _("When %(account)s recorded “%(event)s” in the last %(days)s days")
        )
    else:
        return _("When an unknown condition holds")
    sentence = text % values
    scope = describe_scope(rule)
    if scope:
        sentence = _("%(condition)s (%(scope)s)") % {"condition": sentence, "scope": scope}
    return sentence


def describe_actions(rule: Rule) -> str:
    """The THEN half, e.g. "set Medium risk, notify the owner"."""
    actions = []
    if rule.set_risk_level:
        actions.append(_("set %(level)s risk") % {"level": label_of(RiskLevel, rule.set_risk_level)})
    if rule.start_playbook_id:
        actions.append(_("start the “%(playbook)s” playbook") % {"playbook": rule.start_playbook})
    if rule.task_title and rule.task_due_amount:
        actions.append(
            _("create a “%(title)s” task due in %(amount)s %(unit)s")
            % {
                "title": rule.task_title,
                "amount": rule.task_due_amount,
                "unit": label_of(SlaUnit, rule.task_due_unit or SlaUnit.BUSINESS_HOURS).lower(),
            }
        )
    elif rule.task_title:
        actions.append(
            _("create a “%(title)s” task due as the intervention matrix says for the account's risk level")
            % {"title": rule.task_title}
        )
    if rule.notify_owner and rule.notify_manager:
        actions.append(_("notify the owner and the managers"))
    elif rule.notify_owner:
        actions.append(_("notify the owner"))
    elif rule.notify_manager:
        actions.append(_("notify the managers"))
    if rule.email_template_id:
        actions.append(_("email “%(template)s” to the primary contact") % {"template": rule.email_template})
    if rule.add_tag:
        actions.append(_("tag the account “%(tag)s”") % {"tag": rule.add_tag})
    if not actions:
        return _("do nothing")
    return _join(actions)


def describe_rule(rule: Rule) -> str:
    """The rule in one sentence: "When a tier-A account's score is below 70 for 3 consecutive
    days: set Medium risk, notify the owner"."""
    return _("%(condition)s: %(actions)s") % {
        "condition": describe_condition(rule),
        "actions": describe_actions(rule),
    }
