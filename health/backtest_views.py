"""The health model's backtest page (/reports/backtest/): did low scores precede churn? It shows
the cached result (`backtest_cache`) and turns the suggested weights into a draft model."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from csworkbench.core.csv_response import csv_download, neutralise
from csworkbench.core.roles import Role, role_required

from . import backtest
from . import editor as health_editor
from .backtest_cache import cached_backtest

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
        "health/backtest.html",
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
