from django.apps import AppConfig


class IngestConfig(AppConfig):
    """Loading data from outside: CSV imports and the metrics API. It has no tables of its own:
    ApiToken and ImportJob stay in accounts."""

    name = "ingest"
