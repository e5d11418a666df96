"""Demo exit interviews: the churned story accounts say why they left, and most other churned
accounts have an interview behind them across every reason category. Written through the
services, so the rules (a neutral interviewer, sub-reason within its category) hold here too.
What the customers said is data: data/interviews.toml."""

import random
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from accounts.models import Account, AccountStatus
from interviews import services
from interviews.models import ExitInterview, InterviewChannel, ReasonCategory, SubReason, SurveyInvitation

from .records import load
from .stories import STORIES

_SAID = load("interviews")
# What customers said, by sub-reason: the answer to question 1.
MAIN_REASON: dict[str, str] = _SAID["main_reason"]
ASKED_FOR_HELP: list[str] = _SAID["asked_for_help"]
COMPETITORS: list[str] = _SAID["competitors"]
RESPONDENTS = [tuple(row) for row in _SAID["respondents"]]
# By reason category: how often it is the main reason among the generic churned accounts, the
# likelihood to return, and the answers to questions 3-5.
_CATEGORIES: dict[str, dict[str, Any]] = _SAID["category"]
CATEGORY_WEIGHTS = {key: row["weight"] for key, row in _CATEGORIES.items()}
DRAFTS = 4
INVITATIONS = 2
UNINTERVIEWED_SHARE = 0.15


def seed_interviews(*, users: Mapping[str, Any], stories: Mapping[str, str], today: date, seed: int) -> dict:
    """Interviews for the churned accounts; `stories` maps a story key to its external id."""
    rng = random.Random(seed * 31 + 6)
    interviewer, manager = users["interviewer"], users.get("manager")
    categories = {c.key: c for c in ReasonCategory.objects.filter(is_active=True)}
    subs: dict[str, list[SubReason]] = {}
    for sub in SubReason.objects.filter(is_active=True).select_related("category"):
        subs.setdefault(sub.category.key, []).append(sub)

    counts = {"done": 0, "drafts": 0, "invitations": 0}
    story_reasons = {
        stories[story.key]: story.churn_reason
        for story in STORIES
        if story.churn_reason and story.key in stories
    }
    story_accounts = Account.objects.filter(external_id__in=story_reasons, exit_interview__isnull=True)
    for account in story_accounts.select_related("owner").order_by("churned_on", "pk"):
        category_key, sub_key = story_reasons[account.external_id].split("/")
        sub = next((s for s in subs.get(category_key, []) if s.key == sub_key), None)
        if category_key in categories and account.status == AccountStatus.CHURNED:
            _interview(rng, account, interviewer, categories[category_key], sub, today=today, complete=True)
            counts["done"] += 1

    others = list(
        Account.objects.filter(status=AccountStatus.CHURNED, exit_interview__isnull=True)
        .exclude(external_id__in=story_reasons)
        .exclude(Q(owner=interviewer))
        .select_related("owner")
        .order_by("churned_on", "pk")
    )
    # The oldest few stay waiting, so the workspace has work in it; the newest are in progress.
    waiting = round(len(others) * UNINTERVIEWED_SHARE)
    to_interview = others[waiting:]
    draft_accounts = to_interview[-DRAFTS:] if len(to_interview) > DRAFTS * 3 else to_interview[-1:]
    keys = _spread(rng, len(to_interview))
    for index, account in enumerate(to_interview):
        category = categories.get(keys[index])
        if category is None:
            continue
        sub = rng.choice(subs[category.key]) if subs.get(category.key) else None
        who = (
            manager
            if manager is not None and index % 7 == 3 and account.owner_id != manager.pk
            else interviewer
        )
        complete = account not in draft_accounts
        # One customer answered the self-serve survey before the interviewer closed the file;
        # one draft waits for the customer's answers.
        by_survey = complete and index == 0
        interview = _interview(
            rng, account, who, category, sub, today=today, complete=complete, by_survey=by_survey
        )
        counts["done" if complete else "drafts"] += 1
        counts["invitations"] += by_survey
        if not complete and counts["invitations"] < INVITATIONS:
            _invite(interview, who, language="zh-hant")
            counts["invitations"] += 1
    return counts


def _spread(rng: random.Random, count: int) -> list[str]:
    """Category keys for `count` interviews: every category at least once, then by weight."""
    keys = list(CATEGORY_WEIGHTS)
    picked = keys[:count] + rng.choices(
        keys, weights=list(CATEGORY_WEIGHTS.values()), k=max(0, count - len(keys))
    )
    rng.shuffle(picked)
    return picked


def _interview(
    rng: random.Random,
    account: Account,
    user: Any,
    category: ReasonCategory,
    sub: SubReason | None,
    *,
    today: date,
    complete: bool,
    by_survey: bool = False,
) -> ExitInterview:
    churned_on = account.churned_on or today
    started_on = min(today, churned_on + timedelta(days=rng.randint(2, 10)))
    interview = services.start_interview(account=account, interviewer=user, today=today)
    if by_survey:
        invitation = _invite(interview, user, language="en")
        answers = {"answer_1": (MAIN_REASON.get(sub.path, "") if sub else "") or category.name}
        services.answer_survey(invitation=invitation, answers=answers)
        answered = _at(min(today, started_on + timedelta(days=2)), 20)
        SurveyInvitation.objects.filter(pk=invitation.pk).update(
            created_at=_at(started_on, 10), used_at=answered
        )
    key = category.key
    said = _CATEGORIES.get(key, {})
    name, role = rng.choice(RESPONDENTS)
    # A few customers surprise us: the category's default is not always the right call.
    avoidable = category.avoidable if rng.random() > 0.1 else not category.avoidable
    changes = {
        "answer_1": (MAIN_REASON.get(sub.path, "") if sub else "") or category.name,
        "answer_2": rng.choice(ASKED_FOR_HELP),
        "primary_category": category,
        "sub_reason": sub,
        "respondent_name": name,
        "respondent_role": role,
        "channel": InterviewChannel.SURVEY
        if by_survey
        else rng.choice([InterviewChannel.CALL, InterviewChannel.VIDEO, InterviewChannel.MEETING]),
    }
    if complete:
        changes.update(
            answer_3=said.get("one_thing_better", ""),
            answer_4=said.get("instead", ""),
            answer_5=said.get("come_back", ""),
            avoidable=avoidable,
            held_on=min(today, started_on + timedelta(days=rng.randint(0, 3))),
            likelihood_to_return=max(1, min(5, said.get("likelihood", 3) + rng.choice([-1, 0, 0, 1]))),
            win_back_condition=said.get("come_back", ""),
            competitor=rng.choice(COMPETITORS) if key == "competitor" else "",
        )
        if rng.random() < 0.3:
            others = [c for c in ReasonCategory.objects.filter(is_active=True) if c.pk != category.pk]
            changes["secondary_categories"] = [rng.choice(others)] if others else []
    services.save_draft(interview=interview, user=user, changes=changes)
    started_at = _at(started_on, 10)
    stamps = {"created_at": started_at, "updated_at": started_at}
    if complete:
        services.complete_interview(interview=interview, user=user)
        held_on = changes["held_on"]
        stamps.update(completed_at=_at(held_on, 16), updated_at=_at(held_on, 16))
    # The services stamp "now"; the demo's story happened over the past months.
    ExitInterview.objects.filter(pk=interview.pk).update(**stamps)
    return interview


def _invite(interview: ExitInterview, user: Any, *, language: str) -> SurveyInvitation:
    contact = interview.account.contacts.exclude(email="").first()
    email = contact.email if contact else f"customer{interview.account_id}@example.com"
    # Invitations only: the demo sends no email.
    invitation, _signed = services.invite_to_survey(
        interview=interview, user=user, email=email, language=language
    )
    return invitation


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())
