"""Celery tasks of the demo: a thin wrapper around `seed.seed_demo`."""

from typing import Any

from celery import shared_task


# Named as it was when it lived in accounts/tasks.py, so queued messages and workers still agree.
@shared_task(name="accounts.tasks.seed_demo_data")
def seed_demo_data(*, accounts: int, days: int, seed: int, password: str) -> dict[str, Any]:
    """Rebuild the demo data on a worker; returns the counts (JSON-serialisable)."""
    from .seed import seed_demo  # imported here so the worker loads Django models lazily

    return seed_demo(accounts=accounts, days=days, seed=seed, password=password)
