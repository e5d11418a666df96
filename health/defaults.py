"""DESIGN.md's default health model, as data: the data migration ships it as version 1."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import HealthModel

DEFAULT_DIMENSIONS = [
    (
        "usage",
        40,
        [
            ("login_trend", [[0.2, 0], [0.5, 50], [0.9, 100]], "linear"),
            ("seat_utilisation", [[0.2, 0], [0.8, 100]], "linear"),
            ("core_feature_trend", [[0.4, 0], [0.7, 50], [1.0, 100]], "linear"),
            ("feature_breadth", [[0.1, 0], [0.6, 100]], "linear"),
        ],
    ),
    (
        "support",
        20,
        [
            ("ticket_anomaly", [[1.5, 100], [3, 20]], "linear"),
            ("csat", [[2, 0], [3, 50], [4, 80], [5, 100]], "linear"),
            ("open_high_priority", [[0, 100], [1, 60], [3, 0]], "linear"),
        ],
    ),
    (
        "relationship",
        25,
        [
            ("invoice_overdue", [[0, 100], [15, 50], [30, 0]], "linear"),
            ("touch_recency", [[1, 100], [2, 50], [3, 0]], "linear"),
            ("champion_present", [[0, 0], [1, 100]], "linear"),
            ("latest_nps", [[0, 20], [7, 60], [9, 100]], "step"),
        ],
    ),
    (
        "engagement",
        15,
        [
            ("email_open_rate", [[0.05, 0], [0.4, 100]], "linear"),
            ("training", [[0, 20], [1, 60], [2, 100]], "linear"),
            ("release_notes", [[0, 30], [1, 100]], "linear"),
        ],
    ),
]


def create_default_model(HealthModel, HealthDimension, HealthMeasure, *, version=1, status="published"):
    """Works with real and historical (migration) model classes alike."""
    model = HealthModel.objects.create(version=version, status=status, note="DESIGN.md defaults")
    for position, (key, weight, measures) in enumerate(DEFAULT_DIMENSIONS):
        dimension = HealthDimension.objects.create(model=model, key=key, weight=weight, position=position)
        HealthMeasure.objects.bulk_create(
            HealthMeasure(dimension=dimension, key=m_key, bands=bands, interpolation=interp, position=i)
            for i, (m_key, bands, interp) in enumerate(measures)
        )
    return model


def ensure_published_model() -> "HealthModel":
    """The published health model; DESIGN.md's defaults when there is none (the data migration
    ships them, but a flushed test database or a hand-cleaned one may have lost them)."""
    from django.db.models import Max

    from .models import HealthDimension, HealthMeasure, HealthModel, ModelStatus

    model = HealthModel.objects.filter(status=ModelStatus.PUBLISHED).first()
    if model is None:
        version = (HealthModel.objects.aggregate(latest=Max("version"))["latest"] or 0) + 1
        model = create_default_model(HealthModel, HealthDimension, HealthMeasure, version=version)
    return model
