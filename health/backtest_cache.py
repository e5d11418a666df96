"""The health-model backtest, kept in the shared cache under the data version of the tables it
reads: no request waits for it once it has been computed for the day (the nightly pipeline
computes it; a page that finds only an older result shows that one and queues the new one)."""

import hashlib
import logging
from datetime import date, timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction

from csworkbench.core import data_version as versions

from . import backtest

logger = logging.getLogger(__name__)
# What the backtest reads: snapshots, the accounts' status and churn date, the model.
BACKTEST_TABLES = ("accounts_account", "health_healthmodel", "health_healthsnapshot")
# The keys carry the data version, so nothing stale is served; this only bounds memory.
BACKTEST_CACHE_SECONDS = 24 * 60 * 60


def _key(name: str, *parts: Any) -> str:
    return f"reports:{name}:{hashlib.sha256(repr((name, *parts)).encode()).hexdigest()}"


def data_version() -> str | None:
    return versions.data_version(BACKTEST_TABLES, names=False)


# The backtest reads one snapshot per account and horizon and fits a regression: seconds at
# tens of thousands of accounts. No request waits for it once it has been computed for the day:
# a request finding the result of an older data version gets that one at once (the page says
# when it was computed) and a Celery task computes the new one; the nightly run computes it
# right after the day's scores and rules (health.tasks.refresh_backtest).
BACKTEST_REFRESH_LOCK_SECONDS = 15 * 60


def _backtest_key(today: date, version: str) -> str:
    return _key("backtest", version, today)


def _latest_backtest_key(today: date) -> str:
    """The last result computed for `today`, whatever the data version it was computed from."""
    return _key("backtest-latest", today)


def refresh_backtest(today: date) -> backtest.Backtest:
    """Compute the backtest for `today` and keep it as the current and the latest result."""
    version = data_version()
    result = backtest.run_backtest(today)
    if version is not None:
        cache.set_many(
            {_backtest_key(today, version): result, _latest_backtest_key(today): result},
            BACKTEST_CACHE_SECONDS,
        )
        cache.delete(_key("backtest-refreshing", today))
    return result


def cached_backtest(today: date) -> backtest.Backtest:
    """The backtest for `today`: the current result; else the latest one (today's, or yesterday's
    until the nightly run has computed today's) while a task computes the current one; else (a
    new installation, an emptied cache) computed here."""
    version = data_version()
    if version is None:
        return backtest.run_backtest(today)
    key, latest, yesterday = (
        _backtest_key(today, version),
        _latest_backtest_key(today),
        _latest_backtest_key(today - timedelta(days=1)),
    )
    found = cache.get_many([key, latest, yesterday])
    if key in found:
        return found[key]
    stale = found.get(latest) or found.get(yesterday)
    if stale is None:
        return refresh_backtest(today)
    if cache.add(_key("backtest-refreshing", today), 1, BACKTEST_REFRESH_LOCK_SECONDS):
        transaction.on_commit(lambda: _queue_backtest(today))
    stale.refreshing = True
    return stale


def _queue_backtest(today: date) -> None:
    from .tasks import refresh_backtest as task

    try:
        task.delay(today.isoformat())
    except Exception:  # the broker is down: the page still shows the last result
        logger.exception("could not queue the backtest refresh")
        cache.delete(_key("backtest-refreshing", today))
