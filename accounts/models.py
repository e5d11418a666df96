from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .querysets import AccountQuerySet, LifecycleStage, lifecycle_stage_for


class ValueTier(models.TextChoices):
    A = "A", _("Tier A")
    B = "B", _("Tier B")
    C = "C", _("Tier C")


class AccountStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CHURNED = "churned", _("Churned")


class ChurnType(models.TextChoices):
    CANCELLED = "cancelled", _("Cancelled")
    NOT_RENEWED = "not_renewed", _("Not renewed")
    DOWNGRADED = "downgraded", _("Downgraded")


class Industry(models.TextChoices):
    SOFTWARE = "software", _("Software & internet")
    ECOMMERCE = "ecommerce", _("E-commerce")
    RETAIL = "retail", _("Retail")
    MANUFACTURING = "manufacturing", _("Manufacturing")
    EDUCATION = "education", _("Education")
    HEALTHCARE = "healthcare", _("Healthcare")
    FINANCE = "finance", _("Financial services")
    PROFESSIONAL = "professional_services", _("Professional services")
    MEDIA = "media", _("Media & marketing")
    LOGISTICS = "logistics", _("Logistics")
    HOSPITALITY = "hospitality", _("Hospitality")
    OTHER = "other", _("Other")


class EmployeeBand(models.TextChoices):
    MICRO = "1-10", _("1–10 employees")
    SMALL = "11-50", _("11–50 employees")
    MEDIUM = "51-200", _("51–200 employees")
    LARGE = "201-1000", _("201–1,000 employees")
    ENTERPRISE = "1000+", _("More than 1,000 employees")


class AcquisitionChannel(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound sales")
    PARTNER = "partner", _("Partner")
    SELF_SERVE = "self_serve", _("Self-serve sign-up")
    REFERRAL = "referral", _("Referral")
    MARKETPLACE = "marketplace", _("Marketplace")


class RiskLevel(models.TextChoices):
    """The intervention matrix's rows. Set on an account by a rule or when a playbook starts."""

    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


RISK_RANK = {RiskLevel.LOW: 1, RiskLevel.MEDIUM: 2, RiskLevel.HIGH: 3}


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Account(models.Model):
    external_id = models.CharField(
        _("external ID"),
        max_length=64,
        unique=True,
        help_text=_("The customer's ID in your billing or CRM system; imports and the API use it."),
    )
    name = models.CharField(_("name"), max_length=200)
    industry = models.CharField(_("industry"), max_length=32, choices=Industry.choices)
    employee_band = models.CharField(_("employees"), max_length=16, choices=EmployeeBand.choices)
    region = models.CharField(_("region"), max_length=64, blank=True)
    acquisition_channel = models.CharField(
        _("acquisition channel"), max_length=16, choices=AcquisitionChannel.choices
    )
    plan = models.CharField(_("plan"), max_length=64, blank=True)
    mrr = models.DecimalField(_("MRR"), max_digits=12, decimal_places=2, default=0)
    contract_start = models.DateField(_("contract start"))
    renewal_date = models.DateField(_("renewal date"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_accounts",
        # Only active CSMs own accounts: forms (the admin) refuse anyone else; the importer checks
        # the same (the importer's owner_parser).
        limit_choices_to={"groups__name": "csm", "is_active": True},
    )
    value_tier = models.CharField(_("value tier"), max_length=1, choices=ValueTier.choices)
    status = models.CharField(
        _("status"), max_length=8, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    churned_on = models.DateField(_("churned on"), null=True, blank=True)
    churn_type = models.CharField(_("churn type"), max_length=16, choices=ChurnType.choices, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # The latest health snapshot, copied here by each scoring run (one set-based UPDATE) so that
    # lists sort and filter by score and tier through an index instead of a join per row.
    health_score = models.PositiveSmallIntegerField(_("health score"), null=True, blank=True)
    health_tier = models.CharField(_("health tier"), max_length=8, blank=True)
    health_delta_7d = models.SmallIntegerField(_("7-day change"), null=True, blank=True)
    health_scored_on = models.DateField(_("scored on"), null=True, blank=True)

    # The intervention matrix level the account is being worked at (blank: no intervention).
    risk_level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices, blank=True)
    risk_level_set_at = models.DateTimeField(_("risk level set"), null=True, blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), related_name="accounts", blank=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["name"]
        indexes = [
            models.Index(fields=["name"], name="account_name_idx"),
            models.Index(fields=["owner", "status"], name="account_owner_status_idx"),
            models.Index(fields=["status", "value_tier"], name="account_status_tier_idx"),
            models.Index(fields=["industry"], name="account_industry_idx"),
            models.Index(fields=["contract_start"], name="account_contract_start_idx"),
            models.Index(fields=["renewal_date"], name="account_renewal_idx"),
            models.Index(fields=["mrr"], name="account_mrr_idx"),
            models.Index(fields=["health_score"], name="account_health_score_idx"),
            models.Index(fields=["health_tier"], name="account_health_tier_idx"),
            models.Index(fields=["risk_level"], name="account_risk_level_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(mrr__gte=0), name="account_mrr_not_negative"),
            models.CheckConstraint(
                condition=(
                    Q(status=AccountStatus.ACTIVE, churned_on__isnull=True, churn_type="")
                    | Q(status=AccountStatus.CHURNED, churned_on__isnull=False)
                ),
                name="account_churn_fields_match_status",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def lifecycle_stage(self, today: date | None = None) -> LifecycleStage:
        return lifecycle_stage_for(self.contract_start, today or timezone.localdate())

    @property
    def is_churned(self) -> bool:
        return self.status == AccountStatus.CHURNED

    def renewal_in_days(self, today: date | None = None) -> int | None:
        if self.renewal_date is None:
            return None
        return (self.renewal_date - (today or timezone.localdate())).days


class Contact(models.Model):
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    role = models.CharField(_("role"), max_length=100, blank=True)
    is_champion = models.BooleanField(_("champion"), default=False)
    is_decision_maker = models.BooleanField(_("decision maker"), default=False)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    left_on = models.DateField(_("left the company on"), null=True, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_primary", "-is_decision_maker", "-is_champion", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(is_primary=True),
                name="contact_one_primary_per_account",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_left(self) -> bool:
        return self.left_on is not None


class TouchpointKind(models.TextChoices):
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("Email")
    NOTE = "note", _("Note")


class Sentiment(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")


class Touchpoint(models.Model):
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="touchpoints"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=TouchpointKind.choices)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="touchpoints",
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="touchpoints",
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("notes"), blank=True)
    sentiment = models.CharField(
        _("sentiment"), max_length=8, choices=Sentiment.choices, default=Sentiment.NEUTRAL
    )
    created_at = models.DateTimeField(_("logged at"), default=timezone.now)

    class Meta:
        verbose_name = _("touchpoint")
        verbose_name_plural = _("touchpoints")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["account", "-occurred_at"], name="touchpoint_account_time_idx")]

    def __str__(self) -> str:
        return self.subject


class MovementKind(models.TextChoices):
    NEW = "new", _("New")
    EXPANSION = "expansion", _("Expansion")
    CONTRACTION = "contraction", _("Contraction")
    CHURN = "churn", _("Churn")
    REACTIVATION = "reactivation", _("Reactivation")


class MrrMovement(models.Model):
    """One change of an account's MRR; the revenue metrics (NRR, MRR churn) sum these."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="mrr_movements"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=MovementKind.choices)
    occurred_on = models.DateField(_("date"))
    amount = models.DecimalField(
        _("amount"),
        max_digits=12,
        decimal_places=2,
        help_text=_("The size of the change, always positive; the kind gives its direction."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("MRR movement")
        verbose_name_plural = _("MRR movements")
        ordering = ["-occurred_on", "-id"]
        indexes = [
            models.Index(fields=["occurred_on", "kind"], name="mrr_movement_date_kind_idx"),
            models.Index(fields=["account", "occurred_on"], name="mrr_movement_account_date_idx"),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="mrr_movement_amount_positive")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"

    @property
    def signed_amount(self):
        if self.kind in (MovementKind.CONTRACTION, MovementKind.CHURN):
            return -self.amount
        return self.amount


class ApiToken(models.Model):
    """A bearer token for the integration API. Only a SHA-256 hash is stored; the token itself is
    shown once, when it is created."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    prefix = models.CharField(
        _("prefix"), max_length=12, help_text=_("The first characters, to recognise it.")
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ImportKind(models.TextChoices):
    ACCOUNTS = "accounts", _("Accounts")
    CONTACTS = "contacts", _("Contacts")
    METRICS = "metrics", _("Daily metrics")
    EVENTS = "events", _("Signal events")
    MRR = "mrr", _("MRR movements")
    TOUCHPOINTS = "touchpoints", _("Touchpoints")


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to start")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Loading")
    DONE = "done", _("Loaded")
    FAILED = "failed", _("Rejected")


class ImportJob(models.Model):
    """One CSV file loaded all-or-nothing, with its progress and every bad row it found."""

    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    status = models.CharField(
        _("status"), max_length=8, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows checked"), default=0)
    loaded_rows = models.PositiveIntegerField(_("rows loaded"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.SET_NULL, null=True
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    # Which run of the job this is: a worker claims attempt N only while the job is at N - 1, and
    # commits its load only while the job is still at N (see the importer's run_import_job).
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=0)
    worker = models.CharField(_("worker"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_name}"
