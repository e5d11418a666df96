"""Emails to customers: templates filled in by plain substitution, the recipient chosen from the
account's contacts, and each email recorded on the account's timeline before Celery sends it."""

import re
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Avg, Count, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Account, Contact, Touchpoint, TouchpointKind
from csworkbench.core.models import AuditEvent, record_audit
from csworkbench.core.roles import Role, has_role
from health.models import DailyMetric

from .models import Channel, Delivery, EmailTemplate, Rule, SentEmail, Task
from .notifications import enqueue

PLACEHOLDERS = ("contact_name", "account_name", "csm_name", "usage_highlights")
# Exactly the four names in single braces; anything else ("{x}", "{__class__}", "{{ 7*7 }}")
# stays as typed. Text is substituted, never formatted, evaluated or rendered as a template.
PLACEHOLDER_RE = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
HIGHLIGHT_DAYS = 30
SUBJECT_CHARS = 300
TOUCHPOINT_SUBJECT_CHARS = 200


# --- usage highlights --------------------------------------------------------------------------


def usage_figures(account_ids: Iterable[int], *, today: date | None = None) -> dict[int, dict]:
    """Last 30 days of daily metrics per account, in one aggregate query."""
    today = today or timezone.localdate()
    rows = (
        DailyMetric.objects.filter(
            account_id__in=list(account_ids), date__gt=today - timedelta(days=HIGHLIGHT_DAYS), date__lte=today
        )
        .values("account_id")
        .annotate(
            days=Count("id"),
            logins=Sum("logins"),
            active_users=Avg("active_users"),
            seats=Max("licensed_seats"),
            core_events=Sum("core_events"),
            features=Max("features_used"),
        )
        .order_by()
    )
    return {row.pop("account_id"): row for row in rows}


def describe_usage(figures: dict | None) -> str:
    """A short sentence about the figures, or a neutral line when there are none."""
    parts = []
    if figures:
        if figures.get("logins") is not None:
            logins = figures["logins"]
            parts.append(ngettext("%(count)s login", "%(count)s logins", logins) % {"count": f"{logins:,}"})
        if figures.get("active_users") is not None:
            active = round(figures["active_users"])
            if figures.get("seats"):
                parts.append(
                    _("on average %(active)s of %(seats)s seats in use")
                    % {"active": f"{active:,}", "seats": f"{figures['seats']:,}"}
                )
            else:
                parts.append(
                    ngettext(
                        "on average %(count)s active user a day",
                        "on average %(count)s active users a day",
                        active,
                    )
                    % {"count": f"{active:,}"}
                )
        if figures.get("core_events") is not None:
            events = figures["core_events"]
            parts.append(
                ngettext("%(count)s core-feature action", "%(count)s core-feature actions", events)
                % {"count": f"{events:,}"}
            )
        if figures.get("features") is not None:
            features = figures["features"]
            parts.append(
                ngettext("%(count)s feature in use", "%(count)s different features in use", features)
                % {"count": f"{features:,}"}
            )
    if not parts:
        return _("We would be glad to show your team how to get more out of the product.")
    return _("In the last 30 days your team had %(figures)s.") % {"figures": _(", ").join(parts)}


def usage_highlights(account: Account) -> str:
    return describe_usage(usage_figures([account.pk]).get(account.pk))


# --- rendering ---------------------------------------------------------------------------------


def display_name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def fill_placeholders(text: str, values: dict[str, Any]) -> str:
    """Replace the known placeholders; a value may be a callable, called only when used."""

    def replace(match: re.Match) -> str:
        value = values[match.group(1)]
        return str(value() if callable(value) else value)

    return PLACEHOLDER_RE.sub(replace, text)


def placeholder_values(
    *, account: Account, contact: Contact | None, sender: Any, highlights: Any = None
) -> dict[str, Any]:
    csm = sender if sender is not None else account.owner
    return {
        "contact_name": contact.name if contact is not None else account.name,
        "account_name": account.name,
        "csm_name": display_name(csm) or _("your customer success team"),
        "usage_highlights": highlights if highlights is not None else (lambda: usage_highlights(account)),
    }


def render_email(
    template: EmailTemplate, *, account: Account, contact: Contact | None, sender: Any
) -> tuple[str, str]:
    """The template's subject and body for this account, contact and sender."""
    values = placeholder_values(account=account, contact=contact, sender=sender)
    return _subject_line(fill_placeholders(template.subject, values)), fill_placeholders(
        template.body, values
    )


def _subject_line(text: str) -> str:
    # A header must be one line: newlines would be refused by the mail library (or worse).
    return " ".join(text.split())[:SUBJECT_CHARS]


# --- recipients --------------------------------------------------------------------------------

CONTACT_PREFERENCE = ("-is_primary", "-is_champion", "-is_decision_maker", "name", "pk")


def reachable_contacts(account_ids: Iterable[int]):
    """Contacts who are still there and have an email address, best first."""
    return Contact.objects.filter(account_id__in=list(account_ids), left_on__isnull=True).exclude(email="")


def primary_contact(account: Account) -> Contact | None:
    """Whom to email: the primary contact, else a champion, else anyone, among the contacts who
    have not left and have an email address."""
    return reachable_contacts([account.pk]).order_by(*CONTACT_PREFERENCE).first()


def primary_contacts(account_ids: Iterable[int]) -> dict[int, Contact]:
    """`primary_contact` for many accounts in one query."""
    best: dict[int, Contact] = {}
    for contact in reachable_contacts(account_ids).order_by("account_id", *CONTACT_PREFERENCE):
        best.setdefault(contact.account_id, contact)
    return best


# --- sending -----------------------------------------------------------------------------------


def _records(
    *,
    account: Account,
    contact: Contact,
    template: EmailTemplate | None,
    subject: str,
    body: str,
    sent_by: Any,
    task: Task | None,
    rule: Rule | None,
    now,
) -> tuple[Touchpoint, Delivery, SentEmail]:
    touchpoint = Touchpoint(
        account=account,
        kind=TouchpointKind.EMAIL,
        occurred_at=now,
        created_at=now,
        author=sent_by,
        contact=contact,
        subject=subject[:TOUCHPOINT_SUBJECT_CHARS],
        body=body,
    )
    delivery = Delivery(channel=Channel.EMAIL, to=contact.email, subject=subject, body=body, created_at=now)
    sent = SentEmail(
        account=account,
        contact=contact,
        template=template,
        task=task,
        rule=rule,
        sent_by=sent_by,
        to_address=contact.email,
        subject=subject,
        body=body,
        created_at=now,
    )
    return touchpoint, delivery, sent


@transaction.atomic
def send_customer_email(
    *,
    account: Account,
    template: EmailTemplate | None,
    sent_by: Any = None,
    contact: Contact | None = None,
    subject: str | None = None,
    body: str | None = None,
    task: Task | None = None,
    rule: Rule | None = None,
) -> SentEmail:
    """Email a contact of the account (by default its primary contact): the template filled in,
    or the subject and body as edited. The email lands on the account's timeline as a touchpoint
    and goes out through a Delivery once the transaction commits."""
    if sent_by is not None and not Account.objects.editable_by(sent_by).filter(pk=account.pk).exists():
        raise PermissionDenied(_("You may not email this account's contacts."))
    if contact is None:
        contact = primary_contact(account)
    elif contact.account_id != account.pk:
        raise PermissionDenied(_("The contact belongs to another account."))
    if contact is None or not contact.email or contact.has_left:
        raise ValidationError(_("This account has no contact with an email address to write to."))
    if subject is None or body is None:
        if template is None:
            raise ValidationError(_("Choose a template or write the email."))
        rendered_subject, rendered_body = render_email(
            template, account=account, contact=contact, sender=sent_by
        )
        subject = rendered_subject if subject is None else subject
        body = rendered_body if body is None else body
    subject = _subject_line(subject)
    if not subject or not body.strip():
        raise ValidationError(_("An email needs a subject and a message."))
    touchpoint, delivery, sent = _records(
        account=account,
        contact=contact,
        template=template,
        subject=subject,
        body=body,
        sent_by=sent_by,
        task=task,
        rule=rule,
        now=timezone.now(),
    )
    touchpoint.save()
    delivery.save()
    sent.touchpoint, sent.delivery = touchpoint, delivery
    sent.save()
    record_audit(
        actor=sent_by,
        action="email.send",
        account=account,
        target=subject[:200],
        to=contact.email,
        template=template.key if template else "",
        rule=rule.name if rule else "",
    )
    enqueue([delivery.pk])
    return sent


@transaction.atomic
def send_rule_emails(*, rule: Rule, accounts: Iterable[Account], template: EmailTemplate) -> int:
    """The rules engine's batch: the template to the primary contact of each account, in a fixed
    number of queries whatever the number of accounts. Accounts with nobody to write to are
    skipped. Returns how many emails were queued."""
    account_ids = [a.pk for a in accounts]
    if not account_ids:
        return 0
    targets = list(Account.objects.filter(pk__in=account_ids).select_related("owner").order_by("pk"))
    contacts = primary_contacts(account_ids)
    uses_highlights = "{usage_highlights}" in template.subject + template.body
    figures = usage_figures(account_ids) if uses_highlights else {}
    now = timezone.now()
    batch = []
    for account in targets:
        contact = contacts.get(account.pk)
        if contact is None:
            continue
        highlights = describe_usage(figures.get(account.pk)) if uses_highlights else ""
        values = placeholder_values(account=account, contact=contact, sender=None, highlights=highlights)
        subject = _subject_line(fill_placeholders(template.subject, values))
        body = fill_placeholders(template.body, values)
        batch.append(
            _records(
                account=account,
                contact=contact,
                template=template,
                subject=subject,
                body=body,
                sent_by=None,
                task=None,
                rule=rule,
                now=now,
            )
        )
    if not batch:
        return 0
    touchpoints = Touchpoint.objects.bulk_create([t for t, _d, _s in batch])
    deliveries = Delivery.objects.bulk_create([d for _t, d, _s in batch])
    sent_emails = []
    for touchpoint, delivery, (_t, _d, sent) in zip(touchpoints, deliveries, batch, strict=True):
        sent.touchpoint, sent.delivery = touchpoint, delivery
        sent_emails.append(sent)
    SentEmail.objects.bulk_create(sent_emails)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                at=now,
                actor=None,
                action="email.send",
                account_id=sent.account_id,
                target=sent.subject[:200],
                details={"to": sent.to_address, "template": template.key, "rule": rule.name},
            )
            for sent in sent_emails
        ]
    )
    enqueue(d.pk for d in deliveries)
    return len(sent_emails)


# --- templates ---------------------------------------------------------------------------------


@transaction.atomic
def save_email_template(
    *, user: Any, key: str, name: str, subject: str, body: str, template: EmailTemplate | None = None
) -> EmailTemplate:
    """Create an email template, or change one (managers and admins)."""
    if not has_role(user, Role.MANAGER, Role.ADMIN):
        raise PermissionDenied(_("Only managers and admins edit email templates."))
    created = template is None
    template = template or EmailTemplate()
    template.key, template.name, template.subject, template.body = key, name, subject, body
    template.full_clean()
    template.save()
    record_audit(
        actor=user,
        action="email_template.create" if created else "email_template.change",
        target=template.key,
    )
    return template
