"""The rules pages: who may open them, the form's validation, the dry runs and the writes."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from csworkbench.core.models import AuditEvent
from health.models import HealthSnapshot
from playbooks.models import EmailTemplate, Playbook, Rule, RuleFiring, Task
from tests.factories import AccountFactory
from tests.form_tokens import with_token
from tests.health.factories import HealthSnapshotFactory
from tests.playbooks.factories import RuleFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def rule(db):
    return RuleFactory(
        name="Slipping tier A", scope_value_tiers=["A"], threshold=70, days=3, notify_owner=True
    )


def valid_data(**overrides):
    data = {
        "name": "Quiet accounts",
        "condition_kind": "score_below",
        "threshold": "60",
        "days": "7",
        "set_risk_level": "medium",
        "notify_owner": "on",
        "task_due_unit": "business_hours",
        "cooldown_days": "7",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def seed_today(account, scores):
    today = timezone.localdate()
    for offset, score in enumerate(reversed(scores)):
        HealthSnapshotFactory(account=account, date=today - timedelta(days=offset), score=score)


def all_urls(rule):
    return [
        ("get", reverse("rules:list")),
        ("get", reverse("rules:create")),
        ("post", reverse("rules:create")),
        ("get", reverse("rules:edit", args=[rule.pk])),
        ("post", reverse("rules:edit", args=[rule.pk])),
        ("post", reverse("rules:toggle", args=[rule.pk])),
        ("post", reverse("rules:delete", args=[rule.pk])),
        ("get", reverse("rules:dry_run", args=[rule.pk])),
        ("post", reverse("rules:dry_run_form")),
    ]


# --- who may open the pages --------------------------------------------------------------------


@pytest.mark.parametrize("user", ["alice_csm", "ivan_interviewer", "nora_no_role"])
def test_csms_interviewers_and_users_without_role_get_403_everywhere(request, client_for, rule, user):
    client = client_for(request.getfixturevalue(user))
    for method, url in all_urls(rule):
        assert getattr(client, method)(url, valid_data()).status_code == 403, url
    assert Rule.objects.filter(pk=rule.pk, is_enabled=True).exists()


def test_anonymous_visitors_are_sent_to_log_in(client, rule):
    for method, url in all_urls(rule):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url


@pytest.mark.parametrize(
    ("method", "name", "with_pk"),
    [
        ("post", "rules:list", False),
        ("put", "rules:create", False),
        ("delete", "rules:edit", True),
        ("get", "rules:toggle", True),
        ("get", "rules:delete", True),
        ("post", "rules:dry_run", True),
        ("get", "rules:dry_run_form", False),
    ],
)
def test_wrong_methods_get_405(client_for, maria_manager, rule, method, name, with_pk):
    url = reverse(name, args=[rule.pk] if with_pk else [])
    assert getattr(client_for(maria_manager), method)(url).status_code == 405


def test_admins_may_manage_rules(client_for, ada_admin, rule):
    assert client_for(ada_admin).get(reverse("rules:list")).status_code == 200
    assert client_for(ada_admin).get(reverse("rules:edit", args=[rule.pk])).status_code == 200


# --- list --------------------------------------------------------------------------------------


def test_the_list_says_what_each_rule_does_and_how_often_it_fired(client_for, maria_manager, rule):
    account = AccountFactory(name="Acme Ltd")
    today = timezone.localdate()
    RuleFiring.objects.create(rule=rule, account=account, fired_on=today)
    RuleFiring.objects.create(rule=rule, account=account, fired_on=today - timedelta(days=40))
    response = client_for(maria_manager).get(reverse("rules:list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Slipping tier A" in html
    assert "When a tier-A account&#x27;s score is below 70 for 3 consecutive days" in html
    assert "set Medium risk, notify the owner" in html
    row = next(r for r in response.context["rules"] if r.pk == rule.pk)
    assert row.recent_firings == 1
    assert row.last_fired is not None


def test_the_list_costs_the_same_for_many_rules(client_for, maria_manager, rule):
    client = client_for(maria_manager)
    client.get(reverse("rules:list"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("rules:list"))
    playbook = Playbook.objects.first()
    template = EmailTemplate.objects.first()
    for index in range(6):
        RuleFactory(start_playbook=playbook, email_template=template, name=f"More {index}")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("rules:list"))
    assert len(many) == len(few)


# --- create ------------------------------------------------------------------------------------


def test_the_form_labels_every_field_and_groups_them(client_for, maria_manager):
    response = client_for(maria_manager).get(reverse("rules:create"))
    html = response.content.decode()
    assert response.status_code == 200
    for legend in ("Scope: which accounts", "Condition: when it fires", "Actions: what it does", "Cool-down"):
        assert f"<legend><strong>{legend}</strong></legend>" in html
    assert "<legend>Value tiers</legend>" in html
    assert 'for="id_threshold"' in html and 'for="id_task_title"' in html
    # Measures come from the published model, with their labels.
    assert '<option value="login_trend">Login trend</option>' in html
    assert 'hx-post="/rules/dry-run/"' in html and 'formaction="/rules/dry-run/"' in html


def test_a_manager_creates_a_rule_and_is_redirected(client_for, maria_manager):
    data = valid_data(
        scope_value_tiers=["A", "B"],
        scope_industries=["retail"],
        scope_lifecycle_stages=["onboarding"],
        scope_tag="pilot",
        task_title="Call them",
        task_due_amount="2",
        task_due_unit="business_days",
        add_tag="quiet",
        measure="login_trend",  # not used by a score condition: dropped
    )
    response = client_for(maria_manager).post(reverse("rules:create"), with_token(maria_manager, data))
    rule = Rule.objects.get(name="Quiet accounts")
    assert response.status_code == 302
    assert response.url == reverse("rules:edit", args=[rule.pk])
    assert rule.scope_value_tiers == ["A", "B"]
    assert (rule.scope_industries, rule.scope_lifecycle_stages, rule.scope_tag) == (
        ["retail"],
        ["onboarding"],
        "pilot",
    )
    assert (rule.threshold, rule.days, rule.measure) == (60, 7, "")
    assert (rule.task_title, rule.task_due_amount, rule.task_due_unit) == ("Call them", 2, "business_days")
    assert rule.created_by == maria_manager
    assert AuditEvent.objects.filter(
        action="rule.create", target="Quiet accounts", actor=maria_manager
    ).exists()


def test_an_htmx_create_redirects_the_client(client_for, maria_manager):
    data = with_token(maria_manager, valid_data())
    response = client_for(maria_manager).post(reverse("rules:create"), data, **HTMX)
    rule = Rule.objects.get(name="Quiet accounts")
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("rules:edit", args=[rule.pk])


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"threshold": None}, "threshold", "Give the threshold, a number from 0 to 100."),
        ({"threshold": "150"}, "threshold", "Ensure this value is less than or equal to 100."),
        ({"condition_kind": "measure_below"}, "measure", "Choose the measure to compare."),
        (
            {"condition_kind": "measure_above", "threshold": None, "measure": "csat"},
            "threshold",
            "Give the threshold",
        ),
        ({"condition_kind": "tier_is"}, "tier", "Choose the health tier."),
        ({"condition_kind": "alert_raised"}, "alert_kind", "Choose the alert."),
        ({"condition_kind": "event"}, "event_kind", "Choose the event."),
        ({"days": "0"}, "days", "Ensure this value is greater than or equal to 1."),
        ({"task_title": "Call", "set_risk_level": ""}, "task_due_amount", "Say when the task is due"),
        ({"task_due_amount": "4"}, "task_title", "Give the task a title"),
    ],
)
def test_invalid_rules_get_422_with_the_error_by_the_field(
    client_for, maria_manager, overrides, field, message
):
    response = client_for(maria_manager).post(reverse("rules:create"), valid_data(**overrides))
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert any(message in error for error in errors[field]), errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not Rule.objects.filter(name="Quiet accounts").exists()


def test_a_rule_needs_at_least_one_action(client_for, maria_manager):
    response = client_for(maria_manager).post(
        reverse("rules:create"), valid_data(set_risk_level="", notify_owner=None)
    )
    assert response.status_code == 422
    assert "Choose at least one action" in response.content.decode()


def test_a_threshold_is_not_needed_when_the_condition_does_not_use_it(client_for, maria_manager):
    response = client_for(maria_manager).post(
        reverse("rules:create"),
        with_token(
            maria_manager,
            valid_data(
                condition_kind="alert_raised", alert_kind="ticket_spike", threshold="500", tier="high"
            ),
        ),
    )
    assert response.status_code == 302
    rule = Rule.objects.get(name="Quiet accounts")
    assert (rule.alert_kind, rule.threshold, rule.tier) == ("ticket_spike", None, "")


def test_an_invalid_htmx_post_gets_422_and_the_form_fragment(client_for, maria_manager):
    response = client_for(maria_manager).post(reverse("rules:create"), valid_data(threshold=None), **HTMX)
    html = response.content.decode()
    assert response.status_code == 422
    assert "<html" not in html
    assert html.lstrip().startswith('<form id="rule-form"')
    assert "Give the threshold" in html


# --- edit, history, toggle, delete -------------------------------------------------------------


def test_the_rule_page_shows_its_sentence_form_and_latest_firings(client_for, maria_manager, rule):
    for index in range(55):
        RuleFiring.objects.create(
            rule=rule, account=AccountFactory(name=f"Firing {index:02d}"), fired_on=timezone.localdate()
        )
    response = client_for(maria_manager).get(reverse("rules:edit", args=[rule.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        "When a tier-A account&#x27;s score is below 70 for 3 consecutive days: "
        "set Medium risk, notify the owner" in html
    )
    assert len(response.context["firings"]) == 50
    assert 'value="70.00"' in html or 'value="70"' in html


def test_a_manager_changes_a_rule(client_for, maria_manager, rule):
    data = valid_data(name="Slipping tier A", scope_value_tiers=["A"], threshold="65", days="5")
    response = client_for(maria_manager).post(reverse("rules:edit", args=[rule.pk]), data)
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.threshold, rule.days) == (65, 5)
    event = AuditEvent.objects.get(action="rule.change", target="Slipping tier A")
    # What changed, old → new: not only "enabled: True".
    assert event.details["changes"]["threshold"] == ["70", "65"]
    assert event.details["changes"]["days"][1] == 5
    html = client_for(maria_manager).get("/audit/").content.decode()
    assert "Threshold: 70 → 65" in html


def test_an_invalid_change_is_not_saved(client_for, maria_manager, rule):
    response = client_for(maria_manager).post(
        reverse("rules:edit", args=[rule.pk]), valid_data(name="Slipping tier A", threshold="-5"), **HTMX
    )
    assert response.status_code == 422
    assert "<html" not in response.content.decode()
    rule.refresh_from_db()
    assert rule.threshold == 70


def test_toggle_switches_a_rule_off_and_on(client_for, maria_manager, rule):
    client = client_for(maria_manager)
    response = client.post(reverse("rules:toggle", args=[rule.pk]))
    assert response.status_code == 302 and response.url == reverse("rules:list")
    rule.refresh_from_db()
    assert rule.is_enabled is False
    client.post(reverse("rules:toggle", args=[rule.pk]), {"next": "edit"})
    rule.refresh_from_db()
    assert rule.is_enabled is True
    assert AuditEvent.objects.filter(action="rule.disable").count() == 1
    assert AuditEvent.objects.filter(action="rule.enable").count() == 1


def test_delete_removes_the_rule_but_keeps_its_tasks(client_for, maria_manager, rule):
    account = AccountFactory()
    task = Task.objects.create(account=account, rule=rule, title="Call", due_at=timezone.now())
    response = client_for(maria_manager).post(reverse("rules:delete", args=[rule.pk]))
    assert response.status_code == 302 and response.url == reverse("rules:list")
    assert not Rule.objects.filter(pk=rule.pk).exists()
    task.refresh_from_db()
    assert task.rule is None
    assert AuditEvent.objects.filter(action="rule.delete", target="Slipping tier A").exists()


def test_unknown_rules_are_404(client_for, maria_manager):
    assert client_for(maria_manager).get(reverse("rules:edit", args=[99999])).status_code == 404


# --- dry runs ----------------------------------------------------------------------------------


def test_the_dry_run_page_lists_the_accounts_without_writing(client_for, maria_manager, rule):
    slipping = AccountFactory(name="Acme Ltd", value_tier="A", health_score=60, health_tier="low")
    seed_today(slipping, [65, 62, 60])
    seed_today(AccountFactory(name="Beta B", value_tier="B"), [65, 62, 60])
    response = client_for(maria_manager).get(reverse("rules:dry_run", args=[rule.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Acme Ltd" in html and "Beta B" not in html
    assert "Accounts it would fire for on" in html
    assert response.context["result"].count == 1
    assert not RuleFiring.objects.exists() and not Task.objects.exists()


def test_the_dry_run_page_as_a_fragment(client_for, maria_manager, rule):
    response = client_for(maria_manager).get(reverse("rules:dry_run", args=[rule.pk]), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<section id="dry-run"')


def test_the_form_dry_run_evaluates_unsaved_data_through_htmx(client_for, maria_manager):
    seed_today(AccountFactory(name="Acme Ltd"), [40])
    rules_before = Rule.objects.count()
    response = client_for(maria_manager).post(
        reverse("rules:dry_run_form"), valid_data(days="1", threshold="50"), **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Acme Ltd" in html
    assert "The form as it stands: When an account&#x27;s score is below 50" in html
    assert Rule.objects.count() == rules_before
    assert not RuleFiring.objects.exists()


def test_the_form_dry_run_of_an_edited_rule_keeps_the_saved_rule_and_its_cool_down(
    client_for, maria_manager, rule
):
    held, fresh = AccountFactory(name="Held", value_tier="A"), AccountFactory(name="Fresh", value_tier="A")
    for account in (held, fresh):
        seed_today(account, [40])
    RuleFiring.objects.create(rule=rule, account=held, fired_on=timezone.localdate() - timedelta(days=1))
    url = reverse("rules:dry_run_form") + f"?rule={rule.pk}"
    response = client_for(maria_manager).post(
        url, valid_data(name="Slipping tier A", scope_value_tiers=["A"], threshold="50", days="1"), **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Fresh" in html and "Held" not in html.replace("Held back", "")
    assert "Held back by the cool-down: 1" in html
    rule.refresh_from_db()
    assert (rule.threshold, rule.days) == (70, 3)


def test_the_form_dry_run_without_htmx_renders_the_page_with_the_result(client_for, maria_manager):
    seed_today(AccountFactory(name="Acme Ltd"), [40])
    response = client_for(maria_manager).post(reverse("rules:dry_run_form"), valid_data(days="1"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert 'id="rule-form"' in html and "Acme Ltd" in html
    assert 'value="Quiet accounts"' in html
    assert not Rule.objects.filter(name="Quiet accounts").exists()


def test_an_invalid_form_dry_run_swaps_in_the_form_with_its_errors(client_for, maria_manager):
    response = client_for(maria_manager).post(
        reverse("rules:dry_run_form"), valid_data(threshold=None), **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#rule-form"
    assert response["HX-Reswap"] == "outerHTML"
    assert "<html" not in html and "Give the threshold" in html
    assert not HealthSnapshot.objects.exists()
