from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import Account, Contact, MrrMovement, Touchpoint


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        # Transactional tests flush the tables, the migration's groups included: recreate them.
        if create and extracted:
            self.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in extracted))


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    external_id = factory.Sequence(lambda n: f"ACC-{n:06d}")
    name = factory.Sequence(lambda n: f"Account {n:04d}")
    industry = "software"
    employee_band = "11-50"
    region = "Taipei"
    acquisition_channel = "inbound"
    plan = "Growth"
    mrr = Decimal("1200.00")
    contract_start = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=400))
    renewal_date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=120))
    value_tier = "B"
    status = "active"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    name = factory.Faker("name")
    email = factory.Faker("email")
    role = "Operations lead"


class TouchpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Touchpoint

    account = factory.SubFactory(AccountFactory)
    kind = "call"
    subject = factory.Sequence(lambda n: f"Check-in call {n}")
    occurred_at = factory.LazyFunction(timezone.now)


class MrrMovementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MrrMovement

    account = factory.SubFactory(AccountFactory)
    kind = "new"
    amount = Decimal("1200.00")
    occurred_on = factory.LazyFunction(timezone.localdate)
