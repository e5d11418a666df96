from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shared kernel: roles, the audit log, one-time form tokens, the task outbox, CSV
    responses, base tables and generic template tags. Its label stays "csworkbench", so its
    tables and migrations keep the names they had before the kernel had a folder of its own."""

    name = "csworkbench.core"
    label = "csworkbench"
    verbose_name = "csworkbench"
