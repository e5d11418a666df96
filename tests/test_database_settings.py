"""How the app's PostgreSQL sessions are configured."""

import os

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL planner setting")
@pytest.mark.skipif("PG_RANDOM_PAGE_COST" in os.environ, reason="the operator chose a value")
def test_postgresql_sessions_plan_random_reads_as_on_ssds():
    """Without it, pages join a few thousand rows by reading all 50,000 accounts (docs/operations.md)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone()[0] == "1.1"
