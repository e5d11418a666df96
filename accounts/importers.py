"""Loading data from CSV files (and metric rows from the API) — all-or-nothing per file.

Each kind of file has a column spec: which columns it has, which are required, and how a cell is
read and checked. A load first checks the whole file and reports every bad row with its line
number, column and reason; only a file without a single error is written, in one transaction,
with set-based statements (`bulk_create`, one `INSERT … ON CONFLICT`), never a query per row.

Large files stream: the csv module reads a text wrapper over the binary file, rows are checked in
chunks and never held in memory all at once. On PostgreSQL a metrics file is written while it is
checked: the checked rows stream through one `COPY` into DailyMetric, in a transaction that is
rolled back unless the whole file is clean, so the database writes on one core while Python
checks on the other (see `_MetricStage`; rows that update stored ones are merged by one
`INSERT … ON CONFLICT` instead). On other databases the file is read a second time and written in
batches. DailyMetric has no foreign-key constraint: every metrics load locks the accounts its rows
name before it commits (`health.integrity`). The API reuses the same per-field checks
(`validate_metric_rows`), so a value means the same thing in a CSV cell and in JSON.

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
import operator
import os
import re
import socket
import tempfile
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    connection,
    connections,
    models,
    transaction,
)
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from csworkbench.core import outbox
from csworkbench.core.models import record_audit
from csworkbench.core.outbox import Queued
from csworkbench.core.roles import Role
from health.integrity import lock_metric_accounts
from health.models import METRIC_FIELDS, DailyMetric, EventKind, SignalEvent

from .models import (
    Account,
    AccountStatus,
    AcquisitionChannel,
    ChurnType,
    Contact,
    EmployeeBand,
    ImportJob,
    ImportKind,
    ImportStatus,
    Industry,
    MovementKind,
    MrrMovement,
    Sentiment,
    Touchpoint,
    TouchpointKind,
    ValueTier,
)

logger = logging.getLogger(__name__)

MAX_STORED_ERRORS = 10_000
CHECK_CHUNK = 5_000  # rows checked between two progress reports
BATCH_SIZE = 5_000  # rows written per statement
STAGE_FLUSH = 10_000  # checked metric lines buffered before they go to the database and the spool
SPOOL_MEMORY = 32 << 20  # checked metric lines kept in memory up to this size, then on disk
PREVIEW_ROWS = 10
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


# --- Errors and results ------------------------------------------------------------------


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


def _metric_parser(metric: MetricField) -> Parser:
    def parse(text: str, lookups: Lookups) -> int | Decimal:
        return metric.from_text(text)

    return parse


# --- Kinds -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    parse: Parser
    required: bool = False  # the column must be in the header and every cell filled
    attribute: str = ""  # the model attribute it fills; the column name when empty
    empty: Any = None  # what an empty cell of an optional column means

    @property
    def field(self) -> str:
        return self.attribute or self.name


class Counts:
    def __init__(self) -> None:
        self.created = self.updated = self.unchanged = 0


def _batches(rows: Iterable[dict[str, Any]], size: int = BATCH_SIZE) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


class Kind:
    """One kind of file: its columns, its key (for duplicates and upserts) and how it is written."""

    name: str
    columns: tuple[Column, ...]
    key_columns: tuple[str, ...]
    needs_accounts = True
    needs_users = False
    # column -> another column it only makes sense with, in the header
    requires: dict[str, str] = {}

    def key(self, values: dict[str, Any]) -> Hashable:
        raise NotImplementedError

    def duplicate_columns(self, values: dict[str, Any]) -> tuple[str, ...]:
        """The columns that make up the key of this row, for the duplicate message."""
        return self.key_columns

    def check_row(self, values: dict[str, Any], present: frozenset[str]) -> list[tuple[str, str]]:
        return []

    def load(self, rows: Iterable[dict[str, Any]], present: frozenset[str], counts: Counts) -> None:
        raise NotImplementedError

    def stager(self, bound: list[tuple[int, Column]]) -> _MetricStage | None:
        return None


class AccountsKind(Kind):
    name = ImportKind.ACCOUNTS
    columns = (
        Column("external_id", model_text(Account, "external_id"), required=True),
        Column("name", model_text(Account, "name"), required=True),
        Column("industry", choice_parser(Industry), required=True),
        Column("employee_band", choice_parser(EmployeeBand), required=True),
        Column("region", model_text(Account, "region"), empty=""),
        Column("acquisition_channel", choice_parser(AcquisitionChannel), required=True),
        Column("plan", model_text(Account, "plan"), empty=""),
        Column("mrr", money_parser(positive=False), empty=Decimal("0.00")),
        Column("contract_start", date_parser(history=False), required=True),
        Column("renewal_date", date_parser(history=False)),
        Column("owner", owner_parser, attribute="owner_id"),
        Column("value_tier", choice_parser(ValueTier), required=True),
        Column("status", choice_parser(AccountStatus), empty=AccountStatus.ACTIVE),
        Column("churned_on", date_parser(history=True)),
        Column("churn_type", choice_parser(ChurnType), empty=""),
    )
    key_columns = ("external_id",)
    needs_accounts = False
    needs_users = True
    # The churn columns only mean something next to the status they must agree with.
    requires = {"churned_on": "status", "churn_type": "status"}

    def key(self, values):
        return values["external_id"]

    def check_row(self, values, present):
        problems = []
        if "status" in present:  # `present` holds only the columns that parsed on this line
            values.setdefault("churned_on", None)
            values.setdefault("churn_type", "")
            if values["status"] == AccountStatus.CHURNED:
                if values["churned_on"] is None:
                    problems.append(("churned_on", _("Required when the status is churned.")))
            else:
                if values["churned_on"] is not None:
                    problems.append(("churned_on", _("Must be empty unless the status is churned.")))
                if values["churn_type"]:
                    problems.append(("churn_type", _("Must be empty unless the status is churned.")))
        renewal, start = values.get("renewal_date"), values.get("contract_start")
        if renewal is not None and start is not None and renewal < start:
            problems.append(("renewal_date", _("The renewal date is before the contract start.")))
        return problems

    def load(self, rows, present, counts):
        fields = [name for name in present if name != "external_id"]
        if "status" in present:
            fields += [name for name in ("churned_on", "churn_type") if name not in present]
        for batch in _batches(rows):
            existing = {
                account.external_id: account
                for account in Account.objects.filter(external_id__in=[v["external_id"] for v in batch]).only(
                    "external_id", *fields
                )
            }
            to_write = []
            for values in batch:
                current = existing.get(values["external_id"])
                if current is None:
                    counts.created += 1
                elif any(getattr(current, name) != values[name] for name in fields):
                    counts.updated += 1
                else:
                    counts.unchanged += 1
                    continue
                to_write.append(Account(**values))
            Account.objects.bulk_create(
                to_write,
                update_conflicts=True,
                unique_fields=["external_id"],
                update_fields=[*fields, "updated_at"],
            )


class ContactsKind(Kind):
    """Upserted by account and email when an email is given, else by account and name. A row
    marked primary makes that contact the account's one primary contact."""

    name = ImportKind.CONTACTS
    columns = (
        Column("account", account_parser, required=True, attribute="account_id"),
        Column("name", model_text(Contact, "name"), required=True),
        Column("email", email_parser, empty=""),
        Column("phone", model_text(Contact, "phone"), empty=""),
        Column("role", model_text(Contact, "role"), empty=""),
        Column("is_champion", boolean_parser, empty=False),
        Column("is_decision_maker", boolean_parser, empty=False),
        Column("is_primary", boolean_parser, empty=False),
        Column("left_on", date_parser(history=False)),
    )
    key_columns = ("account", "email", "name")

    def __init__(self) -> None:
        self.primary_lines: dict[int, int] = {}

    def key(self, values):
        email = values.get("email")
        if email:
            return (values["account_id"], "email", email.lower())
        return (values["account_id"], "name", values["name"])

    def duplicate_columns(self, values):
        return ("account", "email") if values.get("email") else ("account", "name")

    def check_row(self, values, present):
        # Called once per checked row, in file order, so the first primary row of an account wins.
        if values.get("is_primary") and "account_id" in values:
            line = self.primary_lines.get(values["account_id"])
            if line is not None:
                return [
                    (
                        "is_primary",
                        _("Line %(line)s already makes another contact the primary one of this account.")
                        % {"line": line},
                    )
                ]
            self.primary_lines[values["account_id"]] = values["_line"]
        return []

    def load(self, rows, present, counts):
        fields = [name for name in present if name != "account_id"]
        for batch in _batches(rows):
            account_ids = {values["account_id"] for values in batch}
            by_email: dict[tuple[int, str], Contact] = {}
            by_name: dict[tuple[int, str], Contact] = {}
            for contact in Contact.objects.filter(account_id__in=account_ids).order_by("pk"):
                if contact.email:
                    by_email.setdefault((contact.account_id, contact.email.lower()), contact)
                by_name.setdefault((contact.account_id, contact.name), contact)
            new, changed, primaries = [], [], {}
            for values in batch:
                email = values.get("email")
                if email:
                    current = by_email.get((values["account_id"], email.lower()))
                else:
                    current = by_name.get((values["account_id"], values["name"]))
                if current is None:
                    contact = Contact(**{k: v for k, v in values.items() if k != "_line"})
                    new.append(contact)
                    counts.created += 1
                else:
                    contact = current
                    dirty = False
                    for name in fields:
                        # A row matched by name keeps the email already known.
                        if name == "email" and not email:
                            continue
                        if getattr(contact, name) != values[name]:
                            setattr(contact, name, values[name])
                            dirty = True
                    if dirty:
                        changed.append(contact)
                        counts.updated += 1
                    else:
                        counts.unchanged += 1
                if values.get("is_primary"):
                    primaries[values["account_id"]] = contact
            if primaries:
                # One primary per account: step the previous one down before the new one steps up.
                keep = [contact.pk for contact in primaries.values() if contact.pk]
                Contact.objects.filter(account_id__in=primaries, is_primary=True).exclude(pk__in=keep).update(
                    is_primary=False
                )
            if changed:
                Contact.objects.bulk_update(changed, fields, batch_size=1000)
            Contact.objects.bulk_create(new)


class MetricsKind(Kind):
    name = ImportKind.METRICS
    columns = (
        Column("account", account_parser, required=True, attribute="account_id"),
        Column("date", date_parser(history=True), required=True),
        *(Column(metric.name, _metric_parser(metric)) for metric in METRICS),
    )
    key_columns = ("account", "date")

    def key(self, values):
        # One int per row keeps the duplicate check of a million rows small.
        return (values["account_id"] << 20) | (values["date"].toordinal() - _ORDINAL_2000)

    def check_row(self, values, present):
        return check_metric_values(values)

    def load(self, rows, present, counts):
        upsert_metric_batches(rows, counts)

    def stager(self, bound):
        if connection.vendor != "postgresql":
            return None
        return _MetricStage(
            (column.name for _, column in bound if column.name in METRIC_BY_NAME),
            line_columns=(column.field if column.name == "account" else column.name for _, column in bound),
        )


_ORDINAL_2000 = EARLIEST.toordinal()


class EventsKind(Kind):
    name = ImportKind.EVENTS
    columns = (
        Column("account", account_parser, required=True, attribute="account_id"),
        Column("kind", choice_parser(EventKind), required=True),
        Column("occurred_on", date_parser(history=True), required=True),
        Column("note", model_text(SignalEvent, "note"), empty=""),
    )
    key_columns = ("account", "kind", "occurred_on")

    def key(self, values):
        return (values["account_id"], values["kind"], values["occurred_on"])

    def load(self, rows, present, counts):
        for batch in _batches(rows):
            existing = {
                (account_id, kind, on): note
                for account_id, kind, on, note in SignalEvent.objects.filter(
                    account_id__in={v["account_id"] for v in batch},
                    occurred_on__in={v["occurred_on"] for v in batch},
                ).values_list("account_id", "kind", "occurred_on", "note")
            }
            to_write = []
            for values in batch:
                note = existing.get(self.key(values))
                if note is None:
                    counts.created += 1
                elif "note" in present and note != values["note"]:
                    counts.updated += 1
                else:
                    counts.unchanged += 1
                    continue
                to_write.append(SignalEvent(**values))
            SignalEvent.objects.bulk_create(
                to_write,
                update_conflicts=True,
                unique_fields=["account", "kind", "occurred_on"],
                update_fields=["note"],
            )


class MrrKind(Kind):
    """Movements are inserted. A movement already stored with the same account, kind, date and
    amount is the same movement: it is left alone, so loading a file twice adds nothing."""

    name = ImportKind.MRR
    columns = (
        Column("account", account_parser, required=True, attribute="account_id"),
        Column("kind", choice_parser(MovementKind), required=True),
        Column("occurred_on", date_parser(history=True), required=True),
        Column("amount", money_parser(positive=True), required=True),
        Column("note", model_text(MrrMovement, "note"), empty=""),
    )
    key_columns = ("account", "kind", "occurred_on", "amount")

    def key(self, values):
        return (values["account_id"], values["kind"], values["occurred_on"], values["amount"])

    def load(self, rows, present, counts):
        for batch in _batches(rows):
            existing = set(
                MrrMovement.objects.filter(
                    account_id__in={v["account_id"] for v in batch},
                    occurred_on__in={v["occurred_on"] for v in batch},
                ).values_list("account_id", "kind", "occurred_on", "amount")
            )
            new = []
            for values in batch:
                if self.key(values) in existing:
                    counts.unchanged += 1
                else:
                    new.append(MrrMovement(**values))
                    counts.created += 1
            MrrMovement.objects.bulk_create(new)


class TouchpointsKind(Kind):
    """Touchpoints are inserted. One already stored with the same account, kind, time and subject
    is the same touchpoint: it is left alone, so loading a file twice adds nothing."""

    name = ImportKind.TOUCHPOINTS
    columns = (
        Column("account", account_parser, required=True, attribute="account_id"),
        Column("kind", choice_parser(TouchpointKind), required=True),
        Column("occurred_at", datetime_parser, required=True),
        Column("author", user_parser, attribute="author_id"),
        Column("subject", model_text(Touchpoint, "subject"), required=True),
        Column("body", text_parser(20_000), empty=""),
        Column("sentiment", choice_parser(Sentiment), empty=Sentiment.NEUTRAL),
    )
    key_columns = ("account", "kind", "occurred_at", "subject")
    needs_users = True

    def key(self, values):
        return (values["account_id"], values["kind"], values["occurred_at"], values["subject"])

    def load(self, rows, present, counts):
        for batch in _batches(rows):
            times = [v["occurred_at"] for v in batch]
            existing = set(
                Touchpoint.objects.filter(
                    account_id__in={v["account_id"] for v in batch},
                    occurred_at__gte=min(times),
                    occurred_at__lte=max(times),
                ).values_list("account_id", "kind", "occurred_at", "subject")
            )
            new = []
            for values in batch:
                if self.key(values) in existing:
                    counts.unchanged += 1
                else:
                    new.append(Touchpoint(**values))
                    counts.created += 1
            Touchpoint.objects.bulk_create(new)


KINDS: dict[str, type[Kind]] = {
    kind.name: kind
    for kind in (AccountsKind, ContactsKind, MetricsKind, EventsKind, MrrKind, TouchpointsKind)
}


def kind_spec(kind: str) -> Kind:
    try:
        return KINDS[kind]()
    except KeyError:
        raise ValueError(f"unknown import kind {kind!r}") from None


# --- Writing metrics ---------------------------------------------------------------------


def _metric_row(values: dict[str, Any]) -> tuple:
    return (values["account_id"], values["date"], *(values.get(name) for name in METRIC_FIELDS))


def upsert_metric_batches(rows: Iterable[dict[str, Any]], counts: Counts) -> None:
    """Merge checked metric rows into DailyMetric in batches, with the ORM (any database).

    A value given replaces the stored one; a value not reported (None) keeps it. Call it inside
    a transaction: it ends by checking that every account named still exists (`_lock_accounts`).
    """
    named: set[int] = set()
    for batch in _batches(rows):
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
            row = _metric_row(values)
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
        self.context = self.cursor.copy(_csv_copy_sql(table, columns))
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


class _MetricStage:
    """PostgreSQL: checked rows are kept until everything is known to be right, then written.

    `fields` are the metric columns the rows carry, in their order. Rows come either as CSV lines
    (`lines`, filled by `_FastMetricChecker`: a metrics file, staged as written, in the file's
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


class _FastMetricChecker:
    """PostgreSQL metric files: the usual line — no quotes, a known account, a YYYY-MM-DD date,
    plain digits — is checked by one regular expression over the raw line and staged as the CSV
    line it already is, with the account's id in place of its external id. Any other line is read
    by the csv module and goes through the full check, which alone decides what is an error and
    what a value means; the shortcut only accepts lines the full check accepts, with the same
    values."""

    def __init__(self, checker: _RowChecker, stage: _MetricStage, header: list[str]) -> None:
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
        rule_indexes = tuple(self.rule_indexes.values())
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
                        and (not any(cells[index] for index in rule_indexes) or self._rules_hold(cells))
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
        self.dates[text] = offset = day.toordinal() - _ORDINAL_2000
        return offset

    def _rules_hold(self, cells: tuple[str, ...]) -> bool:
        # Only called once every count is known to be plain digits, of which one of these is given.
        found = {name: cells[index] for name, index in self.rule_indexes.items()}
        nps = found.get("nps")
        if nps and int(nps) > NPS_MAXIMUM:
            return False
        used, offered = found.get("features_used", ""), found.get("features_offered", "")
        if used and offered and int(used) > int(offered):
            return False
        count, total = found.get("csat_count", ""), found.get("csat_sum", "")
        return not (count or total) or bool(count and total and int(count) <= int(total) <= 5 * int(count))


def _decimal_pattern(metric: MetricField) -> re.Pattern[str]:
    whole = metric.max_digits - metric.places
    return re.compile(rf"[0-9]{{1,{whole}}}(?:\.[0-9]{{1,{metric.places}}})?")


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


class _RowChecker:
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


def _records(reader: Any, width: int) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank record; the line is where the record starts."""
    previous = reader.line_num
    for cells in reader:
        line = previous + 1
        previous = reader.line_num
        if (len(cells) != width or not cells[0]) and _is_blank(cells):
            continue
        yield line, cells


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
    # A metrics file on PostgreSQL is written while it is checked (see `_MetricStage`): one
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
    stage: _MetricStage | None = None
    fast: _FastMetricChecker | None = None
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
                checker = _RowChecker(spec, bound, len(header), lookups, errors)
                stage = spec.stager(bound)

                def report() -> None:
                    if progress is not None:
                        progress(checker.rows, max(total_rows, checker.rows))

                if stage is not None:
                    fast = _FastMetricChecker(checker, stage, header)
                    if stream:
                        stage.start_stream()
                    fast.run(text, reader.line_num, errors, report)
                else:
                    for line, cells in _records(reader, len(header)):
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
    stage: _MetricStage | None,
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
        checker = _RowChecker(type(spec)(), bound, width, lookups, errors, check_keys=False)

        def checked() -> Iterator[dict[str, Any]]:
            for line, cells in _records(reader, width):
                values = checker.check(line, cells)
                if values is None:
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
            for _line, cells in itertools.islice(_records(reader, len(header)), rows):
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


# --- Metric rows from the API --------------------------------------------------------------


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
        stage = _MetricStage()
        try:
            stage.add_rows(_metric_row(values) for values in rows)
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


# --- Import jobs (the upload page and its Celery task) --------------------------------------


@transaction.atomic
def create_import_job(*, kind: str, upload: UploadedFile, created_by: Any) -> ImportJob:
    """Store an uploaded file as a pending job; nothing is checked or loaded yet."""
    if kind not in KINDS:
        raise ValidationError({"kind": _("Choose a kind of data.")})
    job = ImportJob(kind=kind, original_name=(upload.name or "upload.csv")[:255], created_by=created_by)
    # The stored name is ours: the uploaded one is only shown, never used as a path.
    job.file.save(f"{uuid.uuid4().hex}.csv", upload, save=False)
    job.save()
    return job


def import_task_key(job_id: int) -> str:
    """The outbox key of a job's task: one waiting row per job."""
    return f"import:{job_id}"


def start_import_job(*, job: ImportJob, language: str | None = None) -> Queued | None:
    """Queue the load of a pending job (its first attempt) once the transaction commits.

    Returns what became of the task (`Queued.waiting`: the broker is down and the task waits in
    the outbox, to be sent when it is back), or None when the job is no longer pending. Pressed
    again while the task waits, it offers the task to the broker once more. The task itself
    refuses to run a job twice."""
    with transaction.atomic():
        queued = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PENDING).update(
            status=ImportStatus.QUEUED, queued_at=timezone.now(), language=language or ""
        )
        if queued:
            return _queue_attempt(job.pk, attempt=1, language=language or "")
    key = import_task_key(job.pk)
    if ImportJob.objects.filter(pk=job.pk, status=ImportStatus.QUEUED).exists() and outbox.is_waiting(key):
        return outbox.send_waiting(key)
    return None


def _queue_attempt(job_id: int, *, attempt: int, language: str) -> Queued:
    from accounts.tasks import run_import

    return outbox.send_on_commit(
        run_import.si(job_id, language=language, attempt=attempt), key=import_task_key(job_id)
    )


def is_waiting_for_broker(job: ImportJob) -> bool:
    """A queued job whose task the broker has not taken yet (it waits in the outbox)."""
    return job.status == ImportStatus.QUEUED and outbox.is_waiting(import_task_key(job.pk))


PROGRESS_INTERVAL_SECONDS = 1.0
MAX_IMPORT_ATTEMPTS = 3  # runs interrupted by a worker's death before a job is given up


def worker_name() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"[:200]


def run_import_job(*, job_id: int, language: str | None = None, attempt: int = 1) -> ImportJob | None:
    """Check and load a queued job's file as its run number `attempt`, recording progress, the
    outcome and every error (in the uploader's `language`).

    Runs at most once per attempt: attempt N is claimed only while the job waits at N - 1 (one
    conditional UPDATE), and its load commits only while the job is still running as attempt N
    (`mark_done`), so a task delivered twice, or a late redelivery racing a re-queued attempt,
    does nothing. On PostgreSQL the job's advisory lock is held throughout: a job found running
    at this attempt with the lock free lost its worker, and is taken over as the next attempt.
    """
    with job_lock(job_id) as held:
        if not held:
            return None  # another worker is loading this job right now
        # While it runs, `finished_at` is the job's last sign of life (see `requeue_interrupted_jobs`).
        now, me = timezone.now(), worker_name()
        claimed = ImportJob.objects.filter(
            pk=job_id, status__in=(ImportStatus.PENDING, ImportStatus.QUEUED), attempt=attempt - 1
        ).update(status=ImportStatus.RUNNING, attempt=attempt, worker=me, processed_rows=0, finished_at=now)
        if (
            not claimed
            and connection.vendor == "postgresql"
            and attempt < MAX_IMPORT_ATTEMPTS
            and ImportJob.objects.filter(pk=job_id, status=ImportStatus.RUNNING, attempt=attempt).update(
                attempt=attempt + 1, worker=me, processed_rows=0, finished_at=now
            )
        ):
            # The task of a worker that died mid-way, redelivered: its transaction died with it.
            attempt, claimed = attempt + 1, 1
        if not claimed:
            return None
        return _run_claimed_job(job_id=job_id, language=language, attempt=attempt)


@contextlib.contextmanager
def job_lock(job_id: int):
    """A PostgreSQL session lock held while a job loads; it dies with the worker's connection,
    which is how a redelivered task or a restarted worker knows the first worker is gone. Other
    databases run the tasks in-process and need none."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [IMPORT_LOCK_SPACE, job_id])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [IMPORT_LOCK_SPACE, job_id])


IMPORT_LOCK_SPACE = 4711  # the advisory-lock namespace of import jobs


def _run_claimed_job(*, job_id: int, language: str | None, attempt: int) -> ImportJob:
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    with _ProgressWriter(job_id) as progress:
        return _load_job(job, language=language or job.language, progress=progress, attempt=attempt)


class _Superseded(Exception):
    """This run's job was re-queued (its worker was thought gone) or finished by another run:
    its load must not commit."""


class _ProgressWriter:
    """Records a running job's progress (and its sign of life) where the page polling it sees it
    at once. On PostgreSQL that takes a connection of its own: the load holds the default one in
    a transaction, busy streaming a metrics file's rows."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.last = 0.0
        self.side = (
            connections.create_connection(DEFAULT_DB_ALIAS) if connection.vendor == "postgresql" else None
        )

    def __enter__(self) -> _ProgressWriter:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.side is not None:
            self.side.close()

    def __call__(self, processed: int, total: int) -> None:
        now = timezone.now()
        if now.timestamp() - self.last < PROGRESS_INTERVAL_SECONDS:
            return
        self.last = now.timestamp()
        if self.side is None:
            ImportJob.objects.filter(pk=self.job_id).update(
                processed_rows=processed, total_rows=total, finished_at=now
            )
            return
        # Best effort: when the caller's own transaction holds the job's row, skip this report
        # rather than wait for a lock that is only released after the load.
        table = self.side.ops.quote_name(ImportJob._meta.db_table)
        with self.side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET processed_rows = %s, total_rows = %s, finished_at = %s "  # noqa: S608 - our table
                f"WHERE id = (SELECT id FROM {table} WHERE id = %s FOR UPDATE SKIP LOCKED)",
                [processed, total, now, self.job_id],
            )


def _load_job(job: ImportJob, *, language: str | None, progress: _ProgressWriter, attempt: int) -> ImportJob:
    job_id = job.pk
    mine = ImportJob.objects.filter(pk=job_id, status=ImportStatus.RUNNING, attempt=attempt)

    def mark_done(result: ImportResult) -> None:
        # Inside the load's transaction: a run whose job was re-queued meanwhile rolls back.
        if not mine.update(
            status=ImportStatus.DONE,
            processed_rows=result.rows,
            total_rows=result.rows,
            loaded_rows=result.loaded,
            error_count=0,
            errors=[],
            finished_at=timezone.now(),
        ):
            raise _Superseded

    with translation.override(language or None):
        try:
            with job.file.open("rb") as handle:
                total = count_data_lines(handle)
                ImportJob.objects.filter(pk=job_id).update(total_rows=total)
                result = load_csv(
                    kind=job.kind,
                    file=handle,
                    actor=job.created_by,
                    name=job.original_name,
                    via="upload",
                    progress=progress,
                    total_rows=total,
                    before_commit=mark_done,
                )
        except _Superseded:
            logger.warning("import job %s: attempt %s was superseded; nothing written", job_id, attempt)
            job.refresh_from_db()
            return job
        except Exception:
            logger.exception("import job %s failed", job_id)
            result = ImportResult(kind=job.kind)
            failure = ErrorList()
            failure.add(
                1, "", _("The file could not be loaded because of an internal error. Nothing was written.")
            )
            result.take_errors(failure)
        if not result.ok:
            mine.update(
                status=ImportStatus.FAILED,
                processed_rows=result.rows,
                total_rows=result.rows,
                loaded_rows=0,
                error_count=result.error_count,
                errors=result.errors,
                finished_at=timezone.now(),
            )
    job.refresh_from_db()
    return job


STALLED_AFTER = timedelta(minutes=30)


def is_stalled(job: ImportJob) -> bool:
    """A running job without a sign of life for `STALLED_AFTER` (see `requeue_interrupted_jobs`)."""
    seen = job.finished_at or job.created_at
    return job.status == ImportStatus.RUNNING and seen < timezone.now() - STALLED_AFTER


def requeue_interrupted_jobs(*, at_once: bool = False, job_ids: Iterable[int] | None = None) -> int:
    """Queue again (as their next attempt, from the start: a load is all or nothing) the running
    jobs whose worker is gone; give up, saying so, on a job interrupted `MAX_IMPORT_ATTEMPTS`
    times. Returns how many were re-queued or given up.

    On PostgreSQL a running job whose advisory lock is free has lost its worker (the lock died
    with its connection): a worker starting (the `worker_ready` signal) and the beat sweeper
    re-queue it at once (`at_once`); pages do it once it has shown no sign of life for
    `STALLED_AFTER`. Elsewhere only that silence tells. Each job changes with one conditional
    UPDATE on its status and attempt, under its lock, so two workers starting together re-queue
    it once, and the run it replaces could not commit even if it were still alive."""
    running = ImportJob.objects.filter(status=ImportStatus.RUNNING)
    if job_ids is not None:
        running = running.filter(pk__in=list(job_ids))
    if connection.vendor != "postgresql" or not at_once:
        cutoff = timezone.now() - STALLED_AFTER
        running = running.filter(
            models.Q(finished_at__lt=cutoff) | models.Q(finished_at__isnull=True, created_at__lt=cutoff)
        )
    changed = 0
    for job_id, attempt, language in running.values_list("pk", "attempt", "language"):
        with job_lock(job_id) as held:
            if held and _requeue_or_give_up(job_id, attempt=attempt, language=language):
                changed += 1
    return changed


def _requeue_or_give_up(job_id: int, *, attempt: int, language: str) -> bool:
    job = ImportJob.objects.filter(pk=job_id, status=ImportStatus.RUNNING, attempt=attempt)
    if attempt >= MAX_IMPORT_ATTEMPTS:
        failure = ErrorList()
        failure.add(
            1,
            "",
            _(
                "The import stopped without finishing %(attempts)s times, probably because its "
                "worker was restarted. Nothing was written. Upload the file again."
            )
            % {"attempts": attempt},
        )
        given_up = job.update(
            status=ImportStatus.FAILED,
            loaded_rows=0,
            error_count=failure.count,
            errors=failure.items,
            finished_at=timezone.now(),
        )
        return bool(given_up)
    attempt = max(attempt, 1)  # a job started before attempts were counted ran as the first
    with transaction.atomic():
        if not job.update(
            status=ImportStatus.QUEUED, attempt=attempt, queued_at=timezone.now(), worker="", processed_rows=0
        ):
            return False
        _queue_attempt(job_id, attempt=attempt + 1, language=language)
    logger.warning("import job %s: its worker stopped during attempt %s; queued again", job_id, attempt)
    return True
