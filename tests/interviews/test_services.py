from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import AccountStatus
from csworkbench.core.models import AuditEvent
from health.models import EventKind, SignalEvent
from interviews import services
from interviews.models import ExitInterview, InterviewStatus
from tests.factories import AccountFactory, UserFactory
from tests.interviews.factories import category, sub_reason

pytestmark = pytest.mark.django_db


def test_it_copies_the_account_facts_at_churn_when_the_interview_starts(churned_account, ivan_interviewer):
    interview = services.start_interview(account=churned_account, interviewer=ivan_interviewer)

    churned_account.value_tier, churned_account.mrr, churned_account.owner = "C", Decimal("1"), None
    churned_account.save()
    interview.refresh_from_db()
    assert interview.tier_at_churn == "A"
    assert interview.mrr_at_churn == Decimal("1200.00")
    assert interview.lifecycle_stage_at_churn == "mature"
    assert interview.csm_name_at_churn == "Alice Chen"
    assert interview.status == InterviewStatus.DRAFT
    assert AuditEvent.objects.filter(action="interview.start", account=churned_account).exists()


def test_the_owner_can_never_interview_their_own_account(churned_account, alice_csm):
    alice_csm.groups.add(*UserFactory(username="ivy", roles=["interviewer", "manager"]).groups.all())
    alice_csm._csworkbench_roles = None  # roles are cached on the user object

    with pytest.raises(PermissionDenied):
        services.start_interview(account=churned_account, interviewer=alice_csm)
    assert not ExitInterview.objects.exists()


def test_the_csm_at_churn_stays_excluded_after_the_account_changes_hands(
    churned_account, ivan_interviewer, alice_csm, maria_manager
):
    interview = services.start_interview(account=churned_account, interviewer=ivan_interviewer)
    churned_account.owner = maria_manager
    churned_account.save()
    alice_csm.groups.add(*maria_manager.groups.all())
    alice_csm._csworkbench_roles = None

    with pytest.raises(PermissionDenied):
        services.save_draft(interview=interview, user=alice_csm, changes={"answer_1": "…"})
    with pytest.raises(PermissionDenied):
        services.save_draft(interview=interview, user=maria_manager, changes={"answer_1": "…"})


def test_a_csm_without_the_interviewer_role_cannot_interview(churned_account, bob_other_csm):
    with pytest.raises(PermissionDenied):
        services.start_interview(account=churned_account, interviewer=bob_other_csm)


def test_only_churned_or_churning_accounts_are_interviewed(alice_csm, ivan_interviewer):
    active = AccountFactory(owner=alice_csm)
    with pytest.raises(ValidationError):
        services.start_interview(account=active, interviewer=ivan_interviewer)

    SignalEvent.objects.create(
        account=active,
        kind=EventKind.CANCELLATION_INTENT,
        occurred_on=timezone.localdate() - timedelta(days=3),
    )
    interview = services.start_interview(account=active, interviewer=ivan_interviewer)
    assert active.status == AccountStatus.ACTIVE
    assert interview.churned_on is None


def test_starting_twice_returns_the_same_draft_but_nobody_else_may_start_it(
    churned_account, ivan_interviewer, maria_manager
):
    first = services.start_interview(account=churned_account, interviewer=ivan_interviewer)
    assert services.start_interview(account=churned_account, interviewer=ivan_interviewer) == first
    with pytest.raises(ValidationError):
        services.start_interview(account=churned_account, interviewer=maria_manager)


def test_avoidable_defaults_from_the_main_reason_and_stays_editable(churned_account, ivan_interviewer):
    interview = services.start_interview(account=churned_account, interviewer=ivan_interviewer)

    services.save_draft(
        interview=interview, user=ivan_interviewer, changes={"primary_category": category("unavoidable")}
    )
    interview.refresh_from_db()
    assert interview.avoidable is False

    services.save_draft(interview=interview, user=ivan_interviewer, changes={"avoidable": True})
    interview.refresh_from_db()
    assert interview.avoidable is True

    fresh = services.start_interview(
        account=AccountFactory(status="churned", churned_on=timezone.localdate()),
        interviewer=ivan_interviewer,
    )
    services.save_draft(
        interview=fresh, user=ivan_interviewer, changes={"primary_category": category("price_value")}
    )
    fresh.refresh_from_db()
    assert fresh.avoidable is True


def test_a_sub_reason_must_belong_to_the_main_reason(churned_account, ivan_interviewer):
    interview = services.start_interview(account=churned_account, interviewer=ivan_interviewer)

    with pytest.raises(ValidationError) as error:
        services.save_draft(
            interview=interview,
            user=ivan_interviewer,
            changes={
                "primary_category": category("product"),
                "sub_reason": sub_reason("price_value/too_expensive"),
            },
        )
    assert "sub_reason" in error.value.message_dict
    interview.refresh_from_db()
    assert interview.primary_category is None


def test_complete_needs_the_main_reason_avoidable_and_the_first_answer(churned_account, ivan_interviewer):
    interview = services.start_interview(account=churned_account, interviewer=ivan_interviewer)

    with pytest.raises(ValidationError) as error:
        services.complete_interview(interview=interview, user=ivan_interviewer)
    assert set(error.value.message_dict) == {"primary_category", "avoidable", "answer_1"}

    services.save_draft(
        interview=interview,
        user=ivan_interviewer,
        changes={
            "answer_1": "Too expensive for a small tutoring centre",
            "primary_category": category("price_value"),
            "sub_reason": sub_reason("price_value/too_expensive"),
            "secondary_categories": [category("service"), category("price_value")],
        },
    )
    done = services.complete_interview(interview=interview, user=ivan_interviewer)

    done.refresh_from_db()
    assert done.status == InterviewStatus.DONE and done.completed_at is not None
    assert done.held_on == timezone.localdate()
    # The main reason is never also a secondary one.
    assert [c.key for c in done.secondary_categories.all()] == ["service"]
    assert AuditEvent.objects.get(action="interview.complete").details["reason"] == "price_value"


def test_a_completed_interview_is_read_only_except_for_managers(
    churned_account, ivan_interviewer, maria_manager
):
    interview = services.start_interview(account=churned_account, interviewer=ivan_interviewer)
    services.save_draft(
        interview=interview,
        user=ivan_interviewer,
        changes={"answer_1": "Budget", "primary_category": category("price_value")},
    )
    services.complete_interview(interview=interview, user=ivan_interviewer)

    with pytest.raises(PermissionDenied):
        services.save_draft(interview=interview, user=ivan_interviewer, changes={"answer_1": "Changed"})
    services.save_draft(interview=interview, user=maria_manager, changes={"competitor": "Acme Cloud"})

    interview.refresh_from_db()
    assert interview.competitor == "Acme Cloud" and interview.status == InterviewStatus.DONE
    assert AuditEvent.objects.filter(action="interview.edit", actor=maria_manager).exists()


def test_another_interviewer_cannot_edit_a_draft(churned_account, ivan_interviewer):
    interview = services.start_interview(account=churned_account, interviewer=ivan_interviewer)
    other = UserFactory(username="olga", roles=["interviewer"])
    with pytest.raises(PermissionDenied):
        services.save_draft(interview=interview, user=other, changes={"answer_1": "x"})
