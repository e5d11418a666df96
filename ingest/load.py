"""Loading a CSV file all-or-nothing, and previewing one.

A load first checks the whole file and reports every bad row with its line number, column and
reason; only a file without a single error is written, in one transaction, with the audit row.

Large files stream: the csv module reads a text wrapper over the binary file, rows are checked in
chunks and never held in memory all at once. On PostgreSQL a metrics file is written while it is
checked: the checked rows stream through one `COPY` into DailyMetric, in a transaction that is
rolled back unless the whole file is clean, so the database writes on one core while Python
checks on the other (see `ingest.writes.MetricStage`; rows that update stored ones are merged by
one `INSERT … ON CONFLICT` instead). On other databases the file is read a second time and
written in batches.

Empty metric cells (and null or missing metric fields in the API) mean "not reported": they never
overwrite a value already stored for that account and day, so several sources may each send the
measures they know.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext as _

from csworkbench.core.models import record_audit

from .cells import ErrorList, Lookups
from .checking import CHECK_CHUNK, FastMetricChecker, RowChecker, check_header, records
from .columns import Column, Kind, MetricsKind, kind_spec
from .writes import AccountsGone, Counts, MetricStage

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 10


@dataclass
class ImportResult:
    kind: str
    rows: int = 0  # data rows read (blank lines are skipped)
    created: int = 0
    updated: int = 0
    unchanged: int = 0  # already there, exactly so: nothing written
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def loaded(self) -> int:
        """Rows the database now holds as the file says: created, updated or already so."""
        return self.created + self.updated + self.unchanged if self.ok else 0

    def take_errors(self, errors: ErrorList) -> None:
        self.errors = errors.items
        self.error_count = errors.count


class _Abort(Exception):
    """Raised inside the load transaction to roll it back with an error to report."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --- Reading files -----------------------------------------------------------------------


def _text(file: IO[bytes]) -> io.TextIOWrapper:
    # utf-8-sig drops the byte-order mark Excel writes; strict errors make any other encoding fail.
    return io.TextIOWrapper(file, encoding="utf-8-sig", errors="strict", newline="")


def _release(text: io.TextIOWrapper) -> None:
    """Hand the binary file back to its owner instead of closing it with the wrapper."""
    with contextlib.suppress(ValueError):  # already detached
        text.detach()


def _encoding_reason(line: int) -> str:
    return _(
        "The file is not encoded as UTF-8 (the first bad byte is near line %(line)s). "
        "Save it as “CSV UTF-8” and try again."
    ) % {"line": line}


def _normalise_header(cells: list[str]) -> list[str]:
    return [cell.strip().lower() for cell in cells]


def count_data_lines(file: IO[bytes]) -> int:
    """A quick estimate of the data rows, for progress: newlines, less the header."""
    file.seek(0)
    lines = 0
    last = b"\n"
    while chunk := file.read(1 << 20):
        lines += chunk.count(b"\n")
        last = chunk[-1:]
    if last != b"\n":
        lines += 1
    file.seek(0)
    return max(0, lines - 1)


def load_csv(
    *,
    kind: str,
    file: IO[bytes],
    actor: Any = None,
    name: str = "",
    via: str = "csv",
    progress: Callable[[int, int], None] | None = None,
    total_rows: int = 0,
    before_commit: Callable[[ImportResult], None] | None = None,
) -> ImportResult:
    """Check a whole CSV file of `kind` and load it only if every row is right.

    `file` is a seekable binary file. `progress(processed_rows, total_rows)` is called as rows are
    checked (`total_rows` is the caller's estimate, see `count_data_lines`); it must not use the
    default database connection, which on PostgreSQL is streaming a metrics file's rows into
    the database meanwhile. The load and its audit row ("import") happen in one transaction;
    `before_commit(result)` runs inside it, so a caller can record the outcome atomically with
    the data. Returns the counts and the errors.
    """
    spec = kind_spec(kind)
    # A metrics file on PostgreSQL is written while it is checked (see `MetricStage`): one
    # transaction from the first row checked, rolled back unless the whole file is clean.
    streams = connection.vendor == "postgresql" and isinstance(spec, MetricsKind)
    with transaction.atomic() if streams else contextlib.nullcontext():
        result = _check_and_write(
            spec,
            file=file,
            actor=actor,
            name=name,
            via=via,
            progress=progress,
            total_rows=total_rows,
            before_commit=before_commit,
            stream=streams,
        )
        if streams and not result.ok:
            transaction.set_rollback(True)
    return result


def _check_and_write(
    spec: Kind,
    *,
    file: IO[bytes],
    actor: Any,
    name: str,
    via: str,
    progress: Callable[[int, int], None] | None,
    total_rows: int,
    before_commit: Callable[[ImportResult], None] | None,
    stream: bool,
) -> ImportResult:
    result = ImportResult(kind=spec.name)
    errors = ErrorList()
    stage: MetricStage | None = None
    fast: FastMetricChecker | None = None
    file.seek(0)
    text = _text(file)
    reader = csv.reader(text)
    try:
        try:
            header = next(reader, None)
            if header is None or not "".join(header).strip():
                errors.add(1, "", _("The file is empty: the first line must name the columns."))
            else:
                header = _normalise_header(header)
                bound = check_header(spec, header, errors)
            if not errors:
                lookups = Lookups.load(accounts=spec.needs_accounts, users=spec.needs_users)
                checker = RowChecker(spec, bound, len(header), lookups, errors)
                stage = spec.stager(bound)

                def report() -> None:
                    if progress is not None:
                        progress(checker.rows, max(total_rows, checker.rows))

                if stage is not None:
                    fast = FastMetricChecker(checker, stage, header)
                    if stream:
                        stage.start_stream()
                    fast.run(text, reader.line_num, errors, report)
                else:
                    for line, cells in records(reader, len(header)):
                        checker.check(line, cells)
                        if checker.rows % CHECK_CHUNK == 0:
                            report()
                result.rows = checker.rows
                report()
        except UnicodeDecodeError:
            # Decoding runs ahead of the rows read, so the line is approximate: the file is refused whole.
            errors = ErrorList()
            errors.add(1, "", _encoding_reason((fast or reader).line_num + 1))
        except csv.Error as exc:
            line = (fast or reader).line_num
            errors.add(line, "", _("This line cannot be read as CSV: %(detail)s.") % {"detail": exc})
        finally:
            _release(text)

        try:
            if not errors:
                _write(
                    spec,
                    file=file,
                    bound=bound,
                    width=len(header),
                    stage=stage,
                    account_ids=fast.account_ids() if fast is not None else set(),
                    result=result,
                    actor=actor,
                    name=name,
                    via=via,
                    before_commit=before_commit,
                )
        except _Abort as exc:
            errors.add(1, "", exc.reason)
        except AccountsGone:
            errors.add(1, "", accounts_gone_reason())
        except DatabaseError as exc:
            logger.warning("import of %s %r refused by the database: %s", spec.name, name, exc)
            errors.add(
                1, "", _("The database refused the file (%(detail)s). Nothing was written.") % {"detail": exc}
            )
    finally:
        if stage is not None:
            stage.drop()  # ends a COPY still open, whatever happened
    result.take_errors(errors)
    if not result.ok:
        result.created = result.updated = result.unchanged = 0
    return result


def accounts_gone_reason() -> str:
    return _(
        "An account named in the file was deleted while the file was loading. Nothing was "
        "written: load the file again to see which rows name it."
    )


def _write(
    spec: Kind,
    *,
    file: IO[bytes],
    bound: list[tuple[int, Column]],
    width: int,
    stage: MetricStage | None,
    account_ids: set[int],
    result: ImportResult,
    actor: Any,
    name: str,
    via: str,
    before_commit: Callable[[ImportResult], None] | None,
) -> None:
    counts = Counts()
    if stage is not None:
        stage.end_stream()  # before the savepoint below: the connection is busy with the COPY
    with transaction.atomic():
        if stage is not None:
            stage.merge(counts, result.rows, account_ids)
        else:
            _load_second_pass(spec, file=file, bound=bound, width=width, counts=counts, rows=result.rows)
        result.created, result.updated, result.unchanged = counts.created, counts.updated, counts.unchanged
        record_audit(
            actor=actor,
            action="import",
            target=(name or spec.name)[:200],
            kind=spec.name,
            via=via,
            rows=result.rows,
            created=counts.created,
            updated=counts.updated,
            unchanged=counts.unchanged,
        )
        if before_commit is not None:
            before_commit(result)


def _load_second_pass(
    spec: Kind, *, file: IO[bytes], bound: list[tuple[int, Column]], width: int, counts: Counts, rows: int
) -> None:
    """Read the (clean) file again and hand its rows to the kind's loader, batch by batch."""
    errors = ErrorList(cap=1)
    file.seek(0)
    text = _text(file)
    try:
        reader = csv.reader(text)
        next(reader)
        lookups = Lookups.load(accounts=spec.needs_accounts, users=spec.needs_users)
        # A fresh spec: per-file state (the primary contacts seen) starts again.
        checker = RowChecker(type(spec)(), bound, width, lookups, errors, check_keys=False)

        def checked() -> Iterator[dict[str, Any]]:
            for line, cells in records(reader, width):
                values = checker.check(line, cells)
                if values is None:
                    # The file was checked clean: an account it names that no longer resolves was
                    # deleted meanwhile (the stream's account locks say the same on PostgreSQL).
                    if spec.needs_accounts and any(item["column"] == "account" for item in errors.items):
                        raise AccountsGone(set())
                    raise _Abort(_("The file changed while it was being loaded. Nothing was written."))
                yield values

        spec.load(checked(), checker.present, counts)
    finally:
        _release(text)
    if checker.rows != rows:
        raise _Abort(_("The file changed while it was being loaded. Nothing was written."))


# --- Preview -------------------------------------------------------------------------------


@dataclass
class Preview:
    header: list[str]
    rows: list[list[str]]
    problems: list[dict[str, Any]]  # header problems, or the file cannot be read


def preview_csv(*, kind: str, file: IO[bytes], rows: int = PREVIEW_ROWS) -> Preview:
    """The header and the first rows as they are in the file, and any problem with the header."""
    spec = kind_spec(kind)
    errors = ErrorList()
    header: list[str] = []
    body: list[list[str]] = []
    file.seek(0)
    text = _text(file)
    try:
        reader = csv.reader(text)
        header = next(reader, None) or []
        if not "".join(header).strip():
            errors.add(1, "", _("The file is empty: the first line must name the columns."))
        else:
            check_header(spec, _normalise_header(header), errors)
            for _line, cells in itertools.islice(records(reader, len(header)), rows):
                body.append(cells)
    except UnicodeDecodeError:
        errors.add(1, "", _encoding_reason(1))
    except csv.Error as exc:
        errors.add(1, "", _("This line cannot be read as CSV: %(detail)s.") % {"detail": exc})
    finally:
        _release(text)
    width = max([len(header), *(len(cells) for cells in body)])
    header = header + [""] * (width - len(header))
    body = [cells + [""] * (width - len(cells)) for cells in body]
    return Preview(header=header, rows=body, problems=errors.items)
