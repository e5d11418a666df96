"""The server-drawn health chart: bands, gaps, version markers, escaping, accessible text."""

import re
from datetime import date, timedelta

from health.charts import MAX_POINTS, ChartPoint, build_chart, chart_range, downsample

TODAY = date(2026, 6, 30)


def rows(scores, *, versions=None, last=TODAY):
    """One row a day ending on `last`: (date, score, tier, version)."""
    first = last - timedelta(days=len(scores) - 1)
    versions = versions or [1] * len(scores)
    return [
        (first + timedelta(days=i), score, "" if score is None else "low", version)
        for i, (score, version) in enumerate(zip(scores, versions, strict=True))
    ]


def chart(scores, **kwargs):
    versions = kwargs.pop("versions", None)
    title = kwargs.pop("title", "Health score of Acme Ltd")
    return build_chart(
        rows(scores, versions=versions), range_key=kwargs.pop("range_key", "90d"), today=TODAY, title=title
    )


def test_it_shades_the_four_tier_bands_with_labels():
    svg = str(chart([70] * 10).svg)
    for tier in ("healthy", "low", "medium", "high"):
        assert re.search(rf'<rect class="band band-{tier}"', svg), tier
    for label in ("Healthy", "Low risk", "Medium risk", "High risk"):
        assert f">{label}</text>" in svg
    # High risk runs from 0 to 39: its band is 40/100 of the plot height, at the bottom.
    high = re.search(r'class="band band-high" x="\d+" y="([\d.]+)" width="\d+" height="([\d.]+)"', svg)
    healthy = re.search(r'class="band band-healthy" x="\d+" y="([\d.]+)" width="\d+" height="([\d.]+)"', svg)
    assert float(high.group(2)) == 2 * float(healthy.group(2))
    assert float(high.group(1)) > float(healthy.group(1))


def test_the_svg_is_an_accessible_responsive_image():
    drawn = chart([50, 60, 40, 70])
    svg = str(drawn.svg)
    assert svg.startswith("<svg")
    assert 'role="img"' in svg
    assert 'viewBox="0 0 720 250"' in svg
    assert "width=" not in svg.split(">")[0]  # sized by CSS through the viewBox
    assert '<title id="health-chart-svg-title">Health score of Acme Ltd</title>' in svg
    desc = re.search(r"<desc[^>]*>(.*?)</desc>", svg).group(1)
    assert "first score 50, last 70, lowest 40, highest 70" in desc
    assert drawn.summary == desc


def test_a_missing_score_breaks_the_line_into_two_paths():
    svg = str(chart([60, 62, 64, None, None, 70, 72]).svg)
    paths = re.findall(r'<path class="score-line" d="([^"]+)"', svg)
    assert len(paths) == 2
    assert paths[0].count("L") == 2 and paths[1].count("L") == 1


def test_a_lone_score_between_gaps_is_drawn_as_a_dot():
    svg = str(chart([None, 55, None]).svg)
    assert "score-line" not in svg
    assert svg.count('class="score-dot"') == 1


def test_missing_days_between_snapshots_break_the_line_too():
    data = rows([60, 61]) + rows([65, 66], last=TODAY + timedelta(days=5))
    svg = str(build_chart(data, range_key="90d", today=TODAY + timedelta(days=5), title="t").svg)
    assert len(re.findall(r'class="score-line"', svg)) == 2


def test_model_version_changes_are_marked_and_labelled():
    drawn = chart([70] * 6, versions=[1, 1, 2, 2, 3, 3])
    svg = str(drawn.svg)
    assert svg.count('class="version-marker"') == 2
    assert ">model v2</text>" in svg and ">model v3</text>" in svg
    assert [point.version for point in drawn.version_changes] == [2, 3]
    assert "Model v2 from" in drawn.summary


def test_text_is_escaped():
    drawn = chart([70, 71], title='<script>alert("x")</script> & Co')
    svg = str(drawn.svg)
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in svg


def test_no_scores_say_so_in_the_description():
    drawn = chart([None, None])
    assert "No health score between" in drawn.summary
    assert "score-line" not in str(drawn.svg)


def test_the_ranges_set_the_x_domain():
    assert chart_range("1y") == "1y"
    assert chart_range("forever") == "90d"
    assert chart_range(None) == "90d"
    assert chart([70], range_key="90d").start == TODAY - timedelta(days=89)
    assert chart([70], range_key="1y").start == TODAY - timedelta(days=364)
    everything = chart([70] * 500, range_key="all")
    assert everything.start == TODAY - timedelta(days=499)
    assert [option["current"] for option in everything.ranges] == [False, False, True]


def test_long_ranges_are_downsampled_keeping_each_buckets_low_and_high():
    scores = [80] * 1000
    scores[500] = 5  # a one-day dip must survive the sampling
    scores[700] = 100
    drawn = chart(scores, range_key="all")
    assert len(drawn.points) <= MAX_POINTS
    assert drawn.sampled and drawn.bucket_days == 5
    drawn_scores = [point.score for point in drawn.points]
    assert 5 in drawn_scores and 100 in drawn_scores
    assert "lowest 5, highest 100" in drawn.summary
    assert [p.date for p in drawn.points] == sorted(p.date for p in drawn.points)


def test_short_ranges_are_not_sampled():
    points = [ChartPoint(TODAY - timedelta(days=i), 70, "low", 1) for i in range(365, 0, -1)]
    kept, bucket = downsample(points)
    assert kept == points and bucket == 1
