"""The rules engine: which accounts a rule matches, which of those its cool-down holds back, and
what firing it does. Also the rules' own writes (save, switch on and off, delete) and the
sentence that describes a rule to a manager.

Everything here is set-based: matching a rule is one query whatever the number of accounts, and
firing it for a thousand accounts costs the same handful of statements as firing it for one.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, FloatField, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Account
from accounts.querysets import lifecycle_bounds
from csworkbench.core.audit import changes_between
from csworkbench.core.i18n import in_every_language, in_reader_language
from csworkbench.core.models import record_audit
from health.models import Alert, HealthSnapshot, MeasureKey, SignalEvent, Tier

from .business_time import SlaUnit, due_at
from .models import (
    OPEN_STATUSES,
    ConditionKind,
    NotificationKind,
    OwnerRole,
    PlaybookRun,
    Priority,
    Rule,
    RuleFiring,
    RunStatus,
    StepKind,
    Task,
)
from .rule_words import describe_rule, label_of
from .services import (
    PRIORITY_FOR_RISK,
    Responses,
    TeamDirectory,
    add_tag,
    notify_assignees,
    raise_risk_level,
    start_playbooks,
)

logger = logging.getLogger(__name__)

DRY_RUN_LIMIT = 50
# How many accounts one grouped notification lists before "…and N more".
NOTIFICATION_LINES = 100

SNAPSHOT_KINDS = (
    ConditionKind.SCORE_BELOW,
    ConditionKind.SCORE_ABOVE,
    ConditionKind.TIER_IS,
    ConditionKind.MEASURE_BELOW,
    ConditionKind.MEASURE_ABOVE,
)
THRESHOLD_KINDS = (
    ConditionKind.SCORE_BELOW,
    ConditionKind.SCORE_ABOVE,
    ConditionKind.MEASURE_BELOW,
    ConditionKind.MEASURE_ABOVE,
)
MEASURE_KINDS = (ConditionKind.MEASURE_BELOW, ConditionKind.MEASURE_ABOVE)


# --- matching ----------------------------------------------------------------------------------


def in_scope(rule: Rule, *, as_of: date) -> QuerySet[Account]:
    """Active accounts within the rule's scope. Empty scope lists mean "any"."""
    accounts = Account.objects.active()
    if rule.scope_value_tiers:
        accounts = accounts.filter(value_tier__in=rule.scope_value_tiers)
    if rule.scope_industries:
        accounts = accounts.filter(industry__in=rule.scope_industries)
    if rule.scope_lifecycle_stages:
        stages = Q()
        for stage in rule.scope_lifecycle_stages:
            stages |= lifecycle_bounds(stage, as_of)
        accounts = accounts.filter(stages)
    if rule.scope_tag:
        accounts = accounts.filter(
            pk__in=Account.tags.through.objects.filter(tag__name=rule.scope_tag).values("account_id")
        )
    return accounts


def window_start(rule: Rule, as_of: date) -> date:
    return as_of - timedelta(days=max(rule.days, 1) - 1)


def _snapshots_meeting(rule: Rule, *, as_of: date) -> QuerySet[HealthSnapshot]:
    snapshots = HealthSnapshot.objects.filter(date__gte=window_start(rule, as_of), date__lte=as_of)
    kind = rule.condition_kind
    threshold = rule.threshold
    if kind == ConditionKind.SCORE_BELOW:
        return snapshots.filter(score__lt=threshold)
    if kind == ConditionKind.SCORE_ABOVE:
        return snapshots.filter(score__gt=threshold)
    if kind == ConditionKind.TIER_IS:
        return snapshots.filter(tier=rule.tier)
    if rule.measure not in MeasureKey.values:
        return snapshots.none()
    # A measure without data stores "sub": null, which must never compare as a number: SQLite's
    # key text reads it as the string 'null' (cast to 0), PostgreSQL's jsonb orders it below
    # every number. So JSON nulls are excluded first, then the text is cast to a number.
    snapshots = snapshots.exclude(**{f"measures__{rule.measure}__sub": None}).alias(
        sub=Cast(KT(f"measures__{rule.measure}__sub"), FloatField())
    )
    if kind == ConditionKind.MEASURE_BELOW:
        return snapshots.filter(sub__lt=float(threshold))
    return snapshots.filter(sub__gt=float(threshold))


def condition_account_ids(rule: Rule, *, as_of: date) -> QuerySet:
    """A subquery of the ids of accounts meeting the rule's condition on `as_of`."""
    kind = rule.condition_kind
    if kind in SNAPSHOT_KINDS:
        if kind in THRESHOLD_KINDS and rule.threshold is None:
            return HealthSnapshot.objects.none().values("account_id")
        # One snapshot per account and day, so N qualifying rows in an N-day window means every
        # day qualified; a day without a snapshot breaks the run.
        return (
            _snapshots_meeting(rule, as_of=as_of)
            .values("account_id")
            .annotate(qualifying_days=Count("date", distinct=True))
            .filter(qualifying_days=max(rule.days, 1))
            .values("account_id")
        )
    if kind == ConditionKind.ALERT_RAISED:
        return (
            Alert.objects.filter(kind=rule.alert_kind, raised_on__lte=as_of)
            .filter(Q(resolved_on__isnull=True) | Q(resolved_on__gt=as_of))
            .values("account_id")
        )
    if kind == ConditionKind.EVENT:
        return SignalEvent.objects.filter(
            kind=rule.event_kind, occurred_on__gte=window_start(rule, as_of), occurred_on__lte=as_of
        ).values("account_id")
    raise ValueError(f"unknown condition kind {kind!r}")


def matching_accounts(rule: Rule, *, as_of: date) -> QuerySet[Account]:
    """Active accounts in the rule's scope that meet its condition on `as_of` (one query)."""
    return in_scope(rule, as_of=as_of).filter(pk__in=condition_account_ids(rule, as_of=as_of))


def cooling_down(rule: Rule, *, as_of: date) -> Q:
    """Accounts the rule must leave alone: it fired for them within the cool-down, or the work it
    created for them (a task, a playbook run) is still open."""
    if rule.pk is None:
        return Q(pk__in=[])
    since = as_of - timedelta(days=rule.cooldown_days)
    recent = RuleFiring.objects.filter(rule=rule, fired_on__gt=since).values("account_id")
    open_tasks = Task.objects.filter(rule=rule, status__in=OPEN_STATUSES).values("account_id")
    active_runs = PlaybookRun.objects.filter(rule=rule, status=RunStatus.ACTIVE).values("account_id")
    return Q(pk__in=recent) | Q(pk__in=open_tasks) | Q(pk__in=active_runs)


def eligible_accounts(rule: Rule, as_of: date) -> QuerySet[Account]:
    """The matching accounts minus those in cool-down: what firing the rule now would touch."""
    return matching_accounts(rule, as_of=as_of).exclude(cooling_down(rule, as_of=as_of))


# --- dry run -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRunAccount:
    pk: int
    name: str
    owner: str
    score: int | None
    tier: str
    tier_label: str


@dataclass(frozen=True)
class DryRun:
    as_of: date
    count: int
    accounts: list[DryRunAccount]
    held_back: int

    @property
    def more(self) -> int:
        return max(self.count - len(self.accounts), 0)


def dry_run(rule: Rule, *, as_of: date) -> DryRun:
    """What firing the rule on `as_of` would touch (how many, the first 50 by name, how many the
    cool-down holds back), without writing anything. The rule may be unsaved (the form's data):
    then no cool-down applies, since it never fired."""
    eligible = eligible_accounts(rule, as_of)
    count = eligible.count()
    held_back = matching_accounts(rule, as_of=as_of).count() - count if rule.pk else 0
    accounts = [
        DryRunAccount(
            pk=account.pk,
            name=account.name,
            owner=(account.owner.get_full_name() or account.owner.get_username()) if account.owner else "",
            score=account.health_score,
            tier=account.health_tier,
            tier_label=label_of(Tier, account.health_tier) if account.health_tier else "",
        )
        for account in eligible.select_related("owner").order_by("name", "pk")[:DRY_RUN_LIMIT]
    ]
    return DryRun(as_of=as_of, count=count, accounts=accounts, held_back=held_back)


# --- firing ------------------------------------------------------------------------------------


def _account_ids(accounts: Iterable[Any]) -> Any:
    if isinstance(accounts, QuerySet):
        return accounts.values("pk")
    return [getattr(a, "pk", a) for a in accounts]


def fire_rule(
    rule: Rule, *, as_of: date, accounts: Iterable[Any] | None = None, now: datetime | None = None
) -> int:
    """Fire the rule for its eligible accounts (optionally only some of them) and return how many
    it fired for. Idempotent: a firing is one row per rule, account and day, and only accounts
    whose row this call created get the actions, so running twice on a day fires nothing new."""
    now = now or timezone.now()
    candidates = eligible_accounts(rule, as_of)
    if accounts is not None:
        candidates = candidates.filter(pk__in=_account_ids(accounts))
    with transaction.atomic():
        candidate_list = list(candidates.select_related("owner").order_by("pk"))
        if not candidate_list:
            return 0
        RuleFiring.objects.bulk_create(
            [
                RuleFiring(
                    rule=rule,
                    account=account,
                    fired_on=as_of,
                    fired_at=now,
                    evidence={
                        "score": account.health_score,
                        "tier": account.health_tier,
                        "as_of": as_of.isoformat(),
                    },
                )
                for account in candidate_list
            ],
            ignore_conflicts=True,
        )
        # The rows this call wrote carry its timestamp; a concurrent or earlier run's do not.
        created = set(
            RuleFiring.objects.filter(rule=rule, fired_on=as_of, fired_at=now).values_list(
                "account_id", flat=True
            )
        )
        fired = [account for account in candidate_list if account.pk in created]
        if not fired:
            return 0
        summary = _run_actions(rule, fired, as_of=as_of, now=now)
        record_audit(
            actor=None,
            action="rule.fire",
            target=rule.name,
            accounts=len(fired),
            as_of=as_of.isoformat(),
            **summary,
        )
    return len(fired)


def _run_actions(rule: Rule, fired: list[Account], *, as_of: date, now: datetime) -> dict[str, int]:
    ids = [account.pk for account in fired]
    directory = TeamDirectory({account.owner_id for account in fired})
    raised = (
        raise_risk_level(accounts=fired, level=rule.set_risk_level, now=now) if rule.set_risk_level else 0
    )
    if rule.add_tag:
        add_tag(account_ids=ids, name=rule.add_tag)
    responses = Responses()
    tasks = (
        _rule_tasks(rule, fired, directory=directory, responses=responses, now=now) if rule.task_title else []
    )
    Task.objects.bulk_create(tasks)
    runs, run_tasks = 0, []
    if rule.start_playbook_id:
        started = start_playbooks(
            accounts=fired,
            playbook=rule.start_playbook,
            rule=rule,
            now=now,
            directory=directory,
            responses=responses,
            announce=False,  # the firing is audited and announced as one (below)
        )
        runs, run_tasks = len(started.runs), started.tasks
    notified = _notify(rule, fired, directory=directory, tasks=tasks + run_tasks)
    emails = 0
    if rule.email_template_id:
        from .emails import send_rule_emails

        emails = send_rule_emails(rule=rule, accounts=fired, template=rule.email_template)
    return {
        "risk_raised": raised,
        "tasks": len(tasks) + len(run_tasks),
        "runs": runs,
        "notified": notified,
        "emails": emails,
    }


def _rule_tasks(
    rule: Rule, fired: list[Account], *, directory: TeamDirectory, responses: Responses, now: datetime
) -> list[Task]:
    """One task per fired account, due when the rule says or, with no due time of its own, as the
    matrix row of the account's risk level (already raised by the rule) says."""
    unit = rule.task_due_unit or SlaUnit.BUSINESS_HOURS
    guidance_texts = in_every_language(
        lambda: (
            _("Created by the rule “%(rule)s”: %(description)s")
            % {"rule": rule.name, "description": describe_rule(rule)}
        )
    )
    guidance = in_reader_language(guidance_texts, "")
    tasks = []
    for account in fired:
        calendar = directory.calendar(account.owner_id)
        if rule.task_due_amount:
            due = due_at(now, rule.task_due_amount, unit, calendar)
        else:
            level = account.risk_level or rule.set_risk_level
            due = responses.due_at(start=now, own_hours=None, risk_level=level, calendar=calendar)
        tasks.append(
            Task(
                account=account,
                rule=rule,
                title=rule.task_title,
                guidance=guidance,
                guidance_texts=guidance_texts,
                kind=StepKind.TASK,
                assignee=account.owner,
                owner_role=OwnerRole.CSM,
                risk_level=account.risk_level,
                priority=PRIORITY_FOR_RISK.get(rule.set_risk_level or account.risk_level, Priority.NORMAL),
                due_at=due,
                created_at=now,
            )
        )
    return tasks


def _notify(rule: Rule, fired: list[Account], *, directory: TeamDirectory, tasks: list[Task]) -> int:
    """One message per recipient listing their accounts (a manager hears once about 500 accounts,
    not 500 times), by email too, and one post per team chat. Assignees of the new tasks who
    are not told here hear about their tasks the usual way."""
    from .notifications import notify

    recipients: dict[int, tuple[Any, list[Account], bool]] = {}
    for account in fired:
        people = []
        if rule.notify_owner and account.owner is not None:
            people.append((account.owner, False))
        if rule.notify_manager:
            people += [(manager, True) for manager in directory.managers(account.owner_id)]
        for person, as_manager in people:
            entry = recipients.setdefault(person.pk, (person, [], as_manager))
            entry[1].append(account)
    chatted: set[int] = set()
    for person, accounts, as_manager in recipients.values():
        team = directory.team(accounts[0].owner_id if as_manager else person.pk)
        chat_team = team if team is not None and team.pk not in chatted else None
        if chat_team is not None:
            chatted.add(chat_team.pk)
        notify(
            recipients=[person],
            kind=NotificationKind.RULE_FIRED,
            title=lambda accounts=accounts: _notification_title(rule, accounts),
            body=lambda accounts=accounts: _notification_body(describe_rule(rule), accounts),
            url=_notification_url(rule, accounts, as_manager=as_manager),
            account=accounts[0] if len(accounts) == 1 else None,
            email=True,
            chat_team=chat_team,
        )
    told = set(recipients)
    notify_assignees(tasks=[task for task in tasks if task.assignee_id and task.assignee_id not in told])
    return len(recipients)


def _notification_title(rule: Rule, accounts: list[Account]) -> str:
    if len(accounts) == 1:
        return _("Rule “%(rule)s” fired for %(account)s") % {"rule": rule.name, "account": accounts[0].name}
    return ngettext(
        "Rule “%(rule)s” fired for %(count)s account",
        "Rule “%(rule)s” fired for %(count)s accounts",
        len(accounts),
    ) % {"rule": rule.name, "count": len(accounts)}


def _notification_body(description: str, accounts: list[Account]) -> str:
    lines = [description]
    for account in accounts[:NOTIFICATION_LINES]:
        score = "—" if account.health_score is None else account.health_score
        lines.append(_("· %(account)s (score %(score)s)") % {"account": account.name, "score": score})
    if len(accounts) > NOTIFICATION_LINES:
        lines.append(_("…and %(count)s more") % {"count": len(accounts) - NOTIFICATION_LINES})
    return "\n".join(lines)


def _notification_url(rule: Rule, accounts: list[Account], *, as_manager: bool) -> str:
    if len(accounts) == 1:
        return reverse("accounts:detail", args=[accounts[0].pk])
    if as_manager:
        return reverse("rules:edit", args=[rule.pk])
    return reverse("playbooks:queue")


@dataclass
class RulesResult:
    fired: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.fired.values())


def run_rules(*, as_of: date, now: datetime | None = None) -> RulesResult:
    """Fire every enabled rule, in name order; run after each scoring run. A rule that breaks is
    logged and skipped so that the others still run."""
    result = RulesResult()
    for rule in (
        Rule.objects.filter(is_enabled=True)
        .select_related("start_playbook", "email_template")
        .order_by("name")
    ):
        try:
            result.fired[rule.name] = fire_rule(rule, as_of=as_of, now=now)
        except Exception:
            logger.exception("rule %s failed on %s", rule.name, as_of)
            result.failed.append(rule.name)
    return result


# --- the rules' own writes ---------------------------------------------------------------------


@transaction.atomic
def save_rule(*, rule: Rule, user: Any) -> Rule:
    """Create or change a rule (already validated by its form), with an audit row."""
    created = rule.pk is None
    before = (
        None if created else Rule.objects.select_related("start_playbook", "email_template").get(pk=rule.pk)
    )
    if created:
        rule.created_by = user
    rule.save()
    record_audit(
        actor=user,
        action="rule.create" if created else "rule.change",
        target=rule.name,
        **changes_between(before, rule),
    )
    return rule


@transaction.atomic
def set_rule_enabled(*, rule: Rule, user: Any, enabled: bool) -> Rule:
    was = Rule.objects.filter(pk=rule.pk).values_list("is_enabled", flat=True).first()
    Rule.objects.filter(pk=rule.pk).update(is_enabled=enabled, updated_at=timezone.now())
    rule.is_enabled = enabled
    record_audit(
        actor=user,
        action="rule.enable" if enabled else "rule.disable",
        target=rule.name,
        model="playbooks.rule",
        changes={"is_enabled": [was, enabled]},
    )
    return rule


@transaction.atomic
def delete_rule(*, rule: Rule, user: Any) -> None:
    """Delete a rule. Its firings go with it; the tasks, runs and emails it made stay."""
    name = rule.name
    rule.delete()
    record_audit(actor=user, action="rule.delete", target=name)
