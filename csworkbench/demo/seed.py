"""`seed_demo`: wipe every account and build a fresh, reproducible demo book of business.

The one place that calls the parts, in order: the demo users, the story accounts and the generic
book, their contacts, MRR movements and touchpoints, daily health metrics and the score history,
today's scores and alerts, the team's playbooks and retention plans, and the exit interviews.

Everything is drawn from one `random.Random(seed)` in a fixed order, so the same seed and the
same `today` give the same rows. The work is set-based: rows are built in Python lists and
written with `bulk_create` (the metrics with COPY), never one `save()` per row.
"""

from __future__ import annotations

import random
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Account, Contact, MrrMovement, Touchpoint
from playbooks.models import Delivery, DeliveryStatus
from playbooks.notifications import outgoing_paused

from . import health, interviews, playbooks
from .accounts import (
    NameBook,
    assign_tiers_and_owners,
    churn_some,
    contact_seeds,
    generic_specs,
    plan_history,
)
from .history import history_days
from .stories import STORY_ACCOUNTS, story_specs
from .touchpoints import touchpoints_for
from .users import DEMO_USERS, ensure_demo_users

BATCH_SIZE = 2000
# Touchpoints are the bulk of the rows; they are written as they are generated so 10,000
# accounts never hold a few hundred thousand model instances in memory at once.
TOUCHPOINT_FLUSH = 20_000
# The generic accounts' external IDs are numbered after the stories'.
FIRST_GENERIC_NUMBER = 101


class _Writer(Protocol):
    def write(self, msg: str, /) -> Any: ...


def seed_demo(
    *,
    accounts: int = 400,
    days: int = 365,
    seed: int = 7,
    password: str = "workbench",  # noqa: S107 -- the documented demo password, printed by the command
    today: date | None = None,
    stdout: _Writer | None = None,
) -> dict[str, Any]:
    """Replace every account with a reproducible demo book of business.

    Destructive: all accounts (and, by cascade, everything hanging off them) are deleted first.
    `accounts` counts the story accounts too, so there are never fewer than `len(STORIES)`.
    Touchpoints, churn and daily health metrics fall within the last `days` days; contract
    starts and MRR history reach back three years. Returns counts of what was written.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    today = today or timezone.localdate()
    tz = timezone.get_current_timezone()
    rng = random.Random(seed)

    with transaction.atomic():
        # Children first, each in one statement, so the final cascade has little left to collect.
        playbooks.clear()
        health.clear()
        Touchpoint.objects.all().delete()
        MrrMovement.objects.all().delete()
        Contact.objects.all().delete()
        Account.objects.all().delete()
        _say(stdout, "Deleted the existing accounts.")
        users = ensure_demo_users(password)

        stories = story_specs(today=today, days=days)
        names = NameBook(rng)
        for spec in stories:
            names.reserve(spec.account.name)
        generic = generic_specs(
            rng,
            count=max(0, accounts - len(stories)),
            today=today,
            names=names,
            first_number=FIRST_GENERIC_NUMBER,
        )
        specs = stories + generic
        story_churned = sum(1 for spec in stories if spec.account.churned_on)
        target = round(len(specs) * rng.uniform(0.13, 0.17)) - story_churned
        churn_some(rng, generic, target=max(0, target), today=today, days=days)
        for spec in generic:
            plan_history(rng, spec, today=today)
        assign_tiers_and_owners(rng, specs)

        for spec in specs:
            account = spec.account
            account.owner_id = users[spec.owner].pk if spec.owner else None
            # The row "appears" when the contract started, which keeps it reproducible too.
            start = account.contract_start
            account.created_at = datetime(start.year, start.month, start.day, 9, tzinfo=tz)
        account_count = _write(Account, [spec.account for spec in specs])
        _say(stdout, f"Created {account_count} accounts.")

        contacts: list[Contact] = []
        for spec in specs:
            seeds = spec.contact_seeds or contact_seeds(rng, spec, today=today)
            spec.contact_keys = [seed_row.key for seed_row in seeds]
            spec.contacts = [
                Contact(
                    account_id=spec.account.pk,
                    name=seed_row.name,
                    email=seed_row.email,
                    phone=seed_row.phone,
                    role=seed_row.role,
                    is_champion=seed_row.is_champion,
                    is_decision_maker=seed_row.is_decision_maker,
                    is_primary=seed_row.is_primary,
                    left_on=seed_row.left_on,
                )
                for seed_row in seeds
            ]
            contacts += spec.contacts
        contact_count = _write(Contact, contacts)
        del contacts
        _say(stdout, f"Created {contact_count} contacts.")

        movements = [
            MrrMovement(
                account_id=spec.account.pk, kind=kind, occurred_on=on, amount=Decimal(amount), note=note
            )
            for spec in specs
            for kind, on, amount, note in spec.movements
        ]
        movement_count = _write(MrrMovement, movements)
        del movements
        _say(stdout, f"Created {movement_count} MRR movements.")

        touchpoint_count = 0
        buffer: list[Touchpoint] = []
        for spec in specs:
            author_id = spec.account.owner_id
            buffer.extend(touchpoints_for(rng, spec, today=today, days=days, author_id=author_id, tz=tz))
            if len(buffer) >= TOUCHPOINT_FLUSH:
                touchpoint_count += _write(Touchpoint, buffer)
                buffer = []
        touchpoint_count += _write(Touchpoint, buffer)
        _say(stdout, f"Created {touchpoint_count} touchpoints.")

        # Daily metrics and signal events in step with each account's story, then its scores.
        moods = {
            spec.account.pk: health.Mood(spec.mood, spec.mood_shift[0] if spec.mood_shift else None)
            for spec in specs
        }
        signals = health.seed_metrics(
            accounts=[spec.account for spec in specs],
            days=days,
            rng=rng,
            today=today,
            moods=moods,
            history=history_days(today=today, days=days, accounts=len(specs)),
        )
        scored = health.score_today(today=today)
        snapshot_count = signals["snapshots"] + scored["snapshots"]
        _say(stdout, f"Created {signals['metrics']} daily metrics and {signals['events']} signal events.")
        _say(stdout, f"Computed {snapshot_count} health snapshots and raised {scored['alerts']} alerts.")

        # The emails and chat posts of the demo's story are history: written, never sent.
        with outgoing_paused():
            work = playbooks.seed_playbooks(users=users, stories=STORY_ACCOUNTS, today=today, seed=seed)
            plan_counts = playbooks.seed_plans(users=users, stories=STORY_ACCOUNTS, today=today)
            work["open_tasks"] = playbooks.open_tasks_by_csm(users)  # the plans moved some tasks
            interviews.seed_interviews(users=users, stories=STORY_ACCOUNTS, today=today, seed=seed)
        Delivery.objects.filter(status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.SENT, sent_at=F("created_at")
        )
        touchpoint_count = Touchpoint.objects.count()  # the rules' care emails are on the timeline too
        _say(
            stdout,
            f"Started {work['runs']} playbooks, fired rules {work['rule_firings']} times; open tasks: "
            + ", ".join(f"{name} {count}" for name, count in work["open_tasks"].items())
            + f"; {work['breaches']} SLA breaches escalated; {sum(plan_counts.values())} retention plans.",
        )

    return {
        "accounts": account_count,
        "contacts": contact_count,
        "touchpoints": touchpoint_count,
        "mrr_movements": movement_count,
        "metrics": signals["metrics"],
        "events": signals["events"],
        "snapshots": snapshot_count,
        "alerts": scored["alerts"],
        "open_tasks": work["open_tasks"],
        "users": [demo.username for demo in DEMO_USERS],
    }


def _write(model: type[models.Model], rows: list[Any]) -> int:
    model.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    if rows and rows[0].pk is None:  # a backend that cannot return ids from a bulk insert
        raise RuntimeError(f"The database did not return ids for {model.__name__} rows.")
    return len(rows)


def _say(stdout: _Writer | None, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")
