from datetime import timedelta

import factory
from django.utils import timezone

from interviews.models import ExitInterview, ReasonCategory, SubReason
from tests.factories import AccountFactory


class ChurnedAccountFactory(AccountFactory):
    status = "churned"
    churn_type = "cancelled"
    churned_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=20))


class ExitInterviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExitInterview

    account = factory.SubFactory(ChurnedAccountFactory)
    tier_at_churn = factory.SelfAttribute("account.value_tier")
    mrr_at_churn = factory.SelfAttribute("account.mrr")
    lifecycle_stage_at_churn = "mature"
    churned_on = factory.SelfAttribute("account.churned_on")


def category(key: str) -> ReasonCategory:
    """The shipped taxonomy (the data migration's rows); recreated after a transactional flush."""
    from interviews.defaults import create_taxonomy

    if not ReasonCategory.objects.filter(key=key).exists():
        create_taxonomy(ReasonCategory, SubReason)
    return ReasonCategory.objects.get(key=key)


def sub_reason(path: str) -> SubReason:
    category_key, key = path.split("/")
    return SubReason.objects.get(category=category(category_key), key=key)


# --- reports (interviews/churn.py, reasons.py, report_views.py) --------------------------------


class DoneInterviewFactory(ExitInterviewFactory):
    """A completed interview with a main reason: what the reports count."""

    status = "done"
    completed_at = factory.LazyFunction(timezone.now)
    primary_category = factory.LazyFunction(lambda: category("product"))


class ActionItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "interviews.ActionItem"

    title = factory.Sequence(lambda n: f"Action item {n}")
    team = "product"
    review_period = "2026-10"
    category = factory.LazyFunction(lambda: category("product"))
