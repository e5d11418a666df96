"""The demo accounts' timelines: a CSM's touches at the account's cadence, coloured by its mood,
and the story accounts' scripted touchpoints. The texts are data: data/touchpoints.toml."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta, tzinfo

from accounts.models import Sentiment, Touchpoint, TouchpointKind, ValueTier

from .accounts import Spec
from .records import load

_TEXT = load("touchpoints")
_FEATURES = tuple(tuple(pair) for pair in _TEXT["features"])
_DEPTS = tuple(tuple(pair) for pair in _TEXT["departments"])
_KINDS = tuple(_TEXT["kinds"])
_KIND_WEIGHTS = tuple(_TEXT["kinds"].values())
# Days between CSM touches by tier.
_CADENCE: dict[str, int] = _TEXT["cadence"]
# Weights of positive, neutral, negative touchpoints by the account's mood.
_MOOD_SENTIMENT: dict[str, list[int]] = _TEXT["sentiment_by_mood"]
_TEMPLATES: dict[str, dict[str, dict[str, list[list[str]]]]] = _TEXT["templates"]
_RISK_TEMPLATES = {lang: tuple(tuple(row) for row in rows) for lang, rows in _TEXT["risk"].items()}
_POLITE_TEMPLATES: dict[str, list[list[str]]] = _TEXT["polite"]

_C, _M, _E = TouchpointKind.CALL, TouchpointKind.MEETING, TouchpointKind.EMAIL
_POS, _NEU, _NEG = Sentiment.POSITIVE, Sentiment.NEUTRAL, Sentiment.NEGATIVE


def occurred_at(rng: random.Random, day: date, kind: str, tz: tzinfo) -> datetime:
    hour = rng.randint(9, 17)
    minute = rng.choice((0, 15, 30, 45)) if kind in (_C, _M) else rng.randint(0, 59)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


def _touchpoint_days(rng: random.Random, spec: Spec, *, first: date, last: date) -> Iterator[date]:
    account = spec.account
    cadence = spec.cadence or _CADENCE[ValueTier(account.value_tier)]
    if account.value_tier == ValueTier.C and not spec.story and rng.random() < 0.4:
        return  # tier C is served by automation; many never hear from a person in the window
    if (
        account.value_tier != ValueTier.C
        and not spec.story
        and not account.churned_on
        and rng.random() < 0.12
    ):
        # Some accounts slipped through the cracks lately: the queue should find them.
        last -= timedelta(days=rng.randint(cadence * 2, cadence * 4))
    day = first + timedelta(
        days=rng.randint(0, min(cadence, 3) if first == account.contract_start else cadence)
    )
    while day <= last:
        # People work on weekdays: weekend touches move back to Friday unless that leaves the window.
        weekday = day.weekday()
        if weekday >= 5 and day - timedelta(days=weekday - 4) >= first:
            yield day - timedelta(days=weekday - 4)
        else:
            yield day
        day += timedelta(days=max(1, round(cadence * rng.uniform(0.6, 1.4))))


def _generic_touchpoints(
    rng: random.Random, spec: Spec, *, first: date, last: date, author_id: int | None, tz: tzinfo
) -> Iterator[Touchpoint]:
    account = spec.account
    contacts = spec.contacts
    for day in _touchpoint_days(rng, spec, first=first, last=last):
        mood = spec.mood_on(day)
        present = [c for c in contacts if c.left_on is None or c.left_on > day] or contacts
        champions = [c for c in present if c.is_champion]
        contact = rng.choice(champions) if champions and rng.random() < 0.5 else rng.choice(present)
        lang = "zh" if rng.random() < (0.6 if spec.lang == "zh" else 0.15) else "en"
        feature, feature_zh = rng.choice(_FEATURES)
        dept, dept_zh = rng.choice(_DEPTS)
        if spec.polite:
            kind, sentiment = _E, _POS
            subject, body = rng.choice(_POLITE_TEMPLATES[lang])
        else:
            sentiment = rng.choices((_POS, _NEU, _NEG), weights=_MOOD_SENTIMENT[mood])[0]
            kind = _E if spec.email_only else rng.choices(_KINDS, weights=_KIND_WEIGHTS)[0]
            if sentiment == _NEG and mood == "at_risk" and rng.random() < 0.3:
                risky = _RISK_TEMPLATES[lang]
                if lang == "zh" and spec.region.script == "hans":
                    risky = risky + _RISK_TEMPLATES["zh-hans"]
                kind, subject, body = rng.choice(risky)
            else:
                subject, body = rng.choice(_TEMPLATES[lang][sentiment][kind])
        words = {
            "contact": contact.name,
            "feature": feature,
            "feature_zh": feature_zh,
            "dept": dept,
            "dept_zh": dept_zh,
            "n": rng.randint(2, 12),
        }
        moment = occurred_at(rng, day, kind, tz)
        yield Touchpoint(
            account_id=account.pk,
            kind=kind,
            occurred_at=moment,
            author_id=author_id,
            contact_id=contact.pk,
            subject=subject.format(**words)[:200],
            body=body.format(**words),
            sentiment=sentiment,
            # Calls and meetings are written up a little after they end.
            created_at=moment + timedelta(minutes=rng.randint(20, 90) if kind in (_C, _M) else 1),
        )


def touchpoints_for(
    rng: random.Random, spec: Spec, *, today: date, days: int, author_id: int | None, tz: tzinfo
) -> Iterator[Touchpoint]:
    """The account's touchpoints in the last `days` days: generic ones while it has an owner (up
    to `generic_until`), then its scripted ones."""
    account = spec.account
    first = max(account.contract_start, today - timedelta(days=days))
    last = (account.churned_on or today) - timedelta(days=1)
    if author_id is not None:
        generic_last = min(last, spec.generic_until) if spec.generic_until else last
        yield from _generic_touchpoints(rng, spec, first=first, last=generic_last, author_id=author_id, tz=tz)
    by_key = dict(zip(spec.contact_keys, spec.contacts, strict=True))
    for item in spec.scripted:
        if not first <= item.on <= max(last, first):
            continue
        moment = occurred_at(rng, item.on, item.kind, tz)
        contact = by_key.get(item.contact)
        yield Touchpoint(
            account_id=account.pk,
            kind=item.kind,
            occurred_at=moment,
            author_id=author_id,
            contact_id=contact.pk if contact else None,
            subject=item.subject,
            body=item.body,
            sentiment=item.sentiment,
            created_at=moment + timedelta(minutes=30),
        )
