"""The intervention matrix (/playbooks/matrix/) and the editors for its rows and playbooks."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from csworkbench.core.models import AuditEvent
from playbooks.models import EmailTemplate, MatrixRow, Playbook
from tests.form_tokens import with_token
from tests.playbooks.factories import PlaybookFactory, PlaybookStepFactory

pytestmark = pytest.mark.django_db

MATRIX = "/playbooks/matrix/"


def high_playbook() -> Playbook:
    return MatrixRow.objects.get(risk_level="high").playbook


def row_data(row: MatrixRow, **changes) -> dict:
    data = {
        "signals": row.signals,
        "actions": row.actions,
        "owner": row.owner,
        "response_amount": row.response_amount,
        "response_unit": row.response_unit,
        "playbook": row.playbook_id,
    }
    return data | changes


def playbook_data(playbook: Playbook, *, extra: dict | None = None) -> dict:
    """What the browser posts for the playbook's edit page, unchanged: its steps in order and the
    empty extra step with its default choices (optionally filled in with `extra`)."""
    steps = list(playbook.steps.order_by("position"))
    data = {
        "playbook-name": playbook.name,
        "playbook-risk_level": playbook.risk_level,
        "playbook-description": playbook.description,
        "steps-TOTAL_FORMS": len(steps) + 1,
        "steps-INITIAL_FORMS": len(steps),
        "steps-MIN_NUM_FORMS": 1,
        "steps-MAX_NUM_FORMS": 1000,
    }
    if playbook.is_active:
        data["playbook-is_active"] = "on"
    for index, step in enumerate(steps):
        prefix = f"steps-{index}-"
        data |= {
            prefix + "id": step.pk,
            prefix + "playbook": playbook.pk,
            prefix + "position": step.position,
            prefix + "title": step.title,
            prefix + "kind": step.kind,
            prefix + "owner_role": step.owner_role,
            prefix + "due_offset_hours": "" if step.due_offset_hours is None else step.due_offset_hours,
            prefix + "email_template": step.email_template_id or "",
            prefix + "guidance": step.guidance,
        }
        if step.needs_approval:
            data[prefix + "needs_approval"] = "on"
    new = f"steps-{len(steps)}-"
    data |= {new + "playbook": playbook.pk, new + "kind": "task", new + "owner_role": "csm"}
    for name, value in (extra or {}).items():
        data[new + name] = value
    return data


def step_rows(playbook: Playbook) -> list[tuple]:
    return list(playbook.steps.order_by("position").values_list("position", "title"))


# --- the matrix --------------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["alice_csm", "maria_manager", "ada_admin"])
def test_staff_see_the_three_rows_with_their_standard_response(client_for, user, request):
    response = client_for(request.getfixturevalue(user)).get(MATRIX)

    assert response.status_code == 200
    html = response.content.decode()
    assert re.findall(r'<tr id="matrix-(\w+)">', html) == ["low", "medium", "high"]
    for level, within, playbook in [
        ("low", "3 business days", "Low risk: care touch"),
        ("medium", "24 business hours", "Medium risk: retention follow-up"),
        ("high", "4 business hours", "High risk: retention squad"),
    ]:
        row = html[html.index(f'id="matrix-{level}"') :]
        row = row[: row.index("</tr>")]
        assert within in row and playbook in row
    high = html[html.index('id="matrix-high"') :]
    assert "Convene the retention squad" in high
    assert (
        'Executive visit <span class="muted">— Executive, 45 business hours, overrides the matrix, '
        "needs approval" in high
    )
    low = html[html.index('id="matrix-low"') : html.index('id="matrix-medium"')]
    assert "email: Care email: a best practice" in low


@pytest.mark.parametrize("user", ["ivan_interviewer", "nora_no_role"])
def test_others_may_not_see_the_matrix(client_for, user, request):
    assert client_for(request.getfixturevalue(user)).get(MATRIX).status_code == 403


def test_only_managers_get_the_edit_links(client_for, alice_csm, maria_manager):
    edit = reverse("playbooks:matrix_edit", args=["high"])

    assert edit not in client_for(alice_csm).get(MATRIX).content.decode()
    assert edit in client_for(maria_manager).get(MATRIX).content.decode()


def test_the_matrix_only_takes_get(client_for, alice_csm):
    assert client_for(alice_csm).post(MATRIX).status_code == 405


def test_the_matrix_reads_a_fixed_number_of_queries_whatever_its_steps(
    client_for, maria_manager, django_assert_num_queries
):
    client = client_for(maria_manager)
    client.get(MATRIX)
    with CaptureQueriesContext(connection) as few:
        client.get(MATRIX)

    template = EmailTemplate.objects.get(key="value-reminder")
    for playbook in Playbook.objects.all():
        for n in range(10):
            PlaybookStepFactory(playbook=playbook, position=100 + n, kind="email", email_template=template)
    PlaybookFactory.create_batch(10)

    with django_assert_num_queries(len(few)):
        response = client.get(MATRIX)
    assert response.content.decode().count("Value reminder") >= 30


# --- editing a row -----------------------------------------------------------------------------


def test_a_manager_edits_a_row(client_for, maria_manager):
    row = MatrixRow.objects.get(risk_level="high")
    url = reverse("playbooks:matrix_edit", args=["high"])
    client = client_for(maria_manager)
    assert client.get(url).status_code == 200

    response = client.post(url, row_data(row, response_amount=2, owner="CS lead and the CEO"))

    assert response.status_code == 302 and response.url == MATRIX
    row.refresh_from_db()
    assert (row.response_amount, row.owner, row.updated_by) == (2, "CS lead and the CEO", maria_manager)
    event = AuditEvent.objects.get(action="matrix.update")
    assert event.actor == maria_manager
    changes = event.details["changes"]
    assert changes["response_amount"] == [4, 2] and changes["owner"][1] == "CS lead and the CEO"
    assert "2 business hours" in client.get(MATRIX).content.decode()


@pytest.mark.parametrize("language", ["en", "zh-hant", "zh-hans"])
def test_the_audit_log_shows_what_a_matrix_edit_changed_in_the_readers_language(
    client_for, maria_manager, language
):
    from django.conf import settings
    from django.utils import translation

    row = MatrixRow.objects.get(risk_level="high")
    client = client_for(maria_manager)
    client.post(reverse("playbooks:matrix_edit", args=["high"]), row_data(row, response_amount=2))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = client.get("/audit/").content.decode()
    with translation.override(language):
        field = str(MatrixRow._meta.get_field("response_amount").verbose_name)
        action = str(translation.gettext("Intervention matrix changed"))
        line = translation.gettext("%(field)s: %(old)s → %(new)s") % {
            "field": f"{field[:1].upper()}{field[1:]}",
            "old": 4,
            "new": 2,
        }
    assert line in html
    assert action in html
    assert "response_amount" not in html and "matrix.update" not in html


def test_a_row_needs_a_positive_response_time(client_for, maria_manager):
    row = MatrixRow.objects.get(risk_level="high")

    response = client_for(maria_manager).post(
        reverse("playbooks:matrix_edit", args=["high"]), row_data(row, response_amount=0, signals="")
    )

    assert response.status_code == 422
    form = response.context["form"]
    assert set(form.errors) == {"response_amount", "signals"}
    row.refresh_from_db()
    assert row.response_amount == 4


def test_a_csm_may_not_edit_a_row(client_for, alice_csm):
    row = MatrixRow.objects.get(risk_level="high")
    url = reverse("playbooks:matrix_edit", args=["high"])
    client = client_for(alice_csm)

    assert client.get(url).status_code == 403
    assert client.post(url, row_data(row, response_amount=99)).status_code == 403
    row.refresh_from_db()
    assert row.response_amount == 4


def test_an_unknown_row_is_not_found(client_for, maria_manager):
    assert (
        client_for(maria_manager).get(reverse("playbooks:matrix_edit", args=["extreme"])).status_code == 404
    )


def test_the_row_editor_takes_only_get_and_post(client_for, maria_manager):
    assert (
        client_for(maria_manager).delete(reverse("playbooks:matrix_edit", args=["high"])).status_code == 405
    )


# --- editing a playbook ------------------------------------------------------------------------


def test_a_manager_adds_a_step(client_for, maria_manager):
    playbook = high_playbook()
    url = reverse("playbooks:playbook_edit", args=[playbook.pk])
    client = client_for(maria_manager)
    assert client.get(url).status_code == 200

    response = client.post(
        url,
        playbook_data(
            playbook, extra={"position": 5, "title": "Send the renewal quote", "due_offset_hours": 18}
        ),
    )

    assert response.status_code == 302 and response.url == MATRIX
    assert step_rows(playbook)[-1] == (5, "Send the renewal quote")
    assert playbook.steps.count() == 5
    assert AuditEvent.objects.get(action="playbook.save").details == {"steps": 5}


def test_a_manager_deletes_a_step_and_the_rest_close_up(client_for, maria_manager):
    playbook = high_playbook()
    data = playbook_data(playbook)
    data["steps-1-DELETE"] = "on"

    response = client_for(maria_manager).post(reverse("playbooks:playbook_edit", args=[playbook.pk]), data)

    assert response.status_code == 302
    assert step_rows(playbook) == [
        (1, "Convene the retention squad"),
        (2, "Prepare a tailored offer"),
        (3, "Executive visit"),
    ]


def test_a_manager_reorders_steps(client_for, maria_manager):
    playbook = high_playbook()
    data = playbook_data(playbook)
    # The call first, then the squad: two steps swap places.
    data["steps-0-position"], data["steps-1-position"] = 2, 1

    response = client_for(maria_manager).post(reverse("playbooks:playbook_edit", args=[playbook.pk]), data)

    assert response.status_code == 302
    assert step_rows(playbook) == [
        (1, "Call the champion or decision maker"),
        (2, "Convene the retention squad"),
        (3, "Prepare a tailored offer"),
        (4, "Executive visit"),
    ]


def test_the_last_step_is_moved_to_the_front(client_for, maria_manager):
    playbook = high_playbook()
    data = playbook_data(playbook)
    for index, position in enumerate([2, 3, 4, 1]):
        data[f"steps-{index}-position"] = position

    response = client_for(maria_manager).post(reverse("playbooks:playbook_edit", args=[playbook.pk]), data)

    assert response.status_code == 302
    assert step_rows(playbook) == [
        (1, "Executive visit"),
        (2, "Convene the retention squad"),
        (3, "Call the champion or decision maker"),
        (4, "Prepare a tailored offer"),
    ]


def test_two_steps_in_the_same_place_are_refused(client_for, maria_manager):
    playbook = high_playbook()
    data = playbook_data(playbook)
    data["steps-3-position"] = 1

    response = client_for(maria_manager).post(reverse("playbooks:playbook_edit", args=[playbook.pk]), data)

    assert response.status_code == 422
    assert "Please correct the duplicate data for position." in response.content.decode()
    assert step_rows(playbook)[-1] == (4, "Executive visit")


def test_step_errors_are_shown_by_their_fields(client_for, maria_manager):
    playbook = high_playbook()
    data = playbook_data(playbook, extra={"position": 5, "title": "", "kind": "email", "due_offset_hours": 4})

    response = client_for(maria_manager).post(reverse("playbooks:playbook_edit", args=[playbook.pk]), data)

    assert response.status_code == 422
    errors = response.context["steps"].errors[4]
    assert set(errors) == {"title", "email_template"}
    assert errors["email_template"] == ["An email step needs a template."]
    html = response.content.decode()
    assert "An email step needs a template." in html
    assert playbook.steps.count() == 4


def test_a_playbook_needs_a_name(client_for, maria_manager):
    playbook = high_playbook()
    data = playbook_data(playbook)
    data["playbook-name"] = ""

    response = client_for(maria_manager).post(reverse("playbooks:playbook_edit", args=[playbook.pk]), data)

    assert response.status_code == 422
    assert "name" in response.context["form"].errors
    playbook.refresh_from_db()
    assert playbook.name == "High risk: retention squad"


def test_a_manager_creates_a_playbook(client_for, maria_manager):
    data = {
        "playbook-name": "Renewal rescue",
        "playbook-risk_level": "",
        "playbook-is_active": "on",
        "playbook-description": "",
        "steps-TOTAL_FORMS": 1,
        "steps-INITIAL_FORMS": 0,
        "steps-MIN_NUM_FORMS": 1,
        "steps-MAX_NUM_FORMS": 1000,
        "steps-0-position": 1,
        "steps-0-title": "Call the decision maker",
        "steps-0-kind": "task",
        "steps-0-owner_role": "csm",
        "steps-0-due_offset_hours": 8,
    }

    response = client_for(maria_manager).post(
        reverse("playbooks:playbook_create"), with_token(maria_manager, data)
    )

    assert response.status_code == 302
    assert step_rows(Playbook.objects.get(name="Renewal rescue")) == [(1, "Call the decision maker")]


def test_a_csm_may_not_edit_a_playbook(client_for, alice_csm):
    playbook = high_playbook()
    url = reverse("playbooks:playbook_edit", args=[playbook.pk])
    data = playbook_data(playbook)
    data["playbook-name"] = "Mine now"
    client = client_for(alice_csm)

    assert client.get(url).status_code == 403
    assert client.post(url, data).status_code == 403
    assert client.post(reverse("playbooks:playbook_create"), data).status_code == 403
    playbook.refresh_from_db()
    assert playbook.name == "High risk: retention squad"
