"""What the database does not check for DailyMetric: that every row's account exists.

`DailyMetric.account` has no foreign-key constraint in the database (a bulk load would pay one
query per row for it). The guarantee is kept here, with one lock per account rather than per row:

- a load locks the accounts its rows name before it commits (`lock_metric_accounts`) — the same
  `FOR KEY SHARE` lock PostgreSQL's own check would take — and writes nothing if one is gone;
- an account being deleted is locked first (`lock_account_before_delete`, a `pre_delete`
  receiver), before Django deletes its metrics, so a load that named it either committed before
  (its rows are deleted with the rest) or waits for the deletion and then finds the account gone.

On SQLite (the demo) one writer at a time holds the whole database, so a check at the end of the
writing transaction is enough and nothing is locked.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, connections

from accounts.models import Account

CHECK_CHUNK = 500  # ids per query where the database has no array parameter


def lock_metric_accounts(account_ids: Iterable[int]) -> set[int]:
    """Lock the accounts named by metric rows being written, until the transaction ends; return
    the ids of those that no longer exist (the caller then must not commit). Call it inside the
    writing transaction."""
    wanted = set(account_ids)
    if not wanted:
        return set()
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Account._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {table} WHERE id = ANY(%s) FOR KEY SHARE",  # noqa: S608 - our table name
                [sorted(wanted)],
            )
            found = {row[0] for row in cursor.fetchall()}
    else:
        found = set()
        ids = sorted(wanted)
        for start in range(0, len(ids), CHECK_CHUNK):
            chunk = ids[start : start + CHECK_CHUNK]
            found.update(Account.objects.filter(pk__in=chunk).values_list("pk", flat=True))
    return wanted - found


def lock_account_before_delete(sender, instance, using, **kwargs) -> None:
    """Lock an account before Django deletes its metrics (the receiver runs inside the
    deletion's transaction, before any row is deleted)."""
    if connections[using].vendor == "postgresql":
        list(Account.objects.using(using).select_for_update().filter(pk=instance.pk).values_list("pk"))
