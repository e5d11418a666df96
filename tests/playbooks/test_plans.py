"""The retention-plan services (playbooks/plans.py): the state machine, approvals, the tasks and
notifications a decision creates, the history, and the save-rate arithmetic."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import RiskLevel
from csworkbench.core.models import AuditEvent
from playbooks import plans
from playbooks.business_time import SlaUnit, due_at
from playbooks.models import (
    ApprovalPolicy,
    Delivery,
    Notification,
    PlanApproval,
    PlanEvent,
    PlanStatus,
    PlaybookRun,
    RunStatus,
    Task,
    TaskStatus,
)
from playbooks.services import start_playbook
from tests.factories import AccountFactory, UserFactory
from tests.playbooks.factories import (
    PlaybookFactory,
    PlaybookStepFactory,
    ReasonCategoryFactory,
    SubReasonFactory,
    TeamFactory,
    draft_plan_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(alice_csm, maria_manager):
    return TeamFactory(name="Taipei CS", members=[alice_csm], managers=[maria_manager])


@pytest.fixture
def plan(team, alice_account):
    return draft_plan_for(alice_account)


@pytest.fixture
def olga_manager(db):
    return UserFactory(username="olga", first_name="Olga", last_name="Lee", roles=["manager"])


def submitted(plan, user=None):
    return plans.submit_plan(plan=plan, user=user or plan.author, expected_version=plan.version)


def moves(plan) -> list[tuple[str, str]]:
    return list(plan.events.order_by("version").values_list("from_status", "to_status"))


def take_to_closed(plan, manager, outcome):
    plan = submitted(plan)
    if plan.status == PlanStatus.SUBMITTED:  # a plan without offers is approved on submission
        plan = plans.approve_plan(plan=plan, manager=manager, expected_version=plan.version)
    plan = plans.activate_plan(plan=plan, user=plan.author)
    return plans.close_plan(plan=plan, user=plan.author, outcome=outcome)


# --- drafting --------------------------------------------------------------------------------


def test_a_draft_records_its_first_event_and_its_offers_and_steps(plan, alice_csm, alice_account):
    assert plan.status == PlanStatus.DRAFT
    assert plan.version == 1
    assert plan.mrr_at_stake == alice_account.mrr
    assert plan.offers.count() == 1 and plan.steps.count() == 2
    event = plan.events.get()
    assert (event.from_status, event.to_status, event.actor, event.version) == ("", "draft", alice_csm, 1)
    assert AuditEvent.objects.filter(action="plan.draft", account=alice_account).exists()


def test_only_csms_and_managers_draft_and_only_on_accounts_they_may_change(
    alice_account, bob_other_csm, ivan_interviewer
):
    with pytest.raises(PermissionDenied):
        draft_plan_for(alice_account, author=bob_other_csm)
    with pytest.raises(PermissionDenied):
        draft_plan_for(alice_account, author=ivan_interviewer)


def test_the_sub_reason_must_belong_to_the_root_cause(alice_account):
    other = SubReasonFactory(category=ReasonCategoryFactory(key="product", name="Product"), key="bugs")
    with pytest.raises(ValidationError) as caught:
        draft_plan_for(alice_account, root_cause=ReasonCategoryFactory(), root_cause_detail=other)
    assert "root_cause_detail" in caught.value.message_dict


def test_a_plan_cannot_be_drafted_from_another_accounts_task(alice_account, alice_csm):
    from tests.playbooks.factories import TaskFactory

    elsewhere = TaskFactory(account=AccountFactory(owner=alice_csm), kind="retention_plan")
    with pytest.raises(ValidationError):
        draft_plan_for(alice_account, task=elsewhere)


def test_editing_bumps_the_version_and_replaces_offers_and_steps(plan, alice_csm):
    edited = plans.update_plan(
        plan=plan,
        author=alice_csm,
        offers=[{"kind": "discount", "discount_percent": Decimal(15), "cost": Decimal(900)}],
        steps=[],
        expected_version=1,
        objectives="Renew at 15% off.",
    )
    assert edited.version == 2
    assert edited.objectives == "Renew at 15% off."
    assert list(edited.offers.values_list("kind", flat=True)) == ["discount"]
    assert edited.steps.count() == 0


def test_an_edit_on_a_stale_page_or_by_someone_else_is_refused(plan, alice_csm, maria_manager):
    with pytest.raises(PermissionDenied):
        plans.update_plan(plan=plan, author=maria_manager, offers=[], steps=[])
    plans.update_plan(plan=plan, author=alice_csm, offers=[], steps=[], expected_version=1)
    with pytest.raises(plans.PlanConflict):
        plans.update_plan(plan=plan, author=alice_csm, offers=[], steps=[], expected_version=1)


def test_an_edit_keeps_the_sub_reason_in_its_category(plan, alice_csm):
    wrong = SubReasonFactory(category=ReasonCategoryFactory(key="product", name="Product"), key="bugs")
    with pytest.raises(ValidationError):
        plans.update_plan(plan=plan, author=alice_csm, offers=[], steps=[], root_cause_detail=wrong)


# --- the state machine -----------------------------------------------------------------------


def test_the_whole_journey_is_recorded_with_who_when_and_why(plan, alice_csm, maria_manager):
    plan = submitted(plan)
    plan = plans.request_changes(
        plan=plan, manager=maria_manager, comment="Offer less support.", expected_version=plan.version
    )
    plan = plans.update_plan(plan=plan, author=alice_csm, offers=[], steps=[], objectives="Tighter plan.")
    plan = plans.submit_plan(plan=plan, user=alice_csm, comment="Trimmed.", expected_version=plan.version)
    # Without offers, a resubmitted plan is within the limits and approved at once.
    assert plan.status == PlanStatus.APPROVED
    plan = plans.activate_plan(plan=plan, user=alice_csm)
    plan = plans.close_plan(plan=plan, user=alice_csm, outcome="saved", comment="Renewed for a year.")

    assert moves(plan) == [
        ("", "draft"),
        ("draft", "submitted"),
        ("submitted", "changes_requested"),
        ("changes_requested", "submitted"),
        ("submitted", "approved"),
        ("approved", "active"),
        ("active", "closed"),
    ]
    events = list(plan.events.order_by("version"))
    assert [e.actor for e in events] == [
        alice_csm,
        alice_csm,
        maria_manager,
        alice_csm,
        None,
        alice_csm,
        alice_csm,
    ]
    assert events[2].comment == "Offer less support."
    assert events[3].comment == "Trimmed."
    assert all(e.created_at <= timezone.now() for e in events)
    assert plan.outcome == "saved" and plan.outcome_note == "Renewed for a year." and plan.closed_at
    # Versions only grow, each once: the edit bumped one without a status move.
    versions = [e.version for e in events]
    assert versions == sorted(set(versions))


@pytest.mark.parametrize(
    ("status_path", "illegal"),
    [
        ([], "activate"),
        ([], "close"),
        ([], "approve"),
        (["submit"], "submit"),
        (["submit"], "activate"),
        (["submit"], "close"),
        (["submit", "reject"], "submit"),
        (["submit", "reject"], "approve"),
        (["submit", "reject"], "activate"),
        (["submit", "approve"], "approve"),
        (["submit", "approve"], "close"),
        (["submit", "approve", "activate", "close"], "activate"),
    ],
)
def test_illegal_transitions_are_refused(plan, maria_manager, status_path, illegal):
    def act(name, plan):
        author = plan.author
        if name == "submit":
            return plans.submit_plan(plan=plan, user=author)
        if name == "approve":
            return plans.approve_plan(plan=plan, manager=maria_manager, expected_version=plan.version)
        if name == "reject":
            return plans.reject_plan(
                plan=plan, manager=maria_manager, comment="No.", expected_version=plan.version
            )
        if name == "activate":
            return plans.activate_plan(plan=plan, user=author)
        return plans.close_plan(plan=plan, user=author, outcome="saved")

    for step in status_path:
        plan = act(step, plan)
    before = (plan.status, plan.version, plan.events.count())
    with pytest.raises(plans.PlanConflict):
        act(illegal, plan)
    plan.refresh_from_db()
    assert (plan.status, plan.version, plan.events.count()) == before


def test_a_double_submit_makes_one_transition(plan, alice_csm):
    version = plan.version
    plans.submit_plan(plan=plan, user=alice_csm, expected_version=version)
    with pytest.raises(plans.PlanConflict) as caught:
        plans.submit_plan(plan=plan, user=alice_csm, expected_version=version)
    assert "Submitted" in str(caught.value.messages[0])
    assert plan.events.filter(to_status="submitted").count() == 1


def test_a_decision_on_an_old_version_is_refused_and_says_who_acted(plan, team, maria_manager, olga_manager):
    team.managers.add(olga_manager)
    plan = submitted(plan)
    stale = plan.version
    plans.request_changes(plan=plan, manager=maria_manager, comment="More detail.", expected_version=stale)
    with pytest.raises(plans.PlanConflict) as caught:
        plans.approve_plan(plan=plan, manager=olga_manager, expected_version=stale)
    assert "Maria Wang" in caught.value.messages[0]
    assert not PlanApproval.objects.filter(plan=plan).exists()


def test_changes_and_rejections_need_a_comment(plan, maria_manager):
    plan = submitted(plan)
    with pytest.raises(ValidationError):
        plans.request_changes(plan=plan, manager=maria_manager, comment=" ", expected_version=plan.version)
    with pytest.raises(ValidationError):
        plans.reject_plan(plan=plan, manager=maria_manager, comment="", expected_version=plan.version)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUBMITTED


# --- who decides -----------------------------------------------------------------------------


def test_nobody_approves_their_own_plan_not_even_a_manager(maria_manager, team):
    account = AccountFactory(owner=maria_manager)
    plan = submitted(draft_plan_for(account, author=maria_manager))
    with pytest.raises(PermissionDenied):
        plans.approve_plan(plan=plan, manager=maria_manager, expected_version=plan.version)
    assert not plans.pending_for(maria_manager).filter(pk=plan.pk).exists()


def test_a_csm_cannot_decide(plan, bob_other_csm):
    plan = submitted(plan)
    with pytest.raises(PermissionDenied):
        plans.approve_plan(plan=plan, manager=bob_other_csm, expected_version=plan.version)


def test_a_manager_of_another_team_cannot_decide(plan, bob_other_csm):
    other_lead = UserFactory(username="oscar", roles=["manager"])
    TeamFactory(name="Kaohsiung CS", members=[bob_other_csm], managers=[other_lead])
    plan = submitted(plan)
    with pytest.raises(PermissionDenied):
        plans.approve_plan(plan=plan, manager=other_lead, expected_version=plan.version)
    assert not plans.pending_for(other_lead).exists()


def test_above_the_second_limits_two_different_managers_approve(
    team, alice_account, maria_manager, olga_manager
):
    team.managers.add(olga_manager)
    big = [{"kind": "discount", "discount_percent": Decimal(40), "cost": Decimal(60000)}]
    plan = submitted(draft_plan_for(alice_account, offers=big))
    assert plan.approvals_needed == 2

    plan = plans.approve_plan(
        plan=plan, manager=maria_manager, comment="Fine by me.", expected_version=plan.version
    )
    assert plan.status == PlanStatus.SUBMITTED
    assert Notification.objects.filter(recipient=olga_manager, title__startswith="A second approval").exists()
    with pytest.raises(plans.PlanConflict):
        plans.approve_plan(plan=plan, manager=maria_manager, expected_version=plan.version)
    assert plans.pending_for(olga_manager).get(pk=plan.pk).approvals_given == 1

    plan = plans.approve_plan(plan=plan, manager=olga_manager, expected_version=plan.version)
    assert plan.status == PlanStatus.APPROVED
    assert set(plan.approvals.values_list("approver__username", flat=True)) == {"maria", "olga"}
    assert plan.events.filter(to_status="approved", actor=olga_manager).count() == 1


@pytest.mark.parametrize(
    ("offers", "needed"),
    [
        ([], 0),
        ([{"kind": "free_module", "cost": Decimal(800)}], 0),
        ([{"kind": "free_module", "cost": Decimal(1500)}], 1),
        ([{"kind": "discount", "discount_percent": Decimal(10), "cost": Decimal(100)}], 0),
        ([{"kind": "discount", "discount_percent": Decimal(12), "cost": Decimal(100)}], 1),
        ([{"kind": "discount", "discount_percent": Decimal(31), "cost": Decimal(100)}], 2),
        ([{"kind": "extended_support", "cost": Decimal(20001)}], 2),
    ],
)
def test_the_policy_decides_how_many_approvals(alice_account, team, offers, needed):
    ApprovalPolicy.objects.create(
        manager_cost_limit=1000, manager_discount_limit=10, second_cost_limit=20000, second_discount_limit=30
    )
    plan = submitted(draft_plan_for(alice_account, offers=offers))
    if needed == 0:
        assert plan.status == PlanStatus.APPROVED
        approved = plan.events.get(to_status="approved")
        assert approved.actor is None and "approved on submission" in approved.comment
        assert plan.steps.filter(task__isnull=False).count() == 2
    else:
        assert plan.status == PlanStatus.SUBMITTED
        assert plan.approvals_needed == needed


def test_the_largest_discount_counts_even_next_to_one_without_a_percentage(alice_account, team):
    offers = [
        {"kind": "discount", "discount_percent": None, "cost": Decimal(0)},
        {"kind": "discount", "discount_percent": Decimal(45), "cost": Decimal(0)},
    ]
    plan = draft_plan_for(alice_account, offers=offers)
    assert plans.offer_totals(plan).max_discount == Decimal(45)
    assert submitted(plan).approvals_needed == 2


def test_the_approval_limits_are_set_by_managers_with_the_second_above_the_first(maria_manager, alice_csm):
    with pytest.raises(PermissionDenied):
        plans.update_approval_policy(
            user=alice_csm,
            manager_cost_limit=1,
            manager_discount_limit=1,
            second_cost_limit=2,
            second_discount_limit=2,
        )
    with pytest.raises(ValidationError) as caught:
        plans.update_approval_policy(
            user=maria_manager,
            manager_cost_limit=Decimal(5000),
            manager_discount_limit=Decimal(20),
            second_cost_limit=Decimal(4000),
            second_discount_limit=Decimal(10),
        )
    assert set(caught.value.message_dict) == {"second_cost_limit", "second_discount_limit"}
    policy = plans.update_approval_policy(
        user=maria_manager,
        manager_cost_limit=Decimal(500),
        manager_discount_limit=Decimal(5),
        second_cost_limit=Decimal(500),
        second_discount_limit=Decimal(25),
    )
    assert ApprovalPolicy.objects.get() == policy
    assert ApprovalPolicy.current().second_discount_limit == Decimal(25)


# --- what a decision creates -----------------------------------------------------------------


def test_approval_turns_next_steps_into_tasks_in_the_right_queues_on_business_time(
    plan, team, alice_csm, maria_manager
):
    plan = submitted(plan)
    plan = plans.approve_plan(plan=plan, manager=maria_manager, expected_version=plan.version)

    call, email = plan.steps.select_related("task").order_by("pk")
    calendar = team.calendar()
    assert call.task.assignee == alice_csm  # a CSM step goes to the account's owner
    assert email.task.assignee == maria_manager  # a lead step goes to the team's manager
    for step in (call, email):
        assert step.task.status == TaskStatus.OPEN
        assert step.task.account_id == plan.account_id
        # The manager is in no team as a member: their step counts on the owner's team calendar.
        assert step.task.due_at == due_at(
            plan.decided_at, step.due_offset_hours, SlaUnit.BUSINESS_HOURS, calendar
        )
    assert Task.objects.filter(assignee=alice_csm, title="Call the new decision maker").exists()


def test_approval_tells_the_author_in_app_and_by_email(plan, alice_csm, maria_manager):
    plan = submitted(plan)
    assert Notification.objects.filter(recipient=maria_manager, title__contains="to approve").exists()
    plans.approve_plan(plan=plan, manager=maria_manager, comment="Go.", expected_version=plan.version)
    note = Notification.objects.get(recipient=alice_csm, kind="plan")
    assert note.title.startswith("Plan approved")
    assert "Go." in note.body and note.url == f"/plans/{plan.pk}/"
    assert Delivery.objects.filter(notification=note, channel="email", to=alice_csm.email).exists()
    # The new tasks are announced too.
    assert Notification.objects.filter(recipient=alice_csm, kind="task_assigned").exists()


def test_changes_requested_and_rejection_tell_the_author_why(plan, alice_csm, maria_manager, team):
    plan = submitted(plan)
    plans.request_changes(
        plan=plan, manager=maria_manager, comment="Cheaper, please.", expected_version=plan.version
    )
    note = Notification.objects.get(recipient=alice_csm, kind="plan")
    assert note.title.startswith("Changes requested") and note.body == "Cheaper, please."

    plan = submitted(plans.RetentionPlan.objects.get(pk=plan.pk))
    plans.reject_plan(
        plan=plan, manager=maria_manager, comment="Not worth it.", expected_version=plan.version
    )
    assert Notification.objects.filter(recipient=alice_csm, title__startswith="Plan rejected").exists()
    assert not Task.objects.filter(account=plan.account).exists()


def test_submitting_completes_the_drafting_task_of_the_playbook(alice_account, alice_csm, team):
    playbook = PlaybookFactory(name="Medium", risk_level="medium")
    PlaybookStepFactory(playbook=playbook, title="Draft the initial retention plan", kind="retention_plan")
    run = start_playbook(account=alice_account, playbook=playbook, started_by=alice_csm)
    task = run.tasks.get()

    plan = draft_plan_for(alice_account, task=task)
    assert plan.playbook == playbook
    submitted(plan)

    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert task.completed_by == alice_csm and task.completed_at
    assert task.outcome == "resolved"
    assert PlaybookRun.objects.get(pk=run.pk).status == RunStatus.COMPLETED


# --- who sees what ---------------------------------------------------------------------------


def test_plans_are_visible_to_their_author_owner_team_managers_and_admins(
    plan, alice_csm, bob_other_csm, maria_manager, ivan_interviewer, ada_admin, nora_no_role
):
    assert plans.plans_visible_to(alice_csm).filter(pk=plan.pk).exists()
    assert plans.plans_visible_to(maria_manager).filter(pk=plan.pk).exists()
    assert plans.plans_visible_to(ada_admin).filter(pk=plan.pk).exists()
    for outsider in (bob_other_csm, ivan_interviewer, nora_no_role):
        assert not plans.plans_visible_to(outsider).exists()


def test_the_inbox_lists_submitted_plans_oldest_first_with_what_is_at_stake(team, alice_csm, maria_manager):
    first = draft_plan_for(AccountFactory(owner=alice_csm, mrr=5000))
    second = draft_plan_for(
        AccountFactory(owner=alice_csm, mrr=800),
        offers=[{"kind": "free_module", "cost": 300}, {"kind": "extended_support", "cost": 200}],
    )
    submitted(second)
    submitted(first)
    draft_plan_for(AccountFactory(owner=alice_csm))  # a draft is not in the inbox
    rows = list(plans.pending_for(maria_manager))
    assert [p.pk for p in rows] == [second.pk, first.pk]
    assert rows[0].offer_cost == Decimal(500) and rows[0].mrr_at_stake == Decimal(800)
    assert rows[1].offer_cost == Decimal(500) and rows[0].approvals_given == 0


# --- save rate -------------------------------------------------------------------------------


def test_save_rates_by_playbook_offer_and_risk_add_up_by_hand(team, alice_csm, maria_manager):
    medium = PlaybookFactory(name="Follow-up", risk_level="medium")
    high = PlaybookFactory(name="Squad", risk_level="high")
    discount = {"kind": "discount", "discount_percent": Decimal(10), "cost": Decimal(100)}
    support = {"kind": "extended_support", "cost": Decimal(100)}
    cases = [
        # (playbook, risk, offers, outcome)
        (medium, RiskLevel.MEDIUM, [discount], "saved"),
        (medium, RiskLevel.MEDIUM, [discount, support], "saved"),
        (medium, RiskLevel.HIGH, [support], "churned"),
        (high, RiskLevel.HIGH, [discount, discount], "downgraded"),
        (high, RiskLevel.HIGH, [], "saved"),
    ]
    for playbook, risk, offers, outcome in cases:
        account = AccountFactory(owner=alice_csm, risk_level=risk)
        plan = draft_plan_for(account, offers=offers)
        plans.RetentionPlan.objects.filter(pk=plan.pk).update(playbook=playbook)
        plan.refresh_from_db()
        take_to_closed(plan, maria_manager, outcome)
    draft_plan_for(AccountFactory(owner=alice_csm))  # open plans do not count

    rates = plans.save_rates(plans.plans_visible_to(maria_manager))

    def table(key):
        return {
            r["label"]: (r["total"], r["saved"], r["downgraded"], r["churned"], r["save_rate"])
            for r in rates[key]
        }

    assert table("playbook") == {
        "Follow-up": (3, 2, 0, 1, 67),  # 2 of 3 saved
        "Squad": (2, 1, 1, 0, 50),
    }
    assert table("offer") == {
        "Discount": (3, 2, 1, 0, 67),  # the plan with two discounts counts once
        "Extended support": (2, 1, 0, 1, 50),
        "No offer": (1, 1, 0, 0, 100),
    }
    assert table("risk") == {"Medium": (2, 2, 0, 0, 100), "High": (3, 1, 1, 1, 33)}
    kept = {r["label"]: r["kept_rate"] for r in rates["playbook"]}
    assert kept == {"Follow-up": 67, "Squad": 100}


def test_save_rates_of_nothing_are_empty(maria_manager):
    assert plans.save_rates(plans.plans_visible_to(maria_manager)) == {
        "playbook": [],
        "offer": [],
        "risk": [],
    }


def test_events_are_unique_per_version(plan):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        PlanEvent.objects.create(plan=plan, from_status="", to_status="draft", version=1)
