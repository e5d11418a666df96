"""Axis ticks: round steps, whole counts, covering the data."""

import itertools

import pytest

from interviews.report_charts import _pct, nice_ticks


@pytest.mark.parametrize(
    ("low", "high", "whole"),
    [
        (0, 0.055, False),
        (-0.012, 0.031, False),
        (0, 0.0011, False),
        (0, 7, True),
        (0, 1, True),
        (0, 230, True),
    ],
)
def test_ticks_are_round_even_and_cover_the_range(low, high, whole):
    ticks = nice_ticks(low, high, whole=whole)
    assert ticks[0] <= low and ticks[-1] >= high
    steps = {round(b - a, 12) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    step = steps.pop()
    scaled = step
    while scaled >= 10:
        scaled /= 10
    while scaled < 1:
        scaled *= 10
    assert round(scaled, 6) in ({1, 2, 5} if whole else {1, 2, 2.5, 5})
    if whole:
        assert all(float(t).is_integer() for t in ticks)
    assert 2 <= len(ticks) <= 7


def test_a_tiny_negative_rate_is_zero_not_minus_zero():
    assert _pct(-0.00001) == "0%"
    assert _pct(0.014) == "1.4%"
    assert _pct(0.02) == "2%"
