"""Property: the items of "why it moved" add up to the headline change, whatever the history.

Histories are generated on two real model versions (the published one and a reweighted copy with
other bands): any measures with data or without, a no-login cap, cancellation intent or a CSM's
override at either end, and a model change in between. The snapshots are built the way scoring
builds them (contributions rounded to hundredths, the score rounded half up)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from health import explain
from health.editor import create_draft
from health.models import HealthModel, HealthSnapshot
from health.scoring import HIGH_RISK_CAP, ModelSpec, interpolate
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 30)
KEYS = ["login_trend", "seat_utilisation", "core_feature_trend", "csat", "invoice_overdue", "latest_nps"]
RAW = {
    "login_trend": st.floats(0, 2),
    "seat_utilisation": st.floats(0, 1.2),
    "core_feature_trend": st.floats(0, 2),
    "csat": st.floats(1, 5),
    "invoice_overdue": st.integers(0, 60).map(float),
    "latest_nps": st.integers(0, 10).map(float),
}


@pytest.fixture
def models(db):
    published = HealthModel.objects.get(status="published")
    other = create_draft(user=UserFactory(username="ed", roles=["manager"]))
    usage = other.dimensions.get(key="usage")
    usage.weight = 70
    usage.save()
    csat = other.dimensions.get(key="support").measures.get(key="csat")
    csat.bands = [[1, 0], [2, 40], [5, 100]]
    csat.save()
    return {"published": (published, ModelSpec.load(published)), "other": (other, ModelSpec.load(other))}


def build(model, spec, raws: dict, override: str, csm_score: int, day: date) -> HealthSnapshot:
    present = [m for m in spec.measures if raws.get(m.key) is not None and m.weight > 0]
    total = sum(m.weight for m in present)
    measures, weighted = {}, 0.0
    for m in spec.measures:
        if m not in present:
            measures[m.key] = {
                "dimension": m.dimension,
                "raw": None,
                "sub": None,
                "weight": 0.0,
                "contribution": 0.0,
            }
            continue
        sub = interpolate(raws[m.key], m.points, m.interpolation)
        share = m.weight / total
        weighted += share * sub
        measures[m.key] = {
            "dimension": m.dimension,
            "raw": round(raws[m.key], 4),
            "sub": round(sub, 2),
            "weight": round(share * 100, 2),
            "contribution": round(share * sub, 2),
        }
    computed = int(Decimal(weighted).quantize(Decimal("1"), rounding="ROUND_HALF_UP")) if present else None
    score, applied = computed, ""
    if override == "no_login" and score is not None and score > HIGH_RISK_CAP:
        score, applied = HIGH_RISK_CAP, "no_login"
    elif override == "cancellation_intent":
        applied = "cancellation_intent"
        score = None if score is None else min(score, HIGH_RISK_CAP)
    elif override == "csm":
        score, applied = csm_score, "csm"
    return HealthSnapshot(
        date=day,
        model=model,
        score=score,
        computed_score=computed,
        override=applied,
        measures=measures,
        confidence=1,
    )


ends = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["published", "other"]),
        "raws": st.fixed_dictionaries({}, optional={key: RAW[key] for key in KEYS}),
        "override": st.sampled_from(["", "", "no_login", "cancellation_intent", "csm"]),
        "csm_score": st.integers(0, 100),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(then=ends, now=ends, days=st.sampled_from([7, 30]))
def test_the_items_add_up_to_the_headline(models, then, now, days):
    earlier = build(
        *models[then["model"]], then["raws"], then["override"], then["csm_score"], TODAY - timedelta(days)
    )
    later = build(*models[now["model"]], now["raws"], now["override"], now["csm_score"], TODAY)
    if earlier.score is None or later.score is None:
        return  # "no score to compare with": there is no headline to explain

    comparison = explain.compare(later, earlier, days=days, value_tier="B")

    assert comparison.delta == later.score - earlier.score
    points = [change.points for change in comparison.changes]
    assert all(isinstance(p, int) for p in points)
    assert sum(points) == comparison.delta, [(c.key, c.points, c.exact) for c in comparison.changes]
    for change in comparison.changes:
        assert abs(change.points - change.exact) < 1, change  # a whole number next to its real share
    # A cap or override that moved the score is listed, not hidden in the headline.
    effect = explain._override_effect(later) - explain._override_effect(earlier)
    if round(effect):
        assert any(c.status == "override" for c in comparison.changes), comparison.changes
    if later.override and later.override != earlier.override:
        assert any(c.status == "override" for c in comparison.changes)
    # A model change whose weight shows is an item of its own.
    if earlier.model_id != later.model_id:
        model_items = [c for c in comparison.changes if c.status == "model"]
        assert len(model_items) <= 1
    else:
        assert not any(c.status == "model" for c in comparison.changes)


def test_a_cap_is_an_item_that_closes_the_gap(models):
    """−46 on the headline: the measures explain part, the no-login cap the rest."""
    model, spec = models["published"]
    raws = {"login_trend": 1.0, "seat_utilisation": 0.9, "csat": 5.0, "invoice_overdue": 0.0}
    earlier = build(model, spec, raws, "", 0, TODAY - timedelta(7))
    later = build(model, spec, {**raws, "csat": 3.0}, "no_login", 0, TODAY)
    comparison = explain.compare(later, earlier, days=7, value_tier="B")
    items = {c.key: c.points for c in comparison.changes}
    assert items["_override"] == later.score - later.computed_score
    assert items["csat"] < 0
    assert sum(items.values()) == later.score - earlier.score
    assert "Capped at 39" in next(c.sentence for c in comparison.changes if c.key == "_override")
