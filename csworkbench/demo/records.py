"""The demo's records: the TOML files under data/, read once per process, and the dates they use.

The data never holds an absolute date: a demo seeded today tells the same stories as one seeded a
year ago. A date is an anchor (`today`, the contract `start`, the `churn` day) followed by terms
applied left to right, in days or years: "today-58d", "start+200d", "churn-2y", "today+75d-3y".
"""

import re
import tomllib
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"

_DATE = re.compile(r"(today|start|churn)((?:[+-]\d+[dy])*)")
_TERM = re.compile(r"([+-])(\d+)([dy])")


@cache
def load(name: str) -> dict[str, Any]:
    """The data file `data/<name>.toml` as plain dicts and lists. Shared: read, never change it."""
    with (DATA_DIR / f"{name}.toml").open("rb") as file:
        return tomllib.load(file)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a non-leap year
        return day.replace(year=day.year + years, day=28)


def relative_date(text: str, *, today: date, start: date | None = None, churn: date | None = None) -> date:
    """The date a record's "today-58d" names, given the anchors it may use."""
    match = _DATE.fullmatch(text)
    anchors = {"today": today, "start": start, "churn": churn}
    day = anchors[match[1]] if match else None
    if match is None or day is None:
        raise ValueError(f"Not a demo date, or its anchor is unknown here: {text!r}")
    for sign, number, unit in _TERM.findall(match[2]):
        count = int(number) if sign == "+" else -int(number)
        day = day + timedelta(days=count) if unit == "d" else add_years(day, count)
    return day
