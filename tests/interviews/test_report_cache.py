"""The report and backtest caches: one computation per data version, a new one after any write
to what they read."""

from datetime import date

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import translation

from interviews import report_views
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
    monkeypatch.setattr(report_views, "data_version", lambda *args, **kwargs: "v1")
    first = report_views.cached_report("month", "tier", date(2026, 11, 23))
    again = report_views.cached_report("month", "tier", date(2026, 11, 23))
    assert (first, again, len(builds)) == (1, 1, 1)


def test_it_recomputes_the_report_when_the_data_version_changes(monkeypatch, builds):
    monkeypatch.setattr(report_views, "data_version", lambda *args, **kwargs: "v1")
    report_views.cached_report("month", "tier", date(2026, 11, 23))
    monkeypatch.setattr(report_views, "data_version", lambda *args, **kwargs: "v2")
    assert report_views.cached_report("month", "tier", date(2026, 11, 23)) == 2


def test_it_keeps_one_entry_per_unit_cut_day_and_language(monkeypatch, builds, settings):
    monkeypatch.setattr(report_views, "data_version", lambda *args, **kwargs: "v1")
    report_views.cached_report("month", "tier", date(2026, 11, 23))
    report_views.cached_report("quarter", "tier", date(2026, 11, 23))
    report_views.cached_report("month", "csm", date(2026, 11, 23))
    report_views.cached_report("month", "tier", date(2026, 11, 24))
    with translation.override("zh-hant"):
        report_views.cached_report("month", "tier", date(2026, 11, 23))
    assert len(builds) == 5


def test_without_a_data_version_it_computes_every_time(monkeypatch, builds):
    monkeypatch.setattr(report_views, "data_version", lambda *args, **kwargs: None)
    report_views.cached_report("month", "tier", date(2026, 11, 23))
    report_views.cached_report("month", "tier", date(2026, 11, 23))
    assert len(builds) == 2


def test_the_report_page_shows_a_new_interview_once_the_data_version_moves(
    monkeypatch, client_for, maria_manager
):
    version = ["v1"]
    monkeypatch.setattr(report_views, "data_version", lambda *args, **kwargs: version[0])
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
        return report_views.data_version()

    before = flushed_version()
    DoneInterviewFactory(account=ChurnedAccountFactory(), primary_category=category("product"))
    assert flushed_version() != before


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the write counters are PostgreSQL's")
def test_a_login_leaves_the_data_version_alone_but_a_new_name_moves_it(maria_manager, client):
    def flushed_version():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_force_next_flush()")
        return report_views.data_version()

    before = flushed_version()
    client.force_login(maria_manager)  # writes last_login
    maria_manager.refresh_from_db()
    assert maria_manager.last_login is not None
    assert flushed_version() == before
    maria_manager.first_name = "Mariam"
    maria_manager.save(update_fields=["first_name"])
    assert flushed_version() != before
