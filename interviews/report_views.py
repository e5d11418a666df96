"""The reports: churn and revenue trends, reasons by period, the cuts, and the drill-down to the
interviews behind any number. Managers, admins and CSMs; everyone else gets 403.

Each page is a fixed handful of grouped queries (interviews.churn and interviews.reasons),
whatever the data size.
"""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from csworkbench.core import data_version as versions
from csworkbench.core.csv_response import csv_download, neutralise
from csworkbench.core.roles import Role, role_required

from . import churn, report_charts
from .action_items import review_context
from .models import InterviewStatus
from .periods import UNITS, Period, Span, axis_labels, parse_period, period_for, recent_periods
from .reasons import (
    CUTS,
    Cell,
    CutReport,
    ReasonReport,
    ReasonRow,
    cut_labels,
    drill_down,
    reasons_by_cut,
    reasons_by_period,
)
from .report_forms import DrillDownForm, ReportForm
from .services import may_interview

REPORT_ROLES = (Role.MANAGER, Role.ADMIN, Role.CSM)
CSV_TABLES = ("logo", "revenue", "reasons", "cut")
DRILL_PAGE_SIZE = 50
# The keys carry the data version, so nothing stale is served; this only bounds memory.
REPORT_CACHE_SECONDS = 24 * 60 * 60
T = TypeVar("T")
logger = logging.getLogger(__name__)

# Every table a report reads (the drill-down and the review read live). Users are not counted
# here: every login writes `last_login`, which would expire every report; the CSM cut's names
# are fingerprinted instead (data_version(names=True)).
REPORT_TABLES = (
    "accounts_account",
    "accounts_mrrmovement",
    "health_healthmodel",
    "health_healthsnapshot",
    "interviews_exitinterview",
    "interviews_exitinterview_secondary_categories",
    "interviews_reasoncategory",
    "interviews_subreason",
)


def data_version(tables: tuple[str, ...] = REPORT_TABLES, *, names: bool = True) -> str | None:
    """The reports' data version (csworkbench.core.data_version over REPORT_TABLES)."""
    return versions.data_version(tables, names=names)


def _key(name: str, *parts: Any) -> str:
    return f"reports:{name}:{hashlib.sha256(repr((name, *parts)).encode()).hexdigest()}"


def cached(name: str, compute: Callable[[], T], *parts: Any) -> T:
    """`compute()`, kept in the cache under the reports' data version (data_version, above):
    any write to a table the reports read gives a new key. The language is part of the key
    because reports carry translated labels. Without a data version, computed each time."""
    version = data_version()
    if version is None:
        return compute()
    key = _key(name, version, get_language(), *parts)
    found = cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, REPORT_CACHE_SECONDS)
    return found


def cached_report(unit: str, cut: str, today: date) -> "Report":
    return cached("report", lambda: build_report(unit, cut, today), unit, cut, today)


def drill_url(**params: Any) -> str:
    """The drill-down link for one number of a report."""
    query = {key: value for key, value in params.items() if value is not None}
    return f"{reverse('reports:interviews')}?{urlencode(query)}"


def churned_url(period) -> str:
    """The accounts lost in a period: what a logo-churn number counts."""
    return f"{reverse('reports:churned')}?{urlencode({'period': period.key})}"


@dataclass
class Report:
    unit: str
    cut: str
    today: date
    periods: list[Period]
    span: Span
    logo: list[churn.LogoChurn]
    revenue: list[churn.Revenue]
    reasons: ReasonReport
    cuts: CutReport


def build_report(unit: str, cut: str, today: date) -> Report:
    periods = recent_periods(unit, today)
    reasons = reasons_by_period(periods)
    span = Span(periods[0], periods[-1])
    return Report(
        unit=unit,
        cut=cut,
        today=today,
        periods=periods,
        span=span,
        logo=churn.logo_churn(periods),
        revenue=churn.revenue(periods),
        reasons=reasons,
        cuts=reasons_by_cut(cut, span, [row.category for row in reasons.rows]),
    )


def _page_url(unit: str, cut: str) -> str:
    return f"{reverse('reports:index')}?{urlencode({'unit': unit, 'cut': cut})}"


def chart_context(report: Report) -> dict:
    labels = axis_labels(report.periods)
    bands = report_charts.bands_for(report.unit)
    period_links = [drill_url(period=p.key) for p in report.periods]
    churned_links = [churned_url(p) for p in report.periods]
    logo_values = [row.rate for row in report.logo]
    logo_title = _("Logo churn rate by period, against benchmark bands")
    logo_chart = report_charts.rate_chart(
        labels=labels,
        series=[report_charts.Series(_("Logo churn"), logo_values, hrefs=churned_links)],
        bands=bands,
        title=logo_title,
        summary=report_charts.describe_rates(_("Logo churn"), labels, logo_values),
        chart_id="logo-chart",
    )
    gross = [row.gross_churn for row in report.revenue]
    net = [row.net_churn for row in report.revenue]
    revenue_chart = report_charts.rate_chart(
        labels=labels,
        series=[
            report_charts.Series(_("Gross MRR churn"), gross, hrefs=period_links),
            report_charts.Series(_("Net MRR churn"), net, style="line", colour=report_charts.LINE),
        ],
        bands=bands,
        title=_("Gross and net MRR churn by period, against benchmark bands"),
        summary=" ".join(
            (
                report_charts.describe_rates(_("Gross MRR churn"), labels, gross),
                report_charts.describe_rates(_("Net MRR churn"), labels, net),
            )
        ),
        chart_id="revenue-chart",
    )
    stacks = [
        report_charts.Stack(
            row.category.label,
            [cell.count for cell in row.cells],
            [drill_url(category=row.category.key, period=p.key) for p in report.periods],
            report_charts.PALETTE[n % len(report_charts.PALETTE)],
        )
        for n, row in enumerate(report.reasons.rows)
    ]
    totals = [
        a.count + u.count
        for a, u in zip(report.reasons.avoidable_totals, report.reasons.unavoidable_totals, strict=True)
    ]
    reason_summary = _("%(count)s interviews over these periods; unavoidable churn: %(unavoidable)s.") % {
        "count": sum(totals),
        "unavoidable": sum(c.count for c in report.reasons.unavoidable_totals),
    }
    reason_chart = report_charts.stacked_chart(
        labels=labels,
        stacks=stacks,
        title=_("Exit-interview reasons by period"),
        summary=reason_summary,
        chart_id="reason-chart",
    )
    return {
        "bands": bands,
        "logo_chart": logo_chart,
        "revenue_chart": revenue_chart,
        "reason_chart": reason_chart,
        "reason_summary": reason_summary,
    }


def table_rows(report: Report) -> dict:
    """Everything the tables show, formatted, with the drill-down link of each cell."""
    logo = [
        {
            "period": row.period,
            "active": row.active_at_start,
            "lost": row.lost,
            "joined": row.joined,
            "rate": churn.percent(row.rate),
            "href": churned_url(row.period),
        }
        for row in report.logo
    ]
    revenue = [
        {
            "period": row.period,
            "row": row,
            "gross": churn.percent(row.gross_churn),
            "net": churn.percent(row.net_churn),
            "nrr": churn.percent(row.nrr),
        }
        for row in report.revenue
    ]

    def reason_row(row: ReasonRow) -> dict:
        judged = "yes" if row.avoidable else "no"
        return {
            "category": row.category,
            "cells": [
                {"cell": cell, "href": drill_url(category=row.category.key, avoidable=judged, period=p.key)}
                for cell, p in zip(row.cells, report.periods, strict=True)
            ],
            "total": row.total,
            "total_href": drill_url(category=row.category.key, avoidable=judged, period=report.span.key),
        }

    def total_row(cells: list[Cell], avoidable: str) -> dict:
        total = Cell()
        for cell in cells:
            total.add(cell.count, cell.mrr)
        return {
            "cells": [
                {"cell": cell, "href": drill_url(avoidable=avoidable, period=p.key)}
                for cell, p in zip(cells, report.periods, strict=True)
            ],
            "total": total,
            "total_href": drill_url(avoidable=avoidable, period=report.span.key),
        }

    cut_rows = [
        {
            "row": row,
            "cells": [
                {
                    "cell": cell,
                    "href": drill_url(
                        category=c.key, period=report.span.key, cut=report.cut, value=row.value
                    ),
                }
                for cell, c in zip(row.cells, report.cuts.categories, strict=True)
            ],
            "href": drill_url(period=report.span.key, cut=report.cut, value=row.value),
        }
        for row in report.cuts.rows
    ]
    return {
        "logo_rows": logo,
        "revenue_rows": revenue,
        "avoidable_rows": [reason_row(r) for r in report.reasons.avoidable],
        "unavoidable_rows": [reason_row(r) for r in report.reasons.unavoidable],
        "avoidable_totals": total_row(report.reasons.avoidable_totals, "yes"),
        "unavoidable_totals": total_row(report.reasons.unavoidable_totals, "no"),
        "cut_rows": cut_rows,
    }


@require_GET
@role_required(*REPORT_ROLES)
def index(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.GET)
    report = cached_report(form.chosen_unit, form.chosen_cut, timezone.localdate())
    context = {
        "report": report,
        "units": [
            {"key": key, "label": label, "current": key == report.unit, "url": _page_url(key, report.cut)}
            for key, label in UNITS.items()
        ],
        "cuts": [
            {"key": key, "label": cut.label, "current": key == report.cut, "url": _page_url(report.unit, key)}
            for key, cut in CUTS.items()
        ],
        "csv_query": urlencode({"unit": report.unit, "cut": report.cut}),
        **chart_context(report),
        **table_rows(report),
    }
    template = "interviews/reports/index.html"
    if request.htmx and request.htmx.target == "cut-section":
        template += "#cut_section"
    elif request.htmx:
        template += "#report_body"
    return render(request, template, context)


def _csv_rows(report: Report, table: str):
    percent = churn.percent
    if table == "logo":
        yield [_("Period"), _("Active at start"), _("Lost"), _("Joined during the period"), _("Logo churn")]
        for row in report.logo:
            yield [row.period.key, row.active_at_start, row.lost, row.joined, percent(row.rate, 2)]
    elif table == "revenue":
        yield [
            _("Period"),
            _("Starting MRR"),
            _("New"),
            _("Expansion"),
            _("Contraction"),
            _("Churned"),
            _("Reactivation"),
            _("Gross MRR churn"),
            _("Net MRR churn"),
            _("NRR"),
        ]
        for r in report.revenue:
            yield [
                r.period.key,
                r.starting,
                r.new,
                r.expansion,
                r.contraction,
                r.churned,
                r.reactivation,
                percent(r.gross_churn, 2),
                percent(r.net_churn, 2),
                percent(r.nrr, 2),
            ]
    elif table == "reasons":
        yield [_("Period"), _("Reason category"), _("Avoidable"), _("Interviews"), _("MRR lost")]
        for row in report.reasons.avoidable + report.reasons.unavoidable:
            for period, cell in zip(report.periods, row.cells, strict=True):
                yield [period.key, row.category.label, row.avoidable, cell.count, cell.mrr]
        for label, totals in (
            (_("Avoidable"), report.reasons.avoidable_totals),
            (_("Unavoidable"), report.reasons.unavoidable_totals),
        ):
            for period, cell in zip(report.periods, totals, strict=True):
                yield [period.key, label, "", cell.count, cell.mrr]
    else:
        categories = report.cuts.categories
        yield [
            str(report.cuts.cut.label),
            *(c.label for c in categories),
            _("Interviews"),
            _("Avoidable"),
            _("Unavoidable"),
            _("MRR lost"),
        ]
        for row in report.cuts.rows:
            yield [
                row.label,
                *(cell.count for cell in row.cells),
                row.total.count,
                row.avoidable.count,
                row.unavoidable.count,
                row.total.mrr,
            ]


@require_GET
@role_required(*REPORT_ROLES)
def export_csv(request: HttpRequest, table: str) -> HttpResponse:
    if table not in CSV_TABLES:
        raise Http404
    form = ReportForm(request.GET)
    report = cached_report(form.chosen_unit, form.chosen_cut, timezone.localdate())
    rows = ([neutralise(value) for value in row] for row in _csv_rows(report, table))
    suffix = f"-{report.cut}" if table == "cut" else ""
    return csv_download(rows, filename=f"churn-{table}{suffix}-{report.unit}-{report.today:%Y%m%d}.csv")


def interview_link(user: Any, interview) -> str:
    """The interview page for those who may open it (interviewers and managers who were not the
    account's CSM); the account page, which shows the interview, for everyone else."""
    csm_ids = {interview.account.owner_id, interview.csm_at_churn_id}
    if may_interview(user) and user.pk not in csm_ids:
        return reverse("interviews:interview", args=[interview.account_id])
    return reverse("accounts:detail", args=[interview.account_id])


@require_GET
@role_required(*REPORT_ROLES)
def interviews(request: HttpRequest) -> HttpResponse:
    form = DrillDownForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "interviews/reports/interviews.html",
            {"form": form, "rows": [], "invalid": True},
            status=400,
        )
    filters = form.filters()
    found = drill_down(**filters)
    if request.GET.get("format") == "csv":
        return _drill_csv(found)
    page = Paginator(found, DRILL_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"interview": i, "href": interview_link(request.user, i)} for i in page.object_list]
    others = {key: value for key, value in request.GET.items() if key != "page"}
    cut = CUTS.get(filters["cut"])
    value_label = None
    if cut is not None and filters["value"] is not None:
        value_label = cut_labels(cut.key, [filters["value"]]).get(filters["value"], filters["value"])
    context = {
        "form": form,
        "filters": filters,
        "rows": rows,
        "page": page,
        "page_query": urlencode(others),
        "cut": cut,
        "value_label": value_label,
        "csv_url": f"{request.path}?{urlencode({**others, 'format': 'csv'})}",
        "back_url": reverse("reports:index"),
    }
    return render(request, "interviews/reports/interviews.html", context)


@require_GET
@role_required(*REPORT_ROLES)
def churned(request: HttpRequest) -> HttpResponse:
    """The accounts a logo-churn number counts, each with its exit interview or, where there is
    none yet, a way to start one (for those who may hold it)."""
    form = DrillDownForm(request.GET)
    if not form.is_valid():
        return render(request, "interviews/reports/churned.html", {"form": form, "invalid": True}, status=400)
    this_month = period_for("month", timezone.localdate())
    span = form.cleaned_data.get("period") or Span(this_month, this_month)
    page = Paginator(churn.churned_in(span), DRILL_PAGE_SIZE).get_page(request.GET.get("page"))
    neutral = may_interview(request.user)
    rows = []
    for account in page.object_list:
        interview = getattr(account, "exit_interview", None)
        is_csm = request.user.pk in {account.owner_id, getattr(interview, "csm_at_churn_id", None)}
        rows.append(
            {
                "account": account,
                "interview": interview,
                "done": interview is not None and interview.status == InterviewStatus.DONE,
                "interview_url": reverse("interviews:interview", args=[account.pk])
                if neutral and not is_csm
                else None,
            }
        )
    context = {
        "span": span,
        "rows": rows,
        "page": page,
        "page_query": urlencode({"period": span.key}),
        "back_url": reverse("reports:index"),
        "interviews_url": drill_url(period=span.key),
    }
    return render(request, "interviews/reports/churned.html", context)


def _drill_csv(found) -> HttpResponse:
    def rows():
        yield [
            _("Account"),
            _("Churned on"),
            _("Main reason"),
            _("Sub-reason"),
            _("Avoidable"),
            _("MRR at churn"),
            _("Value tier at churn"),
            _("Lifecycle stage at churn"),
            _("Competitor named"),
        ]
        for i in found.iterator(chunk_size=500):
            yield [
                neutralise(value)
                for value in (
                    i.account.name,
                    i.churn_date,
                    i.primary_category.label,
                    i.sub_reason.label if i.sub_reason else "",
                    _("yes") if i.is_avoidable else _("no"),
                    i.mrr_at_churn,
                    i.tier_at_churn,
                    i.get_lifecycle_stage_at_churn_display(),
                    i.competitor,
                )
            ]

    return csv_download(rows(), filename="churn-interviews.csv")


# --- churn review -------------------------------------------------------------------------------


def review_period(request: HttpRequest) -> Period:
    """`?period=2026-10` (any unit); the last complete month by default."""
    period = parse_period(request.GET.get("period"))
    if period is None:
        period = period_for("month", timezone.localdate()).previous()
    return period


@require_GET
@role_required(*REPORT_ROLES)
def review(request: HttpRequest) -> HttpResponse:
    period = review_period(request)
    context = review_context(period=period, user=request.user)
    if request.GET.get("format") == "csv":
        return _review_csv(context)
    context["page_url"] = reverse("reports:review")
    context["csv_url"] = f"{reverse('reports:review')}?period={period.key}&format=csv"
    return render(request, "interviews/reports/review.html", context)


def _review_csv(context: dict) -> HttpResponse:
    period, previous = context["period"], context["previous"]

    def rows():
        yield [
            _("Reason category"),
            _("Avoidable by default"),
            _("Interviews"),
            _("MRR lost"),
            _("In %(period)s") % {"period": previous.key},
            _("Action items"),
        ]
        for row in context["rows"]:
            yield [
                neutralise(value)
                for value in (
                    row["category"].label,
                    _("yes") if row["category"].avoidable else _("no"),
                    row["now"].count,
                    row["now"].mrr,
                    row["before"].count,
                    "; ".join(entry["item"].title for entry in row["action_items"]),
                )
            ]

    return csv_download(rows(), filename=f"churn-review-{period.key}.csv")
