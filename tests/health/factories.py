"""Factories for health rows written by hand in view tests (scoring tests use the real engine)."""

from datetime import timedelta

import factory
from django.utils import timezone

from health.models import Alert, HealthModel, HealthOverride, HealthSnapshot, tier_for
from tests.factories import AccountFactory, UserFactory


def published_model():
    return HealthModel.objects.get(status="published")


class HealthSnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HealthSnapshot

    account = factory.SubFactory(AccountFactory)
    date = factory.LazyFunction(timezone.localdate)
    model = factory.LazyFunction(published_model)
    score = 70
    computed_score = factory.LazyAttribute(lambda snap: snap.score)
    tier = factory.LazyAttribute(lambda snap: tier_for(snap.score).value if snap.score is not None else "")
    confidence = 1.0
    measures = factory.LazyFunction(dict)


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alert

    account = factory.SubFactory(AccountFactory)
    kind = "core_feature_drop"
    raised_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=2))
    last_seen_on = factory.LazyFunction(timezone.localdate)
    evidence = factory.LazyFunction(dict)


class HealthOverrideFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HealthOverride

    account = factory.SubFactory(AccountFactory)
    score = 55
    reason = "Renewal call went well; usage data lags."
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=30))
    created_by = factory.SubFactory(UserFactory)
