import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import AccountFactory

URL = reverse("accounts:list")


def names_in(response) -> list[str]:
    return [row.record.name for row in response.context["table"].paginated_rows]


def test_it_lists_accounts_with_their_facts(client_for, alice_csm, alice_account, bob_account):
    response = client_for(alice_csm).get(URL)
    assert response.status_code == 200
    assert names_in(response) == ["Acme Ltd", "Bobcat Industries"]
    content = response.content.decode()
    assert "Alice Chen" in content and "Bob Lin" in content
    assert reverse("accounts:detail", args=[alice_account.pk]) in content


def test_it_searches_by_name_and_filters_by_owner_tier_and_status(client_for, maria_manager, alice_csm):
    AccountFactory(name="Acme Ltd", owner=alice_csm, value_tier="A")
    AccountFactory(name="Acme Labs", value_tier="C")
    AccountFactory(
        name="Zeta Corp",
        owner=alice_csm,
        value_tier="A",
        status="churned",
        churned_on=timezone.localdate(),
        churn_type="cancelled",
    )
    client = client_for(maria_manager)
    assert names_in(client.get(URL, {"q": "acme"})) == ["Acme Labs", "Acme Ltd"]
    assert names_in(client.get(URL, {"owner": alice_csm.pk})) == ["Acme Ltd", "Zeta Corp"]
    assert names_in(client.get(URL, {"value_tier": "A", "status": "active"})) == ["Acme Ltd"]
    assert names_in(client.get(URL, {"status": "churned"})) == ["Zeta Corp"]


def test_it_filters_by_industry_and_lifecycle_stage(client_for, maria_manager):
    today = timezone.localdate()
    AccountFactory(name="New Co", contract_start=today - timedelta(days=10), industry="retail")
    AccountFactory(name="Growing Co", contract_start=today - timedelta(days=31), industry="retail")
    AccountFactory(name="Old Co", contract_start=today - timedelta(days=181), industry="education")
    client = client_for(maria_manager)
    assert names_in(client.get(URL, {"lifecycle": "onboarding"})) == ["New Co"]
    assert names_in(client.get(URL, {"lifecycle": "adoption"})) == ["Growing Co"]
    assert names_in(client.get(URL, {"lifecycle": "mature"})) == ["Old Co"]
    assert names_in(client.get(URL, {"industry": "retail"})) == ["Growing Co", "New Co"]


def test_an_unknown_filter_value_is_shown_as_a_field_error_not_a_500(client_for, maria_manager):
    AccountFactory(name="Acme Ltd")
    response = client_for(maria_manager).get(URL, {"value_tier": "Z", "lifecycle": "teenage"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert response.context["filter"].form.errors.keys() == {"value_tier", "lifecycle"}


def test_it_sorts_by_mrr_both_ways(client_for, maria_manager):
    AccountFactory(name="Small", mrr=100)
    AccountFactory(name="Big", mrr=9000)
    AccountFactory(name="Middle", mrr=1000)
    client = client_for(maria_manager)
    assert names_in(client.get(URL, {"sort": "mrr"})) == ["Small", "Middle", "Big"]
    assert names_in(client.get(URL, {"sort": "-mrr"})) == ["Big", "Middle", "Small"]


def test_it_paginates_with_real_links_and_htmx_attributes(client_for, maria_manager):
    AccountFactory.create_batch(30)
    response = client_for(maria_manager).get(URL, {"sort": "name"})
    content = response.content.decode()
    assert len(names_in(response)) == 25
    assert 'href="?sort=name&amp;page=2"' in content
    assert 'hx-get="?sort=name&amp;page=2"' in content
    assert 'hx-push-url="true"' in content
    second = client_for(maria_manager).get(URL, {"sort": "name", "page": 2})
    assert len(names_in(second)) == 5


def test_the_htmx_request_gets_only_the_results_fragment(client_for, maria_manager):
    AccountFactory(name="Acme Ltd")
    response = client_for(maria_manager).get(URL, {"sort": "-name"}, headers={"HX-Request": "true"})
    content = response.content.decode()
    assert "<html" not in content
    assert content.lstrip().startswith('<section id="account-results"')
    assert "Acme Ltd" in content


def test_the_query_count_does_not_grow_with_the_rows(
    client_for, maria_manager, alice_csm, bob_other_csm, django_assert_num_queries
):
    client = client_for(maria_manager)
    AccountFactory.create_batch(3, owner=alice_csm)
    client.get(URL)  # warm the session and the user's roles
    with django_assert_num_queries(7) as few:
        client.get(URL)
    AccountFactory.create_batch(20, owner=bob_other_csm)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(URL)


def test_a_user_without_a_role_sees_no_accounts(client_for, nora_no_role, alice_account):
    assert client_for(nora_no_role).get(URL).status_code == 403


def test_the_list_refuses_post(client_for, alice_csm):
    assert client_for(alice_csm).post(URL).status_code == 405


def export_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_the_export_holds_the_filtered_set(client_for, maria_manager, alice_csm):
    AccountFactory(name="Acme Ltd", owner=alice_csm, value_tier="A", mrr=4200)
    AccountFactory(name="Other Co", value_tier="C")
    response = client_for(maria_manager).get(reverse("accounts:export"), {"value_tier": "A"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = export_rows(response)
    assert rows[0][:3] == ["External ID", "Account", "Tier"]
    assert len(rows) == 2
    assert rows[1][1] == "Acme Ltd" and rows[1][8] == "4200.00" and rows[1][12] == "alice"


@pytest.mark.parametrize("hostile", ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd"])
def test_the_export_neutralises_formula_cells(client_for, maria_manager, hostile):
    AccountFactory(name=hostile, region=hostile)
    rows = export_rows(client_for(maria_manager).get(reverse("accounts:export")))
    assert rows[1][1] == "'" + hostile
    assert rows[1][5] == "'" + hostile


# --- interviewers: the accounts there are interviews for, and nothing about health or revenue ----


@pytest.fixture
def interviewer_world(alice_csm):
    """Churned and churning accounts in every health tier, and an active one nobody interviews."""
    from health.models import EventKind, SignalEvent

    today = timezone.localdate()
    rows = [
        ("Apex", "churned", "healthy", 88, 9000, 5),
        ("Birch", "churned", "high", 20, 100, -9),
        ("Cedar", "active", "healthy", 81, 5000, 2),  # churning: cancellation intent
        ("Dune", "churned", "low", 60, 700, -1),
    ]
    for name, status, tier, score, mrr, delta in rows:
        account = AccountFactory(
            name=name,
            owner=alice_csm,
            status=status,
            churned_on=today - timedelta(days=10) if status == "churned" else None,
            health_tier=tier,
            health_score=score,
            health_delta_7d=delta,
            mrr=mrr,
        )
        if status == "active":
            SignalEvent.objects.create(
                account=account, kind=EventKind.CANCELLATION_INTENT, occurred_on=today - timedelta(days=2)
            )
    AccountFactory(name="Elm", owner=alice_csm, health_tier="healthy", health_score=90)  # not theirs
    return ["Apex", "Birch", "Cedar", "Dune"]


def test_an_interviewer_lists_only_the_accounts_there_are_interviews_for(
    client_for, ivan_interviewer, interviewer_world
):
    response = client_for(ivan_interviewer).get(URL)
    assert names_in(response) == interviewer_world  # Elm, active and not churning, is not listed


def test_an_interviewer_has_no_health_filter_and_the_parameter_is_ignored(
    client_for, ivan_interviewer, interviewer_world
):
    client = client_for(ivan_interviewer)
    page = client.get(URL)
    content = page.content.decode()
    assert "health_tier" not in content and "Health tier" not in content
    assert "health_tier" not in page.context["filter"].form.fields
    for tier in ("healthy", "high", "low", "insufficient", "purple"):
        response = client.get(URL, {"health_tier": tier})
        assert response.status_code == 200
        assert names_in(response) == interviewer_world, tier  # the count tells nothing
        fragment = client.get(URL, {"health_tier": tier}, headers={"HX-Request": "true"})
        assert "<html" not in fragment.content.decode()
        assert names_in(fragment) == interviewer_world, tier
        assert "4 accounts" in fragment.content.decode()


@pytest.mark.parametrize("sort", ["health_score", "-health_score", "mrr", "-mrr", "health_delta_7d"])
def test_an_interviewer_cannot_sort_by_a_column_they_do_not_see(
    client_for, ivan_interviewer, interviewer_world, sort
):
    client = client_for(ivan_interviewer)
    response = client.get(URL, {"sort": sort})
    assert names_in(response) == interviewer_world  # by name, as without the parameter
    content = response.content.decode()
    assert "Health score" not in content and "MRR" not in content and "7-day change" not in content
    assert "9,000" not in content and "health-score" not in content
    fragment = client.get(URL, {"sort": sort}, headers={"HX-Request": "true"})
    assert names_in(fragment) == interviewer_world


def test_an_interviewer_cannot_export(client_for, ivan_interviewer, interviewer_world):
    client = client_for(ivan_interviewer)
    assert client.get(reverse("accounts:export")).status_code == 403
    assert client.get(reverse("accounts:export"), {"health_tier": "healthy"}).status_code == 403
    assert "Export CSV" not in client.get(URL).content.decode()


def test_staff_still_filter_and_sort_by_health(client_for, alice_csm, interviewer_world):
    client = client_for(alice_csm)
    assert names_in(client.get(URL, {"health_tier": "healthy"})) == ["Apex", "Cedar", "Elm"]
    assert names_in(client.get(URL, {"sort": "-mrr"}))[:2] == ["Apex", "Cedar"]
    assert "health_tier" in client.get(URL).context["filter"].form.fields
