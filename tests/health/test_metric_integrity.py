"""DailyMetric has no foreign-key constraint in the database (a bulk load would pay a query per
row for it): loads lock the accounts their rows name, and a deletion locks its account before it
deletes the account's metrics. Real PostgreSQL connections in threads, real row locks."""

import io
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from health.models import DailyMetric
from ingest.load import load_csv
from tests.conftest import needs
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db(transaction=True)

YESTERDAY = (timezone.localdate() - timedelta(days=1)).isoformat()
TWO_DAYS_AGO = (timezone.localdate() - timedelta(days=2)).isoformat()


def in_thread(call) -> dict:
    """Run `call` on a connection of its own; what it returned or raised."""
    outcome: dict = {}

    def run():
        try:
            outcome["returned"] = call()
        except Exception as error:  # the outcome is what the test looks at
            outcome["raised"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the thread is stuck on a lock"
    return outcome


def metrics_file(*external_ids: str) -> io.BytesIO:
    rows = [f"{external_id},{day},3" for external_id in external_ids for day in (YESTERDAY, TWO_DAYS_AGO)]
    return io.BytesIO(("account,date,logins\n" + "\n".join(rows) + "\n").encode())


def delete_within(account_pk: int, lock_timeout: str):
    def call():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{lock_timeout}'")
            Account.objects.get(pk=account_pk).delete()
        return True

    return call


def sessions_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # fresh figures inside a transaction
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_a_deletion_waits_for_a_load_that_named_the_account_then_deletes_its_new_rows():
    needs(connection.vendor == "postgresql", "row locks between sessions need PostgreSQL")
    acme = AccountFactory(external_id="ACME-1")
    deletion: dict = {}

    def before_commit(result):
        # Inside the load's transaction, its rows written and its accounts locked: a deletion
        # started now must wait before it deletes any metric, or it would miss these rows.
        thread = threading.Thread(target=lambda: deletion.update(in_thread(delete_within(acme.pk, "20s"))))
        thread.start()
        deletion["thread"] = thread
        for _ in range(200):
            if sessions_waiting_on_a_lock():
                break
            threading.Event().wait(0.05)
        deletion["waited"] = sessions_waiting_on_a_lock()

    result = load_csv(kind="metrics", file=metrics_file("ACME-1"), before_commit=before_commit)
    deletion["thread"].join(timeout=30)
    assert result.ok, result.errors
    assert deletion["waited"] == 1, deletion
    assert deletion.get("returned") is True, deletion
    assert not Account.objects.filter(pk=acme.pk).exists()
    assert not DailyMetric.objects.exists(), "the load's rows outlived their deleted account"


def test_a_load_that_meets_a_deletion_in_progress_writes_nothing():
    needs(connection.vendor == "postgresql", "row locks between sessions need PostgreSQL")
    acme = AccountFactory(external_id="ACME-1")
    AccountFactory(external_id="ZETA-2")
    deleted, go_on = threading.Event(), threading.Event()

    def delete_slowly():
        with transaction.atomic():
            Account.objects.get(pk=acme.pk).delete()  # its metrics and itself, uncommitted
            deleted.set()
            go_on.wait(timeout=20)  # the load checks its file meanwhile and waits on the lock
        return True

    deletion = threading.Thread(target=lambda: (delete_slowly(), connection.close()))
    deletion.start()
    assert deleted.wait(timeout=20)
    # The load still sees ACME-1 (the deletion has not committed) and checks its rows as good;
    # its lock then waits for the deletion, which commits half a second later.
    threading.Timer(0.5, go_on.set).start()
    result = load_csv(kind="metrics", file=metrics_file("ACME-1", "ZETA-2"))
    deletion.join(timeout=30)

    assert not result.ok
    assert "deleted while the file was loading" in result.errors[0]["reason"]
    assert not DailyMetric.objects.exists()
    assert not Account.objects.filter(pk=acme.pk).exists()
