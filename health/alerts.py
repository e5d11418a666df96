"""Leading indicators: each alert is raised with the numbers and dates that justify it.

Runs after scoring on the same set-based aggregates; one open alert per account and kind,
refreshed while the condition holds and resolved the first day it no longer does.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Contact, Touchpoint

from .models import Alert, AlertKind, EventKind, SignalEvent
from .score_inputs import Prepared, prepare
from .scoring import _mean, published_model

# Words customers use when they are about to leave, in English and Chinese (both scripts).
RISK_WORDS = (
    "never",
    "unhappy",
    "terrible",
    "cancel",
    "disappointed",
    "too expensive",
    "取消",
    "不滿意",
    "不满意",
    "太貴",
    "太贵",
    "換掉",
    "换掉",
    "失望",
    "退訂",
    "退订",
)
RISK_PATTERN = re.compile("|".join(re.escape(word) for word in RISK_WORDS), re.IGNORECASE)
RISK_WORDS_DAYS = 30
KEY_CONTACT_DAYS = 90
RENEWAL_DAYS = 90
NO_REPLY_DAYS = 30


def _iso(day) -> str | None:
    return day.isoformat() if day else None


def detect(facts: dict, agg: dict, account, as_of: date, model, extra: dict) -> dict[str, dict]:
    """Alert kind → evidence, for every indicator that holds on `as_of`."""
    found: dict[str, dict] = {}
    recent_days, prior_days = agg.get("logins_14_days") or 0, agg.get("logins_prior_days") or 0
    if recent_days >= 7 and prior_days >= 20:
        recent_share = (agg.get("login_days_14") or 0) / recent_days
        prior_share = (agg.get("login_days_prior") or 0) / prior_days
        # From (almost) daily to about weekly: 5+ login days a week before, 2 or fewer now.
        if prior_share >= 0.7 and recent_share <= 2 / 7:
            found[AlertKind.LOGIN_DROP] = {
                "login_days_per_week_before": round(prior_share * 7, 1),
                "login_days_per_week_now": round(recent_share * 7, 1),
                "from": _iso(as_of - timedelta(days=13)),
                "to": _iso(as_of),
            }
    core_now = _mean(agg.get("core_30"), agg.get("core_30_days"))
    core_before = _mean(agg.get("core_prior"), agg.get("core_prior_days"))
    if core_now is not None and core_before:
        change = (core_now - core_before) / core_before
        if change <= -0.3:
            found[AlertKind.CORE_FEATURE_DROP] = {
                "change_percent": round(change * 100),
                "per_day_now": round(core_now, 1),
                "per_day_before": round(core_before, 1),
                "from": _iso(as_of - timedelta(days=29)),
                "to": _iso(as_of),
            }
    if agg.get("tickets_30_days") and agg.get("tickets_prior_days"):
        baseline = float(agg["tickets_prior"] or 0) / agg["tickets_prior_days"] * 30
        tickets = int(agg["tickets_30"] or 0)
        if baseline >= 2 and tickets == 0:
            found[AlertKind.TICKET_SILENCE] = {"monthly_before": round(baseline, 1), "last_30_days": 0}
        elif tickets >= 3 and tickets >= 2 * max(baseline, 1):
            found[AlertKind.TICKET_SPIKE] = {"monthly_before": round(baseline, 1), "last_30_days": tickets}
    reported = agg.get("release_notes_days") and agg.get("training_30_days")
    if reported and not agg.get("release_notes") and not agg.get("training_30"):
        found[AlertKind.NO_ENGAGEMENT] = {"days": 30, "since": _iso(as_of - timedelta(days=29))}
    if account.renewal_date and 0 <= (account.renewal_date - as_of).days <= RENEWAL_DAYS:
        last_touch = timezone.localtime(facts["last_touch"]).date() if facts["last_touch"] else None
        silent = last_touch is None or (as_of - last_touch).days > NO_REPLY_DAYS
        overdue = facts["overdue"] or 0
        if silent or overdue > 0:
            found[AlertKind.RENEWAL_AT_RISK] = {
                "renewal_date": _iso(account.renewal_date),
                "days_to_renewal": (account.renewal_date - as_of).days,
                "last_touch": _iso(last_touch),
                "invoice_days_overdue": overdue,
            }
    if extra.get("contacts_left"):
        name, role, left_on = extra["contacts_left"][0]
        found[AlertKind.KEY_CONTACT_LEFT] = {"name": name, "role": role, "left_on": _iso(left_on)}
    if extra.get("cancellation"):
        occurred_on, note = extra["cancellation"]
        found[AlertKind.CANCELLATION_INTENT] = {"date": _iso(occurred_on), "note": note}
    if extra.get("risk_words"):
        words, when, subject = extra["risk_words"]
        found[AlertKind.RISK_WORDS] = {"words": words, "date": _iso(when), "subject": subject[:120]}
    last = agg.get("last_date")
    if last is not None and (as_of - last).days > model.stale_after_days:
        found[AlertKind.STALE_DATA] = {"last_metrics": _iso(last), "days_without": (as_of - last).days}
    return found


def _extras(as_of: date, accounts) -> dict[int, dict]:
    """Contacts who left, events and risk words, each in one query for all accounts."""
    extras: dict[int, dict] = {}
    since = as_of - timedelta(days=KEY_CONTACT_DAYS)
    left = (
        Contact.objects.filter(account__in=accounts, left_on__gt=since, left_on__lte=as_of)
        .filter(Q(is_champion=True) | Q(is_decision_maker=True))
        .order_by("-left_on")
        .values_list("account_id", "name", "is_champion", "left_on")
    )
    for account_id, name, is_champion, left_on in left:
        extras.setdefault(account_id, {}).setdefault("contacts_left", []).append(
            (name, "champion" if is_champion else "decision_maker", left_on)
        )
    events = (
        SignalEvent.objects.filter(account__in=accounts, occurred_on__gt=since, occurred_on__lte=as_of)
        .order_by("-occurred_on")
        .values_list("account_id", "kind", "occurred_on", "note")
    )
    for account_id, kind, occurred_on, note in events:
        bucket = extras.setdefault(account_id, {})
        if kind == EventKind.CANCELLATION_INTENT:
            bucket.setdefault("cancellation", (occurred_on, note))
        else:
            role = "champion" if kind == EventKind.CHAMPION_LEFT else "decision_maker"
            if kind in (EventKind.CHAMPION_LEFT, EventKind.DECISION_MAKER_LEFT):
                bucket.setdefault("contacts_left", []).append(("", role, occurred_on))
    word_filter = Q()
    for word in RISK_WORDS:
        word_filter |= Q(subject__icontains=word) | Q(body__icontains=word)
    touchpoints = (
        Touchpoint.objects.filter(
            account__in=accounts,
            occurred_at__date__gt=as_of - timedelta(days=RISK_WORDS_DAYS),
            occurred_at__date__lte=as_of,
        )
        .filter(word_filter)
        .order_by("-occurred_at")
        .values_list("account_id", "occurred_at", "subject", "body")
    )
    for account_id, occurred_at, subject, body in touchpoints:
        bucket = extras.setdefault(account_id, {})
        if "risk_words" in bucket:
            continue
        words = sorted({match.group(0).lower() for match in RISK_PATTERN.finditer(f"{subject}\n{body}")})
        if words:
            bucket["risk_words"] = (words, timezone.localtime(occurred_at).date(), subject)
    return extras


@dataclass
class AlertRun:
    raised: int
    refreshed: int
    resolved: int


@transaction.atomic
def raise_alerts(
    *, as_of: date | None = None, external_id: str | None = None, prepared: Prepared | None = None
) -> AlertRun:
    """Raise, refresh and resolve alerts for `as_of`. Pass the scoring run's `prepared` reads to
    avoid reading the same windows twice."""
    as_of = as_of or timezone.localdate()
    model = published_model()
    prepared = prepared or prepare(as_of=as_of, external_id=external_id)
    accounts, aggregates = prepared.accounts, prepared.aggregates
    account_rows = {account.pk: account for account in accounts.only("pk", "renewal_date")}
    extras = _extras(as_of, accounts.values("pk"))
    open_alerts = {
        (alert.account_id, alert.kind): alert
        for alert in Alert.objects.filter(account__in=accounts.values("pk"), resolved_on__isnull=True)
    }
    new, refreshed, holding = [], [], set()
    for facts in prepared.facts:
        pk = facts["pk"]
        found = detect(facts, aggregates.get(pk, {}), account_rows[pk], as_of, model, extras.get(pk, {}))
        for kind, evidence in found.items():
            holding.add((pk, kind))
            alert = open_alerts.get((pk, kind))
            if alert is None:
                new.append(
                    Alert(account_id=pk, kind=kind, raised_on=as_of, last_seen_on=as_of, evidence=evidence)
                )
            else:
                alert.last_seen_on, alert.evidence = as_of, evidence
                refreshed.append(alert)
    Alert.objects.bulk_create(new, batch_size=2000)
    Alert.objects.bulk_update(refreshed, ["last_seen_on", "evidence"], batch_size=1000)
    gone = [alert.pk for key, alert in open_alerts.items() if key not in holding and alert.raised_on <= as_of]
    Alert.objects.filter(pk__in=gone).update(resolved_on=as_of)
    return AlertRun(raised=len(new), refreshed=len(refreshed), resolved=len(gone))
