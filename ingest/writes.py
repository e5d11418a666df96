"""Writing checked rows: counts and batches, and the metric upserts.

Metric rows are merged into DailyMetric with the ORM in batches on any database
(`upsert_metric_batches`); on PostgreSQL they go through `MetricStage` instead: one COPY streamed
into DailyMetric while the file is still being checked, or a temporary table merged by one
`INSERT … ON CONFLICT`. DailyMetric has no foreign-key constraint: every metrics write locks the
accounts its rows name before it commits (`health.integrity`), and raises `AccountsGone` when one
was deleted meanwhile.
"""

from __future__ import annotations

import itertools
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from psycopg.copy import QueuedLibpqWriter

from health.integrity import lock_metric_accounts
from health.models import METRIC_FIELDS, DailyMetric

BATCH_SIZE = 5_000  # rows written per statement
SPOOL_MEMORY = 32 << 20  # checked metric lines kept in memory up to this size, then on disk


# --- Counting and batching ---------------------------------------------------------------


class Counts:
    """What a load did: rows created, updated, or already so (nothing written)."""

    def __init__(self) -> None:
        self.created = self.updated = self.unchanged = 0


def batches(rows: Iterable[dict[str, Any]], size: int = BATCH_SIZE) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


# --- Writing metrics ---------------------------------------------------------------------


def metric_row(values: dict[str, Any]) -> tuple:
    return (values["account_id"], values["date"], *(values.get(name) for name in METRIC_FIELDS))


def upsert_metric_batches(rows: Iterable[dict[str, Any]], counts: Counts) -> None:
    """Merge checked metric rows into DailyMetric in batches, with the ORM (any database).

    A value given replaces the stored one; a value not reported (None) keeps it. Call it inside
    a transaction: it ends by checking that every account named still exists (`_lock_accounts`).
    """
    named: set[int] = set()
    for batch in batches(rows):
        account_ids = {values["account_id"] for values in batch}
        named |= account_ids
        dates = {values["date"] for values in batch}
        existing = {
            (row[0], row[1]): row[2:]
            for row in DailyMetric.objects.filter(account_id__in=account_ids, date__in=dates).values_list(
                "account_id", "date", *METRIC_FIELDS
            )
        }
        to_write = []
        for values in batch:
            row = metric_row(values)
            stored = existing.get((row[0], row[1]))
            if stored is None:
                counts.created += 1
            else:
                merged = tuple(
                    new if new is not None else old for new, old in zip(row[2:], stored, strict=True)
                )
                if merged == tuple(stored):
                    counts.unchanged += 1
                    continue
                row = (row[0], row[1], *merged)
                counts.updated += 1
            to_write.append(
                DailyMetric(account_id=row[0], date=row[1], **dict(zip(METRIC_FIELDS, row[2:], strict=True)))
            )
        DailyMetric.objects.bulk_create(
            to_write,
            update_conflicts=True,
            unique_fields=["account", "date"],
            update_fields=list(METRIC_FIELDS),
        )
    _lock_accounts(named)


class AccountsGone(Exception):
    """Accounts named by rows being written were deleted since the rows were checked."""

    def __init__(self, account_ids: set[int]):
        super().__init__(f"{len(account_ids)} account(s) deleted during the load")
        self.account_ids = account_ids


def _lock_accounts(account_ids: Iterable[int]) -> None:
    """Lock the accounts metric rows name until the transaction ends (DailyMetric has no
    foreign-key constraint: see `health.integrity`); AccountsGone if one no longer exists."""
    missing = lock_metric_accounts(account_ids)
    if missing:
        raise AccountsGone(missing)


class _StreamAbandoned(Exception):
    """Ends a COPY whose rows are not wanted (the file has errors, or the load stopped)."""


def _csv_copy_sql(table: str, columns: Iterable[str]) -> str:
    """COPY … FROM STDIN of CSV lines into `table`: unquoted empty cells are NULL ("not reported")."""
    quote = connection.ops.quote_name
    return f"COPY {quote(table)} ({', '.join(quote(name) for name in columns)}) FROM STDIN WITH (FORMAT csv)"


class _CopyStream:
    """PostgreSQL: one COPY … FROM STDIN (CSV) into `table`, fed block by block, in a savepoint
    of its own so a failed COPY can be rolled back without ending the transaction."""

    def __init__(self, table: str, columns: Iterable[str]) -> None:
        self.savepoint = transaction.savepoint()
        self.cursor = connection.cursor()
        # psycopg's queued writer sends the blocks from a thread of its own: the check goes on
        # while the server takes the rows, instead of waiting for each block to be accepted.
        writer = QueuedLibpqWriter(self.cursor.cursor)
        self.context = self.cursor.cursor.copy(_csv_copy_sql(table, columns), writer=writer)
        self.copy = self.context.__enter__()

    def write(self, block: str) -> None:
        # The server reports a failed row only when the COPY ends: writing on is harmless.
        self.copy.write(block)

    def finish(self) -> bool:
        """End the COPY: True when every row went in, False (rolled back) when a row was refused
        as a duplicate of a stored one or against a check. Any other database error is raised."""
        try:
            with connection.wrap_database_errors:
                self.context.__exit__(None, None, None)
        except DatabaseError as exc:
            transaction.savepoint_rollback(self.savepoint)
            if isinstance(exc, IntegrityError):
                return False
            raise
        finally:
            self.cursor.close()
        transaction.savepoint_commit(self.savepoint)
        return True

    def abort(self) -> None:
        self.context.__exit__(_StreamAbandoned, _StreamAbandoned("nothing from this COPY is kept"), None)
        self.cursor.close()
        transaction.savepoint_rollback(self.savepoint)


class MetricStage:
    """PostgreSQL: checked rows are kept until everything is known to be right, then written.

    `fields` are the metric columns the rows carry, in their order. Rows come either as CSV lines
    (`lines`, filled by `ingest.checking.FastMetricChecker`: a metrics file, staged as written, in the file's
    column order `line_columns`) or as tuples (`add_rows`: the API).

    CSV lines stream, as they are checked, through one COPY straight into DailyMetric
    (`start_stream`), so PostgreSQL writes on its own core while Python checks the rest of the
    file; the COPY runs in a savepoint and is only kept if the whole file turns out clean. They
    are also spooled to a temporary file (in memory up to `SPOOL_MEMORY`): when a row already
    stored shares a key with one of them, the COPY fails on it, is rolled back, and the spooled
    lines — like the API's tuples — COPY into a session temporary table merged into DailyMetric
    by one INSERT … ON CONFLICT DO UPDATE.

    Either way the accounts the rows name are locked before the transaction commits
    (`health.integrity.lock_metric_accounts`): DailyMetric has no foreign-key constraint.
    """

    def __init__(self, fields: Iterable[str] = METRIC_FIELDS, line_columns: Iterable[str] = ()) -> None:
        self.table = f"import_metrics_{uuid.uuid4().hex[:12]}"
        self.fields = list(fields)
        # The columns of the CSV lines, in the file's order ("account_id" in place of "account").
        self.line_columns = list(line_columns) or ["account_id", "date", *self.fields]
        self.lines: list[str] = []
        self.rows: list[tuple] = []
        self.spool: IO[str] | None = None
        self.stream: _CopyStream | None = None
        self.streamed = False  # the lines went into DailyMetric through the stream
        self.created = False

    def _create(self) -> None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(DailyMetric._meta.get_field(name).column) for name in ("account", "date"))
        columns += ", " + ", ".join(quote(name) for name in METRIC_FIELDS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {quote(self.table)} AS "  # noqa: S608 - names are ours, quoted
                f"SELECT {columns} FROM {quote(DailyMetric._meta.db_table)} WITH NO DATA"
            )
        self.created = True

    def add_rows(self, rows: Iterable[tuple]) -> None:
        self.rows.extend(rows)
        self.flush()

    def start_stream(self) -> None:
        """Send the CSV lines to DailyMetric as they are flushed. Call inside a transaction, and
        use no other query on the connection until `merge` or `drop`: it is busy with the COPY."""
        self.stream = _CopyStream(DailyMetric._meta.db_table, self.line_columns)

    def flush(self) -> None:
        if self.lines:
            block = "".join(self.lines)
            if "\r" in block:  # lines staged as written end as the file's do: one way for COPY
                block = block.replace("\r\n", "\n").replace("\r", "\n")
            if self.spool is None:
                self.spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by drop()
                    max_size=SPOOL_MEMORY, mode="w+", encoding="utf-8", newline=""
                )
            self.spool.write(block)
            if self.stream is not None:
                self.stream.write(block)
            self.lines = []
        if self.rows:
            if not self.created:
                self._create()
            quote = connection.ops.quote_name
            columns = ", ".join(quote(name) for name in ("account_id", "date", *self.fields))
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY {quote(self.table)} ({columns}) FROM STDIN") as copy,
            ):
                write_row = copy.write_row
                for row in self.rows:
                    write_row(row)
            self.rows = []

    def _copy_spool(self, cursor: Any, table: str) -> None:
        """COPY the spooled CSV lines into `table`."""
        assert self.spool is not None
        self.spool.seek(0)
        with (
            connection.wrap_database_errors,  # psycopg's own errors as Django's
            cursor.copy(_csv_copy_sql(table, self.line_columns)) as copy,
        ):
            while chunk := self.spool.read(1 << 20):
                copy.write(chunk)

    def end_stream(self) -> None:
        """End the COPY of the checked lines, if one is open: `streamed` tells whether every row
        went in (all new). Call it before any other query: the connection is busy till then."""
        self.flush()
        if self.stream is not None:
            stream, self.stream = self.stream, None
            self.streamed = stream.finish()

    def merge(self, counts: Counts, rows: int, account_ids: Iterable[int]) -> None:
        """Write the staged rows, all `rows` of them, naming the accounts `account_ids`."""
        self.end_stream()
        _lock_accounts(account_ids)
        if self.streamed:
            counts.created += rows
            return
        if self.spool is not None:
            if not self.created:
                self._create()
            with connection.cursor() as cursor:
                self._copy_spool(cursor, self.table)
        if not self.created:
            return
        quote = connection.ops.quote_name
        table = quote(DailyMetric._meta.db_table)
        names = [quote(name) for name in METRIC_FIELDS]
        account, day = (quote(DailyMetric._meta.get_field(name).column) for name in ("account", "date"))
        merged = [f"COALESCE(EXCLUDED.{name}, target.{name})" for name in names]
        sql = f"""
            WITH upserted AS (
                INSERT INTO {table} AS target ({account}, {day}, {", ".join(names)})
                SELECT {account}, {day}, {", ".join(names)} FROM {quote(self.table)}
                ORDER BY {account}, {day}
                ON CONFLICT ({account}, {day}) DO UPDATE
                SET {", ".join(f"{name} = {value}" for name, value in zip(names, merged, strict=True))}
                WHERE ({", ".join(f"target.{name}" for name in names)}) IS DISTINCT FROM ({", ".join(merged)})
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted
        """  # noqa: S608 - every name is ours and quoted
        with connection.cursor() as cursor:
            cursor.execute(sql)
            created, updated = cursor.fetchone()
        counts.created += created
        counts.updated += updated
        counts.unchanged += rows - created - updated

    def drop(self) -> None:
        self.lines = []
        self.rows = []
        if self.stream is not None:
            self.stream.abort()
            self.stream = None
        if self.spool is not None:
            self.spool.close()
            self.spool = None
        if self.created:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(self.table)}")
            self.created = False
