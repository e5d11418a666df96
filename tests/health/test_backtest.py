"""The health-model backtest: AUC by hand, the regression on tiny datasets, the page, the draft."""

import math
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from health import backtest
from health.backtest import auc, fit_logistic, held_out
from health.models import HealthMeasure, HealthModel
from tests.factories import AccountFactory
from tests.health.factories import HealthSnapshotFactory
from tests.interviews.factories import ChurnedAccountFactory

URL = "/reports/backtest/"
DRAFT_URL = "/reports/backtest/draft/"


# --- AUC ----------------------------------------------------------------------------------------


def test_auc_counts_pairs_with_ties_as_half():
    # Pairs (retained, churned): 20>10 1, 20=20 ½, 20<30 0, 40 beats all three: 3 → 4.5 / 6.
    assert auc(churned=[10, 20, 30], retained=[20, 40]) == pytest.approx(0.75)


def test_auc_extremes_and_empty_groups():
    assert auc([1, 2], [3, 4]) == 1.0
    assert auc([3, 4], [1, 2]) == 0.0
    assert auc([5, 5, 5], [5, 5]) == 0.5
    assert auc([], [1]) is None and auc([1], []) is None


def test_auc_with_many_ties_matches_pair_counting():
    churned = [40, 40, 55, 60, 60, 70]
    retained = [40, 60, 60, 75, 80]
    pairs = sum(1.0 if r > c else 0.5 if r == c else 0.0 for r in retained for c in churned)
    assert auc(churned, retained) == pytest.approx(pairs / (len(churned) * len(retained)))


# --- logistic regression ------------------------------------------------------------------------


def test_the_fit_recovers_the_closed_form_on_a_non_separable_binary_feature():
    # x = 0: 1 churned of 4 (p = .25); x = 1: 3 of 4 (p = .75). The maximum-likelihood answer is
    # intercept logit(.25) = −ln 3 and slope logit(.75) − logit(.25) = 2 ln 3.
    rows = [[0.0]] * 4 + [[1.0]] * 4
    outcomes = [1, 0, 0, 0, 1, 1, 1, 0]
    fit = fit_logistic(rows, outcomes, ridge=1e-9)
    assert fit.converged
    assert fit.intercept == pytest.approx(-math.log(3), abs=1e-6)
    assert fit.coefficients[0] == pytest.approx(2 * math.log(3), abs=1e-6)


def test_the_ridge_keeps_separable_data_finite_and_the_sign_right():
    rows = [[0.1], [0.2], [0.3], [0.7], [0.8], [0.9]]
    churned_when_low = [1, 1, 1, 0, 0, 0]
    fit = fit_logistic(rows, churned_when_low, ridge=1.0)
    assert fit.converged and fit.iterations < 50
    assert -50 < fit.coefficients[0] < 0  # high sub-score, less churn
    assert fit.probability([0.1]) > 0.5 > fit.probability([0.9])


def test_a_stronger_ridge_shrinks_the_coefficients():
    rows = [[0.1, 0.5], [0.2, 0.4], [0.3, 0.6], [0.7, 0.5], [0.8, 0.45], [0.9, 0.55]]
    y = [1, 1, 0, 1, 0, 0]
    weak, strong = fit_logistic(rows, y, ridge=0.01), fit_logistic(rows, y, ridge=10.0)
    assert abs(strong.coefficients[0]) < abs(weak.coefficients[0])


def test_the_split_is_deterministic_and_holds_out_about_a_quarter():
    first = [held_out(pk) for pk in range(1, 2001)]
    assert first == [held_out(pk) for pk in range(1, 2001)]
    assert 400 < sum(first) < 600


# --- populations --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_backtest_takes_the_snapshot_nearest_to_n_days_before_churn():
    today = timezone.localdate()
    gone = ChurnedAccountFactory(churned_on=today - timedelta(days=10))
    HealthSnapshotFactory(account=gone, date=gone.churned_on - timedelta(days=30), score=30)
    HealthSnapshotFactory(account=gone, date=gone.churned_on - timedelta(days=32), score=95)
    HealthSnapshotFactory(account=gone, date=gone.churned_on - timedelta(days=61), score=50)
    HealthSnapshotFactory(account=gone, date=gone.churned_on - timedelta(days=75), score=99)  # no horizon
    staying = AccountFactory()
    HealthSnapshotFactory(account=staying, date=today - timedelta(days=29), score=80)
    HealthSnapshotFactory(account=staying, date=today - timedelta(days=90), score=85)

    by_horizon = backtest.observations(today)

    assert [(o.churned, o.score) for o in by_horizon[30]] == [(True, 30), (False, 80)]
    assert [(o.churned, o.score) for o in by_horizon[60]] == [(True, 50)]
    assert [(o.churned, o.score) for o in by_horizon[90]] == [(False, 85)]
    result = backtest.summarise_horizon(30, by_horizon[30])
    assert result.auc == 1.0
    high = next(t for t in result.tiers if t.tier == "high")
    assert (high.churned, high.retained, high.rate) == (1, 0, 1.0)


@pytest.mark.django_db
def test_postgresql_and_python_choose_the_same_snapshots():
    """PostgreSQL picks the nearest snapshots in one query; SQLite goes through Python. Same rows,
    ties (equal distance) going to the lower id, accounts without a scored snapshot left out."""
    today = timezone.localdate()
    for i in range(12):
        gone = ChurnedAccountFactory(churned_on=today - timedelta(days=3 + i))
        for offset in (27, 29, 31, 33, 58, 60, 62, 88, 93):
            HealthSnapshotFactory(
                account=gone, date=gone.churned_on - timedelta(days=offset + i % 3), score=20 + i
            )
        staying = AccountFactory()
        for offset in (28, 30, 32, 57, 63, 87, 90, 94):
            HealthSnapshotFactory(account=staying, date=today - timedelta(days=offset + i % 2), score=60 + i)
        HealthSnapshotFactory(account=AccountFactory(), date=today - timedelta(days=30), score=None)

    python = backtest._nearest_in_python(today, backtest.HORIZONS)
    assert backtest.observations(today) == python
    assert {n: len(rows) for n, rows in python.items()} == {30: 24, 60: 24, 90: 24}


def measures(login: float | None, csat: float) -> dict:
    data = {"csat": {"dimension": "support", "raw": 4, "sub": csat, "weight": 10, "contribution": 1}}
    if login is not None:
        data["login_trend"] = {"dimension": "usage", "raw": 1, "sub": login, "weight": 10, "contribution": 1}
    return data


def history(churned: int, retained: int) -> None:
    """Churned accounts had low login trends; CSAT is noise that, if anything, rose before churn."""
    today = timezone.localdate()
    for i in range(churned):
        account = ChurnedAccountFactory(churned_on=today - timedelta(days=5 + i % 40))
        login = None if i % 7 == 0 else 10 + (i * 37) % 45  # some missing: imputed
        HealthSnapshotFactory(
            account=account,
            date=account.churned_on - timedelta(days=30),
            score=35,
            measures=measures(login, 60 + i % 30),
        )
    for i in range(retained):
        account = AccountFactory()
        HealthSnapshotFactory(
            account=account,
            date=today - timedelta(days=30),
            score=50 + i % 40,
            measures=measures(40 + (i * 53) % 60, 50 + i % 30),
        )


@pytest.mark.django_db
def test_the_suggestion_weights_the_measure_that_warned_and_clips_the_one_that_did_not():
    history(churned=60, retained=60)
    result = backtest.run_backtest(timezone.localdate())
    suggestion = result.suggestion
    assert suggestion.enough and suggestion.converged
    weights = {m.key: m for m in suggestion.measures}
    assert weights["login_trend"].coefficient < 0 and weights["login_trend"].weight == pytest.approx(100)
    assert weights["csat"].clipped and weights["csat"].weight == 0
    assert weights["nps" if "nps" in weights else "latest_nps"].coefficient is None  # no data at all
    assert suggestion.test_size > 0 and suggestion.fitted_auc > 0.8
    assert sum(m.weight for m in suggestion.measures) == pytest.approx(100)


@pytest.mark.django_db
def test_too_little_history_is_said_not_fitted(client_for, maria_manager):
    history(churned=5, retained=10)
    suggestion = backtest.run_backtest(timezone.localdate()).suggestion
    assert not suggestion.enough and suggestion.churned_with_snapshots == 5
    html = client_for(maria_manager).get(URL).content.decode()
    assert "Too little history" in html and DRAFT_URL not in html


# --- pages and the draft ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("user", ["alice_csm", "ivan_interviewer", "nora_no_role"])
def test_only_managers_and_admins_open_the_backtest(request, client_for, user):
    client = client_for(request.getfixturevalue(user))
    assert client.get(URL).status_code == 403
    assert client.post(DRAFT_URL).status_code == 403


@pytest.mark.django_db
def test_the_draft_url_refuses_get(client_for, ada_admin):
    assert client_for(ada_admin).get(DRAFT_URL).status_code == 405


@pytest.mark.django_db
def test_the_page_shows_auc_per_horizon_and_the_suggested_weights(client_for, ada_admin):
    history(churned=30, retained=30)
    response = client_for(ada_admin).get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "30 days before churn" in html and "90 days before churn" in html
    assert 'id="weights-table"' in html and DRAFT_URL in html


@pytest.mark.django_db
def test_the_button_creates_a_draft_with_the_suggested_weights_and_opens_its_preview(
    client_for, maria_manager
):
    history(churned=40, retained=40)
    published = HealthModel.objects.get(status="published")
    response = client_for(maria_manager).post(DRAFT_URL)

    draft = HealthModel.objects.get(status="draft")
    assert response.status_code == 302
    assert response["Location"] == reverse("health_models:preview", args=[draft.version])
    assert draft.version > published.version and draft.created_by == maria_manager
    weights = {
        m.key: m for m in HealthMeasure.objects.filter(dimension__model=draft).select_related("dimension")
    }
    assert weights["login_trend"].weight == Decimal("100.00")
    assert weights["csat"].weight == 0
    assert weights["login_trend"].dimension.weight == 1000
    assert weights["csat"].dimension.weight == 0
    # The published model is untouched.
    assert HealthMeasure.objects.filter(dimension__model=published, weight=0).count() == 0


@pytest.mark.django_db
def test_an_existing_draft_is_never_overwritten(client_for, maria_manager):
    from health import editor

    history(churned=40, retained=40)
    existing = editor.create_draft(user=maria_manager)
    response = client_for(maria_manager).post(DRAFT_URL, follow=True)
    assert HealthModel.objects.filter(status="draft").get() == existing
    assert f"Version {existing.version} is already a draft" in response.content.decode()
    assert not HealthMeasure.objects.filter(dimension__model=existing, weight=0).exists()


@pytest.mark.django_db
def test_the_backtest_downloads_as_csv(client_for, maria_manager):
    history(churned=25, retained=25)
    response = client_for(maria_manager).get(URL, {"format": "csv"})
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert "AUC,30," in body and "Suggested weight,30,Login trend" in body


@pytest.mark.django_db
def test_the_backtest_makes_the_same_number_of_queries_for_more_accounts(
    client_for, maria_manager, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(maria_manager)
    history(churned=25, retained=25)
    cache.clear()  # measure the computation, not the cached page (reports cache on PostgreSQL)
    with CaptureQueriesContext(connection) as small:
        client.get(URL)
    history(churned=30, retained=30)
    cache.clear()
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(URL)
