from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InterviewsConfig(AppConfig):
    name = "interviews"
    verbose_name = _("Exit interviews")

    def ready(self) -> None:
        from accounts.querysets import register_interviewer_scope

        from .querysets import interviewer_scope

        register_interviewer_scope(interviewer_scope)
