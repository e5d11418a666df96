"""The report pages: who may open them, what they show, the drill-down, CSV and query counts."""

import csv
import io
import itertools
import math
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from interviews.periods import period_for
from tests.factories import AccountFactory, MrrMovementFactory
from tests.interviews.factories import ChurnedAccountFactory, DoneInterviewFactory, category

pytestmark = pytest.mark.django_db

INDEX = "/reports/"
DRILL = "/reports/interviews/"


def this_month():
    return period_for("month", timezone.localdate())


def churned_with_interview(name="Gone Co", key="product", mrr=1000, on=None, **kwargs):
    account = ChurnedAccountFactory(
        name=name, mrr=Decimal(mrr), churned_on=on or this_month().start, **kwargs.pop("account", {})
    )
    return DoneInterviewFactory(account=account, primary_category=category(key), **kwargs)


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


# --- access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["maria_manager", "ada_admin", "alice_csm"])
@pytest.mark.parametrize("url", [INDEX, DRILL, "/reports/review/", "/reports/csv/logo/"])
def test_managers_admins_and_csms_open_the_reports(request, client_for, user, url):
    response = client_for(request.getfixturevalue(user)).get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("user", ["ivan_interviewer", "nora_no_role"])
@pytest.mark.parametrize(
    "url", [INDEX, DRILL, "/reports/review/", "/reports/csv/logo/", "/reports/backtest/"]
)
def test_interviewers_and_users_without_a_role_get_403(request, client_for, user, url):
    assert client_for(request.getfixturevalue(user)).get(url).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(INDEX)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_reports_refuse_post(client_for, maria_manager):
    assert client_for(maria_manager).post(INDEX).status_code == 405
    assert client_for(maria_manager).post(DRILL).status_code == 405


def test_an_unknown_csv_table_is_404(client_for, maria_manager):
    assert client_for(maria_manager).get("/reports/csv/secrets/").status_code == 404


# --- the page -----------------------------------------------------------------------------------


def test_the_index_draws_charts_with_titles_bands_and_tables(client_for, maria_manager):
    churned_with_interview()
    response = client_for(maria_manager).get(INDEX)
    html = response.content.decode()
    assert html.count('role="img"') == 3
    assert '<title id="logo-chart-title">' in html and '<title id="reason-chart-title">' in html
    assert "Small mature SaaS" in html and "Young businesses" in html  # monthly bands
    assert 'id="logo-table"' in html and 'id="reason-table"' in html and 'id="cut-table"' in html
    assert "<details" in html


def test_quarterly_charts_show_the_annual_benchmarks_converted(client_for, maria_manager):
    html = client_for(maria_manager).get(INDEX, {"unit": "quarter"}).content.decode()
    assert "B2B average ≈2.6%–4%" in html
    assert "Young businesses" not in html
    yearly = client_for(maria_manager).get(INDEX, {"unit": "year"}).content.decode()
    assert "B2B average 10%–15%" in yearly


def test_an_unknown_unit_or_cut_falls_back_to_the_defaults(client_for, maria_manager):
    response = client_for(maria_manager).get(INDEX, {"unit": "decade", "cut": "shoe_size"})
    assert response.status_code == 200
    assert response.context["report"].unit == "month" and response.context["report"].cut == "lifecycle"


def test_empty_periods_show_a_dash_not_an_error(client_for, maria_manager):
    response = client_for(maria_manager).get(INDEX)
    assert response.status_code == 200
    assert all(row["rate"] == "—" for row in response.context["logo_rows"])


def test_the_unit_switch_answers_htmx_with_the_report_body_only(client_for, maria_manager):
    response = client_for(maria_manager).get(
        INDEX, {"unit": "year"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="report-body"
    )
    html = response.content.decode()
    assert "<html" not in html and 'id="report-body"' in html
    assert 'href="/reports/?unit=quarter&amp;cut=lifecycle"' in html  # a real link under hx-get


def test_the_cut_switch_answers_htmx_with_the_cut_section_only(client_for, maria_manager):
    churned_with_interview(account={"industry": "retail"})
    response = client_for(maria_manager).get(
        INDEX, {"cut": "industry"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="cut-section"
    )
    html = response.content.decode()
    assert "<html" not in html and 'id="cut-section"' in html and 'id="report-body"' not in html
    assert "Retail" in html


def test_unavoidable_churn_is_reported_apart(client_for, maria_manager):
    churned_with_interview("Closed Co", "unavoidable", 700)
    churned_with_interview("Pricey Co", "price_value", 300)
    response = client_for(maria_manager).get(INDEX)
    assert response.context["unavoidable_totals"]["cells"][-1]["cell"].count == 1
    assert response.context["avoidable_totals"]["cells"][-1]["cell"].count == 1
    assert [r["category"].key for r in response.context["unavoidable_rows"]] == ["unavoidable"]


def test_each_section_has_a_total_and_one_definition_of_unavoidable(client_for, maria_manager):
    churned_with_interview("Closed Co", "unavoidable", 700)
    churned_with_interview("Pricey Co", "price_value", 300)
    churned_with_interview("Judged Co", "product", 200, avoidable=False)  # the interviewer's judgement
    response = client_for(maria_manager).get(INDEX)
    unavoidable = response.context["unavoidable_totals"]
    assert unavoidable["total"].count == 2 and response.context["avoidable_totals"]["total"].count == 1
    # The product interview judged unavoidable is listed under unavoidable churn, not avoidable.
    rows = {r["category"].key: r["total"].count for r in response.context["unavoidable_rows"]}
    assert rows == {"product": 1, "unavoidable": 1}
    assert sum(rows.values()) == unavoidable["total"].count
    table = response.content.decode().split('id="reason-table"')[1].split("</table>")[0]
    total_row = table.split('<th scope="row">Unavoidable churn</th>')[1].split("</tr>")[0]
    assert f'{unavoidable["total_href"].replace("&", "&amp;")}">2</a>' in total_row


def test_chart_axes_have_round_ticks_and_no_negative_zero(client_for, maria_manager):
    churned_with_interview("Gone Co")
    AccountFactory.create_batch(70)
    html = client_for(maria_manager).get(INDEX).content.decode()
    logo = html.split('id="logo-chart-title"')[1].split("</svg>")[0]
    ticks = re.findall(r'text-anchor="end" dominant-baseline="middle">([^<]+)</text>', logo)
    assert ticks and "-0%" not in html and "\u22120%" not in html
    steps = {round(float(b.rstrip("%")) - float(a.rstrip("%")), 6) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1, ticks  # evenly spaced
    (step,) = steps
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in {1, 2, 2.5, 5}, ticks


@pytest.mark.parametrize("language", ["zh-hant", "zh-hans"])
def test_chinese_month_labels_are_short_and_name_the_year_once(client_for, maria_manager, language):
    from django.utils import translation

    from interviews.periods import axis_labels, recent_periods

    with translation.override(language):
        labels = axis_labels(recent_periods("month", timezone.localdate()))
    assert all(label.endswith("月") for label in labels), labels
    assert "年" in labels[0] and all(len(label) <= 3 for label in labels[1:] if "年" not in label), labels
    assert not any("十" in label for label in labels)  # numerals, not 十月


# --- drill-down ---------------------------------------------------------------------------------


def test_a_reason_cell_links_to_the_interviews_behind_it(client_for, maria_manager):
    wanted = churned_with_interview("Service Gone", "service")
    churned_with_interview("Product Gone", "product")
    churned_with_interview("Old Service", "service", on=this_month().start - timedelta(days=40))
    client = client_for(maria_manager)
    html = client.get(INDEX).content.decode()
    href = f"{DRILL}?category=service&amp;avoidable=yes&amp;period={this_month().key}"
    assert f'href="{href}"' in html

    page = client.get(href.replace("&amp;", "&")).content.decode()
    assert "Service Gone" in page and "Product Gone" not in page and "Old Service" not in page
    # Maria manages and was not the CSM: she opens the interview itself.
    assert reverse("interviews:interview", args=[wanted.account_id]) in page


def test_a_csm_drilling_down_is_sent_to_the_account_page(client_for, alice_csm):
    interview = churned_with_interview("Service Gone", "service")
    page = client_for(alice_csm).get(DRILL, {"category": "service"}).content.decode()
    assert reverse("accounts:detail", args=[interview.account_id]) in page
    assert reverse("interviews:interview", args=[interview.account_id]) not in page


def test_a_cut_cell_drills_down_by_the_snapshot_value(client_for, maria_manager):
    churned_with_interview("Tier A Co", tier_at_churn="A", account={"value_tier": "C"})
    churned_with_interview("Tier C Co", tier_at_churn="C", account={"value_tier": "A"})
    client = client_for(maria_manager)
    html = client.get(INDEX, {"cut": "tier"}).content.decode()
    links = re.findall(r'href="(/reports/interviews/\?[^"]*cut=tier[^"]*value=A[^"]*)"', html)
    assert links
    page = client.get(links[0].replace("&amp;", "&")).content.decode()
    assert "Tier A Co" in page and "Tier C Co" not in page


def test_drill_down_by_avoidability(client_for, maria_manager):
    churned_with_interview("Judged Unavoidable", "product", avoidable=False)
    churned_with_interview("Avoidable Co", "product")
    page = client_for(maria_manager).get(DRILL, {"avoidable": "no"}).content.decode()
    assert "Judged Unavoidable" in page and "Avoidable Co" not in page


def test_the_drill_down_pages_fifty_at_a_time_keeping_its_filters(
    client_for, maria_manager, django_assert_num_queries
):
    start = this_month().start
    for n in range(53):
        churned_with_interview(f"Gone {n:02d}", "service", on=start - timedelta(days=n))
    churned_with_interview("Other Reason", "product")
    client = client_for(maria_manager)
    with CaptureQueriesContext(connection) as first_queries:
        first = client.get(DRILL, {"category": "service"})
    html = first.content.decode()
    names = re.findall(r">(Gone \d\d)</a>", html)
    assert names == [f"Gone {n:02d}" for n in range(50)]  # most recent first
    assert "53 interviews" in html and "1 to 50 shown" in html and "Page 1 of 2" in html
    assert 'href="?category=service&amp;page=2"' in html
    assert "format=csv" in html and "page=2&amp;format" not in html
    with django_assert_num_queries(len(first_queries)):
        second = client.get(DRILL, {"category": "service", "page": 2})
    assert re.findall(r">(Gone \d\d)</a>", second.content.decode()) == ["Gone 50", "Gone 51", "Gone 52"]
    assert "Other Reason" not in second.content.decode()
    # The CSV holds every interview behind the number, whatever page was open.
    rows = csv_rows(client.get(DRILL, {"category": "service", "page": 2, "format": "csv"}))
    assert len(rows) == 1 + 53


def test_a_bad_period_in_a_drill_down_is_400(client_for, maria_manager):
    assert client_for(maria_manager).get(DRILL, {"period": "last-tuesday"}).status_code == 400


# --- CSV ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["logo", "revenue", "reasons", "cut"])
def test_every_table_downloads_as_csv(client_for, maria_manager, table):
    churned_with_interview()
    MrrMovementFactory(kind="new", amount=Decimal("500"), occurred_on=this_month().start - timedelta(days=40))
    response = client_for(maria_manager).get(f"/reports/csv/{table}/", {"unit": "quarter"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert len(rows) > 1


def test_csv_cells_are_neutralised(client_for, maria_manager):
    churned_with_interview('=HYPERLINK("http://evil")', account={"region": "+cmd|' /C calc'!A0"})
    client = client_for(maria_manager)
    cut_rows = csv_rows(client.get("/reports/csv/cut/", {"cut": "region"}))
    assert cut_rows[1][0] == "'+cmd|' /C calc'!A0"
    drill_rows = csv_rows(client.get(DRILL, {"format": "csv"}))
    assert drill_rows[1][0] == '\'=HYPERLINK("http://evil")'


def test_logo_csv_matches_the_page(client_for, maria_manager):
    AccountFactory(contract_start=this_month().start - timedelta(days=100))
    ChurnedAccountFactory(
        contract_start=this_month().start - timedelta(days=100), churned_on=this_month().start
    )
    rows = csv_rows(client_for(maria_manager).get("/reports/csv/logo/"))
    assert rows[-1] == [this_month().key, "2", "1", "0", "50.00%"]


# --- query counts -------------------------------------------------------------------------------


def make_data(n: int) -> None:
    for i in range(n):
        key = ("product", "price_value", "service", "competitor", "unavoidable")[i % 5]
        churned_with_interview(f"Gone {n}-{i}", key, on=this_month().start - timedelta(days=35 * (i % 6)))
        account = AccountFactory()
        MrrMovementFactory(account=account, kind="new", occurred_on=this_month().start - timedelta(days=300))
        MrrMovementFactory(
            account=account, kind="expansion", amount=Decimal("50"), occurred_on=this_month().start
        )


@pytest.mark.parametrize(
    "url,params",
    [
        (INDEX, {}),
        (INDEX, {"cut": "csm"}),
        (INDEX, {"unit": "year", "cut": "region"}),
        (DRILL, {"category": "product"}),
        ("/reports/review/", {}),
    ],
)
def test_report_pages_make_the_same_number_of_queries_for_more_data(
    client_for, maria_manager, django_assert_num_queries, url, params
):
    client = client_for(maria_manager)
    make_data(2)
    cache.clear()  # measure the computation, not the cached page (reports cache on PostgreSQL)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url, params).status_code == 200
    make_data(15)
    cache.clear()
    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get(url, params).status_code == 200


# --- customers lost: the logo-churn drill-down ---------------------------------------------------


def test_the_logo_churn_number_opens_the_accounts_lost_with_or_without_an_interview(
    client_for, maria_manager, ivan_interviewer, alice_csm
):
    start = this_month().start
    interviewed = churned_with_interview("Talked Co", on=start, account={"owner": alice_csm})
    waiting = ChurnedAccountFactory(
        name="Quiet Co", churned_on=start, contract_start=start - timedelta(days=400), owner=alice_csm
    )
    AccountFactory(name="Still Here")
    index = client_for(maria_manager).get(INDEX).content.decode()
    href = f"/reports/churned/?period={this_month().key}"
    assert f'href="{href}"' in index  # the logo table's "lost" cell and the chart's bar

    page = client_for(maria_manager).get(href)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Talked Co" in html and "Quiet Co" in html and "Still Here" not in html
    assert "No interview yet" in html
    # Maria may hold the interview (she was not the CSM): a way to start it, and to open the done one.
    assert f'href="/interviews/accounts/{waiting.pk}/">Start the interview' in html
    assert f'href="/interviews/accounts/{interviewed.account_id}/"' in html

    # Alice was the CSM: she sees the status, never a link to interview her own account.
    own = client_for(alice_csm).get(href).content.decode()
    assert "No interview yet" in own and "Start the interview" not in own
    # Interviewers do not open the reports.
    assert client_for(ivan_interviewer).get(href).status_code == 403


def test_the_accounts_lost_count_matches_the_logo_churn_rate(client_for, maria_manager):
    start = this_month().start
    for n in range(3):
        ChurnedAccountFactory(name=f"Lost {n}", churned_on=start, contract_start=start - timedelta(days=90))
    ChurnedAccountFactory(name="New and gone", churned_on=start, contract_start=start)  # not active at start
    response = client_for(maria_manager).get(f"/reports/churned/?period={this_month().key}")
    report_lost = client_for(maria_manager).get(INDEX).context["logo_rows"][-1]["lost"]
    assert response.context["page"].paginator.count == report_lost == 3


def test_a_bad_period_for_the_accounts_lost_is_400(client_for, maria_manager):
    response = client_for(maria_manager).get("/reports/churned/?period=2026-13")
    assert response.status_code == 400
    assert "Give a period such as" in response.content.decode()


def test_the_accounts_lost_make_the_same_number_of_queries_for_more_rows(client_for, maria_manager):
    start = this_month().start
    client = client_for(maria_manager)
    for n in range(3):
        churned_with_interview(f"Gone {n}", on=start)
    url = f"/reports/churned/?period={this_month().key}"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(20):
        churned_with_interview(f"More {n}", on=start)
        ChurnedAccountFactory(name=f"Silent {n}", churned_on=start, contract_start=start - timedelta(days=90))
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)
