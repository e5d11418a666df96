from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """Who did what sensitive thing, when: overrides, model publishing, imports, API tokens…

    Written only by services, inside the same transaction as the change it records.
    """

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    action = models.CharField(_("action"), max_length=64, db_index=True)
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    target = models.CharField(_("target"), max_length=200, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target}"


def record_audit(*, actor, action: str, account=None, target: str = "", **details) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor, action=action, account=account, target=target, details=details
    )


class UsedFormToken(models.Model):
    """A form token that has been sent once (csworkbench.core.idempotency).

    The unique key is the guarantee: a second sending of the same form, however close behind the
    first, cannot insert the row again, so it writes nothing. Rows older than the tokens' lifetime
    are pruned; a token that old is refused as expired anyway.
    """

    key = models.CharField(_("key"), max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    purpose = models.CharField(_("purpose"), max_length=64)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now, db_index=True)
    # Where the first sending ended (the plan it drafted…), so the second can land there too.
    result_url = models.CharField(_("result"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("used form token")
        verbose_name_plural = _("used form tokens")

    def __str__(self) -> str:
        return f"{self.purpose} {self.created_at:%Y-%m-%d %H:%M}"


class OutboxTask(models.Model):
    """A Celery task to send, written in the same transaction as the work it follows, so that a
    broker outage loses nothing: the row is deleted once the broker has taken the task, and
    `csworkbench.core.outbox.send_pending` sends whatever is left (see docs/operations.md)."""

    created_at = models.DateTimeField(_("queued"), default=timezone.now)
    # At most one waiting row per key ("import:42"): pressing a button again does not queue twice.
    key = models.CharField(_("key"), max_length=100, blank=True)
    task_name = models.CharField(_("task"), max_length=200)
    signature = models.JSONField(_("signature"))
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    last_tried_at = models.DateTimeField(_("last tried"), null=True, blank=True)

    class Meta:
        verbose_name = _("task waiting for the broker")
        verbose_name_plural = _("tasks waiting for the broker")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=~models.Q(key=""), name="outbox_one_waiting_row_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_name} {self.key}".strip()
