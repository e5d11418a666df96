from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data (`manage.py seed_demo`): the top layer, with no tables of its own."""

    name = "csworkbench.demo"
    label = "demo"
