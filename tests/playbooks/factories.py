"""Factories for the playbooks app's rows written by hand in tests."""

from datetime import time

import factory

from playbooks.models import Rule, Team, WebhookChannel


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")
    time_zone = "Asia/Taipei"
    working_days = "12345"
    work_starts = time(9, 0)
    work_ends = time(18, 0)

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            self.members.add(*extracted)

    @factory.post_generation
    def managers(self, create, extracted, **kwargs):
        if create and extracted:
            self.managers.add(*extracted)


class WebhookChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookChannel

    team = factory.SubFactory(TeamFactory)
    name = "CS channel"
    flavor = "slack"
    url = "https://hooks.example.com/services/T000/B000/XXXX"


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rule

    name = factory.Sequence(lambda n: f"Rule {n}")
    is_enabled = True
    condition_kind = "score_below"
    threshold = 60
    days = 1
    set_risk_level = "medium"
    cooldown_days = 7


# --- playbooks, steps and tasks (queue and service tests) -----------------------------------
# Models by label, so this block needs no imports of its own.


class PlaybookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "playbooks.Playbook"

    name = factory.Sequence(lambda n: f"Playbook {n}")
    risk_level = ""
    is_active = True


class PlaybookStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "playbooks.PlaybookStep"

    playbook = factory.SubFactory(PlaybookFactory)
    position = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Step {n}")
    kind = "task"
    owner_role = "csm"
    due_offset_hours = 4


def _tomorrow():
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() + timedelta(days=1)


class TaskFactory(factory.django.DjangoModelFactory):
    """An open one-off task on an account, assigned to its owner, due tomorrow."""

    class Meta:
        model = "playbooks.Task"

    account = factory.SubFactory("tests.factories.AccountFactory")
    assignee = factory.LazyAttribute(lambda task: task.account.owner)
    title = factory.Sequence(lambda n: f"Follow up {n}")
    status = "open"
    due_at = factory.LazyFunction(_tomorrow)


# --- retention plans (plan service, view, race and browser tests) -----------------------------
# The reason taxonomy ships in a migration, but transactional tests flush it: get or create.


class ReasonCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "interviews.ReasonCategory"
        django_get_or_create = ("key",)

    key = "price_value"
    name = "Price / value"


class SubReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "interviews.SubReason"
        django_get_or_create = ("category", "key")

    category = factory.SubFactory(ReasonCategoryFactory)
    key = "too_expensive"
    name = "Too expensive"


def draft_plan_for(account, *, author=None, offers=None, steps=None, task=None, **fields):
    """A draft written through the service (with its history event), by the account's owner.
    By default one 500 extended-support offer (so a manager must approve) and two next steps."""
    from datetime import timedelta

    from django.utils import timezone

    from playbooks import plans

    defaults = {
        "root_cause": ReasonCategoryFactory(),
        "objectives": "Get the champion's successor onboarded and using reports weekly.",
        "target_date": timezone.localdate() + timedelta(days=30),
        "diagnosis": "Usage fell after the champion left.",
    }
    defaults.update(fields)
    if offers is None:
        offers = [
            {"kind": "extended_support", "description": "Three months of priority support", "cost": 500}
        ]
    if steps is None:
        steps = [
            {"title": "Call the new decision maker", "owner_role": "csm", "due_offset_hours": 8},
            {"title": "Lead's attention email", "owner_role": "lead", "due_offset_hours": 4},
        ]
    return plans.draft_plan(
        account=account, author=author or account.owner, offers=offers, steps=steps, task=task, **defaults
    )
