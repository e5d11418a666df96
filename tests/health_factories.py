"""Factories for the health inputs the import tests start from."""

import factory
from django.utils import timezone

from health.models import DailyMetric, SignalEvent
from tests.factories import AccountFactory


class DailyMetricFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DailyMetric

    account = factory.SubFactory(AccountFactory)
    date = factory.LazyFunction(timezone.localdate)
    logins = 10
    active_users = 5
    licensed_seats = 10


class SignalEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SignalEvent

    account = factory.SubFactory(AccountFactory)
    kind = "champion_left"
    occurred_on = factory.LazyFunction(timezone.localdate)
