"""The reports: churn and revenue trends, reasons by period, the cuts, and the drill-down to the
interviews behind any number. Managers, admins and CSMs; everyone else gets 403.

Each page is a fixed handful of grouped queries (interviews.metrics), whatever the data size.
"""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from csworkbench.core.csv_response import csv_download, neutralise
from csworkbench.core.roles import Role, role_required
from health import editor as health_editor

from . import backtest, metrics, report_charts
from .action_items import review_context
from .metrics import CUTS, Period, Span
from .models import InterviewStatus
from .report_forms import DrillDownForm, ReportForm
from .services import may_interview

REPORT_ROLES = (Role.MANAGER, Role.ADMIN, Role.CSM)
CSV_TABLES = ("logo", "revenue", "reasons", "cut")
DRILL_PAGE_SIZE = 50
# The keys carry the data version, so nothing stale is served; this only bounds memory.
REPORT_CACHE_SECONDS = 24 * 60 * 60
T = TypeVar("T")
logger = logging.getLogger(__name__)


def _key(name: str, *parts: Any) -> str:
    return f"reports:{name}:{hashlib.sha256(repr((name, *parts)).encode()).hexdigest()}"


def cached(name: str, compute: Callable[[], T], *parts: Any) -> T:
    """`compute()`, kept in the cache under the reports' data version (metrics.data_version):
    any write to a table the reports read gives a new key. The language is part of the key
    because reports carry translated labels. Without a data version, computed each time."""
    version = metrics.data_version()
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


# The backtest reads one snapshot per account and horizon and fits a regression: seconds at
# tens of thousands of accounts. No request waits for it once it has been computed for the day:
# a request finding the result of an older data version gets that one at once (the page says
# when it was computed) and a Celery task computes the new one; the nightly run computes it
# right after the day's scores and rules (interviews.tasks.refresh_backtest).
BACKTEST_REFRESH_LOCK_SECONDS = 15 * 60


def _backtest_key(today: date, version: str) -> str:
    return _key("backtest", version, today)


def _latest_backtest_key(today: date) -> str:
    """The last result computed for `today`, whatever the data version it was computed from."""
    return _key("backtest-latest", today)


def refresh_backtest(today: date) -> backtest.Backtest:
    """Compute the backtest for `today` and keep it as the current and the latest result."""
    version = metrics.data_version(metrics.BACKTEST_TABLES, names=False)
    result = backtest.run_backtest(today)
    if version is not None:
        cache.set_many(
            {_backtest_key(today, version): result, _latest_backtest_key(today): result}, REPORT_CACHE_SECONDS
        )
        cache.delete(_key("backtest-refreshing", today))
    return result


def cached_backtest(today: date) -> backtest.Backtest:
    """The backtest for `today`: the current result; else the latest one (today's, or yesterday's
    until the nightly run has computed today's) while a task computes the current one; else (a
    new installation, an emptied cache) computed here."""
    version = metrics.data_version(metrics.BACKTEST_TABLES, names=False)
    if version is None:
        return backtest.run_backtest(today)
    key, latest, yesterday = (
        _backtest_key(today, version),
        _latest_backtest_key(today),
        _latest_backtest_key(today - timedelta(days=1)),
    )
    found = cache.get_many([key, latest, yesterday])
    if key in found:
        return found[key]
    stale = found.get(latest) or found.get(yesterday)
    if stale is None:
        return refresh_backtest(today)
    if cache.add(_key("backtest-refreshing", today), 1, BACKTEST_REFRESH_LOCK_SECONDS):
        transaction.on_commit(lambda: _queue_backtest(today))
    stale.refreshing = True
    return stale


def _queue_backtest(today: date) -> None:
    from .tasks import refresh_backtest as task

    try:
        task.delay(today.isoformat())
    except Exception:  # the broker is down: the page still shows the last result
        logger.exception("could not queue the backtest refresh")
        cache.delete(_key("backtest-refreshing", today))


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
    logo: list[metrics.LogoChurn]
    revenue: list[metrics.Revenue]
    reasons: metrics.ReasonReport
    cuts: metrics.CutReport


def build_report(unit: str, cut: str, today: date) -> Report:
    periods = metrics.recent_periods(unit, today)
    reasons = metrics.reasons_by_period(periods)
    span = Span(periods[0], periods[-1])
    return Report(
        unit=unit,
        cut=cut,
        today=today,
        periods=periods,
        span=span,
        logo=metrics.logo_churn(periods),
        revenue=metrics.revenue(periods),
        reasons=reasons,
        cuts=metrics.reasons_by_cut(cut, span, [row.category for row in reasons.rows]),
    )


def _page_url(unit: str, cut: str) -> str:
    return f"{reverse('reports:index')}?{urlencode({'unit': unit, 'cut': cut})}"


def chart_context(report: Report) -> dict:
    labels = metrics.axis_labels(report.periods)
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
            "rate": metrics.percent(row.rate),
            "href": churned_url(row.period),
        }
        for row in report.logo
    ]
    revenue = [
        {
            "period": row.period,
            "row": row,
            "gross": metrics.percent(row.gross_churn),
            "net": metrics.percent(row.net_churn),
            "nrr": metrics.percent(row.nrr),
        }
        for row in report.revenue
    ]

    def reason_row(row: metrics.ReasonRow) -> dict:
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

    def total_row(cells: list[metrics.Cell], avoidable: str) -> dict:
        total = metrics.Cell()
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
            for key, label in metrics.UNITS.items()
        ],
        "cuts": [
            {"key": key, "label": cut.label, "current": key == report.cut, "url": _page_url(report.unit, key)}
            for key, cut in CUTS.items()
        ],
        "csv_query": urlencode({"unit": report.unit, "cut": report.cut}),
        **chart_context(report),
        **table_rows(report),
    }
    template = "reports/index.html"
    if request.htmx and request.htmx.target == "cut-section":
        template += "#cut_section"
    elif request.htmx:
        template += "#report_body"
    return render(request, template, context)


def _csv_rows(report: Report, table: str):
    percent = metrics.percent
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
            request, "reports/interviews.html", {"form": form, "rows": [], "invalid": True}, status=400
        )
    filters = form.filters()
    found = metrics.drill_down(**filters)
    if request.GET.get("format") == "csv":
        return _drill_csv(found)
    page = Paginator(found, DRILL_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"interview": i, "href": interview_link(request.user, i)} for i in page.object_list]
    others = {key: value for key, value in request.GET.items() if key != "page"}
    cut = CUTS.get(filters["cut"])
    value_label = None
    if cut is not None and filters["value"] is not None:
        value_label = metrics.cut_labels(cut.key, [filters["value"]]).get(filters["value"], filters["value"])
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
    return render(request, "reports/interviews.html", context)


@require_GET
@role_required(*REPORT_ROLES)
def churned(request: HttpRequest) -> HttpResponse:
    """The accounts a logo-churn number counts, each with its exit interview or, where there is
    none yet, a way to start one (for those who may hold it)."""
    form = DrillDownForm(request.GET)
    if not form.is_valid():
        return render(request, "reports/churned.html", {"form": form, "invalid": True}, status=400)
    this_month = metrics.period_for("month", timezone.localdate())
    span = form.cleaned_data.get("period") or Span(this_month, this_month)
    page = Paginator(metrics.churned_in(span), DRILL_PAGE_SIZE).get_page(request.GET.get("page"))
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
    return render(request, "reports/churned.html", context)


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


# --- health-model backtest ----------------------------------------------------------------------

BACKTEST_ROLES = (Role.MANAGER, Role.ADMIN)


@require_GET
@role_required(*BACKTEST_ROLES)
def backtest_page(request: HttpRequest) -> HttpResponse:
    result = cached_backtest(timezone.localdate())
    if request.GET.get("format") == "csv":
        return _backtest_csv(result)
    return render(
        request,
        "reports/backtest.html",
        {
            "result": result,
            "suggestion": result.suggestion,
            "min_churned": backtest.MIN_CHURNED,
            "fit_horizon": backtest.FIT_HORIZON,
            "draft": health_editor.current_draft(),
        },
    )


@require_POST
@role_required(*BACKTEST_ROLES)
def backtest_draft(request: HttpRequest) -> HttpResponse:
    """Create a draft health model with the suggested weights, then open its preview."""
    result = cached_backtest(timezone.localdate())
    try:
        draft = backtest.create_suggested_draft(user=request.user, suggestion=result.suggestion)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("reports:backtest")
    messages.success(
        request,
        _("Draft version %(version)s holds the suggested weights: preview it, then publish or discard it.")
        % {"version": draft.version},
    )
    url = reverse("health_models:preview", args=[draft.version])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


# --- churn review -------------------------------------------------------------------------------


def review_period(request: HttpRequest) -> Period:
    """`?period=2026-10` (any unit); the last complete month by default."""
    period = metrics.parse_period(request.GET.get("period"))
    if period is None:
        period = metrics.period_for("month", timezone.localdate()).previous()
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
    return render(request, "reports/review.html", context)


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


def _backtest_csv(result: backtest.Backtest) -> HttpResponse:
    """The backtest's tables in one long file: section, horizon, label, churned, retained, value."""

    def rows():
        yield [_("Table"), _("Days before churn"), _("Label"), _("Churned"), _("Retained"), _("Value")]
        for h in result.horizons:
            yield [_("AUC"), h.days, "", h.churned, h.retained, "" if h.auc is None else f"{h.auc:.4f}"]
            for b in h.bins:
                yield [_("Score distribution"), h.days, b["label"], b["churned"], b["retained"], ""]
            for t in h.tiers:
                rate = "" if t.rate is None else f"{t.rate:.4f}"
                yield [_("Churn rate"), h.days, t.label, t.churned, t.retained, rate]
        for m in result.suggestion.measures:
            coefficient = "" if m.coefficient is None else f"{m.coefficient:.6f}"
            yield [_("Suggested weight"), backtest.FIT_HORIZON, m.label, "", coefficient, m.weight]

    return csv_download(
        ([neutralise(value) for value in row] for row in rows()),
        filename=f"health-backtest-{result.today:%Y%m%d}.csv",
    )
