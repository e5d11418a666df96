"""Metric rows from the integration API: checked with the same per-field rules as a metrics CSV
(`ingest.cells`), written with the same upserts (`ingest.writes`). The HTTP side is
`ingest.api_views`."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from accounts.models import ImportKind
from csworkbench.core.models import record_audit
from health.models import METRIC_FIELDS

from .cells import (
    METRICS,
    SHOWN_VALUE_LENGTH,
    CellError,
    ErrorList,
    Lookups,
    account_parser,
    check_date,
    check_metric_values,
    date_from_text,
)
from .load import ImportResult
from .writes import Counts, MetricStage, metric_row, upsert_metric_batches

API_FIELDS = frozenset({"account", "date", *METRIC_FIELDS})


def validate_metric_rows(rows: list[Any]) -> tuple[list[dict[str, Any]], ErrorList]:
    """Check API rows with the same rules as a metrics CSV. Errors carry the row index and field
    (`{"line": index, "column": field, "reason": …}` in the list; the API renames the keys)."""
    errors = ErrorList()
    external_ids = [row.get("account") for row in rows if isinstance(row, dict)]
    lookups = Lookups.load(
        accounts=True, external_ids=[value for value in external_ids if isinstance(value, str)]
    )
    checked: list[dict[str, Any]] = []
    seen: dict[tuple[int, date], int] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            errors.add(index, "", _("Each row must be a JSON object."))
            continue
        values: dict[str, Any] = {}
        ok = True
        for key in row:
            if key not in API_FIELDS:
                errors.add(index, str(key)[:SHOWN_VALUE_LENGTH], _("Unknown field."))
                ok = False
        for key, parse in (("account", _api_account), ("date", _api_date)):
            try:
                values[key] = parse(row.get(key), lookups)
            except CellError as exc:
                errors.add(index, key, exc.reason)
                ok = False
        for metric in METRICS:
            try:
                values[metric.name] = metric.from_json(row.get(metric.name))
            except CellError as exc:
                errors.add(index, metric.name, exc.reason)
                ok = False
        if not ok:
            continue
        problems = check_metric_values(values)
        for name, reason in problems:
            errors.add(index, name, reason)
        if problems:
            continue
        values["account_id"] = values.pop("account")
        first = seen.setdefault((values["account_id"], values["date"]), index)
        if first != index:
            errors.add(index, "date", _("Row %(index)s has the same account and date.") % {"index": first})
            continue
        checked.append(values)
    return checked, errors


def _api_account(value: Any, lookups: Lookups) -> int:
    if value is None or value == "":
        raise CellError(_("This value is required."))
    if not isinstance(value, str):
        raise CellError(_("Must be a string: the account's external ID."))
    return account_parser(value, lookups)


def _api_date(value: Any, lookups: Lookups) -> date:
    if value is None or value == "":
        raise CellError(_("This value is required."))
    if not isinstance(value, str):
        raise CellError(_("Must be a string: YYYY-MM-DD."))
    return check_date(date_from_text(value), today=lookups.today, history=True)


@transaction.atomic
def upsert_metrics(*, rows: list[dict[str, Any]], actor: Any = None, source: str = "api") -> ImportResult:
    """Write checked metric rows (from `validate_metric_rows`): upsert per account and day, with
    an audit row. Sending the same rows twice changes nothing the second time."""
    counts = Counts()
    if connection.vendor == "postgresql" and rows:
        stage = MetricStage()
        try:
            stage.add_rows(metric_row(values) for values in rows)
            stage.merge(counts, len(rows), {values["account_id"] for values in rows})
        finally:
            stage.drop()
    else:
        upsert_metric_batches(rows, counts)
    record_audit(
        actor=actor,
        action="import",
        target=source[:200],
        kind=ImportKind.METRICS,
        via="api",
        rows=len(rows),
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
    )
    return ImportResult(
        kind=ImportKind.METRICS,
        rows=len(rows),
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
    )
