"""The standard response to risk: email templates, playbooks and their steps, the intervention
matrix, rules and their firings, playbook runs and the tasks people work."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import RiskLevel
from csworkbench.core.i18n import in_reader_language
from health.models import AlertKind, EventKind, Tier

from ..business_time import SlaUnit
from ..querysets import TaskQuerySet


class OwnerRole(models.TextChoices):
    """Who does a step. CSM steps go to the account's owner; lead and executive steps to the
    owner's team managers; sales and product steps to the owner, who convenes the squad."""

    CSM = "csm", _("CSM")
    LEAD = "lead", _("CS lead")
    SALES = "sales", _("Sales")
    PRODUCT = "product", _("Product")
    EXECUTIVE = "executive", _("Executive")


class EmailTemplate(models.Model):
    """A customer email with placeholders: {contact_name}, {account_name}, {csm_name},
    {usage_highlights}. Plain text; placeholders are filled by substitution, never evaluated."""

    key = models.SlugField(_("key"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Playbook(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    risk_level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("playbook")
        verbose_name_plural = _("playbooks")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StepKind(models.TextChoices):
    TASK = "task", _("Task")
    EMAIL = "email", _("Email the primary contact")
    RETENTION_PLAN = "retention_plan", _("Draft a retention plan")


class PlaybookStep(models.Model):
    playbook = models.ForeignKey(
        Playbook, verbose_name=_("playbook"), on_delete=models.CASCADE, related_name="steps"
    )
    position = models.PositiveSmallIntegerField(_("order"))
    title = models.CharField(_("title"), max_length=200)
    guidance = models.TextField(_("guidance"), blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=StepKind.choices, default=StepKind.TASK)
    owner_role = models.CharField(_("owner"), max_length=16, choices=OwnerRole.choices, default=OwnerRole.CSM)
    # Empty: the step is due as the intervention matrix says for its risk level, so editing the
    # matrix moves it. A number is this step's own due time, overriding the matrix.
    due_offset_hours = models.PositiveIntegerField(
        _("due after (business hours)"),
        null=True,
        blank=True,
        help_text=_(
            "Leave empty to follow the intervention matrix's “respond within” for the playbook's risk "
            "level. A number overrides it, counted in the team's working hours from the start."
        ),
    )
    email_template = models.ForeignKey(
        EmailTemplate,
        verbose_name=_("email template"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    needs_approval = models.BooleanField(
        _("needs approval"),
        default=False,
        help_text=_("A CS lead signs the step off before it counts as done."),
    )

    class Meta:
        verbose_name = _("playbook step")
        verbose_name_plural = _("playbook steps")
        ordering = ["playbook", "position"]
        constraints = [
            models.UniqueConstraint(fields=["playbook", "position"], name="playbook_step_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class MatrixRow(models.Model):
    """One row of the intervention matrix: for a risk level, the signals, the actions, who acts
    and how fast. Its playbook is what "start the standard response" creates."""

    risk_level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices, unique=True)
    signals = models.TextField(_("example signals"))
    actions = models.TextField(_("recommended actions"))
    owner = models.CharField(_("owner"), max_length=200)
    response_amount = models.PositiveSmallIntegerField(_("respond within"))
    response_unit = models.CharField(_("unit"), max_length=16, choices=SlaUnit.choices)
    playbook = models.ForeignKey(
        Playbook, verbose_name=_("playbook"), on_delete=models.PROTECT, related_name="matrix_rows"
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("intervention matrix row")
        verbose_name_plural = _("intervention matrix")
        constraints = [
            models.CheckConstraint(condition=Q(response_amount__gt=0), name="matrix_response_positive")
        ]

    def __str__(self) -> str:
        return self.get_risk_level_display()


class ConditionKind(models.TextChoices):
    SCORE_BELOW = "score_below", _("Health score below")
    SCORE_ABOVE = "score_above", _("Health score above")
    TIER_IS = "tier_is", _("Health tier is")
    MEASURE_BELOW = "measure_below", _("A measure's sub-score below")
    MEASURE_ABOVE = "measure_above", _("A measure's sub-score above")
    ALERT_RAISED = "alert_raised", _("An alert is raised")
    EVENT = "event", _("An event happened")


class Rule(models.Model):
    """IF an account in scope meets the condition THEN the actions run, evaluated after each
    scoring run. Scope lists left empty mean "any"."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_enabled = models.BooleanField(_("enabled"), default=False)

    scope_value_tiers = models.JSONField(_("value tiers"), default=list, blank=True)
    scope_industries = models.JSONField(_("industries"), default=list, blank=True)
    scope_lifecycle_stages = models.JSONField(_("lifecycle stages"), default=list, blank=True)
    scope_tag = models.CharField(_("tag"), max_length=50, blank=True)

    condition_kind = models.CharField(_("condition"), max_length=16, choices=ConditionKind.choices)
    threshold = models.DecimalField(_("threshold"), max_digits=6, decimal_places=2, null=True, blank=True)
    measure = models.CharField(_("measure"), max_length=64, blank=True)
    tier = models.CharField(_("tier"), max_length=8, choices=Tier.choices, blank=True)
    alert_kind = models.CharField(_("alert"), max_length=24, choices=AlertKind.choices, blank=True)
    event_kind = models.CharField(_("event"), max_length=32, choices=EventKind.choices, blank=True)
    days = models.PositiveSmallIntegerField(
        _("for days"),
        default=1,
        help_text=_("Consecutive days the condition must hold; for events, how recent they must be."),
    )

    set_risk_level = models.CharField(
        _("set risk level"), max_length=8, choices=RiskLevel.choices, blank=True
    )
    start_playbook = models.ForeignKey(
        Playbook,
        verbose_name=_("start playbook"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rules",
    )
    task_title = models.CharField(_("create a task"), max_length=200, blank=True)
    task_due_amount = models.PositiveSmallIntegerField(_("task due within"), null=True, blank=True)
    task_due_unit = models.CharField(
        _("unit"), max_length=16, choices=SlaUnit.choices, default=SlaUnit.BUSINESS_HOURS, blank=True
    )
    notify_owner = models.BooleanField(_("notify the owner"), default=False)
    notify_manager = models.BooleanField(_("notify the managers"), default=False)
    email_template = models.ForeignKey(
        EmailTemplate,
        verbose_name=_("email the primary contact"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rules",
    )
    add_tag = models.CharField(_("add tag"), max_length=50, blank=True)
    cooldown_days = models.PositiveSmallIntegerField(
        _("cool-down (days)"),
        default=7,
        help_text=_(
            "After firing, the rule stays quiet for this account while its tasks are open and for these days."
        ),
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(days__gte=1), name="rule_days_at_least_one")]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    ACTIVE = "active", _("Running")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class PlaybookRun(models.Model):
    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="playbook_runs"
    )
    playbook = models.ForeignKey(
        Playbook, verbose_name=_("playbook"), on_delete=models.PROTECT, related_name="runs"
    )
    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.ACTIVE)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    rule = models.ForeignKey(
        Rule, verbose_name=_("rule"), on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("playbook run")
        verbose_name_plural = _("playbook runs")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "playbook"],
                condition=Q(status="active"),
                name="playbook_run_one_active_per_account",
            )
        ]

    def __str__(self) -> str:
        return f"{self.playbook} · {self.account_id}"


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    SNOOZED = "snoozed", _("Snoozed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = (TaskStatus.OPEN, TaskStatus.SNOOZED)


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


class Outcome(models.TextChoices):
    REACHED = "reached", _("Reached the customer")
    NO_ANSWER = "no_answer", _("No answer")
    RESOLVED = "resolved", _("Issue resolved")
    ESCALATED = "escalated", _("Escalated")
    NOT_NEEDED = "not_needed", _("No longer needed")


class Task(models.Model):
    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="tasks"
    )
    run = models.ForeignKey(
        PlaybookRun,
        verbose_name=_("playbook run"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tasks",
    )
    step = models.ForeignKey(
        PlaybookStep,
        verbose_name=_("step"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    rule = models.ForeignKey(
        Rule, verbose_name=_("rule"), on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    title = models.CharField(_("title"), max_length=200)
    guidance = models.TextField(_("guidance"), blank=True)
    # Guidance the app wrote (a rule's, a plan's next step), in every language; a step's guidance
    # is the manager's own words and has none (csworkbench.core.i18n).
    guidance_texts = models.JSONField(_("guidance in every language"), default=dict, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=StepKind.choices, default=StepKind.TASK)
    email_template = models.ForeignKey(
        EmailTemplate,
        verbose_name=_("email template"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    needs_approval = models.BooleanField(_("needs approval"), default=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
    )
    owner_role = models.CharField(_("owner"), max_length=16, choices=OwnerRole.choices, default=OwnerRole.CSM)
    risk_level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices, blank=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(_("status"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    due_at = models.DateTimeField(_("due"))
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(_("outcome notes"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("completed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    breached_at = models.DateTimeField(_("SLA breached"), null=True, blank=True)
    approval_requested_at = models.DateTimeField(_("sign-off requested"), null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at"]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="task_queue_idx"),
            models.Index(fields=["status", "due_at"], name="task_status_due_idx"),
            models.Index(fields=["account", "status"], name="task_account_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="snoozed", snoozed_until__isnull=False) | ~Q(status="snoozed"),
                name="task_snoozed_has_until",
            ),
            models.CheckConstraint(
                condition=Q(status="done", completed_at__isnull=False) | ~Q(status="done"),
                name="task_done_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def shown_guidance(self) -> str:
        return in_reader_language(self.guidance_texts, self.guidance)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class RuleFiring(models.Model):
    """One rule firing for one account on one day; the cool-down and idempotency hang on it."""

    rule = models.ForeignKey(Rule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="firings")
    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="rule_firings"
    )
    fired_on = models.DateField(_("fired on"))
    fired_at = models.DateTimeField(_("fired at"), default=timezone.now)
    evidence = models.JSONField(_("evidence"), default=dict)

    class Meta:
        verbose_name = _("rule firing")
        verbose_name_plural = _("rule firings")
        ordering = ["-fired_at"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "account", "fired_on"], name="rule_firing_one_per_day")
        ]
        indexes = [models.Index(fields=["rule", "account", "-fired_on"], name="rule_firing_recent_idx")]

    def __str__(self) -> str:
        return f"{self.rule} · {self.account_id} · {self.fired_on}"
