from django.apps import AppConfig


class ShellConfig(AppConfig):
    """The project shell: the pages and jobs that compose the rooms below (the account page,
    the nightly pipeline, the audit page, the bench). It has no tables."""

    name = "csworkbench.shell"
    label = "shell"

    def ready(self) -> None:
        # The nightly pipeline's later steps follow health's scoring (see pipeline.py).
        from . import pipeline  # noqa: F401
