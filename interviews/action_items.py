"""The closed loop: action items raised from exit interviews and churn reviews, tracked to done,
and the churn review that checks their effect. Every write goes through a function here.

Effect: an action item is raised against a reason category in some period (the churn review's
period, or the month the interviewed account churned). The review shows that category's
completed interviews in the period the item was raised beside its count in the period under
review, so a falling number is visible — a hint, not proof.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, DateField, Q
from django.db.models.functions import Trunc
from django.utils import timezone
from django.utils.translation import gettext as _

from csworkbench.core.models import record_audit
from csworkbench.core.roles import Role, has_role

from .models import ActionItem, ActionStatus, ExitInterview, ReasonCategory
from .periods import Period, parse_period, period_for
from .reasons import ReasonReport, in_span, reasons_by_period, reported_interviews

RAISE_ROLES = (Role.MANAGER, Role.ADMIN, Role.CSM, Role.INTERVIEWER)
EDITABLE_FIELDS = ("title", "description", "team", "owner", "status", "due_on", "category")


def may_raise(user: Any) -> bool:
    return has_role(user, *RAISE_ROLES)


def may_edit(*, item: ActionItem, user: Any) -> bool:
    """Managers and admins change any item; others the items they raised or own."""
    if has_role(user, Role.MANAGER, Role.ADMIN):
        return True
    return may_raise(user) and user.pk in (item.created_by_id, item.owner_id)


def visible_items(user: Any):
    """Every role that raises items reads them all: the loop is a shared one."""
    if not may_raise(user):
        return ActionItem.objects.none()
    return ActionItem.objects.select_related("owner", "category", "interview__account")


@transaction.atomic
def raise_action_item(
    *,
    user: Any,
    title: str,
    team: str,
    description: str = "",
    owner: Any = None,
    due_on: date | None = None,
    category: ReasonCategory | None = None,
    interview: ExitInterview | None = None,
    review_period: str = "",
) -> ActionItem:
    """A new open action item from an interview or a churn review (one of the two is required).
    An item from an interview takes the interview's main reason unless told otherwise."""
    if not may_raise(user):
        raise PermissionDenied(_("Only managers, admins, CSMs and interviewers raise action items."))
    if interview is None and parse_period(review_period) is None:
        raise ValidationError(
            _("An action item comes from an exit interview or a churn review."), code="no_source"
        )
    if category is None and interview is not None:
        category = interview.primary_category
    item = ActionItem.objects.create(
        interview=interview,
        review_period=review_period if interview is None else "",
        title=title.strip(),
        description=description.strip(),
        team=team,
        owner=owner,
        due_on=due_on,
        category=category,
        created_by=user,
    )
    record_audit(
        actor=user,
        action="action_item.raised",
        account=interview.account if interview else None,
        target=f"action item {item.pk}",
        title=item.title,
        team=item.team,
        review_period=item.review_period,
    )
    return item


@transaction.atomic
def update_action_item(*, item: ActionItem, user: Any, **changes: Any) -> ActionItem:
    """Change an item; moving it to done stamps done_at, moving it back clears it. Audited with
    what changed. The row is locked, so two people closing it at once leave one audit entry each
    with the right before/after."""
    if not may_edit(item=item, user=user):
        raise PermissionDenied(
            _("Only its owner, whoever raised it, managers and admins change an action item.")
        )
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    item = ActionItem.objects.select_for_update().get(pk=item.pk)
    diff = {}
    for name, value in changes.items():
        before = getattr(item, name)
        if before != value:
            diff[name] = [
                str(before) if before is not None else None,
                str(value) if value is not None else None,
            ]
            setattr(item, name, value)
    if "status" in diff:
        item.done_at = timezone.now() if item.status == ActionStatus.DONE else None
    if diff:
        item.save()
        record_audit(actor=user, action="action_item.updated", target=f"action item {item.pk}", changes=diff)
    return item


# --- the churn review ---------------------------------------------------------------------------


def raised_period(item: ActionItem) -> Period:
    """The period an item was raised for: its review's, else the month its interview's account
    churned, else the month it was created."""
    review = parse_period(item.review_period)
    if review is not None:
        return review
    churned_on = None
    if item.interview is not None:
        churned_on = item.interview.churned_on or item.interview.account.churned_on
    return period_for("month", churned_on or timezone.localdate(item.created_at))


def monthly_counts(start: date, end: date) -> dict[tuple[date, int], int]:
    """(month start, category id) → completed interviews. One GROUP BY."""
    grouped = (
        in_span(reported_interviews(), start, end)
        .annotate(month=Trunc("churn_date", "month", output_field=DateField()))
        .values("month", "primary_category_id")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return {(_as_date(g["month"]), g["primary_category_id"]): g["count"] for g in grouped}


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def count_in(counts: dict, period: Period, category_id: int) -> int:
    total, month = 0, period.start
    while month < period.end:
        total += counts.get((month, category_id), 0)
        month = period_for("month", month).end
    return total


@dataclass
class Effect:
    raised: Period
    before: int
    now: int

    @property
    def raised_label(self) -> str:
        return self.raised.label


def top_reasons(period: Period) -> tuple[list[dict], ReasonReport]:
    """The period's reasons, most interviews first, with the previous period beside them."""
    report = reasons_by_period([period.previous(), period])
    rows = []
    for row in report.rows:
        before, now = row.cells
        if not now.count and not before.count:
            continue
        rows.append({"category": row.category, "now": now, "before": before, "action_items": []})
    rows.sort(key=lambda r: (-r["now"].count, -r["now"].mrr, r["category"].position))
    return rows, report


def review_context(*, period: Period, user: Any) -> dict:
    """Everything the churn review shows, in a fixed number of queries."""
    rows, report = top_reasons(period)
    previous = period.previous()
    by_category = {row["category"].pk: row for row in rows}
    items = list(
        visible_items(user)
        .filter(category_id__in=list(by_category), created_at__lt=_aware(period.end))
        .exclude(status=ActionStatus.DROPPED)
        .order_by("created_at", "pk")
    )
    periods = [raised_period(item) for item in items]
    first = min([p.start for p in periods] + [period.start])
    counts = monthly_counts(first, period.end) if items else {}
    for item, raised in zip(items, periods, strict=True):
        effect = Effect(
            raised, count_in(counts, raised, item.category_id), count_in(counts, period, item.category_id)
        )
        by_category[item.category_id]["action_items"].append(
            {"item": item, "effect": effect if raised != period else None}
        )
    previous_items = list(
        visible_items(user).filter(Q(review_period=previous.key)).order_by("created_at", "pk")
    )
    return {
        "period": period,
        "previous": previous,
        "next": period.next(),
        "rows": rows,
        "avoidable": report.avoidable_totals[1],
        "unavoidable": report.unavoidable_totals[1],
        "previous_items": previous_items,
        "previous_done": sum(1 for i in previous_items if i.status == ActionStatus.DONE),
        "can_raise": may_raise(user),
    }


def _aware(day: date):
    from datetime import datetime, time

    return timezone.make_aware(datetime.combine(day, time.min))
