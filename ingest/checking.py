"""Checking a file's rows: the header, every row's cells and keys, and the fast path of a
PostgreSQL metrics file.

`RowChecker` reads each cell with its column's parser, runs the kind's checks across columns and
finds duplicate keys, reporting every problem with its line number and column. On PostgreSQL a
metrics file's usual lines take `FastMetricChecker`'s shortcut: one regular expression over the
raw line, staged as written; any other line gets the full check.
"""

from __future__ import annotations

import csv
import io
import itertools
import operator
import re
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from django.utils.translation import gettext as _

from .cells import (
    METRIC_BY_NAME,
    NPS_MAXIMUM,
    CellError,
    ErrorList,
    Lookups,
    MetricField,
    check_date,
    date_from_text,
)
from .columns import ORDINAL_2000, Column, Kind
from .writes import MetricStage

CHECK_CHUNK = 5_000  # rows checked between two progress reports
STAGE_FLUSH = 10_000  # checked metric lines buffered before they go to the database and the spool
# The cells with rules of their own, in the order `FastMetricChecker.rule_slots` keeps them.
RULE_CELLS = ("nps", "features_used", "features_offered", "csat_count", "csat_sum")


def check_header(spec: Kind, header: list[str], errors: ErrorList) -> list[tuple[int, Column]] | None:
    """Every header problem at line 1; the columns in file order when there is none."""
    known = {column.name: column for column in spec.columns}
    if len(header) == 1 and any(mark in header[0] for mark in (";", "\t")):
        errors.add(1, "", _("Columns must be separated by commas, not semicolons or tabs."))
        return None
    seen: set[str] = set()
    bound = []
    unknown: list[str] = []
    for index, name in enumerate(header):
        if name in seen:
            errors.add(1, name, _("This column appears more than once."))
        elif name not in known:
            unknown.append(name)
            errors.add(1, name, _("Unknown column."))
        else:
            bound.append((index, known[name]))
        seen.add(name)
    if unknown:
        # The list of known columns once for the file, not once per unknown column.
        errors.add(
            1, "", _("The columns this file may have are: %(columns)s.") % {"columns": ", ".join(known)}
        )
    for column in spec.columns:
        if column.required and column.name not in seen:
            errors.add(1, column.name, _("Required column is missing."))
    for name, needed in spec.requires.items():
        if name in seen and needed not in seen:
            errors.add(1, name, _("This column needs the %(column)s column too.") % {"column": needed})
    return None if errors else bound


class RowChecker:
    def __init__(
        self,
        spec: Kind,
        bound: list[tuple[int, Column]],
        width: int,
        lookups: Lookups,
        errors: ErrorList,
        *,
        check_keys: bool = True,
    ):
        self.spec = spec
        self.bound = bound
        self.width = width
        self.lookups = lookups
        self.errors = errors
        self.present = frozenset(column.field for _, column in bound)
        self.cells = [
            (index, column.name, column.field, column.required, column.parse, column.empty)
            for index, column in bound
        ]
        self.keys: dict[Hashable, int] | None = {} if check_keys else None
        self.rows = 0

    def check(self, line: int, cells: list[str]) -> dict[str, Any] | None:
        self.rows += 1
        errors = self.errors
        if len(cells) != self.width:
            errors.add(
                line,
                "",
                _("This row has %(found)s cells but the header has %(expected)s.")
                % {"found": len(cells), "expected": self.width},
            )
            return None
        values: dict[str, Any] = {}
        failed: set[str] | None = None  # the columns (and fields) of this line already in error
        lookups = self.lookups
        for index, name, attribute, required, parse, empty in self.cells:
            text = cells[index].strip()
            if not text:
                if required:
                    errors.add(line, name, _("This value is required."))
                    failed = (failed or set()) | {name, attribute}
                else:
                    values[attribute] = empty
                continue
            try:
                values[attribute] = parse(text, lookups)
            except CellError as exc:
                errors.add(line, name, exc.reason)
                failed = (failed or set()) | {name, attribute}
        # Every problem of the line in one pass: the checks across columns run on the cells that
        # parsed (a check whose column is already in error says nothing more about it).
        ok = failed is None
        values["_line"] = line
        problems = self.spec.check_row(values, self.present if ok else self.present & values.keys())
        del values["_line"]
        for name, reason in problems:
            if failed is None or name not in failed:
                errors.add(line, name, reason)
            ok = False
        if self.keys is not None:
            try:
                key = self.spec.key(values)
            except (KeyError, AttributeError, TypeError):  # a key cell is in error
                key = None
            first = line if key is None else self.keys.setdefault(key, line)
            if first != line:
                columns = self.spec.duplicate_columns(values)
                errors.add(
                    line,
                    columns[-1],
                    _("Line %(line)s has the same %(columns)s.")
                    % {"line": first, "columns": ", ".join(columns)},
                )
                ok = False
        return values if ok else None


def _is_blank(cells: list[str]) -> bool:
    """A blank line, or a row of empty cells as spreadsheets leave behind: skipped, not an error."""
    return not "".join(cells).strip()


def records(reader: Any, width: int) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank record; the line is where the record starts."""
    previous = reader.line_num
    for cells in reader:
        line = previous + 1
        previous = reader.line_num
        if (len(cells) != width or not cells[0]) and _is_blank(cells):
            continue
        yield line, cells


class FastMetricChecker:
    """PostgreSQL metric files: the usual line — no quotes, a known account, a YYYY-MM-DD date,
    plain digits — is checked by one regular expression over the raw line and staged as the CSV
    line it already is, with the account's id in place of its external id. Any other line is read
    by the csv module and goes through the full check, which alone decides what is an error and
    what a value means; the shortcut only accepts lines the full check accepts, with the same
    values."""

    def __init__(self, checker: RowChecker, stage: MetricStage, header: list[str]) -> None:
        self.checker = checker
        self.stage = stage
        self.keys = checker.keys if checker.keys is not None else {}
        self.dates: dict[str, int] = {}  # date text -> days since 2000, for dates that passed
        self.header = header
        self.line_num = 0  # physical lines read so far, the header included (as csv.reader counts)
        # An external id with spaces around it is stripped by the full check: leave it to that.
        self.accounts = {key: pk for key, pk in checker.lookups.accounts.items() if key == key.strip()}
        cells, groups = [], []
        features_pair = {"features_used", "features_offered"} <= set(header)
        for name in header:
            metric = METRIC_BY_NAME.get(name)
            if name == "account":
                cells.append(r'([^,"\r\n]*)')
            elif name == "date":
                cells.append(r"([0-9]{4}-[0-9]{2}-[0-9]{2})")
            elif metric is not None and metric.is_decimal:
                cells.append(f"(?:{_decimal_pattern(metric).pattern})?")
                continue
            elif name == "nps":
                cells.append("([0-9]{0,2})")  # then at most NPS_MAXIMUM
            elif name in ("csat_count", "csat_sum"):
                cells.append("([0-9]{0,9})")  # then the CSAT rule
            elif features_pair and name in ("features_used", "features_offered"):
                cells.append("([0-9]{0,9})")  # then no more used than offered
            else:
                # Plain digits, nine at most (below PostgreSQL's integer limit), or empty.
                cells.append("[0-9]{0,9}")
                continue
            groups.append(name)
        self.match = re.compile(",".join(cells) + r"(?:\r\n|\n|\r)?").fullmatch
        self.groups = groups
        self.values = operator.itemgetter(groups.index("account"), groups.index("date"))
        self.account_group = groups.index("account") + 1
        self.account_first = header[0] == "account"
        # The cells with a rule of their own (nps, the CSAT pair), when the file has them.
        self.rule_indexes = {name: groups.index(name) for name in groups if name not in ("account", "date")}
        # Their positions, read once: the rules run on every row that gives one of these cells.
        self.rule_slots = tuple(self.rule_indexes.get(name) for name in RULE_CELLS)

    def run(
        self, text: io.TextIOWrapper, line_num: int, errors: ErrorList, report: Callable[[], None]
    ) -> None:
        """Check every line left in `text`, after the `line_num` lines of the header, staging good
        rows until the first error. `line_num` follows the lines read, for the caller's messages."""
        self.line_num = line_num
        self.line_num = self._run(text, line_num, errors, report)

    def _run(self, text: io.TextIOWrapper, line: int, errors: ErrorList, report: Callable[[], None]) -> int:
        checker = self.checker
        accounts, dates, keys = self.accounts, self.dates, self.keys
        match, stage = self.match, self.stage
        lines = stage.lines
        first, values = self.account_first, self.values
        has_rules, rules_hold = bool(self.rule_indexes), self._rules_hold
        rows = checker.rows
        next_report = rows + CHECK_CHUNK
        try:
            for raw in text:
                line += 1
                found = match(raw)
                if found is not None:
                    cells = found.groups()
                    account_text, day = values(cells)
                    account = accounts.get(account_text)
                    offset = dates.get(day)
                    if offset is None:
                        offset = self._date(day)
                    if (
                        account is not None
                        and offset is not None
                        and (not has_rules or rules_hold(cells))
                        and keys.setdefault((account << 20) | offset, line) == line
                    ):
                        rows += 1
                        if not errors:
                            if first:
                                lines.append(f"{account}{raw[len(account_text) :]}")
                            else:
                                start, end = found.span(self.account_group)
                                lines.append(f"{raw[:start]}{account}{raw[end:]}")
                        if rows >= next_report:
                            next_report += CHECK_CHUNK
                            checker.rows = rows
                            self.line_num = line
                            if len(lines) >= STAGE_FLUSH:
                                stage.flush()
                                lines = stage.lines
                            report()
                        continue
                # Anything else: the csv module reads the record, which may go on over more lines.
                start = line
                reader = csv.reader(itertools.chain((raw,), text))
                try:
                    cells = next(reader)
                finally:
                    # What csv.reader would count: every line read so far, the header included.
                    self.line_num = line = start - 1 + reader.line_num
                if _is_blank(cells):
                    continue
                checker.rows = rows
                self._full_check(start, cells, errors)
                rows = checker.rows
                lines = stage.lines
                if rows >= next_report:
                    next_report = rows + CHECK_CHUNK
                    report()
        except UnicodeDecodeError:
            # Decoding runs ahead of the lines, as under csv.reader: the same approximate line.
            self.line_num = line
            raise
        checker.rows = rows
        return line

    def account_ids(self) -> set[int]:
        """The accounts of the rows that passed (their keys are `MetricsKind.key`)."""
        return {key >> 20 for key in self.keys}

    def _full_check(self, line: int, cells: list[str], errors: ErrorList) -> None:
        values = self.checker.check(line, cells)
        if values is not None and not errors:
            staged = []
            for name in self.header:
                if name == "account":
                    staged.append(str(values["account_id"]))
                elif name == "date":
                    staged.append(values["date"].isoformat())
                else:
                    staged.append("" if values[name] is None else str(values[name]))
            self.stage.lines.append(",".join(staged) + "\n")

    def _date(self, text: str) -> int | None:
        try:
            day = check_date(date_from_text(text), today=self.checker.lookups.today, history=True)
        except CellError:
            return None
        self.dates[text] = offset = day.toordinal() - ORDINAL_2000
        return offset

    def _rules_hold(self, cells: tuple[str, ...]) -> bool:
        # Only called once every count is known to be plain digits, of which one of these is given.
        # No dict per row: on a million rows that cost a third of the check.
        nps_at, used_at, offered_at, count_at, total_at = self.rule_slots
        nps = cells[nps_at] if nps_at is not None else ""
        if nps and int(nps) > NPS_MAXIMUM:
            return False
        used = cells[used_at] if used_at is not None else ""
        offered = cells[offered_at] if offered_at is not None else ""
        if used and offered and int(used) > int(offered):
            return False
        count = cells[count_at] if count_at is not None else ""
        total = cells[total_at] if total_at is not None else ""
        return not (count or total) or bool(count and total and int(count) <= int(total) <= 5 * int(count))


def _decimal_pattern(metric: MetricField) -> re.Pattern[str]:
    whole = metric.max_digits - metric.places
    return re.compile(rf"[0-9]{{1,{whole}}}(?:\.[0-9]{{1,{metric.places}}})?")
