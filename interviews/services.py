"""Every write to exit interviews, survey invitations and the reason taxonomy.

The rule that matters most: an account's own CSM never holds its exit interview. It is checked
here, in every function, against the account's owner now and the CSM copied in at churn, so no
view can forget it.
"""

import hashlib
import secrets
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ProtectedError, Q, RestrictedError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Account
from csworkbench.core import outgoing
from csworkbench.core.links import absolute_url
from csworkbench.core.models import record_audit
from csworkbench.core.roles import Role, has_role, is_manager

from .models import (
    ANSWER_FIELDS,
    ANSWER_MAX_CHARS,
    ExitInterview,
    InterviewChannel,
    InterviewStatus,
    ReasonCategory,
    SubReason,
    SurveyInvitation,
    SurveyLanguage,
)
from .querysets import interviewable_accounts

# What a draft save may change; the account facts at churn are copied once, at the start.
EDITABLE_FIELDS = (
    *ANSWER_FIELDS,
    "held_on",
    "channel",
    "respondent_name",
    "respondent_role",
    "primary_category",
    "sub_reason",
    "avoidable",
    "competitor",
    "win_back_condition",
    "likelihood_to_return",
)
_TEXT_FIELDS = {
    *ANSWER_FIELDS,
    "channel",
    "respondent_name",
    "respondent_role",
    "competitor",
    "win_back_condition",
}
SURVEY_SALT = "interviews.survey"
# What a stored survey email holds where the link goes; the link is put in only to send it.
SURVEY_LINK_PLACEHOLDER = "[survey link]"
SURVEY_PAYLOAD_KEY = "survey_invitation"


class SurveyUnavailable(Exception):
    """The survey link can no longer be answered: `reason` is "used", "expired" or "closed"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- who may interview -------------------------------------------------------------------------


def may_interview(user: Any) -> bool:
    return has_role(user, Role.INTERVIEWER, Role.MANAGER)


def check_neutral(*, account: Account, user: Any, interview: ExitInterview | None = None) -> None:
    """PermissionDenied unless `user` interviews (or manages) and is not the account's CSM."""
    if not may_interview(user):
        raise PermissionDenied(_("Only interviewers and managers hold exit interviews."))
    csm_ids = {account.owner_id}
    if interview is not None:
        csm_ids.add(interview.csm_at_churn_id)
    if user.pk in csm_ids:
        raise PermissionDenied(_("An account’s own CSM never holds its exit interview."))


def check_may_edit(*, interview: ExitInterview, user: Any) -> None:
    """The interviewer edits their draft; managers edit any interview, completed ones too."""
    check_neutral(account=interview.account, user=user, interview=interview)
    if is_manager(user):
        return
    if interview.interviewer_id != user.pk:
        raise PermissionDenied(_("Another interviewer is holding this interview."))
    if interview.is_done:
        raise PermissionDenied(_("This interview is complete; only a manager can change it."))


def may_edit(*, interview: ExitInterview, user: Any) -> bool:
    try:
        check_may_edit(interview=interview, user=user)
    except PermissionDenied:
        return False
    return True


def is_interviewable(account: Account, today: date | None = None) -> bool:
    return interviewable_accounts(today).filter(pk=account.pk).exists()


# --- interviews --------------------------------------------------------------------------------


@transaction.atomic
def start_interview(*, account: Account, interviewer: Any, today: date | None = None) -> ExitInterview:
    """Open the interview of a churned (or churning) account and copy in its facts at churn.
    Calling it again for the same interviewer's draft returns that draft."""
    today = today or timezone.localdate()
    # The row lock keeps two first saves (autosave and a click) from both starting one.
    account = Account.objects.select_for_update(of=("self",)).select_related("owner").get(pk=account.pk)
    check_neutral(account=account, user=interviewer)
    existing = ExitInterview.objects.filter(account=account).first()
    if existing is not None:
        # A second first save from the same interviewer (autosave racing a click) is harmless.
        if existing.interviewer_id == interviewer.pk and not existing.is_done:
            return existing
        raise ValidationError(_("This account already has an exit interview."))
    if not is_interviewable(account, today):
        raise ValidationError(_("Only churned accounts, or accounts about to churn, are interviewed."))
    owner = account.owner
    interview = ExitInterview.objects.create(
        account=account,
        interviewer=interviewer,
        churned_on=account.churned_on,
        tier_at_churn=account.value_tier,
        mrr_at_churn=account.mrr,
        lifecycle_stage_at_churn=account.lifecycle_stage(account.churned_on or today),
        csm_at_churn=owner,
        csm_name_at_churn=(owner.get_full_name() or owner.get_username()) if owner else "",
    )
    record_audit(actor=interviewer, action="interview.start", account=account, target=account.name[:200])
    return interview


def _locked(interview: ExitInterview) -> ExitInterview:
    return (
        ExitInterview.objects.select_for_update(of=("self",)).select_related("account").get(pk=interview.pk)
    )


def _check_reason(interview: ExitInterview) -> None:
    sub_reason = interview.sub_reason
    if sub_reason is None:
        return
    if interview.primary_category_id is None or sub_reason.category_id != interview.primary_category_id:
        raise ValidationError(
            {
                "sub_reason": _("“%(sub)s” is not a sub-reason of the main reason chosen.")
                % {"sub": sub_reason}
            }
        )


def _check_lengths(interview: ExitInterview) -> None:
    errors = {
        field: _("Keep the answer under %(limit)s characters.") % {"limit": ANSWER_MAX_CHARS}
        for field in ANSWER_FIELDS
        if len(getattr(interview, field)) > ANSWER_MAX_CHARS
    }
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def save_draft(
    *, interview: ExitInterview, user: Any, changes: Mapping[str, Any], now: datetime | None = None
) -> ExitInterview:
    """Keep what the interviewer has typed so far. Nothing is required yet; the sub-reason must
    belong to the main reason, and an unset "avoidable" takes the main reason's default.

    Not audited: autosave calls this every few seconds. Starting, completing, and a manager's
    change to a completed interview are."""
    interview = _locked(interview)
    check_may_edit(interview=interview, user=user)
    was_done = interview.is_done
    for field in EDITABLE_FIELDS:
        if field in changes:
            value = changes[field]
            setattr(interview, field, "" if value is None and field in _TEXT_FIELDS else value)
    _check_reason(interview)
    _check_lengths(interview)
    if interview.primary_category is not None and interview.avoidable is None:
        interview.avoidable = interview.primary_category.avoidable
    interview.updated_at = now or timezone.now()
    interview.save()
    if "secondary_categories" in changes:
        secondary = [
            c for c in changes["secondary_categories"] or () if c.pk != interview.primary_category_id
        ]
        interview.secondary_categories.set(secondary)
    if was_done:
        record_audit(
            actor=user,
            action="interview.edit",
            account=interview.account,
            target=interview.account.name[:200],
            fields=sorted(set(changes) & {*EDITABLE_FIELDS, "secondary_categories"}),
        )
    return interview


@transaction.atomic
def complete_interview(*, interview: ExitInterview, user: Any, now: datetime | None = None) -> ExitInterview:
    """Mark the interview done once it says why the customer left: the main reason, whether it
    was avoidable, and an answer to the first question. Raises ValidationError by field."""
    now = now or timezone.now()
    interview = _locked(interview)
    check_may_edit(interview=interview, user=user)
    if interview.is_done:
        raise ValidationError(_("This interview is already complete."))
    errors = {}
    if interview.primary_category_id is None:
        errors["primary_category"] = _("Choose the main reason.")
    if interview.avoidable is None:
        errors["avoidable"] = _("Say whether the churn was avoidable.")
    if not interview.answer_1.strip():
        errors["answer_1"] = _("Write down the answer to the first question.")
    if errors:
        raise ValidationError(errors)
    _check_reason(interview)
    interview.status = InterviewStatus.DONE
    interview.completed_at = now
    interview.updated_at = now
    interview.held_on = interview.held_on or timezone.localdate(now)
    interview.save()
    record_audit(
        actor=user,
        action="interview.complete",
        account=interview.account,
        target=interview.account.name[:200],
        reason=interview.primary_category.key,
        sub_reason=interview.sub_reason.key if interview.sub_reason else "",
        avoidable=interview.avoidable,
    )
    return interview


# --- the self-serve survey -----------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SURVEY_SALT)


@transaction.atomic
def invite_to_survey(
    *, interview: ExitInterview, user: Any, email: str, language: str
) -> tuple[SurveyInvitation, str]:
    """Create a one-time survey link; returns the invitation and the signed token for the URL.
    Only a hash of the token is stored. An emailed invitation (`send_survey`) gets a fresh
    token when the email goes out instead, which makes this one dead."""
    interview = _locked(interview)
    check_may_edit(interview=interview, user=user)
    if interview.is_done:
        raise ValidationError(_("This interview is complete: there is nothing left to ask."))
    if language not in SurveyLanguage.values:
        raise ValidationError({"language": _("Choose a language.")})
    token = secrets.token_urlsafe(32)
    invitation = SurveyInvitation.objects.create(
        interview=interview, email=email, language=language, token_hash=_token_hash(token), sent_by=user
    )
    record_audit(
        actor=user,
        action="interview.survey_invite",
        account=interview.account,
        target=email[:200],
        language=language,
    )
    return invitation, _signer().sign(token)


def send_survey(*, interview: ExitInterview, user: Any, email: str, language: str) -> SurveyInvitation:
    """Invite the customer by email, in their language, through the outgoing-message queue
    (retried by Celery; a failure is reported to the sender's manager).

    The stored delivery carries SURVEY_LINK_PLACEHOLDER, never a link: the deliveries page and
    the admin show what waits to go out, and a live link there could be answered by anyone who
    reads it. The link is minted when the email is sent (`survey_email_body`)."""
    with transaction.atomic():
        # The token made here is dropped unseen: until the email goes out, no link works.
        invitation, _unsent = invite_to_survey(interview=interview, user=user, email=email, language=language)
        with translation.override(language):
            context = {
                "account": interview.account,
                "link": SURVEY_LINK_PLACEHOLDER,
                "invitation": invitation,
            }
            subject = _("Five questions about your time with us")
            body = render_to_string("interviews/survey_email.txt", context)
        outgoing.queue_email(
            to=email, subject=subject, body=body, payload={SURVEY_PAYLOAD_KEY: invitation.pk}
        )
    return invitation


@transaction.atomic
def mint_survey_link(*, invitation: SurveyInvitation) -> str:
    """A fresh one-time link for the invitation, as an absolute URL. Only its hash is stored,
    replacing the previous one, so any earlier link (an attempt that failed, a token made before
    the email went out) stops working."""
    token = secrets.token_urlsafe(32)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(token_hash=_token_hash(token))
    invitation.token_hash = _token_hash(token)
    return absolute_url(reverse("survey:answer", args=[_signer().sign(token)]))


def survey_email_body(*, body: str, invitation_id: int) -> str:
    """The stored body of a survey email with a freshly minted link in place of the placeholder:
    for the SMTP send only, never to be saved. Each attempt mints its own link."""
    invitation = SurveyInvitation.objects.get(pk=invitation_id)
    return body.replace(SURVEY_LINK_PLACEHOLDER, mint_survey_link(invitation=invitation))


def find_invitation(signed: str) -> SurveyInvitation | None:
    """The invitation behind a link, or None when the link was tampered with or never existed."""
    try:
        token = _signer().unsign(signed)
    except signing.BadSignature:
        return None
    return (
        SurveyInvitation.objects.select_related("interview__account")
        .filter(token_hash=_token_hash(token))
        .first()
    )


def check_answerable(invitation: SurveyInvitation, now: datetime | None = None) -> None:
    if invitation.used_at is not None:
        raise SurveyUnavailable("used")
    if invitation.is_expired(now):
        raise SurveyUnavailable("expired")
    if invitation.interview.is_done:
        raise SurveyUnavailable("closed")


@transaction.atomic
def answer_survey(
    *, invitation: SurveyInvitation, answers: Mapping[str, str], now: datetime | None = None
) -> ExitInterview:
    """The customer's own answers land in the interview, and the link is spent. Blank answers
    leave what the interviewer already wrote."""
    now = now or timezone.now()
    check_answerable(invitation, now)
    # The conditional update spends the link exactly once, however many submissions race.
    spent = SurveyInvitation.objects.filter(
        pk=invitation.pk, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if not spent:
        raise SurveyUnavailable("used")
    interview = _locked(invitation.interview)
    if interview.is_done:
        raise SurveyUnavailable("closed")
    for field in ANSWER_FIELDS:
        text = (answers.get(field) or "").strip()[:ANSWER_MAX_CHARS]
        if text:
            setattr(interview, field, text)
    interview.channel = InterviewChannel.SURVEY
    interview.held_on = interview.held_on or timezone.localdate(now)
    interview.updated_at = now
    interview.save()
    invitation.used_at = now
    record_audit(
        actor=None,
        action="interview.survey_answered",
        account=interview.account,
        target=invitation.email[:200],
    )
    return interview


# --- the reason taxonomy -----------------------------------------------------------------------

CATEGORY_FIELDS = ("key", "name", "name_zh_hant", "name_zh_hans", "avoidable", "position", "is_active")
SUB_REASON_FIELDS = ("key", "name", "name_zh_hant", "name_zh_hans", "position", "is_active")


def _check_manager(user: Any) -> None:
    if not is_manager(user):
        raise PermissionDenied(_("Only managers edit the reason taxonomy."))


def _apply(instance: Any, data: Mapping[str, Any], fields: tuple[str, ...]) -> list[str]:
    changed = []
    for field in fields:
        # Keys name reasons in imports and reports: set once, never renamed.
        if field == "key" and instance.pk is not None:
            continue
        if field in data and getattr(instance, field) != data[field]:
            setattr(instance, field, data[field])
            changed.append(field)
    return changed


@transaction.atomic
def save_category(
    *, user: Any, data: Mapping[str, Any], category: ReasonCategory | None = None
) -> ReasonCategory:
    _check_manager(user)
    # Re-read: a bound ModelForm has already copied its data onto the instance it was given.
    category = (
        ReasonCategory.objects.select_for_update().get(pk=category.pk) if category else ReasonCategory()
    )
    created = category.pk is None
    changed = _apply(category, data, CATEGORY_FIELDS)
    category.full_clean()
    category.save()
    record_audit(
        actor=user,
        action="reason_category.create" if created else "reason_category.update",
        target=category.key,
        fields=changed,
    )
    return category


@transaction.atomic
def save_sub_reason(
    *,
    user: Any,
    data: Mapping[str, Any],
    category: ReasonCategory | None = None,
    sub_reason: SubReason | None = None,
) -> SubReason:
    _check_manager(user)
    if sub_reason is not None:
        sub_reason = SubReason.objects.select_for_update().select_related("category").get(pk=sub_reason.pk)
    else:
        if category is None:
            raise ValueError("a new sub-reason needs its category")
        sub_reason = SubReason(category=category)
    created = sub_reason.pk is None
    changed = _apply(sub_reason, data, SUB_REASON_FIELDS)
    sub_reason.full_clean()
    sub_reason.save()
    record_audit(
        actor=user,
        action="sub_reason.create" if created else "sub_reason.update",
        target=sub_reason.path,
        fields=changed,
    )
    return sub_reason


def category_in_use(category: ReasonCategory) -> bool:
    return ExitInterview.objects.filter(
        Q(primary_category=category) | Q(secondary_categories=category) | Q(sub_reason__category=category)
    ).exists()


@transaction.atomic
def remove_category(*, user: Any, category: ReasonCategory) -> bool:
    """Delete an unused category with its sub-reasons; one that interviews name is only switched
    off, so history keeps its reason. Returns True when it was deleted."""
    _check_manager(user)
    if not category_in_use(category):
        key = category.key
        try:
            with transaction.atomic():
                category.sub_reasons.all().delete()
                category.delete()
        except (ProtectedError, RestrictedError):
            pass  # retention plans or action items name it: switch it off below instead
        else:
            record_audit(actor=user, action="reason_category.delete", target=key)
            return True
    category.is_active = False
    category.save(update_fields=["is_active"])
    category.sub_reasons.update(is_active=False)
    record_audit(actor=user, action="reason_category.deactivate", target=category.key)
    return False


@transaction.atomic
def remove_sub_reason(*, user: Any, sub_reason: SubReason) -> bool:
    _check_manager(user)
    path = sub_reason.path
    if not ExitInterview.objects.filter(sub_reason=sub_reason).exists():
        try:
            with transaction.atomic():
                sub_reason.delete()
        except (ProtectedError, RestrictedError):
            pass  # a retention plan names it: switch it off instead
        else:
            record_audit(actor=user, action="sub_reason.delete", target=path)
            return True
    sub_reason.is_active = False
    sub_reason.save(update_fields=["is_active"])
    record_audit(actor=user, action="sub_reason.deactivate", target=path)
    return False
