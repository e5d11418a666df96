"""The account page names its two kinds of risk — the health tier (the daily score) and the risk
level (the intervention-matrix response being worked) — and says why they differ when they do."""

import re
from datetime import timedelta

import pytest
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from accounts.models import Account
from playbooks.models import MatrixRow, Playbook
from tests.form_tokens import with_token
from tests.health.factories import HealthSnapshotFactory
from tests.playbooks.factories import PlaybookFactory, draft_plan_for

TODAY = timezone.localdate()
SET_AT = timezone.now() - timedelta(days=12)
NOTE = re.compile(r'<p class="muted small risk-note" id="risk-note">(.*?)</p>', re.S)


def detail(account):
    return reverse("accounts:detail", args=[account.pk])


def scored(account, *, score, risk_level="", risk_level_set_at=SET_AT):
    """Today's snapshot at `score`, copied onto the account as the nightly run does."""
    snapshot = HealthSnapshotFactory(account=account, date=TODAY, score=score)
    Account.objects.filter(pk=account.pk).update(
        health_score=score,
        health_tier=snapshot.tier,
        health_scored_on=TODAY,
        risk_level=risk_level,
        risk_level_set_at=risk_level_set_at if risk_level else None,
    )
    account.refresh_from_db()
    return account


def work_card(html):
    return html[html.index('id="work"') : html.index('id="plans"')]


def note_of(html):
    found = NOTE.search(work_card(html))
    return found.group(1) if found else None


def selected_playbook(html):
    select = work_card(html).split('id="account-playbook"')[1].split("</select>")[0]
    return [int(pk) for pk in re.findall(r'<option value="(\d+)" selected>', select)]


def short(moment):
    return date_format(timezone.localtime(moment).date(), "SHORT_DATE_FORMAT")


def test_a_tier_worse_than_the_risk_level_is_explained(client_for, alice_csm, alice_account):
    scored(alice_account, score=30, risk_level="medium")
    response = client_for(alice_csm).get(detail(alice_account))
    html = response.content.decode()
    assert response.status_code == 200
    card = work_card(html)
    assert "Health tier" in card and '<span class="badge tier-high">High risk</span>' in card
    assert "Follows the daily score." in card
    assert f'<a href="{reverse("playbooks:matrix")}">Risk level</a>' in card
    assert '<span class="badge risk-medium">Medium</span>' in card
    assert f"set on {short(SET_AT)}" in card
    assert "The intervention-matrix response being worked." in card
    assert note_of(html) == (
        "Today's score puts this account at High risk, above its Medium risk level: the risk "
        "level changes only when a rule or a playbook sets it. Start the High risk response below."
    )


def test_the_start_playbook_select_offers_the_tiers_response_when_the_level_is_lower(
    client_for, alice_csm, alice_account
):
    # A second playbook of the account's level, so the old "same risk level" choice would differ.
    PlaybookFactory(name="AAA medium check-in", risk_level="medium")
    scored(alice_account, score=30, risk_level="medium")
    html = client_for(alice_csm).get(detail(alice_account)).content.decode()
    assert selected_playbook(html) == [MatrixRow.objects.get(risk_level="high").playbook_id]


def test_when_they_agree_there_is_no_note_and_the_levels_playbook_is_offered(
    client_for, alice_csm, alice_account
):
    scored(alice_account, score=50, risk_level="medium")
    html = client_for(alice_csm).get(detail(alice_account)).content.decode()
    assert note_of(html) is None
    assert "risk-note" not in html
    assert '<span class="badge tier-medium">Medium risk</span>' in work_card(html)
    assert '<span class="badge risk-medium">Medium</span>' in work_card(html)
    assert selected_playbook(html) == [MatrixRow.objects.get(risk_level="medium").playbook_id]


def test_a_tier_better_than_the_risk_level_says_the_level_stays(client_for, alice_csm, alice_account):
    scored(alice_account, score=65, risk_level="high")
    html = client_for(alice_csm).get(detail(alice_account)).content.decode()
    assert note_of(html) == (
        f"The score has improved since the High risk level was set on {short(SET_AT)}; "
        "the level stays until the team's work on it is done."
    )
    # The level being worked keeps its playbook: a better score does not suggest a lower response.
    assert selected_playbook(html) == [MatrixRow.objects.get(risk_level="high").playbook_id]


def test_a_scored_account_without_a_risk_level_says_none_is_set(client_for, alice_csm, alice_account):
    scored(alice_account, score=45)
    html = client_for(alice_csm).get(detail(alice_account)).content.decode()
    assert '<span class="muted">Not set</span>' in work_card(html)
    assert note_of(html).startswith(
        "Today's score puts this account at Medium risk, but no risk level is set"
    )
    assert selected_playbook(html) == [MatrixRow.objects.get(risk_level="medium").playbook_id]


def test_a_healthy_account_without_a_risk_level_has_no_note(client_for, alice_csm, alice_account):
    scored(alice_account, score=90)
    html = client_for(alice_csm).get(detail(alice_account)).content.decode()
    assert '<span class="badge tier-healthy">Healthy</span>' in work_card(html)
    assert note_of(html) is None


def test_a_csm_who_cannot_start_playbooks_reads_the_note_without_the_invitation(
    client_for, bob_other_csm, alice_account
):
    scored(alice_account, score=30, risk_level="medium")
    html = client_for(bob_other_csm).get(detail(alice_account)).content.decode()
    assert note_of(html).startswith("Today's score puts this account at High risk")
    assert "Start the High risk response below." not in html
    assert 'id="account-playbook"' not in html


def test_a_churned_account_is_not_compared(client_for, maria_manager, alice_account):
    scored(alice_account, score=30, risk_level="medium")
    Account.objects.filter(pk=alice_account.pk).update(status="churned", churned_on=TODAY)
    html = client_for(maria_manager).get(detail(alice_account)).content.decode()
    assert "Risk level" in work_card(html)
    assert note_of(html) is None


def test_an_interviewer_sees_neither_name_nor_the_note(client_for, ivan_interviewer, alice_account):
    scored(alice_account, score=30, risk_level="medium")
    Account.objects.filter(pk=alice_account.pk).update(status="churned", churned_on=TODAY)
    response = client_for(ivan_interviewer).get(detail(alice_account))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Acme Ltd" in html
    for hidden in ("Health tier", "Risk level", "risk-note", "intervention-matrix", "High risk", "Medium"):
        assert hidden not in html, hidden
    assert reverse("playbooks:matrix") not in html


def test_an_override_refreshes_the_note_with_the_header(client_for, alice_csm, alice_account):
    scored(alice_account, score=85, risk_level="medium")
    response = client_for(alice_csm).post(
        reverse("health:set_override", args=[alice_account.pk]),
        with_token(
            alice_csm,
            {
                "override-score": "25",
                "override-reason": "The champion is evaluating a competitor.",
                "override-expires_on": (TODAY + timedelta(days=30)).isoformat(),
            },
        ),
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert '<section class="card" id="work" aria-labelledby="work-heading" hx-swap-oob="true">' in html
    assert (
        NOTE.search(html)
        .group(1)
        .startswith("Today's score puts this account at High risk, above its Medium risk level")
    )
    select = html.split('id="account-playbook"')[1].split("</select>")[0]
    assert f'<option value="{MatrixRow.objects.get(risk_level="high").playbook_id}" selected>' in select


@pytest.mark.parametrize("language", ["zh-hant", "zh-hans"])
def test_the_page_renders_in_chinese(client_for, alice_csm, alice_account, language):
    scored(alice_account, score=30, risk_level="medium")
    response = client_for(alice_csm).get(detail(alice_account), headers={"Accept-Language": language})
    html = response.content.decode()
    assert response.status_code == 200
    assert f'lang="{language}"' in html
    assert "{%" not in html and "{{" not in html and "%(" not in html
    assert note_of(html)  # in English until translated, but whole
    with translation.override(language):
        assert short(SET_AT) in work_card(html)


def test_the_plan_page_says_its_risk_level_is_the_one_when_it_was_drafted(
    client_for, alice_csm, alice_account
):
    Account.objects.filter(pk=alice_account.pk).update(risk_level="medium", risk_level_set_at=SET_AT)
    alice_account.refresh_from_db()
    plan = draft_plan_for(alice_account)
    Account.objects.filter(pk=alice_account.pk).update(risk_level="high")
    html = client_for(alice_csm).get(reverse("plans:detail", args=[plan.pk])).content.decode()
    assert "<div><dt>Risk level when drafted</dt><dd>Medium</dd></div>" in html


def test_no_invitation_when_the_tiers_response_is_switched_off(client_for, alice_csm, alice_account):
    response = MatrixRow.objects.get(risk_level="high").playbook_id
    Playbook.objects.filter(Q(pk=response) | Q(risk_level="high")).update(is_active=False)
    scored(alice_account, score=30, risk_level="medium")
    html = client_for(alice_csm).get(detail(alice_account)).content.decode()
    assert note_of(html).startswith("Today's score puts this account at High risk")
    assert "Start the High risk response below." not in html
    assert selected_playbook(html) == []
