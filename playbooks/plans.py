"""Retention plans: every write goes through these functions.

A plan moves only along PLAN_TRANSITIONS. Every transition and edit locks the plan's row first
and only then decides (permissions, version, the approvals its offers need), so nothing it
checks can change before it acts. Each move is one conditional UPDATE on (status, version)
under that lock, plus one PlanEvent whose (plan, version) is unique, so two managers
deciding at the same moment, or a form posted twice, make exactly one transition; the loser is
told who won. A database trigger refuses illegal moves even from raw SQL.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, DecimalField, F, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Account
from csworkbench.core.i18n import in_every_language
from csworkbench.core.models import record_audit
from csworkbench.core.roles import Role, has_role, roles_of

from .business_time import SlaUnit, due_at
from .models import (
    OPEN_STATUSES,
    PLAN_TRANSITIONS,
    ApprovalPolicy,
    OfferKind,
    Outcome,
    PlanApproval,
    PlanEvent,
    PlanOffer,
    PlanOutcome,
    PlanStatus,
    Priority,
    RetentionPlan,
    StepKind,
    Task,
    TaskStatus,
)
from .plan_notices import notify_author, notify_managers
from .querysets import managed_member_ids


class PlanConflict(ValidationError):
    """Someone else moved the plan first, or the plan changed since the page was loaded."""


# --- who sees and does what ------------------------------------------------------------------


def plans_visible_to(user: Any):
    """CSMs: plans they wrote or on accounts they own. Managers: their teams' plans and those of
    users in no managed team (`managed_member_ids`; all of them while no team has a manager).
    Admins: all. Interviewers and users without a role: none."""
    roles = roles_of(user)
    plans = RetentionPlan.objects.all()
    if Role.ADMIN in roles:
        return plans
    q = Q(pk__in=[])
    if Role.MANAGER in roles:
        members = managed_member_ids(user)
        if members is None:
            return plans
        q |= Q(author__in=members) | Q(account__owner__in=members) | Q(author=user)
    if Role.CSM in roles:
        q |= Q(author=user) | Q(account__owner=user)
    if not (Role.MANAGER in roles or Role.CSM in roles):
        return plans.none()
    return plans.filter(q)


def _check_author(plan: RetentionPlan, user: Any) -> None:
    if plan.author_id != user.pk and not has_role(user, Role.ADMIN):
        raise PermissionDenied(_("Only the plan's author changes it."))


def _check_decider(plan: RetentionPlan, manager: Any) -> None:
    if not has_role(manager, Role.MANAGER):
        raise PermissionDenied(_("Only managers decide on retention plans."))
    if plan.author_id == manager.pk:
        raise PermissionDenied(_("Nobody approves their own plan."))
    if not plans_visible_to(manager).filter(pk=plan.pk).exists():
        raise PermissionDenied(_("This plan belongs to another team."))


# --- money ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferTotals:
    cost: Decimal
    max_discount: Decimal


def offer_totals(plan: RetentionPlan) -> OfferTotals:
    # One aggregate: ordering by discount and taking the first row put a NULL discount first on
    # PostgreSQL (NULLS FIRST in descending order), hiding a larger discount from the policy.
    totals = plan.offers.aggregate(
        cost=Sum("cost"), max_discount=Max("discount_percent", filter=Q(kind=OfferKind.DISCOUNT))
    )
    return OfferTotals(cost=totals["cost"] or Decimal(0), max_discount=totals["max_discount"] or Decimal(0))


def approvals_required(totals: OfferTotals, policy: ApprovalPolicy) -> int:
    """0: within the CSM's own limits; 1: a manager; 2: a manager and a second approver."""
    if totals.cost > policy.second_cost_limit or totals.max_discount > policy.second_discount_limit:
        return 2
    if totals.cost > policy.manager_cost_limit or totals.max_discount > policy.manager_discount_limit:
        return 1
    return 0


@transaction.atomic
def update_approval_policy(
    *,
    user: Any,
    manager_cost_limit: Decimal,
    manager_discount_limit: Decimal,
    second_cost_limit: Decimal,
    second_discount_limit: Decimal,
) -> ApprovalPolicy:
    """Managers and admins set the limits; the second limits are never below the first."""
    if not has_role(user, Role.MANAGER, Role.ADMIN):
        raise PermissionDenied(_("Only managers and admins set the approval limits."))
    errors = {}
    if second_cost_limit < manager_cost_limit:
        errors["second_cost_limit"] = _("The second approver's cost limit cannot be below the first.")
    if second_discount_limit < manager_discount_limit:
        errors["second_discount_limit"] = _("The second approver's discount limit cannot be below the first.")
    if errors:
        raise ValidationError(errors)
    policy = ApprovalPolicy.objects.select_for_update().order_by("pk").first() or ApprovalPolicy()
    before = {
        "manager_cost_limit": str(policy.manager_cost_limit),
        "manager_discount_limit": str(policy.manager_discount_limit),
        "second_cost_limit": str(policy.second_cost_limit),
        "second_discount_limit": str(policy.second_discount_limit),
    }
    policy.manager_cost_limit = manager_cost_limit
    policy.manager_discount_limit = manager_discount_limit
    policy.second_cost_limit = second_cost_limit
    policy.second_discount_limit = second_discount_limit
    policy.save()
    record_audit(actor=user, action="plan.policy", target="approval policy", before=before)
    return policy


# --- drafting ------------------------------------------------------------------------------------


@transaction.atomic
def draft_plan(
    *,
    account: Account,
    author: Any,
    root_cause: Any,
    objectives: str,
    target_date: date,
    root_cause_detail: Any = None,
    diagnosis: str = "",
    task: Task | None = None,
    offers: list[dict] = (),
    steps: list[dict] = (),
) -> RetentionPlan:
    """A new draft by the account's CSM (or a manager), optionally from a playbook's
    "draft retention plan" task on the same account."""
    if not has_role(author, Role.CSM, Role.MANAGER):
        raise PermissionDenied(_("Only CSMs and managers draft retention plans."))
    if not Account.objects.editable_by(author).filter(pk=account.pk).exists():
        raise PermissionDenied(_("You may not draft plans for this account."))
    if task is not None and (task.account_id != account.pk or task.kind != StepKind.RETENTION_PLAN):
        raise ValidationError(_("That task is not a retention-plan task of this account."))
    if root_cause_detail is not None and root_cause_detail.category_id != root_cause.pk:
        raise ValidationError({"root_cause_detail": _("The sub-reason belongs to another category.")})
    plan = RetentionPlan.objects.create(
        account=account,
        author=author,
        task=task,
        playbook=task.run.playbook if task is not None and task.run_id else None,
        risk_level=account.risk_level,
        root_cause=root_cause,
        root_cause_detail=root_cause_detail,
        diagnosis=diagnosis,
        objectives=objectives,
        target_date=target_date,
        mrr_at_stake=account.mrr,
    )
    _replace_children(plan, offers=offers, steps=steps)
    PlanEvent.objects.create(plan=plan, from_status="", to_status=PlanStatus.DRAFT, version=1, actor=author)
    record_audit(actor=author, action="plan.draft", account=account, target=str(plan.pk))
    return plan


def churned_message(account: Account) -> str:
    return _(
        "%(account)s has already churned: a retention plan is for a customer you can still keep. "
        "Why they left belongs in the exit interview."
    ) % {"account": account.name}


def _replace_children(plan: RetentionPlan, *, offers, steps) -> None:
    plan.offers.all().delete()
    plan.steps.all().delete()
    for offer in offers:
        plan.offers.create(**offer)
    for step in steps:
        plan.steps.create(**step)


EDITABLE_FIELDS = frozenset({"root_cause", "root_cause_detail", "diagnosis", "objectives", "target_date"})


@transaction.atomic
def update_plan(
    *,
    plan: RetentionPlan,
    author: Any,
    offers: list[dict],
    steps: list[dict],
    expected_version: int | None = None,
    **fields: Any,
) -> RetentionPlan:
    """Edit a draft, or a plan sent back for changes. Bumps the version, so a submission or
    decision made on the old text is refused; with `expected_version`, an edit made on a page
    loaded before someone else's change is refused too."""
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    locked = _lock(plan)
    _check_author(locked, author)
    if not locked.is_editable:
        raise PlanConflict(
            _("This plan is %(status)s and can no longer be edited.")
            % {"status": locked.get_status_display()}
        )
    if expected_version is not None and locked.version != expected_version:
        raise PlanConflict(conflict_message(locked))
    root_cause = fields.get("root_cause", locked.root_cause)
    detail = fields.get("root_cause_detail", locked.root_cause_detail)
    if detail is not None and detail.category_id != root_cause.pk:
        raise ValidationError({"root_cause_detail": _("The sub-reason belongs to another category.")})
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.version = F("version") + 1
    locked.save()
    locked.refresh_from_db()
    _replace_children(locked, offers=offers, steps=steps)
    # An edit is no status move, so it is audited, not a PlanEvent: the history's versions skip it.
    record_audit(actor=author, action="plan.edit", account=locked.account, target=str(locked.pk))
    return locked


# --- transitions ---------------------------------------------------------------------------------


def _lock(plan: RetentionPlan) -> RetentionPlan:
    """The plan's row, locked until the transaction ends, read fresh. Every transition locks
    first and then decides, from this row and what it reads after the lock (offers, approvals):
    a check made before the lock could be overtaken by an edit that commits while it waits."""
    # of=("self",): the account joined for reading is not locked (metric loads lock it to share).
    return RetentionPlan.objects.select_for_update(of=("self",)).select_related("account").get(pk=plan.pk)


def _check_move(current: RetentionPlan, *, to: str, expected_version: int | None) -> int:
    """The version to move from; PlanConflict unless `to` is a legal move from this version."""
    version = current.version if expected_version is None else expected_version
    if to not in PLAN_TRANSITIONS.get(current.status, ()) or current.version != version:
        raise PlanConflict(conflict_message(current))
    return version


def _move(
    current: RetentionPlan,
    *,
    to: str,
    actor: Any,
    comment: str = "",
    expected_version: int | None = None,
    **changes: Any,
) -> RetentionPlan:
    """One transition of a plan the caller has locked with `_lock` in this transaction."""
    version = _check_move(current, to=to, expected_version=expected_version)
    updated = RetentionPlan.objects.filter(pk=current.pk, status=current.status, version=version).update(
        status=to, version=version + 1, **changes
    )
    if not updated:  # pragma: no cover - the lock makes this unreachable, the guard stays
        raise PlanConflict(conflict_message(current))
    PlanEvent.objects.create(
        plan=current,
        from_status=current.status,
        to_status=to,
        version=version + 1,
        actor=actor,
        comment=comment,
    )
    record_audit(
        actor=actor,
        action=f"plan.{to}",
        account=current.account,
        target=str(current.pk),
        from_status=current.status,
        comment=comment,
    )
    current.refresh_from_db()
    return current


def conflict_message(plan: RetentionPlan) -> str:
    last = plan.events.select_related("actor").order_by("-version").first()
    who = (
        (last.actor.get_full_name() or last.actor.get_username()) if last and last.actor else _("the system")
    )
    when = timezone.localtime(last.created_at).strftime("%Y-%m-%d %H:%M") if last else ""
    return _(
        "This plan changed before your action: it is now “%(status)s” (by %(who)s at %(when)s). Nothing was done."  # noqa: E501
    ) % {
        "status": plan.get_status_display(),
        "who": who,
        "when": when,
    }


@transaction.atomic
def submit_plan(
    *, plan: RetentionPlan, user: Any, comment: str = "", expected_version: int | None = None
) -> RetentionPlan:
    """Send the plan to a manager. Within the policy's first limits it is approved at once.
    Submitting completes the playbook task the plan was drafted from.

    The approvals needed are counted from the offers as they are under the plan's lock: an edit
    that raised them and committed while this submission waited is what gets submitted (or, with
    an older version, the submission is refused)."""
    current = _lock(plan)
    _check_author(current, user)
    _check_move(current, to=PlanStatus.SUBMITTED, expected_version=expected_version)
    if not current.objectives.strip():
        raise ValidationError({"objectives": _("Say what the plan should achieve.")})
    needed = approvals_required(offer_totals(current), ApprovalPolicy.current())
    plan = _move(
        current,
        to=PlanStatus.SUBMITTED,
        actor=user,
        comment=comment,
        expected_version=expected_version,
        submitted_at=timezone.now(),
        approvals_needed=max(needed, 1),
        mrr_at_stake=current.account.mrr,
    )
    if plan.task_id:
        Task.objects.filter(pk=plan.task_id, status__in=OPEN_STATUSES).update(
            status=TaskStatus.DONE,
            outcome=Outcome.RESOLVED,
            outcome_note=_("Retention plan submitted."),
            completed_at=timezone.now(),
            completed_by=user,
            snoozed_until=None,
        )
        from .services import finish_run_if_done

        if plan.task.run_id:
            finish_run_if_done(plan.task.run_id, now=timezone.now())
    if needed == 0:
        return _approve(plan, actor=None, comment=_("Within the approval limits: approved on submission."))
    notify_managers(plan)
    return plan


@transaction.atomic
def approve_plan(
    *, plan: RetentionPlan, manager: Any, comment: str = "", expected_version: int
) -> RetentionPlan:
    """A manager's approval. With a second approver required, the first approval is recorded
    and the plan waits for a different manager."""
    current = _lock(plan)
    _check_decider(current, manager)
    if current.status != PlanStatus.SUBMITTED or current.version != expected_version:
        raise PlanConflict(conflict_message(current))
    if current.approvals.filter(version=expected_version, approver=manager).exists():
        raise PlanConflict(_("You have already approved this version; it waits for a second approver."))
    PlanApproval.objects.create(plan=current, approver=manager, version=expected_version, comment=comment)
    given = current.approvals.filter(version=expected_version).count()
    if given < current.approvals_needed:
        record_audit(
            actor=manager, action="plan.first_approval", account=current.account, target=str(current.pk)
        )
        notify_managers(current, exclude=[manager], second=True)
        return current
    return _approve(current, actor=manager, comment=comment, expected_version=expected_version)


def _approve(
    plan: RetentionPlan, *, actor: Any, comment: str, expected_version: int | None = None
) -> RetentionPlan:
    """Approve a plan the caller holds locked (`_lock`), and create its next steps' tasks."""
    now = timezone.now()
    plan = _move(
        plan,
        to=PlanStatus.APPROVED,
        actor=actor,
        comment=comment,
        expected_version=expected_version,
        decided_at=now,
    )
    tasks = _create_step_tasks(plan, now=now)
    notify_author(
        plan,
        title=lambda: _("Plan approved: %(account)s") % {"account": plan.account},
        body=lambda: (
            (comment + "\n" if comment else "")
            + ngettext(
                "%(count)s next step is now a task.", "%(count)s next steps are now tasks.", len(tasks)
            )
            % {"count": len(tasks)}
        ),
    )
    return plan


def _create_step_tasks(plan: RetentionPlan, *, now: datetime) -> list[Task]:
    from .services import TeamDirectory, assignee_for, notify_assignees

    directory = TeamDirectory([plan.account.owner_id, plan.author_id])
    created = []
    for step in plan.steps.select_for_update().filter(task__isnull=True):
        assignee = (
            assignee_for(account=plan.account, owner_role=step.owner_role, directory=directory) or plan.author
        )
        # A CS lead is often in no team as a member: their steps count on the owner's calendar,
        # as playbook steps do (the default calendar would ignore the team's hours and holidays).
        on_team = directory.team(assignee.pk) is not None
        calendar = directory.calendar(assignee.pk if on_team else plan.account.owner_id or plan.author_id)
        task = Task.objects.create(
            account=plan.account,
            title=step.title,
            guidance=_("Next step of the approved retention plan."),
            guidance_texts=in_every_language(lambda: _("Next step of the approved retention plan.")),
            assignee=assignee,
            owner_role=step.owner_role,
            risk_level=plan.risk_level,
            priority=Priority.HIGH,
            due_at=due_at(now, step.due_offset_hours, SlaUnit.BUSINESS_HOURS, calendar),
            created_at=now,
        )
        step.task = task
        step.save(update_fields=["task"])
        created.append(task)
    notify_assignees(tasks=created, actor=None)
    return created


@transaction.atomic
def request_changes(
    *, plan: RetentionPlan, manager: Any, comment: str, expected_version: int
) -> RetentionPlan:
    current = _lock(plan)
    _check_decider(current, manager)
    if not comment.strip():
        raise ValidationError({"comment": _("Say what should change.")})
    plan = _move(
        current,
        to=PlanStatus.CHANGES_REQUESTED,
        actor=manager,
        comment=comment,
        expected_version=expected_version,
    )
    notify_author(
        plan, title=lambda: _("Changes requested: %(account)s") % {"account": plan.account}, body=comment
    )
    return plan


@transaction.atomic
def reject_plan(*, plan: RetentionPlan, manager: Any, comment: str, expected_version: int) -> RetentionPlan:
    current = _lock(plan)
    _check_decider(current, manager)
    if not comment.strip():
        raise ValidationError({"comment": _("Say why the plan is rejected.")})
    plan = _move(
        current,
        to=PlanStatus.REJECTED,
        actor=manager,
        comment=comment,
        expected_version=expected_version,
        decided_at=timezone.now(),
    )
    notify_author(
        plan, title=lambda: _("Plan rejected: %(account)s") % {"account": plan.account}, body=comment
    )
    return plan


@transaction.atomic
def activate_plan(
    *, plan: RetentionPlan, user: Any, comment: str = "", expected_version: int | None = None
) -> RetentionPlan:
    """The offer is on the table: the plan is being carried out."""
    current = _lock(plan)
    if current.author_id != user.pk and not has_role(user, Role.MANAGER, Role.ADMIN):
        raise PermissionDenied(_("Only the author or a manager puts the plan in motion."))
    return _move(
        current, to=PlanStatus.ACTIVE, actor=user, comment=comment, expected_version=expected_version
    )


@transaction.atomic
def close_plan(
    *, plan: RetentionPlan, user: Any, outcome: str, comment: str = "", expected_version: int | None = None
) -> RetentionPlan:
    current = _lock(plan)
    if current.author_id != user.pk and not has_role(user, Role.MANAGER, Role.ADMIN):
        raise PermissionDenied(_("Only the author or a manager closes the plan."))
    if outcome not in PlanOutcome.values:
        raise ValidationError({"outcome": _("Choose saved, downgraded or churned.")})
    return _move(
        current,
        to=PlanStatus.CLOSED,
        actor=user,
        comment=comment,
        expected_version=expected_version,
        outcome=outcome,
        outcome_note=comment,
        closed_at=timezone.now(),
    )


# --- reading -------------------------------------------------------------------------------------


def pending_for(manager: Any):
    """The approval inbox: submitted plans the manager may decide, oldest first, with what is
    at stake, in one query."""
    return (
        plans_visible_to(manager)
        .filter(status=PlanStatus.SUBMITTED)
        .exclude(author=manager)
        .select_related("account", "author", "root_cause")
        .annotate(
            # Subqueries, not joins: joining offers and approvals together would multiply sums.
            offer_cost=Coalesce(
                Subquery(
                    PlanOffer.objects.filter(plan=OuterRef("pk"))
                    .values("plan")
                    .annotate(total=Sum("cost"))
                    .values("total")
                ),
                Value(Decimal(0)),
                output_field=DecimalField(max_digits=12, decimal_places=2),
            ),
            approvals_given=Coalesce(
                Subquery(
                    PlanApproval.objects.filter(plan=OuterRef("pk"), version=OuterRef("version"))
                    .values("plan")
                    .annotate(count=Count("pk"))
                    .values("count")
                ),
                Value(0),
            ),
        )
        .order_by("submitted_at", "pk")
    )


def save_rates(plans) -> dict[str, list[dict]]:
    """Closed plans' outcomes by playbook, offer kind and risk level: three grouped queries."""
    closed = plans.filter(status=PlanStatus.CLOSED)

    def rows(values, label_of):
        result = []
        grouped = (
            closed.values(values)
            .annotate(
                total=Count("pk", distinct=True),
                saved=Count("pk", filter=Q(outcome=PlanOutcome.SAVED), distinct=True),
                downgraded=Count("pk", filter=Q(outcome=PlanOutcome.DOWNGRADED), distinct=True),
                churned=Count("pk", filter=Q(outcome=PlanOutcome.CHURNED), distinct=True),
            )
            .order_by(values)
        )
        for row in grouped:
            total = row["total"]
            result.append(
                {
                    "label": label_of(row[values]),
                    "total": total,
                    "saved": row["saved"],
                    "downgraded": row["downgraded"],
                    "churned": row["churned"],
                    "save_rate": round(100 * row["saved"] / total) if total else None,
                    "kept_rate": round(100 * (row["saved"] + row["downgraded"]) / total) if total else None,
                }
            )
        return result

    from accounts.models import RiskLevel

    from .models import Playbook

    names = dict(Playbook.objects.values_list("pk", "name"))
    return {
        "playbook": rows("playbook", lambda pk: names.get(pk) or _("No playbook")),
        "offer": rows("offers__kind", lambda kind: OfferKind(kind).label if kind else _("No offer")),
        "risk": rows("risk_level", lambda level: RiskLevel(level).label if level else _("Not set")),
    }
