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
