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
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, FloatField, Prefetch, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import RISK_RANK, Account, Industry, RiskLevel
from accounts.querysets import LifecycleStage, lifecycle_bounds
from csworkbench.core.audit import changes_between
from csworkbench.core.models import record_audit
from health.models import Alert, AlertKind, EventKind, HealthSnapshot, MeasureKey, SignalEvent, Tier

from .business_time import SlaUnit, due_at
from .models import (
    OPEN_STATUSES,
    ConditionKind,
    NotificationKind,
    OwnerRole,
    Playbook,
    PlaybookRun,
    PlaybookStep,
    Priority,
    Rule,
    RuleFiring,
    RunStatus,
    StepKind,
    Task,
)
from .services import (
    PRIORITY_FOR_RISK,
    Responses,
    TeamDirectory,
    add_tag,
    build_run_tasks,
    notify_assignees,
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
            tier_label=_label(Tier, account.health_tier) if account.health_tier else "",
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
    raised = _raise_risk(rule, fired, now=now) if rule.set_risk_level else 0
    if rule.add_tag:
        add_tag(account_ids=ids, name=rule.add_tag)
    responses = Responses()
    tasks = (
        _rule_tasks(rule, fired, directory=directory, responses=responses, now=now) if rule.task_title else []
    )
    runs, run_tasks = (
        _start_runs(rule, fired, directory=directory, responses=responses, now=now)
        if rule.start_playbook_id
        else (0, [])
    )
    Task.objects.bulk_create(tasks + run_tasks)
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


def _raise_risk(rule: Rule, fired: list[Account], *, now: datetime) -> int:
    """Set the rule's risk level in one UPDATE, never lowering an account already higher."""
    level = rule.set_risk_level
    ranks = {str(value): rank for value, rank in RISK_RANK.items()}
    lower = ["", *(value for value, rank in ranks.items() if rank < ranks[level])]
    raising = [account for account in fired if account.risk_level in lower]
    Account.objects.filter(pk__in=[a.pk for a in raising], risk_level__in=lower).update(
        risk_level=level, risk_level_set_at=now
    )
    for account in raising:
        account.risk_level = level
        account.risk_level_set_at = now
    return len(raising)


def _rule_tasks(
    rule: Rule, fired: list[Account], *, directory: TeamDirectory, responses: Responses, now: datetime
) -> list[Task]:
    """One task per fired account, due when the rule says or, with no due time of its own, as the
    matrix row of the account's risk level (already raised by the rule) says."""
    unit = rule.task_due_unit or SlaUnit.BUSINESS_HOURS
    guidance = _("Created by the rule “%(rule)s”: %(description)s") % {
        "rule": rule.name,
        "description": describe_rule(rule),
    }
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


def _start_runs(
    rule: Rule, fired: list[Account], *, directory: TeamDirectory, responses: Responses, now: datetime
) -> tuple[int, list[Task]]:
    """Start the rule's playbook on each fired account not already running it: the runs in one
    INSERT, their tasks returned for the caller's single Task INSERT."""
    steps = PlaybookStep.objects.select_related("email_template").order_by("position")
    playbook = Playbook.objects.prefetch_related(Prefetch("steps", queryset=steps)).get(
        pk=rule.start_playbook_id
    )
    if not playbook.is_active:
        return 0, []
    busy = set(
        PlaybookRun.objects.filter(
            playbook=playbook, status=RunStatus.ACTIVE, account_id__in=[a.pk for a in fired]
        ).values_list("account_id", flat=True)
    )
    starting = [account for account in fired if account.pk not in busy]
    runs = PlaybookRun.objects.bulk_create(
        [PlaybookRun(account=account, playbook=playbook, rule=rule, started_at=now) for account in starting]
    )
    tasks: list[Task] = []
    for account, run in zip(starting, runs, strict=True):
        tasks += build_run_tasks(
            account=account,
            playbook=playbook,
            run=run,
            start=now,
            directory=directory,
            responses=responses,
            rule=rule,
        )
    return len(runs), tasks


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
    description = describe_rule(rule)
    for person, accounts, as_manager in recipients.values():
        team = directory.team(accounts[0].owner_id if as_manager else person.pk)
        chat_team = team if team is not None and team.pk not in chatted else None
        if chat_team is not None:
            chatted.add(chat_team.pk)
        notify(
            recipients=[person],
            kind=NotificationKind.RULE_FIRED,
            title=_notification_title(rule, accounts),
            body=_notification_body(description, accounts),
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


# --- words -------------------------------------------------------------------------------------


def _number(value: Decimal | float | int | None) -> str:
    if value is None:
        return "?"
    # 70.00 reads as "70", 72.50 as "72.5".
    return f"{Decimal(value).normalize():f}"


def _join(items: list[str]) -> str:
    return _(", ").join(items)


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def describe_scope(rule: Rule) -> str:
    """The scope beyond the value tier, e.g. "in Retail, Education; Onboarding; tagged “vip”"."""
    parts = []
    if rule.scope_industries:
        parts.append(
            _("industry: %(industries)s")
            % {"industries": _(" or ").join(_label(Industry, i) for i in rule.scope_industries)}
        )
    if rule.scope_lifecycle_stages:
        parts.append(
            _("lifecycle stage: %(stages)s")
            % {"stages": _(" or ").join(_label(LifecycleStage, s) for s in rule.scope_lifecycle_stages)}
        )
    if rule.scope_tag:
        parts.append(_("tagged “%(tag)s”") % {"tag": rule.scope_tag})
    return _("; ").join(parts)


def _subject(rule: Rule) -> str:
    if rule.scope_value_tiers:
        tiers = _(" or ").join(sorted(rule.scope_value_tiers))
        return _("a tier-%(tiers)s account") % {"tiers": tiers}
    return _("an account")


def describe_condition(rule: Rule) -> str:
    """The IF half, e.g. "When a tier-A account's score is below 70 for 3 consecutive days"."""
    kind = rule.condition_kind
    values = {
        "account": _subject(rule),
        "threshold": _number(rule.threshold),
        "days": rule.days,
        "measure": _label(MeasureKey, rule.measure),
        "tier": _label(Tier, rule.tier),
        "alert": _label(AlertKind, rule.alert_kind),
        "event": _label(EventKind, rule.event_kind),
    }
    once = rule.days <= 1
    if kind == ConditionKind.SCORE_BELOW:
        text = (
            _("When %(account)s's score is below %(threshold)s")
            if once
            else _("When %(account)s's score is below %(threshold)s for %(days)s consecutive days")
        )
    elif kind == ConditionKind.SCORE_ABOVE:
        text = (
            _("When %(account)s's score is above %(threshold)s")
            if once
            else _("When %(account)s's score is above %(threshold)s for %(days)s consecutive days")
        )
    elif kind == ConditionKind.TIER_IS:
        text = (
            _("When %(account)s's health tier is %(tier)s")
            if once
            else _("When %(account)s's health tier is %(tier)s for %(days)s consecutive days")
        )
    elif kind == ConditionKind.MEASURE_BELOW:
        text = (
            _("When %(account)s's “%(measure)s” sub-score is below %(threshold)s")
            if once
            else _(
                "When %(account)s's “%(measure)s” sub-score is below %(threshold)s "
                "for %(days)s consecutive days"
            )
        )
    elif kind == ConditionKind.MEASURE_ABOVE:
        text = (
            _("When %(account)s's “%(measure)s” sub-score is above %(threshold)s")
            if once
            else _(
                "When %(account)s's “%(measure)s” sub-score is above %(threshold)s "
                "for %(days)s consecutive days"
            )
        )
    elif kind == ConditionKind.ALERT_RAISED:
        text = _("When %(account)s has an open “%(alert)s” alert")
    elif kind == ConditionKind.EVENT:
        text = (
            _("When %(account)s records “%(event)s” today")
            if once
            else _("When %(account)s recorded “%(event)s” in the last %(days)s days")
        )
    else:
        return _("When an unknown condition holds")
    sentence = text % values
    scope = describe_scope(rule)
    if scope:
        sentence = _("%(condition)s (%(scope)s)") % {"condition": sentence, "scope": scope}
    return sentence


def describe_actions(rule: Rule) -> str:
    """The THEN half, e.g. "set Medium risk, notify the owner"."""
    actions = []
    if rule.set_risk_level:
        actions.append(_("set %(level)s risk") % {"level": _label(RiskLevel, rule.set_risk_level)})
    if rule.start_playbook_id:
        actions.append(_("start the “%(playbook)s” playbook") % {"playbook": rule.start_playbook})
    if rule.task_title and rule.task_due_amount:
        actions.append(
            _("create a “%(title)s” task due in %(amount)s %(unit)s")
            % {
                "title": rule.task_title,
                "amount": rule.task_due_amount,
                "unit": _label(SlaUnit, rule.task_due_unit or SlaUnit.BUSINESS_HOURS).lower(),
            }
        )
    elif rule.task_title:
        actions.append(
            _("create a “%(title)s” task due as the intervention matrix says for the account's risk level")
            % {"title": rule.task_title}
        )
    if rule.notify_owner and rule.notify_manager:
        actions.append(_("notify the owner and the managers"))
    elif rule.notify_owner:
        actions.append(_("notify the owner"))
    elif rule.notify_manager:
        actions.append(_("notify the managers"))
    if rule.email_template_id:
        actions.append(_("email “%(template)s” to the primary contact") % {"template": rule.email_template})
    if rule.add_tag:
        actions.append(_("tag the account “%(tag)s”") % {"tag": rule.add_tag})
    if not actions:
        return _("do nothing")
    return _join(actions)


def describe_rule(rule: Rule) -> str:
    """The rule in one sentence: "When a tier-A account's score is below 70 for 3 consecutive
    days: set Medium risk, notify the owner"."""
    return _("%(condition)s: %(actions)s") % {
        "condition": describe_condition(rule),
        "actions": describe_actions(rule),
    }
