"""Who hears about a retention plan's moves: its author (sent back, approved, rejected) and the
managers who decide it (submitted, a second approval needed), in the app and by email."""

from collections.abc import Callable

from django.urls import reverse
from django.utils.translation import gettext as _

from .models import NotificationKind, RetentionPlan
from .notifications import notify
from .services import TeamDirectory


def plan_url(plan: RetentionPlan) -> str:
    return reverse("plans:detail", args=[plan.pk])


def notify_author(
    plan: RetentionPlan, *, title: Callable[[], str], body: str | Callable[[], str] = ""
) -> None:
    notify(
        recipients=[plan.author],
        kind=NotificationKind.PLAN,
        title=title,
        body=body,
        url=plan_url(plan),
        account=plan.account,
        email=True,
    )


def notify_managers(plan: RetentionPlan, *, exclude: list | None = None, second: bool = False) -> None:
    excluded = {u.pk for u in exclude or []} | {plan.author_id}
    managers = [m for m in TeamDirectory([plan.author_id]).managers(plan.author_id) if m.pk not in excluded]

    def title() -> str:
        if second:
            return _("A second approval is needed: %(account)s") % {"account": plan.account}
        return _("Retention plan to approve: %(account)s") % {"account": plan.account}

    notify(
        recipients=managers,
        kind=NotificationKind.PLAN,
        title=title,
        url=reverse("playbooks:approvals"),
        account=plan.account,
        email=True,
    )
