"""The intervention matrix is the source of each risk level's response time: new tasks without a
due time of their own take it from their level's row, steps that override it say so, and the edit
page shows what a change will reach (issue 14, item 4)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from playbooks import services
from playbooks.models import MatrixRow, Playbook, PlaybookStep, Rule, Task
from playbooks.rule_words import describe_rule
from playbooks.rules import run_rules
from tests.factories import AccountFactory
from tests.form_tokens import tokens_in
from tests.health.factories import HealthSnapshotFactory
from tests.playbooks.factories import PlaybookFactory, PlaybookStepFactory, TaskFactory, TeamFactory
from tests.playbooks.test_matrix_views import playbook_data, row_data

pytestmark = pytest.mark.django_db

TAIPEI = ZoneInfo("Asia/Taipei")
MONDAY_9AM = datetime(2026, 11, 23, 9, 0, tzinfo=TAIPEI)


@pytest.fixture
def team(alice_csm, maria_manager):
    return TeamFactory(name="Taipei CS", members=[alice_csm], managers=[maria_manager])


def medium() -> MatrixRow:
    return MatrixRow.objects.select_related("playbook").get(risk_level="medium")


def edit_row(client, level: str, **changes):
    row = MatrixRow.objects.get(risk_level=level)
    return client.post(reverse("playbooks:matrix_edit", args=[level]), row_data(row, **changes))


def local_dues(run) -> dict[str, datetime]:
    return {t.title: timezone.localtime(t.due_at, TAIPEI) for t in run.tasks.all()}


def test_the_shipped_playbooks_follow_the_matrix_where_their_due_time_is_the_rows():
    steps = dict(PlaybookStep.objects.values_list("title", "due_offset_hours"))

    assert steps["Draft the initial retention plan"] is None  # Medium: 24 business hours
    assert steps["Convene the retention squad"] is None  # High: 4 business hours
    assert steps["Send a care email with a relevant best practice"] is None  # Low: 3 business days
    assert steps["Offer 1:1 training on the core features"] == 45  # its own, overriding
    assert Rule.objects.get(name="Score below 60 for a week").task_due_amount is None


def test_editing_the_row_moves_the_due_time_of_new_tasks_and_not_of_overrides(
    client_for, maria_manager, team, alice_csm
):
    medium_playbook = medium().playbook
    before = services.start_playbook(
        account=AccountFactory(owner=alice_csm),
        playbook=medium_playbook,
        started_by=alice_csm,
        now=MONDAY_9AM,
    )
    assert local_dues(before)["Draft the initial retention plan"] == datetime(
        2026, 11, 25, 15, 0, tzinfo=TAIPEI
    )

    response = edit_row(client_for(maria_manager), "medium", response_amount=16)
    assert response.status_code == 302

    after = services.start_playbook(
        account=AccountFactory(owner=alice_csm),
        playbook=medium_playbook,
        started_by=alice_csm,
        now=MONDAY_9AM,
    )
    dues = local_dues(after)
    # Monday 09:00 + 16 working hours: 9 on Monday, 7 on Tuesday.
    assert dues["Draft the initial retention plan"] == datetime(2026, 11, 24, 16, 0, tzinfo=TAIPEI)
    assert dues["Call or video meeting with the champion"] == datetime(2026, 11, 24, 16, 0, tzinfo=TAIPEI)
    # 45 working hours is the step's own: five days.
    assert dues["Offer 1:1 training on the core features"] == datetime(2026, 11, 27, 18, 0, tzinfo=TAIPEI)
    # The open tasks of the first run keep the due time they were given.
    assert local_dues(before)["Draft the initial retention plan"] == datetime(
        2026, 11, 25, 15, 0, tzinfo=TAIPEI
    )


def test_a_row_in_business_days_gives_its_steps_whole_days(client_for, maria_manager, team, alice_csm):
    edit_row(client_for(maria_manager), "high", response_amount=2, response_unit="business_days")
    high = MatrixRow.objects.get(risk_level="high").playbook

    run = services.start_playbook(
        account=AccountFactory(owner=alice_csm), playbook=high, started_by=alice_csm, now=MONDAY_9AM
    )

    assert local_dues(run)["Convene the retention squad"] == datetime(2026, 11, 25, 9, 0, tzinfo=TAIPEI)


def test_a_rule_task_without_a_due_time_follows_its_levels_row(client_for, maria_manager, team, alice_csm):
    as_of = date(2026, 11, 20)
    now = MONDAY_9AM
    edit_row(client_for(maria_manager), "medium", response_amount=2)
    rule = Rule.objects.create(
        name="Below 50",
        is_enabled=True,
        condition_kind="score_below",
        threshold=50,
        days=1,
        set_risk_level="medium",
        task_title="Call them",
    )
    account = AccountFactory(owner=alice_csm, health_score=40, health_tier="medium")
    HealthSnapshotFactory(account=account, date=as_of, score=40)

    run_rules(as_of=as_of, now=now)

    task = Task.objects.get(account=account, rule=rule)
    assert timezone.localtime(task.due_at, TAIPEI) == now + timedelta(hours=2)
    assert "due as the intervention matrix says" in describe_rule(rule)


def test_a_rule_task_at_a_higher_level_takes_the_higher_rows_time(client_for, maria_manager, team, alice_csm):
    as_of = date(2026, 11, 20)
    Rule.objects.create(
        name="Below 50",
        is_enabled=True,
        condition_kind="score_below",
        threshold=50,
        days=1,
        set_risk_level="medium",
        task_title="Call them",
    )
    account = AccountFactory(owner=alice_csm, health_score=30, health_tier="high", risk_level="high")
    HealthSnapshotFactory(account=account, date=as_of, score=30)

    run_rules(as_of=as_of, now=MONDAY_9AM)

    # The rule never lowers High to Medium; the task is due as High's row says (4 working hours).
    task = Task.objects.get(account=account)
    assert timezone.localtime(task.due_at, TAIPEI) == MONDAY_9AM + timedelta(hours=4)


def test_the_rule_form_lets_a_task_follow_the_matrix_only_when_the_rule_sets_a_level(
    client_for, maria_manager
):
    client = client_for(maria_manager)
    base = {
        "name": "R",
        "condition_kind": "score_below",
        "threshold": "50",
        "days": "1",
        "cooldown_days": "7",
    }

    refused = client.post(
        reverse("rules:create"), {**base, "task_title": "Call", "task_due_unit": "business_hours"}
    )
    assert refused.status_code == 422
    assert (
        "or set a risk level so it follows the intervention matrix"
        in refused.context["form"].errors["task_due_amount"][0]
    )

    [token] = tokens_in(client.get(reverse("rules:create")))
    accepted = client.post(
        reverse("rules:create"),
        {
            **base,
            "task_title": "Call",
            "task_due_unit": "business_hours",
            "set_risk_level": "high",
            "form_token": token,
        },
    )
    assert accepted.status_code == 302
    assert Rule.objects.get(name="R").task_due_amount is None


def test_the_matrix_page_says_which_steps_follow_the_row_and_which_override_it(client_for, alice_csm):
    html = client_for(alice_csm).get(reverse("playbooks:matrix")).content.decode()

    medium_row = html[html.index('id="matrix-medium"') : html.index('id="matrix-high"')]
    assert (
        'Draft the initial retention plan <span class="muted">— CSM, 24 business hours (this row)'
        in medium_row
    )
    assert (
        'Offer 1:1 training on the core features <span class="muted">— CSM, 45 business hours, '
        "overrides the matrix" in medium_row
    )


def test_the_edit_page_lists_what_the_row_drives(client_for, maria_manager, alice_csm):
    TaskFactory(risk_level="medium", assignee=alice_csm)
    TaskFactory(risk_level="medium", assignee=alice_csm)
    TaskFactory(risk_level="high", assignee=alice_csm)

    html = client_for(maria_manager).get(reverse("playbooks:matrix_edit", args=["medium"])).content.decode()

    following = html[html.index('id="impact-following"') : html.index('id="impact-overriding"')]
    assert "step 1: Draft the initial retention plan" in following
    assert (
        "step 4: CS lead&#x27;s attention email" in following
        or "step 4: CS lead's attention email" in following
    )
    assert "Rule “Score below 60 for a week”: its “Retention follow-up” task" in following
    overriding = html[html.index('id="impact-overriding"') : html.index('id="impact-open-tasks"')]
    assert "step 3: Offer 1:1 training on the core features" in overriding
    assert "45 business hours, overrides the matrix" in overriding
    assert "2 open tasks of this risk level keep their due times." in html


def test_the_edit_preview_shows_old_and_new_for_what_is_typed(client_for, maria_manager):
    url = reverse("playbooks:matrix_edit", args=["medium"])
    response = client_for(maria_manager).get(
        url, {"response_amount": "16", "response_unit": "business_hours"}, HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="matrix-impact"' in html
    assert "from 24 business hours to 16 business hours" in html
    assert "24 business hours → <strong>16 business hours</strong>" in html
    # Nothing is saved by looking.
    assert medium().response_amount == 24


def test_the_preview_ignores_what_cannot_be_a_response_time(client_for, maria_manager):
    url = reverse("playbooks:matrix_edit", args=["medium"])
    html = (
        client_for(maria_manager)
        .get(url, {"response_amount": "-3", "response_unit": "fortnights"}, HTTP_HX_REQUEST="true")
        .content.decode()
    )

    assert "→" not in html and "24 business hours" in html


def test_saving_says_how_many_steps_and_rules_moved(client_for, maria_manager):
    response = edit_row(client_for(maria_manager), "medium", response_amount=16)

    page = client_for(maria_manager).get(response["Location"]).content.decode()
    assert "New tasks from 3 playbook steps and 1 rule are now due within 16 business hours." in page


def test_a_playbook_without_a_level_needs_each_steps_own_due_time(client_for, maria_manager):
    playbook = PlaybookFactory(name="Onboarding kickoff", risk_level="")
    PlaybookStepFactory(playbook=playbook, position=1, title="Kickoff call", due_offset_hours=8)
    data = playbook_data(playbook)
    data["steps-0-due_offset_hours"] = ""

    response = client_for(maria_manager).post(reverse("playbooks:playbook_edit", args=[playbook.pk]), data)

    assert response.status_code == 422
    assert "no matrix row to follow" in response.content.decode()
    assert PlaybookStep.objects.get(playbook=playbook).due_offset_hours == 8


def test_a_playbook_with_a_level_may_leave_a_step_to_the_matrix(client_for, maria_manager):
    playbook = PlaybookFactory(name="High extra", risk_level="high")
    PlaybookStepFactory(playbook=playbook, position=1, title="Call", due_offset_hours=8)
    data = playbook_data(playbook)
    data["steps-0-due_offset_hours"] = ""

    response = client_for(maria_manager).post(reverse("playbooks:playbook_edit", args=[playbook.pk]), data)

    assert response.status_code == 302
    assert PlaybookStep.objects.get(playbook=playbook).due_offset_hours is None


def test_a_rows_playbook_is_one_of_its_level(client_for, maria_manager):
    low_playbook = Playbook.objects.get(risk_level="low")

    response = edit_row(client_for(maria_manager), "high", playbook=low_playbook.pk)

    assert response.status_code == 422
    assert "playbook" in response.context["form"].errors
    assert MatrixRow.objects.get(risk_level="high").playbook.risk_level == "high"
