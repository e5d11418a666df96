"""Why the score moved: a comparison with the score a week or a month before, broken down
into each measure's move, the health model's change, a cap or override, and the smaller moves
and rounding, adding up exactly to the headline change.

The words for measures, overrides and dates are in words.py; the account page's health section,
which shows the comparisons, is account_panel.py.
"""

import math
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from .models import HealthSnapshot
from .words import measure_label, measure_words, override_words, points_words, signed, when

TOP_REASONS = 3
MAX_CHANGES = 8
MIN_POINTS = 0.5  # smaller moves of a contribution are rounding, not news


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
