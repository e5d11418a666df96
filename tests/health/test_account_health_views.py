"""The account page's health section: chart partial, why it moved, alerts, the CSM override."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import Account
from csworkbench.core.models import AuditEvent
from health import services
from health.models import HealthModel, HealthOverride, HealthSnapshot
from tests.factories import AccountFactory
from tests.form_tokens import with_token
from tests.health.factories import AlertFactory, HealthOverrideFactory, HealthSnapshotFactory

TODAY = timezone.localdate()


def days_ago(n):
    return TODAY - timedelta(days=n)


def short(day):
    return date_format(day, "SHORT_DATE_FORMAT")


def detail(account, **params):
    url = reverse("accounts:detail", args=[account.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def chart_url(account):
    return reverse("health:chart", args=[account.pk])


def override_url(account):
    return reverse("health:set_override", args=[account.pk])


def revoke_url(override):
    return reverse("health:revoke_override", args=[override.pk])


def override_data(**changes):
    data = {
        "override-score": "25",
        "override-reason": "Champion told me they are evaluating a competitor.",
        "override-expires_on": (TODAY + timedelta(days=30)).isoformat(),
    }
    data.update({f"override-{key}": value for key, value in changes.items()})
    return data


def measure(dimension, raw, sub, weight, contribution, **extra):
    return {
        "dimension": dimension,
        "raw": raw,
        "sub": sub,
        "weight": weight,
        "contribution": contribution,
        **extra,
    }


NO_DATA = {"dimension": "relationship", "raw": None, "sub": None, "weight": 0.0, "contribution": 0.0}


@pytest.fixture
def scored_account(alice_account):
    """Acme Ltd with hand-made snapshots: today 58, a week ago 70, a month ago 66 on an old model."""
    old_model = HealthModel.objects.create(version=7, status="retired", note="an older model")
    HealthSnapshotFactory(
        account=alice_account,
        date=TODAY,
        score=58,
        confidence=0.8,
        measures={
            "core_feature_trend": measure("usage", 0.66, 43.33, 10.0, 4.33),
            "csat": measure("support", 2.0, 0.0, 6.67, 0.0),
            "touch_recency": measure("relationship", 0.5, 100.0, 6.25, 6.25),
            "latest_nps": NO_DATA,
        },
    )
    HealthSnapshotFactory(
        account=alice_account,
        date=days_ago(7),
        score=70,
        measures={
            "core_feature_trend": measure("usage", 1.0, 100.0, 12.33, 12.33),
            "csat": measure("support", 3.0, 50.0, 8.0, 4.0),
            "touch_recency": measure("relationship", 0.5, 100.0, 6.25, 6.25),
            "latest_nps": NO_DATA,
        },
    )
    HealthSnapshotFactory(
        account=alice_account,
        date=days_ago(30),
        model=old_model,
        score=66,
        measures={
            "core_feature_trend": measure("usage", 0.9, 83.33, 10.0, 8.33),
            "csat": measure("support", 2.0, 0.0, 6.67, 0.0),
            "touch_recency": measure("relationship", 0.5, 100.0, 6.25, 6.25),
            "latest_nps": measure("relationship", 9, 100.0, 6.25, 6.25),
        },
    )
    type(alice_account).objects.filter(pk=alice_account.pk).update(
        health_score=58, health_tier="medium", health_delta_7d=-12, health_scored_on=TODAY
    )
    alice_account.refresh_from_db()
    return alice_account


# --- The chart partial ------------------------------------------------------------------------


@pytest.mark.parametrize("range_key", ["90d", "1y", "all"])
def test_the_chart_partial_answers_each_range_over_htmx(client_for, alice_csm, scored_account, range_key):
    response = client_for(alice_csm).get(
        chart_url(scored_account), {"range": range_key}, headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert content.lstrip().startswith('<div id="health-chart"')
    assert 'role="img"' in content and "<title" in content
    assert content.count('aria-pressed="true"') == 1
    pressed = content.split('aria-pressed="true"')[1].split(">")[0]
    assert f'href="{detail(scored_account)}?range={range_key}"' in pressed
    assert f'hx-push-url="{detail(scored_account)}?range={range_key}"' in pressed
    assert f'hx-get="{chart_url(scored_account)}?range={range_key}"' in pressed


def test_the_1y_range_reaches_further_back_than_90_days(client_for, alice_csm, scored_account):
    HealthSnapshotFactory(account=scored_account, date=days_ago(200), score=91)
    client = client_for(alice_csm)
    htmx = {"HX-Request": "true"}
    assert (
        "highest 91"
        not in client.get(chart_url(scored_account), {"range": "90d"}, headers=htmx).content.decode()
    )
    assert (
        "highest 91" in client.get(chart_url(scored_account), {"range": "1y"}, headers=htmx).content.decode()
    )


def test_the_values_table_lists_every_point_newest_first(client_for, alice_csm, scored_account):
    HealthSnapshotFactory(account=scored_account, date=days_ago(3), score=None, tier="")
    content = client_for(alice_csm).get(detail(scored_account)).content.decode()
    table = content.split('<table class="data-table compact">')[1].split("</table>")[0]
    rows = table.split("<tbody>")[1].split("</tbody>")[0].strip().split("\n")
    assert len(rows) == 4
    assert rows[0] == (
        f'<tr><td data-label="Date"><time datetime="{TODAY.isoformat()}">{short(TODAY)}</time></td>'
        '<td data-label="Score" class="num">58</td><td data-label="Health tier">Medium risk</td>'
        f'<td data-label="Model version">v{HealthModel.objects.get(status="published").version}</td></tr>'
    )
    assert f'datetime="{days_ago(3).isoformat()}"' in rows[1]
    assert "insufficient data" in rows[1] and ">—<" in rows[1]
    assert "v7" in rows[3] and ">66<" in rows[3]


def test_the_values_table_of_an_empty_period_says_so(client_for, alice_csm, alice_account):
    content = client_for(alice_csm).get(detail(alice_account)).content.decode()
    assert "No health scores in this period." in content


def test_the_chart_without_htmx_redirects_to_the_account_page(client_for, alice_csm, scored_account):
    response = client_for(alice_csm).get(chart_url(scored_account), {"range": "1y"})
    assert response.status_code == 302
    assert response["Location"] == detail(scored_account, range="1y")


def test_the_account_page_honours_the_range_in_its_url(client_for, alice_csm, scored_account):
    content = client_for(alice_csm).get(detail(scored_account, range="all")).content.decode()
    pressed = content.split('aria-pressed="true"')[1].split(">")[0]
    assert "range=all" in pressed


def _churn(account):
    """Interviewers read only the accounts there is an interview for: a churned one."""
    Account.objects.filter(pk=account.pk).update(status="churned", churned_on=TODAY - timedelta(days=3))


def test_an_interviewer_may_not_see_the_chart(client_for, ivan_interviewer, scored_account):
    assert client_for(ivan_interviewer).get(chart_url(scored_account)).status_code == 404  # not churned
    _churn(scored_account)
    response = client_for(ivan_interviewer).get(chart_url(scored_account), headers={"HX-Request": "true"})
    assert response.status_code == 403
    page = client_for(ivan_interviewer).get(detail(scored_account)).content.decode()
    assert "health-panel" not in page and "health-summary" not in page


def test_a_user_without_a_role_gets_a_404_for_the_chart(client_for, nora_no_role, scored_account):
    assert client_for(nora_no_role).get(chart_url(scored_account)).status_code == 404


def test_the_chart_refuses_post(client_for, alice_csm, scored_account):
    assert client_for(alice_csm).post(chart_url(scored_account)).status_code == 405


# --- The page: header, why it moved, alerts ---------------------------------------------------


def test_the_header_shows_score_tier_change_confidence_and_staleness(client_for, alice_csm, scored_account):
    HealthSnapshot.objects.filter(account=scored_account, date=TODAY).update(stale=True)
    content = client_for(alice_csm).get(detail(scored_account)).content.decode()
    summary = content.split('id="health-summary"')[1].split("</div>")[0]
    assert '<span class="health-score">58</span>' in summary
    assert '<span class="badge tier-medium">Medium risk</span>' in summary
    assert "▼ 12 in 7 days" in summary and "Down 12 points in 7 days" in summary
    assert "confidence 80%" in summary
    assert "data source stale" in summary


def test_an_account_without_a_score_says_insufficient_data(client_for, alice_csm, alice_account):
    HealthSnapshotFactory(account=alice_account, score=None, confidence=0.0)
    type(alice_account).objects.filter(pk=alice_account.pk).update(health_scored_on=TODAY)
    content = client_for(alice_csm).get(detail(alice_account)).content.decode()
    summary = content.split('id="health-summary"')[1].split("</div>")[0]
    assert "insufficient data" in summary
    assert "Insufficient data for a score" in content


def test_why_it_moved_explains_the_week_measure_by_measure(client_for, alice_csm, scored_account):
    content = client_for(alice_csm).get(detail(scored_account)).content.decode()
    why = content.split('id="why-heading"')[1].split("health-alerts")[0]
    assert (
        '<strong class="delta-down">−12 since last week</strong>: '
        "core-feature use −34% (−8 points), CSAT 2.0 (−4 points)"
    ) in why
    assert f"70 on {short(days_ago(7))}, 58 on {short(TODAY)}." in why
    assert "Core-feature use over the last 30 days is 66% of the 60 days before." in why
    assert "Average CSAT over 90 days is 2.0 out of 5." in why
    # The largest move comes first; an unchanged measure is not news.
    assert why.index("Core-feature trend") < why.index("<strong>CSAT</strong>")
    assert "Touch recency" not in why.split("since last month")[0]


def test_why_it_moved_explains_the_month_with_dropped_measures_and_model_change(
    client_for, alice_csm, scored_account
):
    content = client_for(alice_csm).get(detail(scored_account)).content.decode()
    month = content.split("since last month")[1].split("health-alerts")[0]
    assert "Latest NPS: no data" in month
    assert "No data any more, so it dropped out and its weight went to the other measures." in month
    assert "The health model changed from v7 to v1 in between" in month
    # The model's change is an item of its own, and the items add up to the headline (66 → 58).
    assert "<strong>Health model</strong>" in month and "model v7 → v1" in month
    listed = month.split('<ul class="why-list">')[1].split("</ul>")[0]
    points = [
        int(p.replace("\u2212", "-"))
        for p in re.findall(r'<span class="why-points">([+\u2212]?\d+) point', listed)
    ]
    assert sum(points) == -8, points


def test_the_why_panel_names_a_hard_override(client_for, alice_csm, scored_account):
    HealthSnapshot.objects.filter(account=scored_account, date=TODAY).update(
        override="no_login", score=39, computed_score=58
    )
    content = client_for(alice_csm).get(detail(scored_account)).content.decode()
    assert "Capped at 39: no login for 30 days." in content
    assert "The model computed 58." in content


def test_the_why_panel_names_cancellation_intent(client_for, alice_csm, scored_account):
    HealthSnapshot.objects.filter(account=scored_account, date=TODAY).update(override="cancellation_intent")
    content = client_for(alice_csm).get(detail(scored_account)).content.decode()
    assert "High risk: cancellation intent voiced." in content


EVIDENCE = [
    (
        "login_drop",
        {
            "login_days_per_week_before": 7.0,
            "login_days_per_week_now": 1.0,
            "from": days_ago(13),
            "to": TODAY,
        },
        f"Login days a week fell from 7 to 1 between {short(days_ago(13))} and {short(TODAY)}.",
    ),
    (
        "core_feature_drop",
        {
            "change_percent": -41,
            "per_day_now": 5.9,
            "per_day_before": 10.0,
            "from": days_ago(29),
            "to": TODAY,
        },
        f"Core-feature use down 41%: 5.9 events a day from {short(days_ago(29))} to {short(TODAY)}, "
        "against 10 a day in the 60 days before.",
    ),
    (
        "ticket_spike",
        {"monthly_before": 2.0, "last_30_days": 30},
        "30 tickets in the last 30 days, against 2 a month before.",
    ),
    (
        "ticket_silence",
        {"monthly_before": 4.5, "last_30_days": 0},
        "No tickets in the last 30 days, from an account that opened 4.5 a month before.",
    ),
    (
        "no_engagement",
        {"days": 30, "since": days_ago(29)},
        f"No release-notes views and no training attended in 30 days (since {short(days_ago(29))}).",
    ),
    (
        "renewal_at_risk",
        {
            "renewal_date": TODAY + timedelta(days=45),
            "days_to_renewal": 45,
            "last_touch": None,
            "invoice_days_overdue": 12,
        },
        f"Renews on {short(TODAY + timedelta(days=45))}, in 45 days. No touchpoint recorded. "
        "Invoice 12 days overdue.",
    ),
    (
        "key_contact_left",
        {"name": "Grace Ho", "role": "champion", "left_on": days_ago(20)},
        f"Grace Ho, the champion, left on {short(days_ago(20))}.",
    ),
    (
        "cancellation_intent",
        {"date": days_ago(3), "note": "Asked how to export <everything>"},
        f"Cancellation intent voiced on {short(days_ago(3))}: “Asked how to export &lt;everything&gt;”",
    ),
    (
        "risk_words",
        {"words": ["cancel", "太貴"], "date": days_ago(4), "subject": "Pricing call"},
        f"Risk words “cancel”, “太貴” in “Pricing call” on {short(days_ago(4))}.",
    ),
    (
        "stale_data",
        {"last_metrics": days_ago(9), "days_without": 9},
        f"No metrics received for 9 days; the last arrived on {short(days_ago(9))}.",
    ),
]


@pytest.mark.parametrize(("kind", "evidence", "sentence"), EVIDENCE, ids=[row[0] for row in EVIDENCE])
def test_each_alert_is_shown_with_its_evidence_in_words(
    client_for, alice_csm, scored_account, kind, evidence, sentence
):
    evidence = {
        key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in evidence.items()
    }
    AlertFactory(account=scored_account, kind=kind, evidence=evidence)
    content = client_for(alice_csm).get(detail(scored_account)).content.decode()
    alerts = content.split('id="alerts-heading"')[1].split("</section>")[0]
    assert sentence in alerts


def test_resolved_alerts_are_not_current(client_for, alice_csm, scored_account):
    AlertFactory(
        account=scored_account, kind="ticket_spike", evidence={"monthly_before": 1, "last_30_days": 9}
    )
    AlertFactory(account=scored_account, kind="login_drop", resolved_on=TODAY, evidence={})
    content = client_for(alice_csm).get(detail(scored_account)).content.decode()
    alerts = content.split('id="alerts-heading"')[1].split("</section>")[0]
    assert "Ticket spike" in alerts
    assert "Login frequency fell" not in alerts


def test_the_account_page_query_count_does_not_grow_with_history_or_alerts(
    client_for, alice_csm, scored_account, django_assert_num_queries
):
    client = client_for(alice_csm)
    client.get(detail(scored_account))  # warm the session and the user's roles
    # The month's comparison spans a model change, whose model is read to rescore the old data.
    with django_assert_num_queries(20) as first:
        client.get(detail(scored_account, range="all"))
    for n in range(31, 400):
        HealthSnapshotFactory(account=scored_account, date=days_ago(n), score=60 + n % 20)
    for kind in ("ticket_spike", "login_drop", "stale_data"):
        AlertFactory(account=scored_account, kind=kind)
    HealthOverrideFactory(account=scored_account, created_by=alice_csm)
    with django_assert_num_queries(len(first.captured_queries)):
        client.get(detail(scored_account, range="all"))


# --- The override -----------------------------------------------------------------------------


def test_the_owner_csm_overrides_the_score_with_an_audit_row(client_for, alice_csm, alice_account):
    response = client_for(alice_csm).post(override_url(alice_account), with_token(alice_csm, override_data()))
    assert response.status_code == 302
    assert response["Location"] == detail(alice_account)
    override = HealthOverride.objects.get()
    assert (override.account, override.score, override.created_by) == (alice_account, 25, alice_csm)
    assert override.expires_on == TODAY + timedelta(days=30)
    audit = AuditEvent.objects.get(action="health_override.set")
    assert audit.actor == alice_csm and audit.account == alice_account
    assert audit.details == {
        "score": 25,
        "reason": "Champion told me they are evaluating a competitor.",
        "expires_on": (TODAY + timedelta(days=30)).isoformat(),
    }
    snapshot = HealthSnapshot.objects.get(account=alice_account, date=TODAY)
    assert (snapshot.score, snapshot.override, snapshot.tier) == (25, "csm", "high")
    alice_account.refresh_from_db()
    assert (alice_account.health_score, alice_account.health_tier) == (25, "high")
    page = client_for(alice_csm).get(detail(alice_account)).content.decode()
    assert "Override saved: the score is now 25." in page
    assert f"Set by Alice Chen until {short(override.expires_on)}: Champion told me" in page
    assert "Revoke the override" in page


def test_the_htmx_override_returns_the_panel_and_refreshes_the_header(client_for, maria_manager, bob_account):
    response = client_for(maria_manager).post(
        override_url(bob_account),
        with_token(maria_manager, override_data(score="85")),
        headers={"HX-Request": "true"},
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert content.lstrip().startswith('<section class="card health-panel" id="health-panel"')
    assert "Override saved: the score is now 85." in content
    assert 'id="health-summary" class="health-summary" hx-swap-oob="true"' in content
    assert '<span class="health-score">85</span>' in content
    assert HealthOverride.objects.get().created_by == maria_manager


def test_another_csm_may_not_override(client_for, alice_csm, bob_account):
    response = client_for(alice_csm).post(override_url(bob_account), override_data())
    assert response.status_code == 403
    assert not HealthOverride.objects.exists()
    assert not AuditEvent.objects.exists()
    assert "Override the score" not in client_for(alice_csm).get(detail(bob_account)).content.decode()


def test_an_interviewer_may_not_override(client_for, ivan_interviewer, alice_account):
    assert client_for(ivan_interviewer).post(override_url(alice_account), override_data()).status_code == 404
    _churn(alice_account)
    assert client_for(ivan_interviewer).post(override_url(alice_account), override_data()).status_code == 403
    assert not HealthOverride.objects.exists()


def test_bad_input_answers_422_with_errors_by_the_field_and_saves_nothing(
    client_for, alice_csm, alice_account
):
    response = client_for(alice_csm).post(
        override_url(alice_account),
        override_data(score="150", reason="   ", expires_on=(TODAY + timedelta(days=91)).isoformat()),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    content = response.content.decode()
    assert "<html" not in content
    for field in ("score", "expires_on"):
        assert f'id="id_override-{field}-error"' in content, field
    assert 'id="id_override-reason-error"' in content
    assert "Enter a score from 0 to 100." in content
    assert "The override may last at most 90 days." in content
    assert not HealthOverride.objects.exists()
    assert not AuditEvent.objects.exists()
    assert not HealthSnapshot.objects.exists()


def test_an_expiry_in_the_past_is_refused_on_the_full_page_without_htmx(client_for, alice_csm, alice_account):
    response = client_for(alice_csm).post(
        override_url(alice_account), override_data(expires_on=TODAY.isoformat())
    )
    assert response.status_code == 422
    content = response.content.decode()
    assert "<html" in content
    assert "The override must expire after today." in content
    assert 'id="id_override-expires_on-error"' in content
    assert not HealthOverride.objects.exists()


def test_a_new_override_replaces_the_active_one(client_for, alice_csm, alice_account):
    client = client_for(alice_csm)
    client.post(override_url(alice_account), with_token(alice_csm, override_data(score="25")))
    client.post(
        override_url(alice_account),
        with_token(alice_csm, override_data(score="45", reason="Better call today.")),
    )
    first, second = HealthOverride.objects.order_by("created_at", "pk")
    assert first.revoked_at is not None and second.revoked_at is None
    assert AuditEvent.objects.filter(action="health_override.revoke", details__replaced=True).count() == 1
    assert HealthSnapshot.objects.get(account=alice_account, date=TODAY).score == 45


def test_the_owner_revokes_an_override_and_the_model_scores_again(client_for, alice_csm, alice_account):
    override = services.set_override(
        account=alice_account,
        user=alice_csm,
        score=10,
        reason="Bad call.",
        expires_on=TODAY + timedelta(days=5),
    )
    response = client_for(alice_csm).post(revoke_url(override))
    assert response.status_code == 302
    assert response["Location"] == detail(alice_account)
    override.refresh_from_db()
    assert override.revoked_at is not None
    assert AuditEvent.objects.filter(action="health_override.revoke", actor=alice_csm).count() == 1
    snapshot = HealthSnapshot.objects.get(account=alice_account, date=TODAY)
    assert snapshot.override == "" and snapshot.score == snapshot.computed_score


def test_revoking_over_htmx_returns_the_panel(client_for, alice_csm, alice_account):
    override = HealthOverrideFactory(account=alice_account, created_by=alice_csm)
    response = client_for(alice_csm).post(revoke_url(override), headers={"HX-Request": "true"})
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert "Override revoked" in content
    assert "Revoke the override" not in content


def test_another_csm_may_not_revoke(client_for, bob_other_csm, alice_account, alice_csm):
    override = HealthOverrideFactory(account=alice_account, created_by=alice_csm)
    assert client_for(bob_other_csm).post(revoke_url(override)).status_code == 403
    override.refresh_from_db()
    assert override.revoked_at is None
    assert not AuditEvent.objects.exists()


def test_the_override_endpoints_refuse_get(client_for, alice_csm, alice_account):
    override = HealthOverrideFactory(account=alice_account, created_by=alice_csm)
    client = client_for(alice_csm)
    assert client.get(override_url(alice_account)).status_code == 405
    assert client.get(revoke_url(override)).status_code == 405


def test_an_unknown_override_is_a_404(client_for, alice_csm):
    assert client_for(alice_csm).post(reverse("health:revoke_override", args=[999999])).status_code == 404


def test_the_service_rechecks_permission(bob_other_csm, alice_account):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.set_override(
            account=alice_account,
            user=bob_other_csm,
            score=50,
            reason="x",
            expires_on=TODAY + timedelta(days=3),
        )


def test_a_churned_account_cannot_be_overridden(alice_csm):
    from django.core.exceptions import ValidationError

    churned = AccountFactory(owner=alice_csm, status="churned", churned_on=TODAY, churn_type="cancelled")
    with pytest.raises(ValidationError) as error:
        services.set_override(
            account=churned, user=alice_csm, score=50, reason="x", expires_on=TODAY + timedelta(days=3)
        )
    assert "__all__" in error.value.message_dict
