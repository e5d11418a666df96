"""The demo's retention plans: every state present, Harbor Logistics' plan waiting for Maria."""

from datetime import date

import pytest

from csworkbench.demo.seed import seed_demo
from csworkbench.demo.stories import STORY_ACCOUNTS
from playbooks import plans
from playbooks.models import PlanEvent, PlanStatus, RetentionPlan, Task, TaskStatus

TODAY = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def fast_demo(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.mark.django_db
def test_the_demo_has_plans_in_every_state_with_real_history():
    seed_demo(accounts=60, days=60, today=TODAY)

    statuses = set(RetentionPlan.objects.values_list("status", flat=True))
    assert statuses == set(PlanStatus.values)
    outcomes = set(RetentionPlan.objects.filter(status="closed").values_list("outcome", flat=True))
    assert outcomes == {"saved", "downgraded", "churned"}

    harbor = RetentionPlan.objects.get(account__external_id=STORY_ACCOUNTS["champion_left"])
    assert harbor.status == PlanStatus.SUBMITTED
    assert harbor.task is not None and harbor.task.kind == "retention_plan"
    assert harbor.task.status == TaskStatus.DONE  # submitting completed the playbook's task
    assert harbor.playbook is not None and harbor.playbook.risk_level == "high"
    manager = harbor.account.owner.__class__.objects.get(username="manager")
    assert plans.pending_for(manager).filter(pk=harbor.pk).exists()

    sent_back = RetentionPlan.objects.get(status="changes_requested")
    assert sent_back.events.get(to_status="changes_requested").comment
    # Every plan's history starts with its draft; approved plans' next steps are tasks.
    assert PlanEvent.objects.filter(to_status="draft").count() == RetentionPlan.objects.count()
    approved = RetentionPlan.objects.get(status="approved")
    assert Task.objects.filter(plan_step__plan=approved).count() == approved.steps.count() > 0

    rates = plans.save_rates(RetentionPlan.objects.all())
    assert rates["playbook"] and rates["offer"] and rates["risk"]
    assert len(rates["offer"]) >= 3
