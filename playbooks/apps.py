from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlaybooksConfig(AppConfig):
    name = "playbooks"
    verbose_name = _("Playbooks")

    def ready(self) -> None:
        from csworkbench.core.outgoing import register_email_queue

        from .notifications import queue_email

        register_email_queue(queue_email)
