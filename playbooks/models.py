"""The standard response to risk: teams and their calendars, the intervention matrix, playbooks,
rules, the tasks CSMs work, notifications and the emails sent to customers."""

import datetime
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import RiskLevel
from health.models import AlertKind, EventKind, Tier

from .business_time import BusinessCalendar, SlaUnit
from .querysets import NotificationQuerySet, TaskQuerySet


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value})


def validate_working_days(value: str) -> None:
    if not value or any(ch not in "1234567" for ch in value) or len(set(value)) != len(value):
        raise ValidationError(_("Use the digits 1 (Monday) to 7 (Sunday), each at most once."))


# Callables, not fixed times: Django's check for fixed defaults (fields.W161) compares a fixed
# time with the clock and warns within ten seconds of it, so `check --deploy --fail-level
# WARNING` would fail at 09:00 and 18:00 every day.
def default_work_start() -> datetime.time:
    return datetime.time(9, 0)


def default_work_end() -> datetime.time:
    return datetime.time(18, 0)


class Team(models.Model):
    """A CS team: its members, its managers, its working calendar and its chat channels."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Taipei", validators=[validate_time_zone]
    )
    working_days = models.CharField(
        _("working days"),
        max_length=7,
        default="12345",
        validators=[validate_working_days],
        help_text=_("ISO weekdays: 1 is Monday, 7 is Sunday."),
    )
    work_starts = models.TimeField(_("working day starts"), default=default_work_start)
    work_ends = models.TimeField(_("working day ends"), default=default_work_end)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), related_name="teams", blank=True
    )
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("managers"), related_name="managed_teams", blank=True
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(work_ends__gt=models.F("work_starts")), name="team_day_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def calendar(self) -> BusinessCalendar:
        """The team's calendar. Reads holidays, so prefetch `holidays` when building many."""
        return BusinessCalendar(
            time_zone=self.time_zone,
            working_days=frozenset(int(d) for d in self.working_days),
            starts=self.work_starts,
            ends=self.work_ends,
            holidays=frozenset(h.date for h in self.holidays.all()),
        )


class Holiday(models.Model):
    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["team", "date"], name="holiday_one_per_team_day")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class WebhookFlavor(models.TextChoices):
    SLACK = "slack", _("Slack-compatible")
    DINGTALK = "dingtalk", _("DingTalk")
    WECOM = "wecom", _("WeCom")


class WebhookChannel(models.Model):
    """A team's chat channel: an incoming-webhook URL in one of three payload formats."""

    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(_("name"), max_length=100)
    flavor = models.CharField(_("format"), max_length=16, choices=WebhookFlavor.choices)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=200,
        blank=True,
        help_text=_("DingTalk only: the robot's signing secret, if it uses signed requests."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("chat webhook")
        verbose_name_plural = _("chat webhooks")
        ordering = ["team", "name"]

    def __str__(self) -> str:
        return f"{self.team}: {self.name}"


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


class NotificationKind(models.TextChoices):
    RULE_FIRED = "rule_fired", _("Rule fired")
    TASK_ASSIGNED = "task_assigned", _("Task assigned")
    SLA_BREACHED = "sla_breached", _("SLA breached")
    APPROVAL_REQUESTED = "approval_requested", _("Sign-off requested")
    PLAN = "plan", _("Retention plan")
    DELIVERY_FAILED = "delivery_failed", _("Delivery failed")


class Notification(models.Model):
    """An in-app message. Email and chat copies go out as Deliveries."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=24, choices=NotificationKind.choices)
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx")
        ]

    def __str__(self) -> str:
        return self.title


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEBHOOK = "webhook", _("Chat webhook")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One outgoing message (an email or a chat post) sent by Celery with retries. A failure is
    kept with its error, never dropped."""

    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    notification = models.ForeignKey(
        Notification,
        verbose_name=_("notification"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    webhook = models.ForeignKey(
        WebhookChannel,
        verbose_name=_("chat webhook"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    to = models.CharField(_("to"), max_length=500, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("body"), blank=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="delivery_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.to}"


class SentEmail(models.Model):
    """An email to a customer contact, shown on the account's timeline through its touchpoint."""

    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="sent_emails"
    )
    contact = models.ForeignKey(
        "accounts.Contact", verbose_name=_("contact"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    template = models.ForeignKey(
        EmailTemplate, verbose_name=_("template"), on_delete=models.SET_NULL, null=True, related_name="sent"
    )
    touchpoint = models.OneToOneField(
        "accounts.Touchpoint",
        verbose_name=_("touchpoint"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sent_email",
    )
    delivery = models.OneToOneField(
        Delivery, verbose_name=_("delivery"), on_delete=models.SET_NULL, null=True, related_name="sent_email"
    )
    task = models.ForeignKey(
        Task, verbose_name=_("task"), on_delete=models.SET_NULL, null=True, blank=True, related_name="emails"
    )
    rule = models.ForeignKey(
        Rule, verbose_name=_("rule"), on_delete=models.SET_NULL, null=True, blank=True, related_name="emails"
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    to_address = models.EmailField(_("to"))
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"))
    created_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("sent email")
        verbose_name_plural = _("sent emails")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_address}"


# --- Retention plans ------------------------------------------------------------------------------


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
