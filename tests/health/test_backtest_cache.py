"""The health-model backtest's cache: computed once a day, never by a request once there is a
result; one result for every language."""

from datetime import date

import pytest
from django.utils import translation

from health import backtest_cache

pytestmark = pytest.mark.django_db


# --- the backtest: computed once a day, never by a request once there is a result --------------


@pytest.fixture
def backtests(monkeypatch):
    """Counts the backtest computations; each result is a real (empty) backtest."""
    from health import backtest

    calls = []
    real = backtest.run_backtest

    def counting(today):
        calls.append(today)
        return real(today)

    monkeypatch.setattr(backtest, "run_backtest", counting)
    return calls


def test_the_first_backtest_of_a_version_is_computed_then_served_from_the_cache(monkeypatch, backtests):
    monkeypatch.setattr(backtest_cache, "data_version", lambda *args, **kwargs: "v1")
    first = backtest_cache.cached_backtest(date(2026, 11, 23))
    again = backtest_cache.cached_backtest(date(2026, 11, 23))
    assert len(backtests) == 1
    assert (first.refreshing, again.refreshing) == (False, False)
    assert again.computed_at == first.computed_at


def test_after_a_write_the_older_backtest_is_shown_at_once_and_a_task_computes_the_new_one(
    monkeypatch, backtests, django_capture_on_commit_callbacks
):
    version = ["v1"]
    monkeypatch.setattr(backtest_cache, "data_version", lambda *args, **kwargs: version[0])
    day = date(2026, 11, 23)
    first = backtest_cache.cached_backtest(day)
    version[0] = "v2"
    with django_capture_on_commit_callbacks(execute=False) as queued:
        stale = backtest_cache.cached_backtest(day)
        again = backtest_cache.cached_backtest(day)  # a second visitor: no second task
    assert len(backtests) == 1  # no request computed it
    assert stale.refreshing and again.refreshing
    assert stale.computed_at == first.computed_at
    assert len(queued) == 1
    queued[0]()  # the Celery task (eager here) computes the new version
    assert len(backtests) == 2
    fresh = backtest_cache.cached_backtest(day)
    assert not fresh.refreshing
    assert fresh.computed_at > first.computed_at
    assert len(backtests) == 2


def test_the_backtest_page_says_when_an_older_result_is_shown(
    monkeypatch, client_for, maria_manager, backtests
):
    version = ["v1"]
    monkeypatch.setattr(backtest_cache, "data_version", lambda *args, **kwargs: version[0])
    client = client_for(maria_manager)
    page = client.get("/reports/backtest/").content.decode()
    assert "Computed at " in page and "being computed" not in page
    version[0] = "v2"
    page = client.get("/reports/backtest/").content.decode()
    assert "a newer result is being computed" in page


def test_one_cached_backtest_serves_every_language(monkeypatch, backtests):
    monkeypatch.setattr(backtest_cache, "data_version", lambda *args, **kwargs: "v1")
    with translation.override("en"):
        english = backtest_cache.cached_backtest(date(2026, 11, 23))
    with translation.override("zh-hans"):
        chinese = backtest_cache.cached_backtest(date(2026, 11, 23))
        labels = [row.label for row in chinese.horizons[0].tiers]
    assert len(backtests) == 1
    assert english.horizons[0].tiers[0].label == "Healthy"
    assert labels[0] != "Healthy" and labels[0]


def test_the_nightly_run_computes_the_backtest_for_the_day(
    monkeypatch, backtests, django_capture_on_commit_callbacks
):
    from health.tasks import nightly_health_run

    monkeypatch.setattr(backtest_cache, "data_version", lambda *args, **kwargs: "v1")
    with django_capture_on_commit_callbacks(execute=True):
        result = nightly_health_run.delay("2026-11-23").get()
    assert result["date"] == "2026-11-23"
    assert backtests == [date(2026, 11, 23)]
    backtest_cache.cached_backtest(date(2026, 11, 23))
    assert len(backtests) == 1  # the page found it computed


def test_before_the_nightly_run_the_page_shows_yesterdays_backtest(
    monkeypatch, backtests, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(backtest_cache, "data_version", lambda *args, **kwargs: "v1")
    yesterday = backtest_cache.cached_backtest(date(2026, 11, 22))
    with django_capture_on_commit_callbacks(execute=False) as queued:
        shown = backtest_cache.cached_backtest(date(2026, 11, 23))
    assert len(backtests) == 1 and shown.refreshing
    assert shown.today == yesterday.today == date(2026, 11, 22)
    assert len(queued) == 1


def test_a_broker_that_is_down_still_shows_the_last_backtest(
    monkeypatch, backtests, django_capture_on_commit_callbacks
):
    from health import tasks

    version = ["v1"]
    monkeypatch.setattr(backtest_cache, "data_version", lambda *args, **kwargs: version[0])
    backtest_cache.cached_backtest(date(2026, 11, 23))
    version[0] = "v2"

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(tasks.refresh_backtest, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        shown = backtest_cache.cached_backtest(date(2026, 11, 23))
    assert shown.refreshing and len(backtests) == 1
    # The lock is released, so the next visit tries to queue it again.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        backtest_cache.cached_backtest(date(2026, 11, 23))
    assert len(queued) == 1
