"""What the app tells people: in-app notifications, the deliveries that carry them (and customer
emails) by email or chat, and the emails sent to customers."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from csworkbench.core.i18n import in_reader_language

from ..querysets import NotificationQuerySet
from .teams import WebhookChannel
from .work import EmailTemplate, Rule, Task


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
    # The title and body in every language ({"title": {"en": …}, "body": {…}}): a rule firing in
    # a worker writes English, a Chinese reader reads Chinese (csworkbench.core.i18n).
    texts = models.JSONField(_("texts in every language"), default=dict, blank=True)

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

    @property
    def shown_title(self) -> str:
        return in_reader_language(self.texts.get("title"), self.title)

    @property
    def shown_body(self) -> str:
        return in_reader_language(self.texts.get("body"), self.body)


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
