"""The column spec of each kind of file: which columns it has, which are required, how a cell is
read (`ingest.cells`), what makes two rows the same (the key) and how checked rows are written,
with set-based statements (`bulk_create`, one `INSERT … ON CONFLICT`), never a query per row.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from accounts.models import (
    Account,
    AccountStatus,
    AcquisitionChannel,
    ChurnType,
    Contact,
    EmployeeBand,
    ImportKind,
    Industry,
    MovementKind,
    MrrMovement,
    Sentiment,
    Touchpoint,
    TouchpointKind,
    ValueTier,
)
from health.models import EventKind, SignalEvent

from .cells import (
    EARLIEST,
    METRIC_BY_NAME,
    METRICS,
    Parser,
    account_parser,
    boolean_parser,
    check_metric_values,
    choice_parser,
    date_parser,
    datetime_parser,
    email_parser,
    metric_parser,
    model_text,
    money_parser,
    owner_parser,
    text_parser,
    user_parser,
)
from .writes import Counts, MetricStage, batches, upsert_metric_batches

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

    def stager(self, bound: list[tuple[int, Column]]) -> MetricStage | None:
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
        for batch in batches(rows):
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
        for batch in batches(rows):
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
        *(Column(metric.name, metric_parser(metric)) for metric in METRICS),
    )
    key_columns = ("account", "date")

    def key(self, values):
        # One int per row keeps the duplicate check of a million rows small.
        return (values["account_id"] << 20) | (values["date"].toordinal() - ORDINAL_2000)

    def check_row(self, values, present):
        return check_metric_values(values)

    def load(self, rows, present, counts):
        upsert_metric_batches(rows, counts)

    def stager(self, bound):
        if connection.vendor != "postgresql":
            return None
        return MetricStage(
            (column.name for _, column in bound if column.name in METRIC_BY_NAME),
            line_columns=(column.field if column.name == "account" else column.name for _, column in bound),
        )


ORDINAL_2000 = EARLIEST.toordinal()


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
        for batch in batches(rows):
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
        for batch in batches(rows):
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
        for batch in batches(rows):
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
