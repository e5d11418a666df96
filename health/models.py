"""Signals in (daily metrics, events), the versioned health model, and what scoring writes out."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Every daily input, in the order CSV files and the API document them. None means "not
# reported", which is different from zero: missing data lowers confidence, never the score.
METRIC_FIELDS = (
    "logins",
    "active_users",
    "licensed_seats",
    "core_events",
    "features_used",
    "features_offered",
    "tickets_opened",
    "high_priority_tickets",
    "open_high_priority",
    "first_response_hours",
    "csat_count",
    "csat_sum",
    "nps",
    "emails_sent",
    "emails_opened",
    "training_sessions",
    "release_notes_views",
    "invoice_days_overdue",
)


def _count(label):
    return models.PositiveIntegerField(label, null=True, blank=True)


class DailyMetric(models.Model):
    # No index of its own: the unique (account, date) index below serves every lookup by account.
    #
    # No foreign-key constraint in the database either: the table is loaded a million rows at a
    # time, and PostgreSQL checks such a constraint with one query per row (a third of a load's
    # time). Its guarantee is kept by the only writers instead: every load locks the accounts its
    # rows name, once each, before it commits (`health.integrity.lock_metric_accounts`), and an
    # account being deleted is locked before its metrics are (`health.signals`), so no row can
    # outlive its account. Deleting an account still deletes its metrics (Django's CASCADE).
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="daily_metrics",
        db_index=False,
        db_constraint=False,
    )
    date = models.DateField(_("date"))
    logins = _count(_("logins"))
    active_users = _count(_("active users"))
    licensed_seats = _count(_("licensed seats"))
    core_events = _count(_("core-feature events"))
    features_used = _count(_("distinct features used in the last 30 days"))
    features_offered = _count(_("features offered"))
    tickets_opened = _count(_("tickets opened"))
    high_priority_tickets = _count(_("high-priority tickets opened"))
    open_high_priority = _count(_("open high-priority tickets"))
    first_response_hours = models.DecimalField(
        _("first-response hours"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    csat_count = _count(_("CSAT responses"))
    csat_sum = _count(_("sum of CSAT scores (1–5 each)"))
    nps = models.PositiveSmallIntegerField(_("NPS response (0–10)"), null=True, blank=True)
    emails_sent = _count(_("marketing emails sent"))
    emails_opened = _count(_("marketing emails opened"))
    training_sessions = _count(_("training or webinar sessions attended"))
    release_notes_views = _count(_("release-notes views"))
    invoice_days_overdue = _count(_("invoice days overdue"))

    class Meta:
        verbose_name = _("daily metric")
        verbose_name_plural = _("daily metrics")
        constraints = [
            models.UniqueConstraint(fields=["account", "date"], name="daily_metric_one_per_account_day"),
            models.CheckConstraint(condition=Q(nps__lte=10), name="daily_metric_nps_range"),
            models.CheckConstraint(
                condition=Q(csat_sum__isnull=True)
                | Q(csat_count__isnull=True)
                | (Q(csat_sum__gte=models.F("csat_count")) & Q(csat_sum__lte=models.F("csat_count") * 5)),
                name="daily_metric_csat_range",
            ),
        ]
        indexes = [
            models.Index(fields=["date"], name="daily_metric_date_idx"),
            # The few rows with an NPS response: scoring reads each account's latest in one pass.
            models.Index(
                fields=["account", "-date"], condition=Q(nps__isnull=False), name="daily_metric_nps_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.date}"


class EventKind(models.TextChoices):
    CHAMPION_LEFT = "champion_left", _("Champion left")
    DECISION_MAKER_LEFT = "decision_maker_left", _("Decision maker left")
    CANCELLATION_INTENT = "cancellation_intent", _("Cancellation intent voiced")
    DOWNGRADE_REQUESTED = "downgrade_requested", _("Downgrade requested")


class SignalEvent(models.Model):
    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="signal_events"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=EventKind.choices)
    occurred_on = models.DateField(_("date"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("signal event")
        verbose_name_plural = _("signal events")
        ordering = ["-occurred_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "occurred_on"], name="signal_event_unique_per_day"
            )
        ]
        indexes = [models.Index(fields=["kind", "occurred_on"], name="signal_event_kind_date_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_on}"


class ModelStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


class HealthModel(models.Model):
    """One version of the scoring rules. Drafts are edited; exactly one version is published."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ModelStatus.choices, default=ModelStatus.DRAFT
    )
    note = models.CharField(_("what changed"), max_length=300, blank=True)
    stale_after_days = models.PositiveSmallIntegerField(
        _("stale after (days)"),
        default=7,
        help_text=_(
            "An account with no metrics for this many days is flagged stale, not read as zero usage."
        ),
    )
    no_login_days = models.PositiveSmallIntegerField(
        _("no-login cap after (days)"),
        default=30,
        help_text=_("No login for this many days caps the score at 39."),
    )
    default_features_offered = models.PositiveSmallIntegerField(_("features offered (default)"), default=20)
    cadence_a_days = models.PositiveSmallIntegerField(_("touch cadence, tier A (days)"), default=7)
    cadence_b_days = models.PositiveSmallIntegerField(_("touch cadence, tier B (days)"), default=14)
    cadence_c_days = models.PositiveSmallIntegerField(_("touch cadence, tier C (days)"), default=30)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("health model")
        verbose_name_plural = _("health models")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="published"), name="health_model_one_published"
            )
        ]

    def __str__(self) -> str:
        return f"v{self.version} ({self.get_status_display()})"

    def cadence_days(self, value_tier: str) -> int:
        return {"A": self.cadence_a_days, "B": self.cadence_b_days}.get(value_tier, self.cadence_c_days)

    # The note the shipped version is stored with (health/defaults.py, data migration 0002).
    SHIPPED_NOTE = "DESIGN.md defaults"

    @property
    def note_shown(self) -> str:
        """What changed, for the reader: the shipped version's stored marker in their language."""
        if self.note == self.SHIPPED_NOTE:
            return str(_("The defaults that ship with csworkbench."))
        return self.note


class Dimension(models.TextChoices):
    USAGE = "usage", _("Product usage")
    SUPPORT = "support", _("Support")
    RELATIONSHIP = "relationship", _("Relationship & commercial")
    ENGAGEMENT = "engagement", _("Engagement")


class MeasureKey(models.TextChoices):
    LOGIN_TREND = "login_trend", _("Login trend")
    SEAT_UTILISATION = "seat_utilisation", _("Seat utilisation")
    CORE_FEATURE_TREND = "core_feature_trend", _("Core-feature trend")
    FEATURE_BREADTH = "feature_breadth", _("Feature breadth")
    TICKET_ANOMALY = "ticket_anomaly", _("Ticket anomaly")
    CSAT = "csat", _("CSAT")
    OPEN_HIGH_PRIORITY = "open_high_priority", _("Open high-priority tickets")
    INVOICE_OVERDUE = "invoice_overdue", _("Invoice overdue")
    TOUCH_RECENCY = "touch_recency", _("Touch recency")
    CHAMPION_PRESENT = "champion_present", _("Champion present")
    LATEST_NPS = "latest_nps", _("Latest NPS")
    EMAIL_OPEN_RATE = "email_open_rate", _("Email open rate")
    TRAINING = "training", _("Training and webinars")
    RELEASE_NOTES = "release_notes", _("Release-notes views")


class Interpolation(models.TextChoices):
    LINEAR = "linear", _("Linear between points")
    STEP = "step", _("Steps: at or above each point")


class HealthDimension(models.Model):
    model = models.ForeignKey(HealthModel, on_delete=models.CASCADE, related_name="dimensions")
    key = models.CharField(_("dimension"), max_length=16, choices=Dimension.choices)
    weight = models.PositiveSmallIntegerField(_("weight"))
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["model", "key"], name="health_dimension_unique")]

    def __str__(self) -> str:
        return f"{self.get_key_display()} ({self.weight})"


class HealthMeasure(models.Model):
    dimension = models.ForeignKey(HealthDimension, on_delete=models.CASCADE, related_name="measures")
    key = models.CharField(_("measure"), max_length=24, choices=MeasureKey.choices)
    weight = models.DecimalField(
        _("share within the dimension"),
        max_digits=5,
        decimal_places=2,
        default=1,
        help_text=_("Relative to the other measures of the dimension; equal shares by default."),
    )
    bands = models.JSONField(
        _("scoring bands"), help_text=_("Points [raw value, sub-score], in increasing raw value.")
    )
    interpolation = models.CharField(
        _("between points"), max_length=8, choices=Interpolation.choices, default=Interpolation.LINEAR
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["dimension__position", "position"]
        constraints = [models.UniqueConstraint(fields=["dimension", "key"], name="health_measure_unique")]

    def __str__(self) -> str:
        return self.get_key_display()


class Tier(models.TextChoices):
    HEALTHY = "healthy", _("Healthy")
    LOW = "low", _("Low risk")
    MEDIUM = "medium", _("Medium risk")
    HIGH = "high", _("High risk")


def tier_for(score: int) -> Tier:
    if score >= 80:
        return Tier.HEALTHY
    if score >= 60:
        return Tier.LOW
    if score >= 40:
        return Tier.MEDIUM
    return Tier.HIGH


class HealthSnapshot(models.Model):
    """An account's score on one day, with everything needed to explain it."""

    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="health_snapshots",
    )
    date = models.DateField(_("date"))
    model = models.ForeignKey(
        HealthModel, verbose_name=_("model"), on_delete=models.PROTECT, related_name="+"
    )
    # None when no measure had data: "insufficient data", never a made-up number.
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    computed_score = models.PositiveSmallIntegerField(_("score before overrides"), null=True, blank=True)
    tier = models.CharField(_("tier"), max_length=8, choices=Tier.choices, blank=True)
    confidence = models.FloatField(_("confidence"))
    stale = models.BooleanField(_("data source stale"), default=False)
    override = models.CharField(_("override"), max_length=32, blank=True)
    measures = models.JSONField(_("measures"), default=dict)

    class Meta:
        verbose_name = _("health snapshot")
        verbose_name_plural = _("health snapshots")
        constraints = [
            models.UniqueConstraint(fields=["account", "date"], name="health_snapshot_one_per_account_day")
        ]
        indexes = [models.Index(fields=["date", "tier"], name="health_snapshot_date_tier_idx")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.date} {self.score}"


class HealthOverride(models.Model):
    """A CSM's judgement over the computed score, with a reason and an expiry. Audited."""

    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="health_overrides",
    )
    score = models.PositiveSmallIntegerField(_("score"))
    reason = models.TextField(_("reason"))
    expires_on = models.DateField(_("expires on"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("set by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("set at"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("health override")
        verbose_name_plural = _("health overrides")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(score__lte=100), name="health_override_score_range")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} → {self.score}"


class AlertKind(models.TextChoices):
    LOGIN_DROP = "login_drop", _("Login frequency fell")
    CORE_FEATURE_DROP = "core_feature_drop", _("Core-feature use down")
    TICKET_SPIKE = "ticket_spike", _("Ticket spike")
    TICKET_SILENCE = "ticket_silence", _("Support gone silent")
    NO_ENGAGEMENT = "no_engagement", _("No engagement with releases or training")
    RENEWAL_AT_RISK = "renewal_at_risk", _("Renewal near and at risk")
    KEY_CONTACT_LEFT = "key_contact_left", _("Key contact left")
    CANCELLATION_INTENT = "cancellation_intent", _("Cancellation intent")
    RISK_WORDS = "risk_words", _("Risk words in notes")
    STALE_DATA = "stale_data", _("Data source stopped sending")


class Alert(models.Model):
    """A leading indicator, raised with its evidence. One open alert per account and kind."""

    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="alerts"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=AlertKind.choices)
    raised_on = models.DateField(_("raised on"))
    last_seen_on = models.DateField(_("last seen on"))
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)
    evidence = models.JSONField(_("evidence"), default=dict)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-raised_on", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind"],
                condition=Q(resolved_on__isnull=True),
                name="alert_one_open_per_kind",
            )
        ]
        indexes = [models.Index(fields=["kind", "resolved_on"], name="alert_kind_open_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.account_id})"
