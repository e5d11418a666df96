"""The rules engine on seeded snapshots: matching, scope, cool-down, the actions and their cost."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Tag
from csworkbench.core.models import AuditEvent
from health.models import SignalEvent
from playbooks.models import (
    Channel,
    Delivery,
    EmailTemplate,
    Notification,
    Playbook,
    PlaybookRun,
    PlaybookStep,
    Priority,
    Rule,
    RuleFiring,
    SentEmail,
    Task,
    TaskStatus,
)
from playbooks.rule_words import describe_rule
from playbooks.rules import (
    dry_run,
    eligible_accounts,
    fire_rule,
    matching_accounts,
    run_rules,
)
from tests.factories import AccountFactory, ContactFactory, UserFactory
from tests.form_tokens import tokens_in
from tests.health.factories import AlertFactory, HealthSnapshotFactory
from tests.playbooks.factories import RuleFactory, TeamFactory, WebhookChannelFactory

TAIPEI = ZoneInfo("Asia/Taipei")
AS_OF = date(2025, 3, 7)  # a Friday
NOW = datetime(2025, 3, 7, 17, 0, tzinfo=TAIPEI)


def days_before(n: int, end: date = AS_OF) -> date:
    return end - timedelta(days=n)


def seed_scores(account, scores, *, end: date = AS_OF, measures=None):
    """One snapshot a day, oldest first, the last on `end`; None leaves that day without one."""
    count = len(scores)
    for index, score in enumerate(scores):
        if score is None:
            continue
        HealthSnapshotFactory(
            account=account, date=days_before(count - 1 - index, end), score=score, measures=measures or {}
        )


@pytest.fixture
def team(alice_csm, maria_manager):
    team = TeamFactory(name="Taipei CS", members=[alice_csm], managers=[maria_manager])
    WebhookChannelFactory(team=team, name="cs-alerts")
    return team


def post_rule(client, **data):
    """Build a rule the way a manager does: through the form."""
    base = {
        "days": "1",
        "cooldown_days": "7",
        "task_due_unit": "business_hours",
        "is_enabled": "on",
    }
    [token] = tokens_in(client.get(reverse("rules:create")))  # the form's one-time token
    response = client.post(reverse("rules:create"), {**base, **data, "form_token": token})
    assert response.status_code == 302, response.context["form"].errors
    return Rule.objects.get(name=data["name"])


@pytest.fixture
def rule_a(client_for, maria_manager):
    """DESIGN.md's first example."""
    return post_rule(
        client_for(maria_manager),
        name="Score below 60 for 7 days",
        condition_kind="score_below",
        threshold="60",
        days="7",
        set_risk_level="medium",
        notify_owner="on",
        task_title="Retention follow-up",
        task_due_amount="24",
        task_due_unit="business_hours",
        email_template=str(EmailTemplate.objects.get(key="activity-dropped").pk),
        add_tag="activity-dropped",
        cooldown_days="14",
    )


@pytest.fixture
def rule_b(client_for, maria_manager):
    """DESIGN.md's second example."""
    return post_rule(
        client_for(maria_manager),
        name="Tier A slipping",
        scope_value_tiers=["A"],
        condition_kind="score_below",
        threshold="70",
        days="3",
        set_risk_level="medium",
        notify_owner="on",
    )


# --- the two example rules ---------------------------------------------------------------------


def test_example_rule_a_runs_every_action_for_a_week_below_60(rule_a, team, alice_csm):
    account = AccountFactory(name="Acme Ltd", owner=alice_csm, health_score=52, health_tier="medium")
    contact = ContactFactory(account=account, name="Grace Ho", email="grace@acme.example", is_primary=True)
    seed_scores(account, [55, 58, 52, 50, 49, 57, 52])

    result = run_rules(as_of=AS_OF, now=NOW)

    assert result.fired["Score below 60 for 7 days"] == 1
    account.refresh_from_db()
    assert account.risk_level == "medium"
    assert account.risk_level_set_at == NOW
    assert list(account.tags.values_list("name", flat=True)) == ["activity-dropped"]
    task = Task.objects.get(account=account)
    assert (task.title, task.rule, task.assignee, task.status) == (
        "Retention follow-up",
        rule_a,
        alice_csm,
        "open",
    )
    assert task.priority == Priority.HIGH
    # Friday 17:00 leaves 1 working hour that day; Monday and Tuesday give 9 each (19); the last
    # 5 run from Wednesday 09:00.
    assert task.due_at == datetime(2025, 3, 12, 14, 0, tzinfo=TAIPEI)
    notification = Notification.objects.get(recipient=alice_csm)
    assert notification.kind == "rule_fired"
    assert "Acme Ltd" in notification.title
    assert notification.url == reverse("accounts:detail", args=[account.pk])
    assert (
        Delivery.objects.filter(channel=Channel.EMAIL, to=alice_csm.email, notification=notification).count()
        == 1
    )
    assert Delivery.objects.filter(channel=Channel.WEBHOOK, webhook__team=team).count() == 1
    email = SentEmail.objects.get(account=account)
    assert (email.to_address, email.contact, email.rule) == ("grace@acme.example", contact, rule_a)
    assert email.template.key == "activity-dropped"
    firing = RuleFiring.objects.get(rule=rule_a)
    assert (firing.account, firing.fired_on) == (account, AS_OF)
    audit = AuditEvent.objects.get(action="rule.fire")
    assert audit.target == rule_a.name and audit.details["accounts"] == 1 and audit.actor is None


def test_example_rule_b_fires_for_tier_a_only(rule_b, alice_csm):
    tier_a = AccountFactory(name="Alpha", value_tier="A", owner=alice_csm)
    tier_b = AccountFactory(name="Beta", value_tier="B", owner=alice_csm)
    for account in (tier_a, tier_b):
        seed_scores(account, [69, 65, 60])

    assert run_rules(as_of=AS_OF, now=NOW).fired["Tier A slipping"] == 1

    tier_a.refresh_from_db()
    tier_b.refresh_from_db()
    assert (tier_a.risk_level, tier_b.risk_level) == ("medium", "")
    assert Notification.objects.filter(recipient=alice_csm, account=tier_a).count() == 1
    assert not Task.objects.exists()


def test_the_example_rules_describe_themselves(rule_a, rule_b):
    assert describe_rule(rule_b) == (
        "When a tier-A account's score is below 70 for 3 consecutive days: set Medium risk, notify the owner"
    )
    assert describe_rule(rule_a) == (
        "When an account's score is below 60 for 7 consecutive days: set Medium risk, create a "
        "“Retention follow-up” task due in 24 business hours, notify the owner, email “Activity dropped: "
        "care email” to the primary contact, tag the account “activity-dropped”"
    )


# --- consecutive days --------------------------------------------------------------------------


def test_six_days_of_seven_below_does_not_fire(rule_a, alice_csm):
    account = AccountFactory(owner=alice_csm)
    seed_scores(account, [55, 58, 61, 50, 49, 57, 52])
    assert not matching_accounts(rule_a, as_of=AS_OF).exists()
    assert run_rules(as_of=AS_OF, now=NOW).fired[rule_a.name] == 0


def test_a_day_without_a_snapshot_breaks_the_run(rule_a, alice_csm):
    account = AccountFactory(owner=alice_csm)
    seed_scores(account, [55, 58, None, 50, 49, 57, 52])
    assert not matching_accounts(rule_a, as_of=AS_OF).exists()


def test_snapshots_before_the_window_do_not_count(alice_csm):
    rule = RuleFactory(threshold=60, days=3)
    account = AccountFactory(owner=alice_csm)
    seed_scores(account, [50, 50, 50, 70], end=AS_OF)
    assert not matching_accounts(rule, as_of=AS_OF).exists()
    assert list(matching_accounts(rule, as_of=AS_OF - timedelta(days=1))) == [account]


def test_churned_accounts_are_never_matched(alice_csm):
    rule = RuleFactory(threshold=60)
    account = AccountFactory(owner=alice_csm, status="churned", churned_on=AS_OF, churn_type="cancelled")
    seed_scores(account, [40])
    assert not matching_accounts(rule, as_of=AS_OF).exists()


# --- scope -------------------------------------------------------------------------------------


def test_scope_by_industry(alice_csm):
    rule = RuleFactory(scope_industries=["retail", "education"])
    shop = AccountFactory(industry="retail")
    school = AccountFactory(industry="education")
    bank = AccountFactory(industry="finance")
    for account in (shop, school, bank):
        seed_scores(account, [40])
    assert set(matching_accounts(rule, as_of=AS_OF)) == {shop, school}


def test_scope_by_lifecycle_stage(alice_csm):
    rule = RuleFactory(scope_lifecycle_stages=["onboarding", "mature"])
    new = AccountFactory(contract_start=AS_OF - timedelta(days=10))
    adopting = AccountFactory(contract_start=AS_OF - timedelta(days=100))
    mature = AccountFactory(contract_start=AS_OF - timedelta(days=400))
    for account in (new, adopting, mature):
        seed_scores(account, [40])
    assert set(matching_accounts(rule, as_of=AS_OF)) == {new, mature}


def test_scope_by_tag_and_tier(alice_csm):
    rule = RuleFactory(scope_tag="pilot", scope_value_tiers=["A", "B"])
    pilot = Tag.objects.create(name="pilot")
    tagged_a = AccountFactory(value_tier="A")
    tagged_c = AccountFactory(value_tier="C")
    untagged_a = AccountFactory(value_tier="A")
    tagged_a.tags.add(pilot, Tag.objects.create(name="other"))
    tagged_c.tags.add(pilot)
    for account in (tagged_a, tagged_c, untagged_a):
        seed_scores(account, [40])
    assert list(matching_accounts(rule, as_of=AS_OF)) == [tagged_a]


# --- each condition kind -----------------------------------------------------------------------


def test_score_above(db):
    rule = RuleFactory(condition_kind="score_above", threshold=80, days=2)
    high, mixed = AccountFactory(), AccountFactory()
    seed_scores(high, [85, 90])
    seed_scores(mixed, [80, 95])
    assert list(matching_accounts(rule, as_of=AS_OF)) == [high]


def test_tier_is(db):
    rule = RuleFactory(condition_kind="tier_is", tier="high", threshold=None, days=2)
    high, recovering = AccountFactory(), AccountFactory()
    seed_scores(high, [30, 35])
    seed_scores(recovering, [30, 45])
    assert list(matching_accounts(rule, as_of=AS_OF)) == [high]


def measures(sub):
    return {
        "login_trend": {"dimension": "usage", "raw": 0.3, "sub": sub, "weight": 10.0, "contribution": 1.0}
    }


def test_measure_below_reads_the_sub_score_and_ignores_measures_without_data(db):
    rule = RuleFactory(condition_kind="measure_below", measure="login_trend", threshold=40, days=2)
    low, no_data, fine, missing = AccountFactory(), AccountFactory(), AccountFactory(), AccountFactory()
    seed_scores(low, [60, 60], measures=measures(20))
    seed_scores(no_data, [60, 60], measures=measures(None))
    seed_scores(fine, [60, 60], measures=measures(40))
    seed_scores(missing, [60, 60], measures={})
    assert list(matching_accounts(rule, as_of=AS_OF)) == [low]


def test_measure_above(db):
    rule = RuleFactory(condition_kind="measure_above", measure="login_trend", threshold=75.5)
    up, down, no_data = AccountFactory(), AccountFactory(), AccountFactory()
    seed_scores(up, [60], measures=measures(80))
    seed_scores(down, [60], measures=measures(75.5))
    seed_scores(no_data, [60], measures=measures(None))
    assert list(matching_accounts(rule, as_of=AS_OF)) == [up]


def test_alert_raised_needs_an_open_alert_of_that_kind(db):
    rule = RuleFactory(condition_kind="alert_raised", alert_kind="ticket_spike", threshold=None)
    open_alert, resolved, other_kind, later = (
        AccountFactory(),
        AccountFactory(),
        AccountFactory(),
        AccountFactory(),
    )
    AlertFactory(account=open_alert, kind="ticket_spike", raised_on=AS_OF - timedelta(days=3))
    AlertFactory(
        account=resolved, kind="ticket_spike", raised_on=AS_OF - timedelta(days=9), resolved_on=AS_OF
    )
    AlertFactory(account=other_kind, kind="login_drop", raised_on=AS_OF)
    AlertFactory(account=later, kind="ticket_spike", raised_on=AS_OF + timedelta(days=1))
    assert list(matching_accounts(rule, as_of=AS_OF)) == [open_alert]


def test_event_within_the_last_days(db):
    rule = RuleFactory(condition_kind="event", event_kind="champion_left", threshold=None, days=7)
    recent, old, other = AccountFactory(), AccountFactory(), AccountFactory()
    SignalEvent.objects.create(account=recent, kind="champion_left", occurred_on=AS_OF - timedelta(days=6))
    SignalEvent.objects.create(account=old, kind="champion_left", occurred_on=AS_OF - timedelta(days=7))
    SignalEvent.objects.create(account=other, kind="downgrade_requested", occurred_on=AS_OF)
    assert list(matching_accounts(rule, as_of=AS_OF)) == [recent]


# --- idempotency, cool-down, risk levels -------------------------------------------------------


def test_running_twice_on_a_day_fires_once(rule_a, alice_csm):
    account = AccountFactory(owner=alice_csm)
    seed_scores(account, [50] * 7)
    assert run_rules(as_of=AS_OF, now=NOW).fired[rule_a.name] == 1
    assert run_rules(as_of=AS_OF, now=NOW + timedelta(minutes=5)).fired[rule_a.name] == 0
    # Even with no cool-down at all, the day's firing row stops a second round of actions.
    Rule.objects.filter(pk=rule_a.pk).update(cooldown_days=0)
    Task.objects.update(status=TaskStatus.CANCELLED)
    assert run_rules(as_of=AS_OF, now=NOW + timedelta(minutes=10)).fired[rule_a.name] == 0
    assert RuleFiring.objects.count() == 1
    assert Task.objects.count() == 1
    assert AuditEvent.objects.filter(action="rule.fire").count() == 1


def test_the_cool_down_holds_while_the_task_is_open_and_for_its_days(alice_csm):
    rule = RuleFactory(
        task_title="Call them", task_due_amount=1, task_due_unit="business_days", cooldown_days=7
    )
    account = AccountFactory(owner=alice_csm)
    seed_scores(account, [50] * 20, end=AS_OF + timedelta(days=19))

    assert fire_rule(rule, as_of=AS_OF, now=NOW) == 1
    # The task is open: quiet, even long after the cool-down days.
    assert not eligible_accounts(rule, AS_OF + timedelta(days=10)).exists()
    assert fire_rule(rule, as_of=AS_OF + timedelta(days=10)) == 0

    Task.objects.update(status=TaskStatus.DONE, completed_at=NOW)
    # Done, but fired within the last 7 days: still quiet.
    assert not eligible_accounts(rule, AS_OF + timedelta(days=6)).exists()
    # Seven days on, the cool-down has passed.
    assert list(eligible_accounts(rule, AS_OF + timedelta(days=7))) == [account]
    assert fire_rule(rule, as_of=AS_OF + timedelta(days=7)) == 1
    assert RuleFiring.objects.filter(rule=rule).count() == 2


def test_an_active_playbook_run_holds_the_cool_down(alice_csm):
    playbook = Playbook.objects.create(name="Save them")
    PlaybookStep.objects.create(playbook=playbook, position=1, title="Call", due_offset_hours=4)
    rule = RuleFactory(start_playbook=playbook, cooldown_days=0)
    account = AccountFactory(owner=alice_csm)
    seed_scores(account, [50, 50], end=AS_OF + timedelta(days=1))
    assert fire_rule(rule, as_of=AS_OF, now=NOW) == 1
    run = PlaybookRun.objects.get(account=account)
    assert (run.rule, run.status, run.tasks.count()) == (rule, "active", 1)
    assert fire_rule(rule, as_of=AS_OF + timedelta(days=1)) == 0


def test_a_higher_risk_level_is_not_lowered(alice_csm):
    rule = RuleFactory(set_risk_level="medium")
    earlier = datetime(2025, 2, 1, 9, 0, tzinfo=TAIPEI)
    high = AccountFactory(owner=alice_csm, risk_level="high", risk_level_set_at=earlier)
    low = AccountFactory(owner=alice_csm, risk_level="low", risk_level_set_at=earlier)
    for account in (high, low):
        seed_scores(account, [40])
    assert fire_rule(rule, as_of=AS_OF, now=NOW) == 2
    high.refresh_from_db()
    low.refresh_from_db()
    assert (high.risk_level, high.risk_level_set_at) == ("high", earlier)
    assert (low.risk_level, low.risk_level_set_at) == ("medium", NOW)


def test_fire_rule_can_be_limited_to_some_accounts(alice_csm):
    rule = RuleFactory()
    first, second = AccountFactory(owner=alice_csm), AccountFactory(owner=alice_csm)
    for account in (first, second):
        seed_scores(account, [40])
    assert fire_rule(rule, as_of=AS_OF, accounts=[second], now=NOW) == 1
    assert list(RuleFiring.objects.values_list("account_id", flat=True)) == [second.pk]


def test_disabled_rules_do_not_run(alice_csm):
    rule = RuleFactory(is_enabled=False)
    seed_scores(AccountFactory(owner=alice_csm), [40])
    assert rule.name not in run_rules(as_of=AS_OF, now=NOW).fired
    assert not RuleFiring.objects.exists()


def test_a_manager_hears_once_about_many_accounts(alice_csm, bob_other_csm, maria_manager, team):
    team.members.add(bob_other_csm)
    rule = RuleFactory(name="Many", notify_manager=True)
    for index in range(12):
        account = AccountFactory(owner=alice_csm if index % 2 else bob_other_csm)
        seed_scores(account, [40])
    assert fire_rule(rule, as_of=AS_OF, now=NOW) == 12
    notification = Notification.objects.get(recipient=maria_manager)
    assert notification.title == "Rule “Many” fired for 12 accounts"
    assert notification.body.count("· ") == 12
    assert notification.url == reverse("rules:edit", args=[rule.pk])
    assert not Notification.objects.filter(recipient__in=[alice_csm, bob_other_csm]).exists()
    # One chat post for the team, not one per account.
    assert Delivery.objects.filter(channel=Channel.WEBHOOK).count() == 1


def test_playbook_steps_for_the_lead_go_to_the_team_manager(alice_csm, maria_manager, team):
    playbook = Playbook.objects.create(name="Escalate", risk_level="high")
    PlaybookStep.objects.create(playbook=playbook, position=1, title="Call", due_offset_hours=4)
    PlaybookStep.objects.create(
        playbook=playbook, position=2, title="Lead email", due_offset_hours=8, owner_role="lead"
    )
    rule = RuleFactory(start_playbook=playbook, set_risk_level="high", notify_owner=True)
    account = AccountFactory(owner=alice_csm)
    seed_scores(account, [30])
    assert fire_rule(rule, as_of=AS_OF, now=NOW) == 1
    tasks = {t.title: t for t in Task.objects.filter(account=account)}
    assert tasks["Call"].assignee == alice_csm
    assert tasks["Lead email"].assignee == maria_manager
    assert tasks["Call"].due_at == datetime(2025, 3, 10, 12, 0, tzinfo=TAIPEI)
    assert tasks["Call"].rule == rule
    # The owner heard through the rule; the manager hears about the task landing in her queue.
    assert Notification.objects.get(recipient=maria_manager).kind == "task_assigned"
    assert Notification.objects.get(recipient=alice_csm).kind == "rule_fired"


def test_an_account_already_running_the_playbook_gets_no_second_run(alice_csm):
    playbook = Playbook.objects.create(name="Save them")
    PlaybookStep.objects.create(playbook=playbook, position=1, title="Call", due_offset_hours=4)
    rule = RuleFactory(start_playbook=playbook)
    account = AccountFactory(owner=alice_csm)
    PlaybookRun.objects.create(account=account, playbook=playbook)
    seed_scores(account, [40])
    assert fire_rule(rule, as_of=AS_OF, now=NOW) == 1
    assert PlaybookRun.objects.filter(account=account).count() == 1


# --- dry run -----------------------------------------------------------------------------------


def test_dry_run_lists_without_writing(rule_a, alice_csm):
    held = AccountFactory(name="Held back", owner=alice_csm)
    for index in range(3):
        account = AccountFactory(
            name=f"Would fire {index}", owner=alice_csm, health_score=50, health_tier="medium"
        )
        seed_scores(account, [50] * 7)
    seed_scores(held, [50] * 7)
    RuleFiring.objects.create(rule=rule_a, account=held, fired_on=AS_OF - timedelta(days=2))
    before = (
        Task.objects.count(),
        RuleFiring.objects.count(),
        Notification.objects.count(),
        AuditEvent.objects.count(),
    )

    result = dry_run(rule_a, as_of=AS_OF)

    assert result.count == 3
    assert result.held_back == 1
    assert [a.name for a in result.accounts] == ["Would fire 0", "Would fire 1", "Would fire 2"]
    assert result.accounts[0].owner == "Alice Chen"
    assert (result.accounts[0].score, result.accounts[0].tier_label) == (50, "Medium risk")
    after = (
        Task.objects.count(),
        RuleFiring.objects.count(),
        Notification.objects.count(),
        AuditEvent.objects.count(),
    )
    assert after == before


def test_dry_run_of_an_unsaved_rule(alice_csm):
    rule = Rule(name="Draft", condition_kind="score_below", threshold=60, days=1, set_risk_level="medium")
    seed_scores(AccountFactory(owner=alice_csm), [40])
    result = dry_run(rule, as_of=AS_OF)
    assert (result.count, result.held_back) == (1, 0)
    assert Rule.objects.filter(name="Draft").count() == 0


# --- cost --------------------------------------------------------------------------------------


def fire_with_accounts(count, owner, suffix):
    playbook = Playbook.objects.create(name=f"Playbook {suffix}")
    PlaybookStep.objects.create(playbook=playbook, position=1, title="Call", due_offset_hours=4)
    rule = RuleFactory(
        name=f"Everything {suffix}",
        task_title="Follow up",
        task_due_amount=24,
        task_due_unit="business_hours",
        notify_owner=True,
        notify_manager=True,
        add_tag=f"watch-{suffix}",
        start_playbook=playbook,
        email_template=EmailTemplate.objects.get(key="activity-dropped"),
    )
    for _ in range(count):
        account = AccountFactory(owner=owner, industry="retail" if suffix == "few" else "finance")
        ContactFactory(account=account, is_primary=True)
        seed_scores(account, [40, 40], end=AS_OF)
    Rule.objects.filter(pk=rule.pk).update(scope_industries=["retail" if suffix == "few" else "finance"])
    rule.refresh_from_db()
    Rule.objects.exclude(pk=rule.pk).update(is_enabled=False)
    with CaptureQueriesContext(connection) as queries:
        fired = run_rules(as_of=AS_OF, now=NOW).fired
    assert fired == {rule.name: count}
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_accounts(alice_csm, maria_manager, team):
    few = fire_with_accounts(3, alice_csm, "few")
    many = fire_with_accounts(30, alice_csm, "many")
    # SQLite caps a statement at 999 parameters, so Django splits the 60 new tasks into two
    # INSERTs; PostgreSQL takes them in one.
    extra = 0 if connection.features.max_query_params is None else 1
    assert few <= many <= few + extra


def test_matching_is_one_query_whatever_the_accounts(rule_a):
    for _ in range(5):
        seed_scores(AccountFactory(), [50] * 7)
    with CaptureQueriesContext(connection) as queries:
        assert len(list(eligible_accounts(rule_a, AS_OF))) == 5
    assert len(queries) == 1


def test_a_broken_rule_does_not_stop_the_others(alice_csm, monkeypatch):
    RuleFactory(name="A broken", condition_kind="tier_is", tier="high", threshold=None)
    RuleFactory(name="B works")
    seed_scores(AccountFactory(owner=alice_csm), [30])
    import playbooks.rules as engine

    real = engine.fire_rule

    def flaky(rule, **kwargs):
        if rule.name == "A broken":
            raise RuntimeError("boom")
        return real(rule, **kwargs)

    monkeypatch.setattr(engine, "fire_rule", flaky)
    result = run_rules(as_of=AS_OF, now=NOW)
    assert result.failed == ["A broken"]
    assert result.fired["B works"] == 1


def test_rules_run_in_name_order(alice_csm):
    RuleFactory(name="Zulu", add_tag="z")
    RuleFactory(name="Alpha", add_tag="a")
    seed_scores(AccountFactory(owner=alice_csm), [30])
    assert list(run_rules(as_of=AS_OF, now=NOW).fired) == ["Alpha", "Zulu"]


def test_an_account_without_owner_still_gets_its_task(db):
    rule = RuleFactory(
        task_title="Find an owner", task_due_amount=4, task_due_unit="business_hours", notify_owner=True
    )
    account = AccountFactory(owner=None)
    seed_scores(account, [30])
    UserFactory(username="someone")
    assert fire_rule(rule, as_of=AS_OF, now=NOW) == 1
    task = Task.objects.get(account=account)
    assert task.assignee is None
    assert not Notification.objects.exists()
