"""Celery tasks of the accounts app: thin wrappers that call one service each."""

from typing import Any

from celery import shared_task


@shared_task
def seed_demo_data(*, accounts: int, days: int, seed: int, password: str) -> dict[str, Any]:
    """Rebuild the demo data on a worker; returns the counts (JSON-serialisable)."""
    from accounts.demo import seed_demo  # imported here so the worker loads Django models lazily

    return seed_demo(accounts=accounts, days=days, seed=seed, password=password)
