"""The story accounts (DESIGN.md, "Demo data tells stories"), built from their records in
data/stories.toml: a thriving tier-A account, one whose champion left, an SMB not yet activated, a
polite account nobody uses any more, and churned accounts across every reason category.

They always exist, whatever the size of the demo, so a demo can walk straight to them: `STORIES`,
and `STORY_ACCOUNTS` (story key -> external ID) for the later steps and the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from accounts.models import Account, AccountStatus, MovementKind

from .accounts import REGION, ContactSeed, Scripted, Spec, next_anniversary
from .records import load, relative_date


@dataclass(frozen=True)
class Story:
    key: str
    external_id: str
    name: str
    summary: str
    # For the churned stories: the exit-interview reason the interviews step records.
    churn_reason: str = ""
    # The whole record: the account, its people and timeline, and the blocks later steps read
    # ("health", "signal", "retention_plan").
    record: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


STORIES: tuple[Story, ...] = tuple(
    Story(
        key=record["key"],
        external_id=record["external_id"],
        name=record["name"],
        summary=record["summary"],
        churn_reason=record.get("churn_reason", ""),
        record=record,
    )
    for record in load("stories")["story"]
)
# story key -> external_id, so later steps (health metrics, plans, interviews) can find them.
STORY_ACCOUNTS: dict[str, str] = {story.key: story.external_id for story in STORIES}
STORY_BY_EXTERNAL_ID: dict[str, Story] = {story.external_id: story for story in STORIES}


def story_specs(*, today: date, days: int) -> list[Spec]:
    """Every story account as planned for a demo of `days` days ending `today`."""
    return [_story_spec(story, today=today, days=days) for story in STORIES]


def _story_spec(story: Story, *, today: date, days: int) -> Spec:
    record = story.record
    churned = record.get("churned")
    churn = None
    if churned is not None:
        # Churned inside the window, whatever its size: at least a day ago, after its first day.
        churn = today - timedelta(days=max(1, min(churned["days_ago"], days - 1)))
    start = relative_date(record["contract_start"], today=today, churn=churn)
    if churned is not None and "on" in churned:
        churn = relative_date(churned["on"], today=today, start=start)

    def on(text: str) -> date:
        return relative_date(text, today=today, start=start, churn=churn)

    account = Account(
        external_id=story.external_id,
        name=story.name,
        industry=record["industry"],
        employee_band=record["employee_band"],
        region=record["region"],
        acquisition_channel=record["channel"],
        plan=record["plan"],
        contract_start=start,
        status=AccountStatus.ACTIVE,
    )
    if churned is not None:
        account.churned_on, account.churn_type = churn, churned["type"]
    spec = Spec(
        account=account,
        lang="zh",
        region=REGION[record["region"]],
        domain=record["domain"],
        mood=record["mood"],
        story=story.key,
        fixed_tier=record.get("value_tier", ""),
        owner=record.get("owner", "csm"),
    )
    spec.movements = [(kind, on(day), amount, note) for kind, day, amount, note in record["movements"]]
    spec.contact_seeds = [
        ContactSeed(
            name=person["name"],
            email=person["email"],
            role=person["role"],
            phone=person.get("phone", ""),
            is_champion=person.get("champion", False),
            is_decision_maker=person.get("decision_maker", False),
            is_primary=person.get("primary", False),
            left_on=on(person["left_on"]) if "left_on" in person else None,
            key=person["key"],
        )
        for person in record.get("contact", [])
    ]
    spec.cadence = record.get("cadence", 0)
    if record.get("scripted_only"):
        spec.generic_until = today - timedelta(days=days + 1)  # before the window: none at all
    elif "generic_until" in record:
        spec.generic_until = on(record["generic_until"])
    spec.email_only = record.get("email_only", False)
    spec.polite = record.get("polite", False)
    spec.scripted = [
        Scripted(
            on=on(item["on"]),
            kind=item["kind"],
            subject=item["subject"],
            body=item["body"],
            sentiment=item["sentiment"],
            contact=item.get("contact", ""),
        )
        for item in record.get("touchpoint", [])
    ]
    _close_story(spec, today=today)
    return spec


def _close_story(spec: Spec, *, today: date) -> None:
    """Derive MRR, churn movement and renewal from the story's scripted movements."""
    account = spec.account
    mrr = 0
    for kind, _, amount, _ in spec.movements:
        mrr += -amount if kind in (MovementKind.CONTRACTION, MovementKind.CHURN) else amount
    account.mrr = Decimal(mrr)
    if account.churned_on is not None:
        account.status = AccountStatus.CHURNED
        spec.movements.append((MovementKind.CHURN, account.churned_on, mrr, account.get_churn_type_display()))
        account.renewal_date = next_anniversary(
            account.contract_start, account.churned_on - timedelta(days=1)
        )
    else:
        account.renewal_date = next_anniversary(account.contract_start, today)
