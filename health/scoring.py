"""The scoring arithmetic: a health model's weights and bands, each measure's raw value from an
account's facts and metric aggregates, and the score, tier and overrides that follow.

Pure Python over what score_inputs read: nothing here queries but loading the model. The run
that reads a day's inputs and writes the snapshots is recompute.py.
"""

import itertools
from dataclasses import dataclass, field
from datetime import date, tzinfo
from decimal import Decimal

from django.utils import timezone

from .models import HealthModel, ModelStatus, Tier, tier_for

# A formerly active support user (≥ this many tickets a month) who goes quiet is a warning sign.
SILENCE_BASELINE_PER_MONTH = 2
SILENCE_SCORE = 60
CANCELLATION_WINDOW_DAYS = 90
HIGH_RISK_CAP = 39


def band_score(value: float, bands: list, interpolation: str = "linear") -> float:
    """Piecewise linear (or stepped) sub-score between the band points, clamped at the ends."""
    return interpolate(value, sorted_points(bands), interpolation)


def sorted_points(bands: list) -> tuple[tuple[float, float], ...]:
    return tuple(sorted((float(x), float(y)) for x, y in bands))


def interpolate(value: float, points: tuple[tuple[float, float], ...], interpolation: str) -> float:
    if value <= points[0][0]:
        return points[0][1]
    if value >= points[-1][0]:
        return points[-1][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x0 <= value < x1:
            if interpolation == "step":
                return y0
            return y0 + (y1 - y0) * (value - x0) / (x1 - x0)
    return points[-1][1]


@dataclass
class MeasureSpec:
    key: str
    dimension: str
    weight: float  # the measure's share of the whole model, before renormalising
    bands: list
    interpolation: str
    points: tuple = ()

    def __post_init__(self):
        self.points = sorted_points(self.bands)


@dataclass
class ModelSpec:
    model: HealthModel
    measures: list[MeasureSpec] = field(default_factory=list)
    # The time zone touches are dated in, read once per run rather than once per account.
    tz: tzinfo | None = None

    @property
    def total_weight(self) -> float:
        return sum(m.weight for m in self.measures) or 1

    @classmethod
    def load(cls, model: HealthModel) -> "ModelSpec":
        spec = cls(model=model, tz=timezone.get_current_timezone())
        dimensions = list(model.dimensions.prefetch_related("measures"))
        total = sum(d.weight for d in dimensions) or 1
        for dimension in dimensions:
            measures = list(dimension.measures.all())
            shares = sum(float(m.weight) for m in measures) or 1
            for measure in measures:
                weight = dimension.weight / total * float(measure.weight) / shares
                spec.measures.append(
                    MeasureSpec(measure.key, dimension.key, weight, measure.bands, measure.interpolation)
                )
        return spec


def published_model() -> HealthModel:
    return HealthModel.objects.get(status=ModelStatus.PUBLISHED)


def _mean(total, days) -> float | None:
    return None if not days else float(total or 0) / days


def _trend(recent: float | None, prior: float | None) -> float | None:
    if recent is None or prior is None:
        return None
    if prior == 0:
        return 1.0 if recent > 0 else 0.0
    return recent / prior


def raw_values(
    facts: dict, agg: dict, model: HealthModel, as_of: date, tz: tzinfo | None = None
) -> dict[str, float | None]:
    """Each measure's raw value, or None when its inputs were not reported. `tz` is the current
    time zone (read here when not given)."""
    raw: dict[str, float | None] = {}
    raw["login_trend"] = _trend(
        _mean(agg.get("logins_14"), agg.get("logins_14_days")),
        _mean(agg.get("logins_prior"), agg.get("logins_prior_days")),
    )
    active = _mean(agg.get("active_30"), agg.get("active_30_days"))
    seats = facts["seats"]
    raw["seat_utilisation"] = active / seats if active is not None and seats else None
    raw["core_feature_trend"] = _trend(
        _mean(agg.get("core_30"), agg.get("core_30_days")),
        _mean(agg.get("core_prior"), agg.get("core_prior_days")),
    )
    offered = facts["features_offered_now"] or model.default_features_offered
    used = facts["features_used_now"]
    raw["feature_breadth"] = used / offered if used is not None and offered else None
    if agg.get("tickets_30_days") and agg.get("tickets_prior_days"):
        baseline = float(agg["tickets_prior"] or 0) / agg["tickets_prior_days"] * 30
        raw["ticket_anomaly"] = float(agg["tickets_30"] or 0) / max(baseline, 1.0)
        raw["_ticket_baseline"] = baseline
        raw["_tickets_30"] = float(agg["tickets_30"] or 0)
    else:
        raw["ticket_anomaly"] = None
    csat_count = agg.get("csat_count") or 0
    raw["csat"] = float(agg["csat_sum"]) / csat_count if csat_count else None
    raw["open_high_priority"] = facts["open_hp"]
    raw["invoice_overdue"] = facts["overdue"]
    cadence = model.cadence_days(facts["value_tier"])
    # Never any touchpoint is no data (the measure drops out), not "as late as the contract is
    # old": that made every new account look healthy and every old one sick.
    touched = facts["last_touch"]
    if touched is not None:
        last = (touched.astimezone(tz) if tz is not None else timezone.localtime(touched)).date()
        raw["touch_recency"] = max((as_of - last).days, 0) / cadence
    else:
        raw["touch_recency"] = None
    raw["champion_present"] = (1.0 if facts["has_champion"] else 0.0) if facts["has_contacts"] else None
    raw["latest_nps"] = facts["nps_latest"]
    sent = agg.get("emails_sent") or 0
    raw["email_open_rate"] = float(agg.get("emails_opened") or 0) / sent if sent else None
    raw["training"] = float(agg["training"] or 0) if agg.get("training_days") else None
    raw["release_notes"] = float(agg["release_notes"] or 0) if agg.get("release_notes_days") else None
    return raw


@dataclass
class Score:
    score: int | None
    computed_score: int | None
    tier: str
    confidence: float
    stale: bool
    override: str
    measures: dict


def score_account(facts: dict, agg: dict, spec: ModelSpec, as_of: date) -> Score:
    model = spec.model
    raw = raw_values(facts, agg, model, as_of, spec.tz)
    total_weight = spec.total_weight
    # A measure weighted 0 counts for nothing, data or not.
    present = [m for m in spec.measures if raw.get(m.key) is not None and m.weight > 0]
    present_weight = sum(m.weight for m in present)
    measures: dict[str, dict] = {}
    weighted = 0.0
    for m in spec.measures:
        value = raw.get(m.key)
        if value is None or not m.weight > 0:
            measures[m.key] = {
                "dimension": m.dimension,
                "raw": None,
                "sub": None,
                "weight": 0.0,
                "contribution": 0.0,
            }
            continue
        silence = m.key == "ticket_anomaly" and (
            raw["_tickets_30"] == 0 and raw["_ticket_baseline"] >= SILENCE_BASELINE_PER_MONTH
        )
        sub = float(SILENCE_SCORE) if silence else interpolate(float(value), m.points, m.interpolation)
        share = m.weight / present_weight
        entry = {
            "dimension": m.dimension,
            "raw": round(float(value), 4),
            "sub": round(sub, 2),
            "weight": round(share * 100, 2),
            "contribution": round(share * sub, 2),
        }
        if silence:
            entry["silence"] = True
        measures[m.key] = entry
        weighted += share * sub
    last_date = agg.get("last_date")
    stale = last_date is None or (as_of - last_date).days > model.stale_after_days
    confidence = round(present_weight / total_weight, 3)
    computed = int(Decimal(weighted).quantize(Decimal("1"), rounding="ROUND_HALF_UP")) if present else None
    score, override = computed, ""
    # "No login for N days" needs evidence of absence: login reports that cover the period. A
    # source that stopped sending is stale, not a customer who stopped logging in; a source that
    # never sends logins says nothing about them, so it caps nothing.
    since = agg.get("last_login") or agg.get("first_login_report")
    no_login = (
        not stale
        and since is not None
        and (as_of - since).days >= model.no_login_days
        and bool(agg.get("logins_30_days"))
    )
    if score is not None and no_login and score > HIGH_RISK_CAP:
        score, override = HIGH_RISK_CAP, "no_login"
    tier = tier_for(score).value if score is not None else ""
    if facts["cancellation_intent"]:
        override = "cancellation_intent"
        tier = Tier.HIGH.value
        if score is not None:
            score = min(score, HIGH_RISK_CAP)
    if facts["override_score"] is not None:
        score, override = facts["override_score"], "csm"
        tier = tier_for(score).value
    return Score(score, computed, tier, confidence, stale, override, measures)


def rescore_measures(measures: dict, spec: ModelSpec) -> dict[str, float]:
    """Each measure's contribution had a snapshot's raw values been scored by `spec`'s model:
    how "why it moved" separates a model change from the account's own moves."""
    present = [
        m for m in spec.measures if (measures.get(m.key) or {}).get("raw") is not None and m.weight > 0
    ]
    present_weight = sum(m.weight for m in present)
    contributions = {}
    for m in present:
        entry = measures[m.key]
        sub = (
            float(SILENCE_SCORE)
            if entry.get("silence")
            else interpolate(float(entry["raw"]), m.points, m.interpolation)
        )
        contributions[m.key] = m.weight / present_weight * sub
    return contributions
