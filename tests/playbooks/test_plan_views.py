"""The retention-plan pages: drafting and editing, the plan page and its actions, the approval
inbox (/plans/approvals/) with its limits, the save rate; who may open what."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from playbooks import plans
from playbooks.models import ApprovalPolicy, PlanEvent, PlanStatus, RetentionPlan, Task, TaskStatus
from playbooks.services import start_playbook
from tests.factories import AccountFactory, UserFactory
from tests.form_tokens import with_token
from tests.playbooks.factories import (
    PlaybookFactory,
    PlaybookStepFactory,
    ReasonCategoryFactory,
    SubReasonFactory,
    TaskFactory,
    draft_plan_for,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
APPROVALS = "/plans/approvals/"


def flash_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def url(name, plan=None) -> str:
    return reverse(f"plans:{name}", args=[plan.pk] if plan else [])


def submit(plan):
    return plans.submit_plan(plan=plan, user=plan.author, expected_version=plan.version)


def plan_post(account, *, task=None, **overrides) -> dict:
    """A valid draft form: one offer and one next step, two empty rows of each."""
    category = ReasonCategoryFactory()
    data = {
        "account": account.pk,
        "root_cause": category.pk,
        "root_cause_detail": SubReasonFactory(category=category).pk,
        "target_date": (timezone.localdate() + timedelta(days=21)).isoformat(),
        "diagnosis": "Core-feature use fell 40% after the champion left.",
        "objectives": "Onboard the new lead; weekly reports back in use by the target date.",
        "offers-TOTAL_FORMS": "3",
        "offers-INITIAL_FORMS": "0",
        "offers-0-kind": "discount",
        "offers-0-description": "15% off the renewal",
        "offers-0-discount_percent": "15",
        "offers-0-cost": "2400",
        "offers-0-duration_months": "12",
        "steps-TOTAL_FORMS": "3",
        "steps-INITIAL_FORMS": "0",
        "steps-0-title": "Training for the new lead",
        "steps-0-owner_role": "csm",
        "steps-0-due_offset_hours": "16",
    }
    for prefix in ("offers", "steps"):
        for index in (1, 2):
            if prefix == "offers":
                data.update(
                    {
                        f"offers-{index}-kind": "",
                        f"offers-{index}-cost": "0",
                        f"offers-{index}-duration_months": "1",
                    }
                )
            else:
                data.update({f"steps-{index}-owner_role": "csm", f"steps-{index}-due_offset_hours": "24"})
    if task is not None:
        data["task"] = task.pk
    data.update(overrides)
    return data


@pytest.fixture
def plan(alice_account):
    return draft_plan_for(alice_account)


@pytest.fixture
def pending(plan):
    return submit(plan)


# --- who may open what -----------------------------------------------------------------------

USERS = ("alice_csm", "bob_other_csm", "maria_manager", "ivan_interviewer", "ada_admin", "nora_no_role")


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        # the plan (a draft by alice, on her account)
        (
            "detail",
            {
                "alice_csm": 200,
                "bob_other_csm": 404,
                "maria_manager": 200,
                "ivan_interviewer": 403,
                "ada_admin": 200,
                "nora_no_role": 403,
            },
        ),
        (
            "edit",
            {
                "alice_csm": 200,
                "bob_other_csm": 404,
                "maria_manager": 403,
                "ivan_interviewer": 403,
                "ada_admin": 403,
                "nora_no_role": 403,
            },
        ),
        # drafting on alice's account
        (
            "create",
            {
                "alice_csm": 200,
                "bob_other_csm": 403,
                "maria_manager": 200,
                "ivan_interviewer": 403,
                "ada_admin": 403,
                "nora_no_role": 403,
            },
        ),
        (
            "approvals",
            {
                "alice_csm": 403,
                "bob_other_csm": 403,
                "maria_manager": 200,
                "ivan_interviewer": 403,
                "ada_admin": 200,
                "nora_no_role": 403,
            },
        ),
        (
            "save_rate",
            {
                "alice_csm": 403,
                "bob_other_csm": 403,
                "maria_manager": 200,
                "ivan_interviewer": 403,
                "ada_admin": 200,
                "nora_no_role": 403,
            },
        ),
    ],
)
def test_who_may_open_each_page(request, client, plan, page, expected):
    address = {
        "detail": url("detail", plan),
        "edit": url("edit", plan),
        "create": url("create") + f"?account={plan.account_id}",
        "approvals": APPROVALS,
        "save_rate": url("save_rate"),
    }[page]
    for name in USERS:
        client.force_login(request.getfixturevalue(name))
        assert client.get(address).status_code == expected[name], name
    client.logout()
    response = client.get(address)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


MOVE_CODES = {
    "alice_csm": 409,
    "bob_other_csm": 404,
    "maria_manager": 409,
    "ivan_interviewer": 403,
    "ada_admin": 409,
    "nora_no_role": 403,
}


@pytest.mark.parametrize(
    ("action", "codes"),
    [
        # Only the author (or an admin) submits: here the plan is already submitted, hence 409.
        ("submit", {**MOVE_CODES, "maria_manager": 403}),
        # Only managers decide (maria's approval is covered below).
        ("decide", dict.fromkeys(USERS, 403)),
        ("activate", MOVE_CODES),
        ("close", MOVE_CODES),
    ],
)
def test_who_may_post_each_action(request, client, pending, action, codes):
    """On a submitted plan by alice: others' plans are 404, the wrong role 403, and a move the
    state machine forbids 409 — and nothing changes."""
    data = {"version": pending.version, "decision": "approve", "outcome": "saved", "comment": "ok"}
    for name in USERS:
        if name == "maria_manager" and action == "decide":
            continue  # approving changes the state; covered below
        client.force_login(request.getfixturevalue(name))
        response = client.post(url(action, pending), data, **HTMX)
        assert response.status_code == codes[name], name
    pending.refresh_from_db()
    assert pending.status == PlanStatus.SUBMITTED
    client.logout()
    response = client.post(url(action, pending), data)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("name", ["detail", "edit", "submit", "activate", "close", "decide"])
def test_wrong_methods_are_refused(client_for, maria_manager, alice_csm, plan, name):
    client = client_for(alice_csm if name != "decide" else maria_manager)
    if name in ("detail",):
        assert client.post(url(name, plan)).status_code == 405
    elif name == "edit":
        assert client.delete(url(name, plan)).status_code == 405
    else:
        assert client.get(url(name, plan)).status_code == 405


def test_wrong_methods_on_the_pages_without_a_plan(client_for, maria_manager):
    client = client_for(maria_manager)
    assert client.post(APPROVALS).status_code == 405
    assert client.post(url("save_rate")).status_code == 405
    assert client.get(url("approval_policy")).status_code == 405


# --- drafting --------------------------------------------------------------------------------


def test_the_draft_form_has_labels_fieldsets_and_the_account(client_for, alice_csm, alice_account):
    response = client_for(alice_csm).get(url("create") + f"?account={alice_account.pk}")
    html = response.content.decode()
    assert "Acme Ltd" in html
    assert html.count("<fieldset") >= 3 and "<legend>" in html
    for field_id in (
        "id_root_cause",
        "id_root_cause_detail",
        "id_target_date",
        "id_offers-0-kind",
        "id_steps-0-title",
    ):
        assert f'for="{field_id}"' in html


def test_a_csm_drafts_a_plan(client_for, alice_csm, alice_account):
    response = client_for(alice_csm).post(url("create"), with_token(alice_csm, plan_post(alice_account)))
    plan = RetentionPlan.objects.get()
    assert response.status_code == 302 and response["Location"] == url("detail", plan)
    assert plan.author == alice_csm and plan.status == PlanStatus.DRAFT
    offer = plan.offers.get()
    assert (offer.kind, offer.discount_percent, offer.cost, offer.duration_months) == (
        "discount",
        Decimal(15),
        Decimal(2400),
        12,
    )
    assert list(plan.steps.values_list("title", "owner_role", "due_offset_hours")) == [
        ("Training for the new lead", "csm", 16)
    ]
    assert plan.root_cause_detail.key == "too_expensive"


def test_a_draft_posted_with_htmx_redirects_the_browser(client_for, alice_csm, alice_account):
    response = client_for(alice_csm).post(
        url("create"), with_token(alice_csm, plan_post(alice_account)), **HTMX
    )
    plan = RetentionPlan.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == url("detail", plan)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"target_date": "2020-01-01"}, "target_date", "in the future"),
        ({"objectives": ""}, "objectives", "required"),
        ({"offers-0-discount_percent": ""}, "offers-0-discount_percent", "needs its percentage"),
        ({"offers-0-discount_percent": "150"}, "offers-0-discount_percent", "less than or equal to 100"),
        ({"offers-0-cost": "-5"}, "offers-0-cost", "greater than or equal to 0"),
        ({"steps-0-due_offset_hours": "0"}, "steps-0-due_offset_hours", "greater than or equal to 1"),
    ],
)
def test_invalid_drafts_show_errors_by_the_field(
    client_for, alice_csm, alice_account, overrides, field, message
):
    for extra in ({}, HTMX):
        response = client_for(alice_csm).post(url("create"), plan_post(alice_account, **overrides), **extra)
        assert response.status_code == 422
        html = response.content.decode()
        assert f'id="id_{field}-error"' in html
        assert message in html
        assert ("<html" in html) is (extra == {})
    assert not RetentionPlan.objects.exists()


def test_the_sub_reason_must_match_the_root_cause(client_for, alice_csm, alice_account):
    product = ReasonCategoryFactory(key="product", name="Product")
    response = client_for(alice_csm).post(url("create"), plan_post(alice_account, root_cause=product.pk))
    assert response.status_code == 422
    assert 'id="id_root_cause_detail-error"' in response.content.decode()


def test_a_plan_drafted_from_a_task_links_it_and_the_queue_offers_the_link(
    client_for, alice_csm, alice_account
):
    playbook = PlaybookFactory(name="Follow-up", risk_level="medium")
    PlaybookStepFactory(playbook=playbook, title="Draft the initial retention plan", kind="retention_plan")
    task = start_playbook(account=alice_account, playbook=playbook, started_by=alice_csm).tasks.get()
    client = client_for(alice_csm)

    queue = client.get("/queue/").content.decode()
    link = f"/plans/new/?account={alice_account.pk}&amp;task={task.pk}"
    assert link in queue

    page = client.get(f"/plans/new/?account={alice_account.pk}&task={task.pk}")
    assert f'name="task" value="{task.pk}"' in page.content.decode()
    client.post(url("create"), with_token(alice_csm, plan_post(alice_account, task=task)))
    plan = RetentionPlan.objects.get()
    assert plan.task == task and plan.playbook == playbook

    # Back from the queue before submitting: the same draft opens again, no second plan.
    again = client.get(f"/plans/new/?account={alice_account.pk}&task={task.pk}")
    assert again.status_code == 302 and again["Location"] == url("edit", plan)

    client.post(url("submit", plan), {"version": plan.version})
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_a_task_of_another_account_or_kind_is_not_found(client_for, alice_csm, alice_account):
    plain = TaskFactory(account=alice_account, kind="task")
    response = client_for(alice_csm).get(f"/plans/new/?account={alice_account.pk}&task={plain.pk}")
    assert response.status_code == 404
    assert client_for(alice_csm).get("/plans/new/").status_code == 404
    assert client_for(alice_csm).get("/plans/new/?account=x").status_code == 404


def test_the_account_page_offers_drafting_and_lists_the_plans(client_for, alice_csm, bob_other_csm, plan):
    page = client_for(alice_csm).get(reverse("accounts:detail", args=[plan.account_id])).content.decode()
    assert f"/plans/new/?account={plan.account_id}" in page
    assert "Retention plans" in page and url("detail", plan) in page and "Draft" in page
    other = client_for(bob_other_csm).get(reverse("accounts:detail", args=[plan.account_id])).content.decode()
    assert "/plans/new/" not in other  # bob may not change alice's account


# --- editing ---------------------------------------------------------------------------------


def test_the_author_edits_a_draft(client_for, alice_csm, plan):
    client = client_for(alice_csm)
    page = client.get(url("edit", plan)).content.decode()
    assert 'name="version" value="1"' in page and "Three months of priority support" in page
    one_row_each = {"offers-TOTAL_FORMS": "1", "steps-TOTAL_FORMS": "1"}
    data = plan_post(plan.account, version=1, objectives="A sharper objective.", **one_row_each)
    response = client.post(url("edit", plan), data)
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.objectives == "A sharper objective." and plan.version == 2
    assert plan.offers.get().kind == "discount"


def test_an_edit_from_a_stale_page_is_a_conflict(client_for, alice_csm, plan):
    client = client_for(alice_csm)
    one_row_each = {"offers-TOTAL_FORMS": "1", "steps-TOTAL_FORMS": "1"}
    assert (
        client.post(url("edit", plan), plan_post(plan.account, version=1, **one_row_each)).status_code == 302
    )
    stale = plan_post(plan.account, version=1, objectives="Older text", **one_row_each)
    response = client.post(url("edit", plan), stale, **HTMX)
    assert response.status_code == 409
    assert "changed before your action" in response.content.decode()
    plan.refresh_from_db()
    assert plan.objectives != "Older text"


def test_a_submitted_plan_cannot_be_edited(client_for, alice_csm, pending):
    response = client_for(alice_csm).get(url("edit", pending))
    assert response.status_code == 302 and response["Location"] == url("detail", pending)
    assert "can no longer be edited" in flash_messages(response)[0]


def test_the_edit_page_shows_what_the_manager_asked_for(client_for, alice_csm, maria_manager, pending):
    plans.request_changes(
        plan=pending, manager=maria_manager, comment="Halve the discount.", expected_version=pending.version
    )
    page = client_for(alice_csm).get(url("edit", pending)).content.decode()
    assert "Maria Wang asked for changes" in page and "Halve the discount." in page


# --- the plan page and its actions -----------------------------------------------------------


def test_the_plan_page_shows_offers_steps_approvals_and_history(
    client_for, alice_csm, maria_manager, pending
):
    plans.approve_plan(
        plan=pending, manager=maria_manager, comment="Go ahead.", expected_version=pending.version
    )
    page = client_for(alice_csm).get(url("detail", pending)).content.decode()
    assert "Extended support" in page and 'class="plan-total-cost">500<' in page
    assert "Call the new decision maker" in page and "#account-task-" in page  # steps link to their tasks
    assert "Approvals given" in page and "Go ahead." in page
    history = page[page.index("history-heading") :]
    assert re.search(r"Submitted\s*→\s*Approved", history)
    assert "Maria Wang" in history and "Alice Chen" in history
    assert "Put the plan in motion" in page


def test_the_plan_page_as_an_htmx_fragment(client_for, alice_csm, plan):
    response = client_for(alice_csm).get(url("detail", plan), **HTMX)
    assert response.status_code == 200 and "<html" not in response.content.decode()
    assert 'id="plan"' in response.content.decode()


def test_submitting_from_the_plan_page(client_for, alice_csm, maria_manager, plan):
    client = client_for(alice_csm)
    response = client.post(url("submit", plan), {"version": plan.version, "comment": "Ready."})
    assert response.status_code == 302
    assert "Submitted for approval" in flash_messages(response)[0]
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUBMITTED
    assert plan.events.get(to_status="submitted").comment == "Ready."

    # The same form again: nothing happens, and the page says why.
    again = client.post(url("submit", plan), {"version": 1})
    assert again.status_code == 302
    assert "changed before your action" in flash_messages(again)[-1]
    assert plan.events.filter(to_status="submitted").count() == 1


def test_submitting_with_htmx_returns_the_refreshed_plan(client_for, alice_csm, plan):
    response = client_for(alice_csm).post(url("submit", plan), {"version": plan.version}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Submitted for approval" in html
    conflict = client_for(alice_csm).post(url("submit", plan), {"version": plan.version}, **HTMX)
    assert conflict.status_code == 409 and "<html" not in conflict.content.decode()


def test_the_author_activates_and_closes_an_approved_plan(client_for, alice_csm, maria_manager, pending):
    plan = plans.approve_plan(plan=pending, manager=maria_manager, expected_version=pending.version)
    client = client_for(alice_csm)
    client.post(url("activate", plan), {"version": plan.version})
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE

    bad = client.post(url("close", plan), {"version": plan.version, "outcome": "maybe"}, **HTMX)
    assert bad.status_code == 422
    response = client.post(
        url("close", plan), {"version": plan.version, "outcome": "downgraded", "comment": "Moved to Basic."}
    )
    assert "closed: Downgraded" in flash_messages(response)[-1]
    plan.refresh_from_db()
    assert (plan.status, plan.outcome, plan.outcome_note) == ("closed", "downgraded", "Moved to Basic.")


# --- the approval inbox ----------------------------------------------------------------------


def test_the_inbox_lists_pending_plans_oldest_first_with_what_is_at_stake(
    client_for, maria_manager, alice_csm
):
    older = draft_plan_for(
        AccountFactory(name="Older Co", owner=alice_csm, mrr=7000, health_score=34, health_tier="high")
    )
    newer = draft_plan_for(AccountFactory(name="Newer Co", owner=alice_csm, mrr=900))
    older = submit(older)
    submit(newer)
    draft_plan_for(AccountFactory(name="Draft Co", owner=alice_csm))
    own = draft_plan_for(AccountFactory(name="Maria's Own", owner=maria_manager), author=maria_manager)
    submit(own)

    page = client_for(maria_manager).get(APPROVALS).content.decode()
    assert page.index("Older Co") < page.index("Newer Co")
    assert "Draft Co" not in page and "Maria's Own" not in page  # never her own plans
    row = page[page.index(f'id="plan-row-{older.pk}"') :]
    row = row[: row.index("</li>")]
    assert "tier-high" in row and ">34<" in row
    assert "MRR at stake 7,000" in row and "offers cost 500" in row
    assert "approvals 0/1" in row and "Alice Chen" in row and "submitted" in row
    assert f'name="version" value="{older.version}"' in row
    assert 'href="/plans/save-rate/"' in page
    assert "Approval limits" in page


def test_the_inbox_as_an_htmx_fragment(client_for, maria_manager, pending):
    response = client_for(maria_manager).get(APPROVALS, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and f"plan-row-{pending.pk}" in html


def test_an_admin_follows_the_inbox_without_deciding(client_for, ada_admin, pending):
    page = client_for(ada_admin).get(APPROVALS).content.decode()
    assert f"plan-row-{pending.pk}" in page
    assert url("decide", pending) not in page


def test_approving_in_the_row_replaces_it_with_a_status_line(client_for, maria_manager, pending):
    response = client_for(maria_manager).post(
        url("decide", pending), {"decision": "approve", "comment": "Go.", "version": pending.version}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert f'id="plan-row-{pending.pk}"' in html and 'role="status"' in html
    assert "Approved: the plan for Acme Ltd. 2 next steps are now tasks." in html
    pending.refresh_from_db()
    assert pending.status == PlanStatus.APPROVED
    assert Task.objects.filter(account=pending.account, title="Call the new decision maker").exists()


def test_the_counts_above_the_inbox_follow_each_decision(client_for, maria_manager, pending, bob_other_csm):
    """Two plans waiting; after both are decided in their rows, the strip says 0, not 2."""
    other = submit(draft_plan_for(AccountFactory(owner=bob_other_csm, name="Bravo")))
    client = client_for(maria_manager)
    assert re.search(r"<strong>2</strong> waiting for a decision", client.get(APPROVALS).content.decode())

    first = client.post(url("decide", pending), {"decision": "approve", "version": pending.version}, **HTMX)
    counts = first.content.decode().split('id="approval-counts"')[1].split("</ul>")[0]
    assert 'hx-swap-oob="true"' in counts and "<strong>1</strong> waiting for a decision" in counts

    second = client.post(
        url("decide", other),
        {"decision": "reject", "comment": "Too costly", "version": other.version},
        **HTMX,
    )
    assert "<strong>0</strong> waiting for a decision" in second.content.decode()


def test_an_approved_plan_counts_the_approvals_of_the_version_submitted(client_for, maria_manager, pending):
    """Approving moves the plan on a version: the page once said "Approvals 0 of 1" beside
    "Approvals given: Maria Wang · version 2"."""
    plans.approve_plan(plan=pending, manager=maria_manager, expected_version=pending.version)
    html = client_for(maria_manager).get(url("detail", pending)).content.decode()
    facts = html.split("<dt>Approvals</dt>")[1].split("</div>")[0]
    assert "1 of 1" in facts


def test_a_double_submitted_decision_makes_one_transition_and_says_so(client_for, maria_manager, pending):
    client = client_for(maria_manager)
    data = {"decision": "approve", "comment": "", "version": pending.version}
    client.post(url("decide", pending), data, **HTMX)
    second = client.post(url("decide", pending), {**data, "decision": "reject", "comment": "No"}, **HTMX)
    assert second.status_code == 409
    html = second.content.decode()
    assert "<html" not in html and "changed before your action" in html and "Maria Wang" in html
    assert PlanEvent.objects.filter(plan=pending, to_status__in=["approved", "rejected"]).count() == 1

    plain = client.post(url("decide", pending), data)
    assert plain.status_code == 302 and plain["Location"] == APPROVALS
    assert "changed before your action" in flash_messages(plain)[0]


def test_sending_back_needs_a_comment_and_the_row_says_so(client_for, maria_manager, pending):
    client = client_for(maria_manager)
    response = client.post(
        url("decide", pending), {"decision": "changes", "version": pending.version}, **HTMX
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "<html" not in html and "Say why" in html and url("decide", pending) in html
    plain = client.post(url("decide", pending), {"decision": "reject", "version": pending.version})
    assert plain.status_code == 302 and "Say why" in flash_messages(plain)[0]
    pending.refresh_from_db()
    assert pending.status == PlanStatus.SUBMITTED


def test_sending_back_and_rejecting_without_htmx(client_for, maria_manager, alice_csm, pending):
    client = client_for(maria_manager)
    response = client.post(
        url("decide", pending), {"decision": "changes", "comment": "Cheaper.", "version": pending.version}
    )
    assert response.status_code == 302 and response["Location"] == APPROVALS
    assert "Sent back for changes" in flash_messages(response)[0]
    pending.refresh_from_db()
    assert pending.status == PlanStatus.CHANGES_REQUESTED
    # The author sees the comment on the plan page.
    page = client_for(alice_csm).get(url("detail", pending)).content.decode()
    assert "Cheaper." in page


def test_a_decision_from_the_plan_page_returns_there(client_for, maria_manager, pending):
    response = client_for(maria_manager).post(
        url("decide", pending),
        {
            "decision": "reject",
            "comment": "Too costly.",
            "version": pending.version,
            "next": url("detail", pending),
        },
    )
    assert response["Location"] == url("detail", pending)
    pending.refresh_from_db()
    assert pending.status == PlanStatus.REJECTED


def test_a_manager_who_drafted_the_plan_cannot_approve_it(client_for, maria_manager):
    plan = submit(draft_plan_for(AccountFactory(owner=maria_manager), author=maria_manager))
    response = client_for(maria_manager).post(
        url("decide", plan), {"decision": "approve", "version": plan.version}
    )
    assert response.status_code == 403
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUBMITTED


def test_the_first_of_two_approvals_waits_for_a_second_manager(client_for, maria_manager, alice_account):
    olga = UserFactory(username="olga", first_name="Olga", roles=["manager"])
    plan = submit(draft_plan_for(alice_account, offers=[{"kind": "extended_support", "cost": 90000}]))
    response = client_for(maria_manager).post(
        url("decide", plan), {"decision": "approve", "version": plan.version}, **HTMX
    )
    assert "a second manager completes it" in response.content.decode()
    page = client_for(maria_manager).get(APPROVALS).content.decode()
    assert "You approved this version" in page
    page = client_for(olga).get(APPROVALS).content.decode()
    assert "approvals 1/2" in page
    client_for(olga).post(url("decide", plan), {"decision": "approve", "version": plan.version})
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED


def _pending_plans(count, owner):
    for index in range(count):
        account = AccountFactory(owner=owner, mrr=1000 + index, health_score=30 + index, health_tier="high")
        submit(draft_plan_for(account))


def test_the_inbox_needs_the_same_queries_for_3_or_20_plans(
    client_for, maria_manager, alice_csm, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(maria_manager)
    _pending_plans(3, alice_csm)
    client.get(APPROVALS)  # warm the session
    with CaptureQueriesContext(connection) as few:
        response = client.get(APPROVALS)
    assert response.content.decode().count('class="queue-item"') == 3
    _pending_plans(17, alice_csm)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(APPROVALS)
    assert response.content.decode().count('class="queue-item"') == 20


def test_a_long_inbox_pages_twenty_five_at_a_time_and_counts_them_all(client_for, maria_manager, alice_csm):
    _pending_plans(27, alice_csm)
    client = client_for(maria_manager)
    html = client.get(APPROVALS).content.decode()
    assert "<strong>27</strong> waiting for a decision" in html
    assert html.count('class="queue-item"') == 25 and "Page 1 of 2" in html
    second = client.get(APPROVALS, {"page": 2}).content.decode()
    assert second.count('class="queue-item"') == 2 and "<strong>27</strong> waiting for a decision" in second
    first_ids = set(re.findall(r'id="plan-row-(\d+)"', html))
    assert not first_ids & set(re.findall(r'id="plan-row-(\d+)"', second))


# --- approval limits -------------------------------------------------------------------------


def limits(**values):
    data = {
        "manager_cost_limit": "1000",
        "manager_discount_limit": "10",
        "second_cost_limit": "20000",
        "second_discount_limit": "30",
    }
    data.update(values)
    return data


def test_a_manager_sets_the_approval_limits(client_for, maria_manager):
    response = client_for(maria_manager).post(url("approval_policy"), limits())
    assert response.status_code == 302 and response["Location"] == APPROVALS
    policy = ApprovalPolicy.objects.get()
    assert (policy.manager_cost_limit, policy.second_discount_limit) == (Decimal(1000), Decimal(30))


def test_the_second_limits_may_not_be_below_the_first(client_for, maria_manager):
    response = client_for(maria_manager).post(url("approval_policy"), limits(second_cost_limit="500"), **HTMX)
    html = response.content.decode()
    assert response.status_code == 422 and "<html" not in html
    assert 'id="id_second_cost_limit-error"' in html
    plain = client_for(maria_manager).post(url("approval_policy"), limits(second_discount_limit="5"))
    assert plain.status_code == 422 and "<html" in plain.content.decode()
    bad_percent = client_for(maria_manager).post(url("approval_policy"), limits(second_discount_limit="120"))
    assert bad_percent.status_code == 422
    assert not ApprovalPolicy.objects.exists()


def test_the_limits_saved_with_htmx_come_back_with_a_message(client_for, ada_admin):
    response = client_for(ada_admin).post(url("approval_policy"), limits(), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and "limits are saved" in html


@pytest.mark.parametrize("name", ["alice_csm", "ivan_interviewer", "nora_no_role"])
def test_only_managers_and_admins_set_the_limits(request, client_for, name):
    response = client_for(request.getfixturevalue(name)).post(url("approval_policy"), limits())
    assert response.status_code == 403
    assert not ApprovalPolicy.objects.exists()


# --- save rate -------------------------------------------------------------------------------


def _closed_plans(count, owner, manager):
    outcomes = ["saved", "downgraded", "churned"]
    for index in range(count):
        account = AccountFactory(owner=owner, risk_level=["low", "medium", "high"][index % 3])
        kinds = ["discount", "free_module", "extended_support", "downgrade"]
        offer = {"kind": kinds[index % 4], "cost": 100, "discount_percent": 5 if index % 4 == 0 else None}
        plan = submit(draft_plan_for(account, offers=[offer]))
        plan = plans.approve_plan(plan=plan, manager=manager, expected_version=plan.version)
        plan = plans.activate_plan(plan=plan, user=owner)
        plans.close_plan(plan=plan, user=owner, outcome=outcomes[index % 3])


def test_the_save_rate_page_shows_the_counts(client_for, maria_manager, alice_csm):
    _closed_plans(3, alice_csm, maria_manager)
    page = client_for(maria_manager).get(url("save_rate")).content.decode()
    assert "By playbook" in page and "By offer" in page and "By risk level" in page
    assert "33%" in page  # one of three saved
    assert "No playbook" in page and "Free module" in page and "Medium" in page


def test_the_save_rate_needs_the_same_queries_for_3_or_12_plans(
    client_for, maria_manager, alice_csm, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(maria_manager)
    _closed_plans(3, alice_csm, maria_manager)
    client.get(url("save_rate"))
    with CaptureQueriesContext(connection) as few:
        client.get(url("save_rate"))
    _closed_plans(9, alice_csm, maria_manager)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url("save_rate"))
    assert "12" in response.content.decode()


def test_drafting_a_plan_for_a_churned_account_says_it_has_churned(client_for, alice_csm):
    from tests.interviews.factories import ChurnedAccountFactory

    gone = ChurnedAccountFactory(owner=alice_csm, name="Gone Ltd")
    client = client_for(alice_csm)
    response = client.get(url("create") + f"?account={gone.pk}")
    assert response.status_code == 302 and response["Location"] == f"/accounts/{gone.pk}/"
    message = flash_messages(response)[0]
    assert "Gone Ltd has already churned" in message and "role" not in message
    posted = client.post(url("create"), with_token(alice_csm, plan_post(gone)))
    assert posted.status_code == 302 and not RetentionPlan.objects.filter(account=gone).exists()
