"""Reading one cell: the limits, the parsers of each type of value and the lookups they use.

A parser takes the stripped text of a cell (and the file's `Lookups`) and returns the value to
store, or raises `CellError` with a translated reason. The metric fields (`MetricField`) have one
definition for CSV cells and JSON values, so a value means the same thing in a file and in the API.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Account, Contact
from csworkbench.core.roles import Role
from health.models import METRIC_FIELDS, DailyMetric

MAX_STORED_ERRORS = 10_000
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
MAX_INTEGER = 2_147_483_647  # PostgreSQL's integer
NPS_MAXIMUM = 10
SHOWN_VALUE_LENGTH = 40  # a bad value is quoted back in the reason, cut to this length

_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}"  # date and time
    r"(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"  # seconds
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?"  # offset
)
_TRUE = frozenset({"true", "yes", "y", "1", "t", "x"})
_FALSE = frozenset({"false", "no", "n", "0", "f"})


# --- Errors --------------------------------------------------------------------------------


class CellError(Exception):
    """A value that cannot be loaded; `reason` is already translated."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ErrorList:
    """Every error is counted; the first `cap` are kept (line, column, reason)."""

    def __init__(self, cap: int = MAX_STORED_ERRORS):
        self.cap = cap
        self.items: list[dict[str, Any]] = []
        self.count = 0

    def add(self, line: int, column: str, reason: str) -> None:
        self.count += 1
        if len(self.items) < self.cap:
            self.items.append({"line": line, "column": column, "reason": str(reason)})

    def __bool__(self) -> bool:
        return self.count > 0


# --- Reading cells -----------------------------------------------------------------------


def _shown(text: str) -> str:
    return text if len(text) <= SHOWN_VALUE_LENGTH else text[:SHOWN_VALUE_LENGTH] + "…"


def check_integer(value: int, *, maximum: int = MAX_INTEGER) -> int:
    if value < 0:
        raise CellError(_("Must not be negative."))
    if value > maximum:
        raise CellError(_("Must be at most %(maximum)s.") % {"maximum": maximum})
    return value


def integer_from_text(text: str, *, maximum: int = MAX_INTEGER) -> int:
    if not _INTEGER.fullmatch(text):
        raise CellError(_("“%(value)s” is not a whole number.") % {"value": _shown(text)})
    if len(text) > 15:  # far past any limit; int() of thousands of digits is slow, then refused
        return check_integer(-1 if text.startswith("-") else maximum + 1, maximum=maximum)
    return check_integer(int(text), maximum=maximum)


def check_decimal(
    value: Decimal, *, max_digits: int, places: int, positive: bool = False, round_off: bool = False
) -> Decimal:
    """A non-negative (or positive) decimal that fits the column. `round_off` rounds extra
    decimal places (hours); otherwise they are an error (money must be exact)."""
    if not value.is_finite():
        raise CellError(_("Must be a number."))
    if positive and value <= 0:
        raise CellError(_("Must be greater than zero."))
    if value < 0:
        raise CellError(_("Must not be negative."))
    limit = Decimal(10) ** (max_digits - places)
    too_large = CellError(_("Must be less than %(limit)s.") % {"limit": limit})
    if value >= limit:  # checked before rounding: a huge number cannot be rounded to cents
        raise too_large
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if rounded != value and not round_off:
        raise CellError(_("Use at most %(places)s decimal places.") % {"places": places})
    if rounded >= limit:
        raise too_large
    return rounded


def decimal_from_text(text: str, **limits: Any) -> Decimal:
    if not _DECIMAL.fullmatch(text) or len(text) > 40:
        raise CellError(_("“%(value)s” is not a number.") % {"value": _shown(text)})
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern only lets plain decimals through
        raise CellError(_("“%(value)s” is not a number.") % {"value": _shown(text)}) from None
    return check_decimal(value, **limits)


def date_from_text(text: str) -> date:
    if not _DATE.fullmatch(text):
        raise CellError(_("“%(value)s” is not a date; write it as YYYY-MM-DD.") % {"value": _shown(text)})
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CellError(_("“%(value)s” is not a valid date.") % {"value": text}) from None


def check_date(value: date, *, today: date, history: bool) -> date:
    """Dates reach back to 2000. A date of something that happened (`history`) may be at most one
    day ahead, which covers sources in other time zones; others (renewals) up to 2099."""
    if value < EARLIEST:
        raise CellError(
            _("%(date)s is before %(earliest)s.")
            % {"date": value.isoformat(), "earliest": EARLIEST.isoformat()}
        )
    if history and value > today + timedelta(days=1):
        raise CellError(_("%(date)s is in the future.") % {"date": value.isoformat()})
    if value > LATEST:
        raise CellError(
            _("%(date)s is after %(latest)s.") % {"date": value.isoformat(), "latest": LATEST.isoformat()}
        )
    return value


def datetime_from_text(text: str, *, now: datetime) -> datetime:
    """ISO 8601 date and time (`2025-03-01 14:30`); without an offset it is the team's time zone."""
    if not _DATETIME.fullmatch(text):
        raise CellError(
            _("“%(value)s” is not a date and time; write it as YYYY-MM-DD HH:MM.") % {"value": _shown(text)}
        )
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CellError(_("“%(value)s” is not a valid date and time.") % {"value": text}) from None
    # Range first, on the date as written: years 1 or 9999 cannot be moved across time zones.
    if value.date() < EARLIEST:
        raise CellError(
            _("%(date)s is before %(earliest)s.") % {"date": text, "earliest": EARLIEST.isoformat()}
        )
    if value.date() > LATEST:
        raise CellError(_("%(date)s is in the future.") % {"date": text})
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > now + timedelta(days=1):
        raise CellError(_("%(date)s is in the future.") % {"date": text})
    return value


@dataclass
class Lookups:
    """What a row may refer to, read once per file: never a query per row."""

    today: date
    now: datetime
    accounts: dict[str, int] = field(default_factory=dict)  # external_id -> pk
    users: dict[str, int] = field(default_factory=dict)  # username -> pk
    owners: frozenset[int] = frozenset()  # the pks of active CSMs: only they own accounts
    inactive: frozenset[int] = frozenset()

    @classmethod
    def load(cls, *, accounts: bool = False, users: bool = False, external_ids: Iterable[str] | None = None):
        lookups = cls(today=timezone.localdate(), now=timezone.now())
        if accounts:
            queryset = Account.objects.all()
            if external_ids is not None:
                # Text the database cannot hold (NUL, lone surrogates) names no account.
                queryset = queryset.filter(external_id__in={i for i in external_ids if storable(i)})
            lookups.accounts = dict(queryset.values_list("external_id", "pk"))
        if users:
            user_model = get_user_model()
            lookups.users = dict(user_model.objects.values_list(user_model.USERNAME_FIELD, "pk"))
            lookups.inactive = frozenset(
                user_model.objects.filter(is_active=False).values_list("pk", flat=True)
            )
            lookups.owners = frozenset(
                user_model.objects.filter(is_active=True, groups__name=Role.CSM).values_list("pk", flat=True)
            )
        return lookups


Parser = Callable[[str, Lookups], Any]


def storable(text: str) -> bool:
    """PostgreSQL text holds no NUL character, and UTF-8 no lone surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text_parser(max_length: int) -> Parser:
    def parse(text: str, lookups: Lookups) -> str:
        if not storable(text):
            raise CellError(_("Contains a character that cannot be stored (a NUL byte or a broken one)."))
        if len(text) > max_length:
            raise CellError(
                _("Too long: %(length)s characters, at most %(max_length)s.")
                % {"length": len(text), "max_length": max_length}
            )
        return text

    return parse


def model_text(model: type[models.Model], name: str) -> Parser:
    return text_parser(model._meta.get_field(name).max_length)


def choice_parser(choices: type[models.TextChoices]) -> Parser:
    allowed = {value.lower(): value for value in choices.values}
    listed = ", ".join(choices.values)

    def parse(text: str, lookups: Lookups) -> str:
        value = allowed.get(text.lower())
        if value is None:
            raise CellError(
                _("“%(value)s” is not one of: %(choices)s.") % {"value": _shown(text), "choices": listed}
            )
        return value

    return parse


def boolean_parser(text: str, lookups: Lookups) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise CellError(_("“%(value)s” is not yes or no.") % {"value": _shown(text)})


def email_parser(text: str, lookups: Lookups) -> str:
    max_length = Contact._meta.get_field("email").max_length
    if len(text) > max_length:
        raise CellError(
            _("Too long: %(length)s characters, at most %(max_length)s.")
            % {"length": len(text), "max_length": max_length}
        )
    try:
        validate_email(text)
    except ValidationError:
        raise CellError(_("“%(value)s” is not a valid email address.") % {"value": _shown(text)}) from None
    return text


def account_parser(text: str, lookups: Lookups) -> int:
    pk = lookups.accounts.get(text)
    if pk is None:
        raise CellError(_("Unknown account “%(value)s”.") % {"value": _shown(text)})
    return pk


def user_parser(text: str, lookups: Lookups) -> int:
    pk = lookups.users.get(text)
    if pk is None:
        raise CellError(_("Unknown user “%(value)s”.") % {"value": _shown(text)})
    return pk


def owner_parser(text: str, lookups: Lookups) -> int:
    """An account's owner: an active customer-success manager, never a manager or interviewer
    (an interviewer who owned accounts could never interview them, and would see their revenue)."""
    pk = user_parser(text, lookups)
    if pk in lookups.inactive:
        raise CellError(_("“%(value)s” is deactivated: choose an active CSM.") % {"value": _shown(text)})
    if pk not in lookups.owners:
        raise CellError(
            _("“%(value)s” is not a customer-success manager: only CSMs own accounts.")
            % {"value": _shown(text)}
        )
    return pk


def date_parser(*, history: bool) -> Parser:
    def parse(text: str, lookups: Lookups) -> date:
        return check_date(date_from_text(text), today=lookups.today, history=history)

    return parse


def datetime_parser(text: str, lookups: Lookups) -> datetime:
    return datetime_from_text(text, now=lookups.now)


def money_parser(*, positive: bool) -> Parser:
    def parse(text: str, lookups: Lookups) -> Decimal:
        return decimal_from_text(text, max_digits=12, places=2, positive=positive)

    return parse


# --- Metric fields: one definition for CSV cells and JSON values ---------------------------


@dataclass(frozen=True)
class MetricField:
    """A DailyMetric input: a whole number up to `maximum`, or a decimal (hours) with `places`."""

    name: str
    maximum: int = MAX_INTEGER
    max_digits: int = 0
    places: int = 0

    @property
    def is_decimal(self) -> bool:
        return self.max_digits > 0

    def from_text(self, text: str) -> int | Decimal:
        if self.is_decimal:
            return decimal_from_text(text, max_digits=self.max_digits, places=self.places, round_off=True)
        return integer_from_text(text, maximum=self.maximum)

    def from_json(self, value: Any) -> int | Decimal | None:
        """JSON numbers only: a string, a boolean or a fraction for a count is refused, not guessed."""
        if value is None:
            return None
        if isinstance(value, bool):
            raise CellError(_("Must be a number, not true or false."))
        if isinstance(value, str):
            raise CellError(_("Must be a JSON number, not a string."))
        if isinstance(value, int):
            if self.is_decimal:
                return check_decimal(
                    Decimal(value), max_digits=self.max_digits, places=self.places, round_off=True
                )
            return check_integer(value, maximum=self.maximum)
        if isinstance(value, float):
            if not self.is_decimal:
                raise CellError(_("Must be a whole number."))
            return check_decimal(
                Decimal(repr(value)), max_digits=self.max_digits, places=self.places, round_off=True
            )
        raise CellError(_("Must be a number."))


def _metric_field(name: str) -> MetricField:
    model_field = DailyMetric._meta.get_field(name)
    if isinstance(model_field, models.DecimalField):
        return MetricField(name, max_digits=model_field.max_digits, places=model_field.decimal_places)
    if name == "nps":
        return MetricField(name, maximum=NPS_MAXIMUM)
    return MetricField(name)


METRICS: tuple[MetricField, ...] = tuple(_metric_field(name) for name in METRIC_FIELDS)
METRIC_BY_NAME = {metric.name: metric for metric in METRICS}


def check_metric_values(values: dict[str, Any]) -> list[tuple[str, str]]:
    """Checks across fields of one metric row: (field, reason) for each problem."""
    problems = []
    count, total = values.get("csat_count"), values.get("csat_sum")
    if (count is None) != (total is None):
        missing = "csat_sum" if total is None else "csat_count"
        problems.append((missing, _("Give csat_count and csat_sum together, or neither.")))
    elif count is not None and not count <= total <= 5 * count:
        problems.append(
            (
                "csat_sum",
                ngettext(
                    "With %(count)s response the sum of CSAT scores must be between %(low)s and %(high)s.",
                    "With %(count)s responses the sum of CSAT scores must be between %(low)s and %(high)s.",
                    count,
                )
                % {"count": count, "low": count, "high": 5 * count},
            )
        )
    used, offered = values.get("features_used"), values.get("features_offered")
    if used is not None and offered is not None and used > offered:
        problems.append(
            (
                "features_used",
                _("More features used (%(used)s) than offered (%(offered)s).")
                % {"used": used, "offered": offered},
            )
        )
    return problems


def metric_parser(metric: MetricField) -> Parser:
    def parse(text: str, lookups: Lookups) -> int | Decimal:
        return metric.from_text(text)

    return parse
