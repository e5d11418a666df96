from django.apps import AppConfig
from django.db.models.signals import pre_delete
from django.utils.translation import gettext_lazy as _


class HealthConfig(AppConfig):
    name = "health"
    verbose_name = _("Health")

    def ready(self) -> None:
        from accounts.models import Account

        from .integrity import lock_account_before_delete

        # DailyMetric has no foreign-key constraint: see health.integrity.
        pre_delete.connect(
            lock_account_before_delete, sender=Account, dispatch_uid="health.lock_account_before_delete"
        )
