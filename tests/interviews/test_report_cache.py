"""The report and backtest caches: one computation per data version, a new one after any write
to what they read."""

from datetime import date

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import translation

from interviews import metrics, report_views
from tests.interviews.factories import ChurnedAccountFactory, DoneInterviewFactory, category

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def builds(monkeypatch):
    """Counts the report computations; the data version is whatever the test sets."""
    calls = []
    monkeypatch.setattr(
        report_views, "build_report", lambda unit, cut, today: calls.append(unit) or len(calls)
    )
    return calls


def test_it_computes_a_report_once_per_data_version(monkeypatch, builds):
    monkeypatch.setattr(metrics, "data_version", lambda *args, **kwargs: "v1")
    first = report_views.cached_report("month", "tier", date(2026, 11, 23))
    again = report_views.cached_report("month", "tier", date(2026, 11, 23))
    assert (first, again, len(builds)) == (1, 1, 1)


def test_it_recomputes_the_report_when_the_data_version_changes(monkeypatch, builds):
    monkeypatch.setattr(metrics, "data_version", lambda *args, **kwargs: "v1")
    report_views.cached_report("month", "tier", date(2026, 11, 23))
    monkeypatch.setattr(metrics, "data_version", lambda *args, **kwargs: "v2")
    assert report_views.cached_report("month", "tier", date(2026, 11, 23)) == 2


def test_it_keeps_one_entry_per_unit_cut_day_and_language(monkeypatch, builds, settings):
    monkeypatch.setattr(metrics, "data_version", lambda *args, **kwargs: "v1")
    report_views.cached_report("month", "tier", date(2026, 11, 23))
    report_views.cached_report("quarter", "tier", date(2026, 11, 23))
    report_views.cached_report("month", "csm", date(2026, 11, 23))
    report_views.cached_report("month", "tier", date(2026, 11, 24))
    with translation.override("zh-hant"):
        report_views.cached_report("month", "tier", date(2026, 11, 23))
    assert len(builds) == 5


def test_without_a_data_version_it_computes_every_time(monkeypatch, builds):
    monkeypatch.setattr(metrics, "data_version", lambda *args, **kwargs: None)
    report_views.cached_report("month", "tier", date(2026, 11, 23))
    report_views.cached_report("month", "tier", date(2026, 11, 23))
    assert len(builds) == 2


def test_the_report_page_shows_a_new_interview_once_the_data_version_moves(
    monkeypatch, client_for, maria_manager
):
    version = ["v1"]
    monkeypatch.setattr(metrics, "data_version", lambda *args, **kwargs: version[0])
    client = client_for(maria_manager)

    def report():
        return repr(client.get("/reports/").context["report"])

    before = report()
    DoneInterviewFactory(account=ChurnedAccountFactory(name="Later Co"), primary_category=category("product"))
    assert report() == before  # the same version: served from the cache
    version[0] = "v2"
    assert report() != before


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the write counters are PostgreSQL's")
def test_a_committed_interview_changes_the_data_version():
    def flushed_version():
        with connection.cursor() as cursor:
            # This session's own counts reach the shared statistics when its transaction ends.
            cursor.execute("SELECT pg_stat_force_next_flush()")
        return metrics.data_version()

    before = flushed_version()
    DoneInterviewFactory(account=ChurnedAccountFactory(), primary_category=category("product"))
    assert flushed_version() != before


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the write counters are PostgreSQL's")
def test_a_login_leaves_the_data_version_alone_but_a_new_name_moves_it(maria_manager, client):
    def flushed_version():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_force_next_flush()")
        return metrics.data_version()

    before = flushed_version()
    client.force_login(maria_manager)  # writes last_login
    maria_manager.refresh_from_db()
    assert maria_manager.last_login is not None
    assert flushed_version() == before
    maria_manager.first_name = "Mariam"
    maria_manager.save(update_fields=["first_name"])
    assert flushed_version() != before


# --- the backtest: computed once a day, never by a request once there is a result --------------


@pytest.fixture
def backtests(monkeypatch):
    """Counts the backtest computations; each result is a real (empty) backtest."""
    from interviews import backtest

    calls = []
    real = backtest.run_backtest

    def counting(today):
        calls.append(today)
        return real(today)

    monkeypatch.setattr(backtest, "run_backtest", counting)
    return calls


def test_the_first_backtest_of_a_version_is_computed_then_served_from_the_cache(monkeypatch, backtests):
    monkeypatch.setattr(metrics, "data_version", lambda *args, **kwargs: "v1")
    first = report_views.cached_backtest(date(2026, 11, 23))
    again = report_views.cached_backtest(date(2026, 11, 23))
    assert len(backtests) == 1
    assert (first.refreshing, again.refreshing) == (False, False)
    assert again.computed_at == first.computed_at


def test_after_a_write_the_older_backtest_is_shown_at_once_and_a_task_computes_the_new_one(
    monkeypatch, backtests, django_capture_on_commit_callbacks
):
    version = ["v1"]
    monkeypatch.setattr(metrics, "data_version", lambda *args, **kwargs: version[0])
    day = date(2026, 11, 23)
    first = report_views.cached_backtest(day)
    version[0] = "v2"
    with django_capture_on_commit_callbacks(execute=False) as queued:
        stale = report_views.cached_backtest(day)
        again = report_views.cached_backtest(day)  # a second visitor: no second task
    assert len(backtests) == 1  # no request computed it
    assert stale.refreshing and again.refreshing
    assert stale.computed_at == first.computed_at
    assert len(queued) == 1
    queued[0]()  # the Celery task (eager here) computes the new version
    assert len(backtests) == 2
    fresh = report_views.cached_backtest(day)
    assert not fresh.refreshing
    assert fresh.computed_at > first.computed_at
    assert len(backtests) == 2


def test_the_backtest_page_says_when_an_older_result_is_shown(
    monkeypatch, client_for, maria_manager, backtests
):
    version = ["v1"]
    monkeypatch.setattr(metrics, "data_version", lambda *args, **kwargs: version[0])
    client = client_for(maria_manager)
    page = client.get("/reports/backtest/").content.decode()
    assert "Computed at " in page and "being computed" not in page
    version[0] = "v2"
    page = client.get("/reports/backtest/").content.decode()
    assert "a newer result is being computed" in page


def test_one_cached_backtest_serves_every_language(monkeypatch, backtests):
    monkeypatch.setattr(metrics, "data_version", lambda *args, **kwargs: "v1")
    with translation.override("en"):
        english = report_views.cached_backtest(date(2026, 11, 23))
    with translation.override("zh-hans"):
        chinese = report_views.cached_backtest(date(2026, 11, 23))
        labels = [row.label for row in chinese.horizons[0].tiers]
    assert len(backtests) == 1
    assert english.horizons[0].tiers[0].label == "Healthy"
    assert labels[0] != "Healthy" and labels[0]


def test_the_nightly_run_computes_the_backtest_for_the_day(
    monkeypatch, backtests, django_capture_on_commit_callbacks
):
    from health.tasks import nightly_health_run

    monkeypatch.setattr(metrics, "data_version", lambda *args, **kwargs: "v1")
    with django_capture_on_commit_callbacks(execute=True):
        result = nightly_health_run.delay("2026-11-23").get()
    assert result["date"] == "2026-11-23"
    assert backtests == [date(2026, 11, 23)]
    report_views.cached_backtest(date(2026, 11, 23))
    assert len(backtests) == 1  # the page found it computed


def test_before_the_nightly_run_the_page_shows_yesterdays_backtest(
    monkeypatch, backtests, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(metrics, "data_version", lambda *args, **kwargs: "v1")
    yesterday = report_views.cached_backtest(date(2026, 11, 22))
    with django_capture_on_commit_callbacks(execute=False) as queued:
        shown = report_views.cached_backtest(date(2026, 11, 23))
    assert len(backtests) == 1 and shown.refreshing
    assert shown.today == yesterday.today == date(2026, 11, 22)
    assert len(queued) == 1


def test_a_broker_that_is_down_still_shows_the_last_backtest(
    monkeypatch, backtests, django_capture_on_commit_callbacks
):
    from interviews import tasks

    version = ["v1"]
    monkeypatch.setattr(metrics, "data_version", lambda *args, **kwargs: version[0])
    report_views.cached_backtest(date(2026, 11, 23))
    version[0] = "v2"

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(tasks.refresh_backtest, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        shown = report_views.cached_backtest(date(2026, 11, 23))
    assert shown.refreshing and len(backtests) == 1
    # The lock is released, so the next visit tries to queue it again.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        report_views.cached_backtest(date(2026, 11, 23))
    assert len(queued) == 1
