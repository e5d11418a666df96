"""The accounts list's health columns: score with its tier badge, 7-day change, sort and filter."""

import csv
import io

from django.urls import reverse

from health.models import tier_for
from tests.factories import AccountFactory

URL = reverse("accounts:list")


def names_in(response) -> list[str]:
    return [row.record.name for row in response.context["table"].paginated_rows]


def scored(name, score, delta=None, tier=None, **fields):
    if tier is None:
        tier = tier_for(score).value if score is not None else ""
    return AccountFactory(name=name, health_score=score, health_tier=tier, health_delta_7d=delta, **fields)


def test_it_shows_the_score_with_its_tier_badge_and_the_7_day_change(client_for, alice_csm):
    scored("Acme Ltd", 34, delta=-12)
    scored("Bright Co", 85, delta=5)
    scored("New Co", None)
    content = client_for(alice_csm).get(URL).content.decode()
    assert '<span class="health-score">34</span> <span class="badge tier-high">High risk</span>' in content
    assert '<span class="badge tier-healthy">Healthy</span>' in content
    assert (
        '<span aria-hidden="true">▼ 12</span><span class="visually-hidden">Down 12 points in 7 days</span>'
        in content
    )
    assert '<span aria-hidden="true">▲ 5</span>' in content
    assert "insufficient data" in content
    assert ">Health score</a>" in content and ">7-day change</a>" in content


def test_it_sorts_by_score_with_unscored_accounts_last_both_ways(client_for, maria_manager):
    scored("Middle", 55)
    scored("Unscored", None)
    scored("Risky", 30)
    scored("Thriving", 80)
    client = client_for(maria_manager)
    assert names_in(client.get(URL, {"sort": "health_score"})) == ["Risky", "Middle", "Thriving", "Unscored"]
    assert names_in(client.get(URL, {"sort": "-health_score"})) == ["Thriving", "Middle", "Risky", "Unscored"]


def test_it_sorts_by_the_7_day_change(client_for, maria_manager):
    scored("Falling", 40, delta=-20)
    scored("Rising", 70, delta=8)
    scored("New", 60, delta=None)
    client = client_for(maria_manager)
    assert names_in(client.get(URL, {"sort": "health_delta_7d"})) == ["Falling", "Rising", "New"]
    assert names_in(client.get(URL, {"sort": "-health_delta_7d"})) == ["Rising", "Falling", "New"]


def test_it_filters_by_health_tier_and_insufficient_data(client_for, maria_manager):
    scored("Thriving", 90)
    scored("Slipping", 65)
    scored("Risky", 12)
    scored("Leaving", None, tier="high")  # cancellation intent without enough data for a score
    scored("Unscored", None)
    client = client_for(maria_manager)
    assert names_in(client.get(URL, {"health_tier": "healthy"})) == ["Thriving"]
    assert names_in(client.get(URL, {"health_tier": "low"})) == ["Slipping"]
    assert names_in(client.get(URL, {"health_tier": "high"})) == ["Leaving", "Risky"]
    assert names_in(client.get(URL, {"health_tier": "insufficient"})) == ["Unscored"]
    response = client.get(URL, {"health_tier": "purple"})
    assert response.status_code == 200
    assert "health_tier" in response.context["filter"].form.errors


def test_the_htmx_sort_link_carries_the_health_column(client_for, maria_manager):
    scored("Acme Ltd", 50)
    response = client_for(maria_manager).get(URL, {"sort": "health_score"}, headers={"HX-Request": "true"})
    content = response.content.decode()
    assert "<html" not in content
    assert 'hx-get="?sort=-health_score"' in content


def test_the_query_count_does_not_grow_with_scored_rows(client_for, maria_manager, django_assert_num_queries):
    client = client_for(maria_manager)
    for n in range(3):
        scored(f"Account {n}", 30 + n, delta=-n)
    client.get(URL, {"sort": "health_score"})
    with django_assert_num_queries(7) as few:
        client.get(URL, {"sort": "health_score", "health_tier": "high"})
    for n in range(20):
        scored(f"More {n}", 10 + n, delta=n)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(URL, {"sort": "health_score", "health_tier": "high"})


def test_the_export_ends_with_health_score_and_tier(client_for, maria_manager):
    scored("Acme Ltd", 34)
    response = client_for(maria_manager).get(reverse("accounts:export"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][-2:] == ["Health score", "Health tier"]
    assert rows[1][-2:] == ["34", "high"]
