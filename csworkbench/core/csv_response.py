"""Streaming CSV downloads that are safe to open in a spreadsheet."""

import csv
import re
from collections.abc import Iterable

from django.http import StreamingHttpResponse

# Spreadsheet apps execute cells that start with these characters as formulas.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# A plain number (-2.12, +3, 1e-5) is a number to a spreadsheet, not a formula: left alone.
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise(value: object) -> str:
    """Text a spreadsheet shows as text: a leading formula character gets a quote, except in a
    plain number, which stays a number."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_download(rows: Iterable[list[str]], *, filename: str) -> StreamingHttpResponse:
    """Stream `rows` (header first) as an attachment, one row at a time."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
