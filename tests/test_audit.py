"""The audit log: each sensitive change writes a row, and managers and admins read them at /audit/."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from csworkbench.core.models import AuditEvent, record_audit
from tests.factories import AccountFactory, UserFactory
from tests.playbooks.factories import TeamFactory, draft_plan_for

pytestmark = pytest.mark.django_db

URL = reverse("audit:list")


# --- the sensitive changes are audited ---------------------------------------------------------


def test_publishing_a_health_model_is_audited(maria_manager, monkeypatch):
    from health import editor
    from health.defaults import create_default_model
    from health.models import HealthDimension, HealthMeasure, HealthModel

    if not HealthModel.objects.filter(status="published").exists():
        create_default_model(HealthModel, HealthDimension, HealthMeasure)
    monkeypatch.setattr(editor.nightly_health_run, "delay", lambda *args, **kwargs: None)
    draft = editor.create_draft(user=maria_manager)
    editor.publish_draft(model=draft, user=maria_manager)
    event = AuditEvent.objects.get(action="health_model.published")
    assert event.actor == maria_manager


def test_every_plan_transition_is_audited(alice_csm, maria_manager, alice_account):
    from playbooks import plans

    TeamFactory(name="Taipei CS", members=[alice_csm], managers=[maria_manager])
    plan = draft_plan_for(alice_account)
    plan = plans.submit_plan(plan=plan, user=alice_csm, expected_version=plan.version)
    plans.approve_plan(plan=plan, manager=maria_manager, expected_version=plan.version)
    actions = list(AuditEvent.objects.filter(action__startswith="plan.").values_list("action", "actor"))
    assert ("plan.draft", alice_csm.pk) in actions
    assert ("plan.submitted", alice_csm.pk) in actions
    assert ("plan.approved", maria_manager.pk) in actions
    assert all(e.account == alice_account for e in AuditEvent.objects.filter(action__startswith="plan."))


def test_a_health_override_and_its_revocation_are_audited(alice_csm, alice_account):
    from health.services import revoke_override, set_override

    override = set_override(
        account=alice_account,
        user=alice_csm,
        score=80,
        reason="Renewal signed yesterday",
        expires_on=timezone.localdate() + timedelta(days=10),
    )
    revoke_override(override=override, user=alice_csm)
    assert AuditEvent.objects.filter(action="health_override.set", actor=alice_csm, account=alice_account)
    assert AuditEvent.objects.filter(action="health_override.revoke", actor=alice_csm, account=alice_account)


def test_an_import_is_audited(maria_manager):
    from ingest.load import load_csv

    AccountFactory(external_id="ACME-1")
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    data = f"account,kind,occurred_on,note\nACME-1,champion_left,{yesterday},Amy left\n".encode()
    load_csv(kind="events", file=io.BytesIO(data), actor=maria_manager, name="events.csv")
    event = AuditEvent.objects.get(action="import")
    assert (event.actor, event.target) == (maria_manager, "events.csv")


def test_api_token_creation_and_revocation_are_audited(ada_admin):
    from ingest.tokens import create_api_token, revoke_api_token

    token, _raw = create_api_token(name="analytics", created_by=ada_admin)
    revoke_api_token(token=token, revoked_by=ada_admin)
    assert AuditEvent.objects.filter(action="api_token.create", actor=ada_admin, target="analytics")
    assert AuditEvent.objects.filter(action="api_token.revoke", actor=ada_admin, target="analytics")


def _change_user_in_admin(client, admin_user, user, *, groups, **flags):
    client.force_login(admin_user)
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if flags.get("is_active", True) else "",
        "is_staff": "on" if flags.get("is_staff", user.is_staff) else "",
        "is_superuser": "on" if flags.get("is_superuser", user.is_superuser) else "",
        "groups": [Group.objects.get_or_create(name=name)[0].pk for name in groups],
        "user_permissions": [],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": timezone.localdate().isoformat(),
        "date_joined_1": "00:00:00",
        "_save": "Save",
    }
    return client.post(reverse("admin:auth_user_change", args=[user.pk]), data)


def test_a_role_change_in_the_admin_is_audited_with_the_acting_admin(client, alice_csm):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    response = _change_user_in_admin(client, root, alice_csm, groups=["csm", "manager"])
    assert response.status_code == 302, response.content.decode()[:2000]
    assert set(alice_csm.groups.values_list("name", flat=True)) == {"csm", "manager"}
    event = AuditEvent.objects.get(action="role.change")
    assert (event.actor, event.target) == (root, "alice")
    assert event.details["added"] == ["manager"]
    assert event.details["removed"] == []

    _change_user_in_admin(client, root, alice_csm, groups=["manager"], is_staff=True)
    latest = AuditEvent.objects.filter(action="role.change").first()
    assert latest.details["removed"] == ["csm"]
    assert latest.details["is_staff"] is True


def test_saving_a_user_without_role_changes_writes_no_audit_row(client, alice_csm):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    alice_csm.first_name = "Alicia"
    _change_user_in_admin(client, root, alice_csm, groups=["csm"])
    assert not AuditEvent.objects.filter(action="role.change").exists()


# --- the audit page ------------------------------------------------------------------------------


@pytest.fixture
def events(alice_csm, maria_manager, alice_account, bob_account):
    now = timezone.now()
    rows = [
        record_audit(actor=maria_manager, action="health_model.published", target="v2", version=2),
        record_audit(actor=alice_csm, action="plan.submitted", account=alice_account, target="1"),
        record_audit(actor=alice_csm, action="health_override.set", account=bob_account, score=80),
        record_audit(actor=None, action="import", target="accounts.csv"),
        record_audit(actor=maria_manager, action="api_token.create", target="=cmd|' /C calc'!A0"),
    ]
    for age, event in enumerate(reversed(rows)):
        AuditEvent.objects.filter(pk=event.pk).update(at=now - timedelta(days=age))
    return rows


@pytest.mark.parametrize(
    ("fixture", "status"),
    [("maria_manager", 200), ("ada_admin", 200), ("alice_csm", 403), ("ivan_interviewer", 403)],
)
def test_only_managers_and_admins_open_the_audit_log(client_for, request, fixture, status):
    client = client_for(request.getfixturevalue(fixture))
    assert client.get(URL).status_code == status
    assert client.get(reverse("audit:export")).status_code == status


def test_the_nav_offers_the_audit_log_to_managers_and_admins_only(client_for, maria_manager, alice_csm):
    assert f'href="{URL}"' in client_for(maria_manager).get(reverse("accounts:list")).content.decode()
    assert f'href="{URL}"' not in client_for(alice_csm).get(reverse("accounts:list")).content.decode()


def test_it_lists_events_newest_first(client_for, maria_manager, events):
    response = client_for(maria_manager).get(URL)
    assert [event.action for event in response.context["page"]] == [
        "api_token.create",
        "import",
        "health_override.set",
        "plan.submitted",
        "health_model.published",
    ]
    assert "5 events" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "health_model."}, {"health_model.published"}),
        ({"action": "plan."}, {"plan.submitted"}),
        ({"action": "health_override."}, {"health_override.set"}),
        ({"action": "import"}, {"import"}),
        ({"action": "api_token."}, {"api_token.create"}),
        ({"account": "bobcat"}, {"health_override.set"}),
    ],
)
def test_it_filters_by_kind_of_action_and_account(client_for, maria_manager, events, query, expected):
    response = client_for(maria_manager).get(URL, query)
    assert {event.action for event in response.context["page"]} == expected


def test_it_filters_by_actor_and_dates(client_for, maria_manager, alice_csm, events):
    client = client_for(maria_manager)
    by_alice = client.get(URL, {"actor": alice_csm.pk}).context["page"]
    assert {e.action for e in by_alice} == {"plan.submitted", "health_override.set"}
    today = timezone.localdate()
    recent = client.get(URL, {"since": (today - timedelta(days=1)).isoformat(), "until": today.isoformat()})
    assert {e.action for e in recent.context["page"]} == {"api_token.create", "import"}


def test_a_reversed_date_range_is_refused_with_a_message(client_for, maria_manager, events):
    today = timezone.localdate()
    response = client_for(maria_manager).get(
        URL, {"since": today.isoformat(), "until": (today - timedelta(days=3)).isoformat()}
    )
    assert response.status_code == 422
    assert "The start date is after the end date." in response.content.decode()
    assert list(response.context["page"]) == []


def test_it_paginates(client_for, maria_manager):
    for n in range(60):
        record_audit(actor=maria_manager, action="rule.change", target=f"rule {n}")
    client = client_for(maria_manager)
    first = client.get(URL)
    assert len(first.context["page"]) == 50
    assert "Page 1 of 2" in first.content.decode()
    second = client.get(URL, {"page": 2, "action": "rule."})
    assert len(second.context["page"]) == 10
    assert 'href="?action=rule.&amp;page=1"' in second.content.decode()


def test_the_htmx_request_gets_only_the_results(client_for, maria_manager, events):
    response = client_for(maria_manager).get(URL, {"action": "plan."}, headers={"HX-Request": "true"})
    content = response.content.decode()
    assert "<html" not in content
    assert 'id="audit-results"' in content


def test_it_refuses_a_post(client_for, maria_manager):
    assert client_for(maria_manager).post(URL).status_code == 405


def test_the_query_count_does_not_grow_with_the_rows(client_for, maria_manager, alice_account, events):
    client = client_for(maria_manager)
    client.get(URL)  # warm the session and the user's roles

    def count_queries():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured)

    few = count_queries()
    actors = [UserFactory(username=f"actor{n}", password="x") for n in range(4)]
    for n in range(40):
        record_audit(actor=actors[n % 4], action="task.create", account=AccountFactory(), target=f"t{n}")
    assert count_queries() == few


def test_the_csv_export_has_the_filtered_rows_with_formulas_neutralised(client_for, maria_manager, events):
    response = client_for(maria_manager).get(reverse("audit:export"), {"action": "api_token."})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["When", "Who", "Action", "Account", "Target", "Details"]
    assert len(rows) == 2
    assert rows[1][1:5] == ["maria", "api_token.create", "", "'=cmd|' /C calc'!A0"]
