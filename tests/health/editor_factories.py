"""Factories for the health-model editor tests: daily metrics and a spare model version."""

import factory
from django.utils import timezone

from health.models import DailyMetric, HealthModel
from tests.factories import AccountFactory, UserFactory


class DailyMetricFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DailyMetric

    account = factory.SubFactory(AccountFactory)
    date = factory.LazyFunction(timezone.localdate)


class RetiredModelFactory(factory.django.DjangoModelFactory):
    """An old version with no dimensions: enough for the version list."""

    class Meta:
        model = HealthModel

    version = factory.Sequence(lambda n: 100 + n)
    status = "retired"
    note = factory.Sequence(lambda n: f"Old version {n}")
    created_by = factory.SubFactory(UserFactory)
    published_at = factory.LazyFunction(timezone.now)
    published_by = factory.SubFactory(UserFactory)
