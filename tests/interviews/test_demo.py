"""The demo's exit interviews: stories say why they left, every reason category shows up."""

from datetime import date

import pytest
from django.db.models import Q

from accounts.models import Account
from csworkbench.demo.seed import seed_demo
from csworkbench.demo.stories import STORIES, STORY_ACCOUNTS
from interviews.models import ExitInterview, InterviewStatus, ReasonCategory, SurveyInvitation

TODAY = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def fast_demo(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.mark.django_db
def test_the_demo_interviews_the_churned_accounts_across_every_reason(mailoutbox):
    seed_demo(accounts=60, days=60, today=TODAY)

    for story in STORIES:
        if not story.churn_reason:
            continue
        interview = ExitInterview.objects.select_related("primary_category", "sub_reason").get(
            account__external_id=STORY_ACCOUNTS[story.key]
        )
        assert interview.status == InterviewStatus.DONE
        assert f"{interview.primary_category.key}/{interview.sub_reason.key}" == story.churn_reason

    interviews = ExitInterview.objects.select_related("account", "interviewer")
    assert {i.primary_category.key for i in interviews.filter(status="done")} == set(
        ReasonCategory.objects.values_list("key", flat=True)
    )
    assert interviews.filter(status="done", avoidable=True).exists()
    assert interviews.filter(status="done", avoidable=False).exists()
    assert interviews.filter(status="draft").exists()
    for interview in interviews:
        # Neutral: nobody interviews an account they owned.
        assert interview.interviewer_id not in (interview.account.owner_id, interview.csm_at_churn_id)
        assert interview.completed_at is None or interview.completed_at.date() <= TODAY
    churned = Account.objects.churned().count()
    assert interviews.count() >= churned * 0.7
    assert Account.objects.churned().filter(exit_interview__isnull=True).exists()  # some wait
    assert SurveyInvitation.objects.count() == 2
    assert mailoutbox == []  # the demo sends no email

    # Reseeding replaces the interviews instead of piling them up.
    seed_demo(accounts=60, days=60, today=TODAY)
    assert ExitInterview.objects.count() == interviews.count()
    assert not ExitInterview.objects.filter(
        Q(account__status="active") & Q(churned_on__isnull=False)
    ).exists()
