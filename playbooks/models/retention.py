"""Retention plans: their status machine, offers, next steps, events (the audit of each
transition), approvals and the approval policy."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import RiskLevel

from .work import OwnerRole, Playbook, Task


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


# The only moves a plan can make. The services check them, a conditional UPDATE makes them
# race-safe, and a database trigger (migration 0004) refuses anything else.
PLAN_TRANSITIONS: dict[str, tuple[str, ...]] = {
    PlanStatus.DRAFT: (PlanStatus.SUBMITTED,),
    PlanStatus.SUBMITTED: (PlanStatus.APPROVED, PlanStatus.CHANGES_REQUESTED, PlanStatus.REJECTED),
    PlanStatus.CHANGES_REQUESTED: (PlanStatus.SUBMITTED,),
    PlanStatus.APPROVED: (PlanStatus.ACTIVE,),
    PlanStatus.ACTIVE: (PlanStatus.CLOSED,),
    PlanStatus.REJECTED: (),
    PlanStatus.CLOSED: (),
}
PENDING_PLAN_STATUSES = (PlanStatus.SUBMITTED,)


def plan_transition_q(from_field: str = "from_status", to_field: str = "to_status") -> Q:
    q = Q(**{from_field: "", to_field: PlanStatus.DRAFT})
    for source, targets in PLAN_TRANSITIONS.items():
        for target in targets:
            q |= Q(**{from_field: source, to_field: target})
    return q


class PlanOutcome(models.TextChoices):
    SAVED = "saved", _("Saved")
    DOWNGRADED = "downgraded", _("Downgraded")
    CHURNED = "churned", _("Churned")


class RetentionPlan(models.Model):
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="retention_plans",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="retention_plans",
    )
    task = models.ForeignKey(
        Task,
        verbose_name=_("from task"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="retention_plans",
    )
    playbook = models.ForeignKey(
        Playbook,
        verbose_name=_("playbook"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="plans",
    )
    risk_level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices, blank=True)
    root_cause = models.ForeignKey(
        "interviews.ReasonCategory",
        verbose_name=_("root cause"),
        on_delete=models.PROTECT,
        related_name="plans",
    )
    root_cause_detail = models.ForeignKey(
        "interviews.SubReason",
        verbose_name=_("sub-reason"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="plans",
    )
    diagnosis = models.TextField(_("what we know"), blank=True)
    objectives = models.TextField(_("objectives"))
    target_date = models.DateField(_("target date"))
    status = models.CharField(
        _("status"), max_length=20, choices=PlanStatus.choices, default=PlanStatus.DRAFT
    )
    # Bumped by every transition: a decision made on an older version of the plan is refused.
    version = models.PositiveIntegerField(_("version"), default=1)
    approvals_needed = models.PositiveSmallIntegerField(_("approvals needed"), default=1)
    mrr_at_stake = models.DecimalField(_("MRR at stake"), max_digits=12, decimal_places=2, default=0)
    outcome = models.CharField(_("outcome"), max_length=16, choices=PlanOutcome.choices, blank=True)
    outcome_note = models.TextField(_("outcome notes"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("retention plan")
        verbose_name_plural = _("retention plans")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "submitted_at"], name="plan_status_submitted_idx"),
            models.Index(fields=["account", "status"], name="plan_account_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=PlanStatus.values), name="plan_status_known"),
            models.CheckConstraint(
                condition=(Q(status="closed") & ~Q(outcome="")) | (~Q(status="closed") & Q(outcome="")),
                name="plan_outcome_iff_closed",
            ),
            models.CheckConstraint(condition=Q(approvals_needed__gte=1), name="plan_needs_an_approval"),
        ]

    def __str__(self) -> str:
        return _("Retention plan for %(account)s") % {"account": self.account}

    @property
    def is_editable(self) -> bool:
        return self.status in (PlanStatus.DRAFT, PlanStatus.CHANGES_REQUESTED)


class OfferKind(models.TextChoices):
    DISCOUNT = "discount", _("Discount")
    FREE_MODULE = "free_module", _("Free module")
    EXTENDED_SUPPORT = "extended_support", _("Extended support")
    DOWNGRADE = "downgrade", _("Downgrade option")
    OTHER = "other", _("Other")


class PlanOffer(models.Model):
    plan = models.ForeignKey(
        RetentionPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="offers"
    )
    kind = models.CharField(_("offer"), max_length=20, choices=OfferKind.choices)
    description = models.CharField(_("description"), max_length=300, blank=True)
    discount_percent = models.DecimalField(
        _("discount %"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    cost = models.DecimalField(_("cost"), max_digits=12, decimal_places=2, default=0)
    duration_months = models.PositiveSmallIntegerField(_("duration (months)"), default=1)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(cost__gte=0), name="plan_offer_cost_not_negative"),
            models.CheckConstraint(
                condition=Q(discount_percent__isnull=True)
                | Q(discount_percent__gte=0, discount_percent__lte=100),
                name="plan_offer_discount_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()


class PlanStep(models.Model):
    """A next step that becomes a task when the plan is approved."""

    plan = models.ForeignKey(
        RetentionPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="steps"
    )
    title = models.CharField(_("next step"), max_length=200)
    owner_role = models.CharField(_("owner"), max_length=16, choices=OwnerRole.choices, default=OwnerRole.CSM)
    due_offset_hours = models.PositiveIntegerField(_("due after (business hours)"), default=24)
    task = models.OneToOneField(
        Task,
        verbose_name=_("task"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="plan_step",
    )

    class Meta:
        verbose_name = _("next step")
        verbose_name_plural = _("next steps")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.title


class PlanEvent(models.Model):
    """One transition of a plan: who, when, from what to what, and why. The plan's history."""

    plan = models.ForeignKey(
        RetentionPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="events"
    )
    from_status = models.CharField(_("from"), max_length=20, choices=PlanStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=PlanStatus.choices)
    version = models.PositiveIntegerField(_("plan version"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("plan event")
        verbose_name_plural = _("plan history")
        ordering = ["created_at", "pk"]
        constraints = [
            # One event per version: two racing transitions cannot both be recorded.
            models.UniqueConstraint(fields=["plan", "version"], name="plan_event_one_per_version"),
            models.CheckConstraint(condition=plan_transition_q(), name="plan_event_legal_transition"),
        ]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


class PlanApproval(models.Model):
    """A manager's approval in the current review round; a second approver is a different person."""

    plan = models.ForeignKey(
        RetentionPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="approvals"
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("approver"), on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(_("plan version"))
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "version", "approver"], name="plan_approval_once_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.approver_id} → {self.plan_id} v{self.version}"


class ApprovalPolicy(models.Model):
    """Approval thresholds (one row). Offers up to the first limits are approved on submission;
    above them a manager approves; above the second limits two different managers do."""

    manager_cost_limit = models.DecimalField(
        _("a manager approves offers costing more than"), max_digits=12, decimal_places=2, default=0
    )
    manager_discount_limit = models.DecimalField(
        _("a manager approves discounts above (%)"), max_digits=5, decimal_places=2, default=0
    )
    second_cost_limit = models.DecimalField(
        _("a second approver above a cost of"), max_digits=12, decimal_places=2, default=50000
    )
    second_discount_limit = models.DecimalField(
        _("a second approver above a discount of (%)"), max_digits=5, decimal_places=2, default=30
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("approval policy")
        verbose_name_plural = _("approval policy")

    def __str__(self) -> str:
        return str(_("Approval policy"))

    @classmethod
    def current(cls) -> "ApprovalPolicy":
        return cls.objects.order_by("pk").first() or cls()
