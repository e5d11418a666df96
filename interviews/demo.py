"""Demo exit interviews: the churned story accounts say why they left, and most other churned
accounts have an interview behind them across every reason category. Written through the
services, so the rules (a neutral interviewer, sub-reason within its category) hold here too."""

import random
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from accounts.models import Account, AccountStatus

from . import services
from .models import ExitInterview, InterviewChannel, ReasonCategory, SubReason, SurveyInvitation

# What customers said, by sub-reason: the answer to question 1.
MAIN_REASON = {
    "product/missing_feature": "We needed multi-warehouse stock transfers and it never arrived.",
    "product/too_complex": "Only one person on the team could work out how to set it up.",
    "product/bugs": "Reports failed every month-end close, right when we needed them.",
    "product/performance": "Pages took ten seconds to load once we passed 50,000 orders.",
    "product/integrations": "It didn't connect to our accounting system, so we retyped everything.",
    "price_value/too_expensive": "The price went up at renewal and it was too expensive for us.",
    "price_value/value_not_realised": "We never got the time savings we were promised.",
    "price_value/budget_cut": "Our budget for software was cut by a third this year.",
    "service/slow_support": "Tickets took days to get a first answer.",
    "service/weak_onboarding": "Nobody walked us through the setup; we gave up after a month.",
    "service/csm_turnover": "We had three different account managers in a year.",
    "competitor/features": "Another tool does scheduling and billing in one place.",
    "competitor/price": "We found a competitor offering the same for half the price.",
    "competitor/service": "The other vendor has a local team that answers the phone.",
    "unavoidable/closed": "We closed the business.",
    "unavoidable/acquired": "We were acquired and the new owner has its own system.",
    "unavoidable/pivot": "We stopped selling online to focus on wholesale.",
    "unavoidable/decision_maker_left": "The director who chose you left; her successor didn't know the tool.",
}
ASKED_FOR_HELP = [
    "Yes, we raised it twice with support; we got a workaround but no fix.",
    "Not really. We assumed it would not change.",
    "We mentioned it on the quarterly call, and heard nothing after that.",
    "Yes, and the support team was kind, but it took too long.",
]
ONE_THING_BETTER = {
    "product": "Features: build what warehouses like ours actually use.",
    "price_value": "Price: a smaller plan for teams our size.",
    "service": "Training and support: a real person in our first month.",
    "competitor": "Ease of use: the other tool was simpler to start with.",
    "unavoidable": "Nothing really; it was our situation, not the product.",
}
INSTEAD = {
    "product": "A spreadsheet for now, maybe a specialist tool later.",
    "price_value": "A cheaper tool with fewer features.",
    "service": "A local vendor with on-site training.",
    "competitor": "The competitor we named.",
    "unavoidable": "Nothing: the need went away.",
}
COME_BACK = {
    "product": "If the missing feature ships, we would look again.",
    "price_value": "A plan under half the current price.",
    "service": "A named contact who stays with us.",
    "competitor": "If you matched their price and kept the service.",
    "unavoidable": "If we start a new business, perhaps.",
}
COMPETITORS = ["Zenvo", "ShopPilot", "CloudLedger", "Brightdesk"]
RESPONDENTS = [
    ("Grace Lin", "Operations manager"),
    ("Kevin Wu", "Owner"),
    ("Mei Chen", "Finance director"),
    ("Daniel Ho", "IT lead"),
    ("Siti Rahman", "General manager"),
]
# How often each category is the main reason among the generic churned accounts.
CATEGORY_WEIGHTS = {"product": 25, "price_value": 30, "service": 15, "competitor": 15, "unavoidable": 15}
LIKELIHOOD = {"product": 3, "price_value": 3, "service": 4, "competitor": 2, "unavoidable": 1}
DRAFTS = 4
INVITATIONS = 2
UNINTERVIEWED_SHARE = 0.15


def seed_interviews(*, users: Mapping[str, Any], stories: Mapping[str, str], today: date, seed: int) -> dict:
    """Interviews for the churned accounts; `stories` maps a story key to its external id."""
    from accounts.demo import STORIES

    rng = random.Random(seed * 31 + 6)  # noqa: S311 -- reproducible demo data, not secrets
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
            answer_3=ONE_THING_BETTER.get(key, ""),
            answer_4=INSTEAD.get(key, ""),
            answer_5=COME_BACK.get(key, ""),
            avoidable=avoidable,
            held_on=min(today, started_on + timedelta(days=rng.randint(0, 3))),
            likelihood_to_return=max(1, min(5, LIKELIHOOD.get(key, 3) + rng.choice([-1, 0, 0, 1]))),
            win_back_condition=COME_BACK.get(key, ""),
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
