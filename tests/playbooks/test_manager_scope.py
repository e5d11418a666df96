"""Which plans and tasks a manager oversees (`managed_member_ids`), and who is told.

The rule: while no team has a manager (a small install), every manager oversees everyone. Once
teams have managers, a manager of teams oversees their members; the unmanaged (users in no team
with a manager) are overseen by the managers of no team, or by every manager while there is
none. A manager of no team never sees or decides a team's plans.
"""

import pytest
from django.core.exceptions import PermissionDenied

from playbooks import plans
from playbooks.models import PlanStatus, Task
from tests.factories import AccountFactory, UserFactory
from tests.playbooks.factories import TaskFactory, TeamFactory, draft_plan_for

pytestmark = pytest.mark.django_db

APPROVALS = "/plans/approvals/"


@pytest.fixture
def org():
    maria = UserFactory(username="maria", roles=["manager"])
    olga = UserFactory(username="olga", roles=["manager"])
    nina = UserFactory(username="nina", roles=["manager"])  # manages no team
    alice = UserFactory(username="alice", roles=["csm"])
    bob = UserFactory(username="bob", roles=["csm"])
    carl = UserFactory(username="carl", roles=["csm"])  # in no team
    north = TeamFactory(name="North")
    north.members.add(alice)
    north.managers.add(maria)
    south = TeamFactory(name="South")
    south.members.add(bob)
    south.managers.add(olga)
    submitted = {}
    for csm in (alice, bob, carl):
        plan = draft_plan_for(AccountFactory(owner=csm, name=f"{csm.username.title()} Ltd"))
        submitted[csm.username] = plans.submit_plan(plan=plan, user=csm, expected_version=plan.version)
    return {"maria": maria, "olga": olga, "nina": nina, "alice": alice, "bob": bob, "carl": carl}, submitted


def test_a_manager_of_no_team_sees_only_the_unmanaged_plans(org):
    people, submitted = org
    pending = {p.author.username for p in plans.pending_for(people["nina"])}
    assert pending == {"carl"}
    assert set(plans.plans_visible_to(people["nina"])) == {submitted["carl"]}


def test_a_team_manager_sees_their_team_only(org):
    people, _ = org
    assert {p.author.username for p in plans.pending_for(people["maria"])} == {"alice"}
    assert {p.author.username for p in plans.pending_for(people["olga"])} == {"bob"}


def test_without_a_manager_of_no_team_every_manager_oversees_the_unmanaged(org):
    people, _ = org
    people["nina"].delete()
    assert {p.author.username for p in plans.pending_for(people["maria"])} == {"alice", "carl"}
    assert {p.author.username for p in plans.pending_for(people["olga"])} == {"bob", "carl"}


def test_the_managers_told_about_a_plan_are_those_who_may_decide_it(org):
    from playbooks.services import TeamDirectory

    people, _ = org
    directory = TeamDirectory()
    assert [m.username for m in directory.managers(people["alice"].pk)] == ["maria"]
    assert [m.username for m in directory.managers(people["carl"].pk)] == ["nina"]
    people["nina"].delete()
    assert [m.username for m in TeamDirectory().managers(people["carl"].pk)] == ["maria", "olga"]


def test_a_manager_of_no_team_cannot_approve_a_teams_plan(org):
    people, submitted = org
    plan = submitted["alice"]
    with pytest.raises(PermissionDenied):
        plans.approve_plan(plan=plan, manager=people["nina"], expected_version=plan.version)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUBMITTED


def test_the_inbox_and_the_decision_follow_the_rule_over_http(client_for, org):
    people, submitted = org
    client = client_for(people["nina"])
    inbox = client.get(APPROVALS)
    assert "Carl Ltd" in inbox.content.decode()
    assert "Alice Ltd" not in inbox.content.decode() and "Bob Ltd" not in inbox.content.decode()

    alice_plan = submitted["alice"]
    refused = client.post(
        f"/plans/{alice_plan.pk}/decide/", {"decision": "approve", "version": alice_plan.version}
    )
    assert refused.status_code == 404
    alice_plan.refresh_from_db()
    assert alice_plan.status == PlanStatus.SUBMITTED

    carl_plan = submitted["carl"]
    done = client.post(
        f"/plans/{carl_plan.pk}/decide/", {"decision": "approve", "version": carl_plan.version}
    )
    assert done.status_code == 302
    carl_plan.refresh_from_db()
    assert carl_plan.status == PlanStatus.APPROVED


def test_a_manager_of_no_team_sees_only_the_unmanaged_tasks(org):
    people, _ = org
    for csm in ("alice", "bob", "carl"):
        TaskFactory(assignee=people[csm], account=AccountFactory(owner=people[csm]), title=f"Call {csm}")
    visible = set(Task.objects.visible_to(people["nina"]).values_list("title", flat=True))
    assert visible == {"Call carl"}
    assert set(Task.objects.visible_to(people["maria"]).values_list("title", flat=True)) == {"Call alice"}


def test_while_no_team_has_a_manager_every_manager_oversees_everyone(db):
    nina = UserFactory(username="nina", roles=["manager"])
    alice = UserFactory(username="alice", roles=["csm"])
    TeamFactory(name="Unled").members.add(alice)
    plan = draft_plan_for(AccountFactory(owner=alice))
    plan = plans.submit_plan(plan=plan, user=alice, expected_version=plan.version)
    assert list(plans.pending_for(nina)) == [plan]
