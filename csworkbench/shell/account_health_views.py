"""The account page's health panel: the chart's range switcher and the CSM's override (set and
revoke), answered as fragments of the account page for htmx and as redirects without it."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.access import STAFF_ROLES, get_account_for_change, get_account_for_user
from accounts.models import Account
from csworkbench.core import idempotency
from csworkbench.core.roles import has_role
from health import services
from health.account_panel import account_health, chart_for
from health.charts import chart_range
from health.forms import OverrideForm
from health.models import HealthOverride

from .account_page import account_work, detail_context

PAGE = "shell/account_detail.html"


def _account_url(account: Account, range_key: str | None = None) -> str:
    url = reverse("accounts:detail", args=[account.pk])
    return f"{url}?range={range_key}" if range_key else url


@require_http_methods(["GET"])
def account_chart(request: HttpRequest, pk: int) -> HttpResponse:
    """The chart with its range switcher and values table, for the switcher's HTMX requests."""
    account = get_account_for_user(request, pk)
    if not has_role(request.user, *STAFF_ROLES):
        raise PermissionDenied  # interviewers see an account's basics, and health is not one
    range_key = chart_range(request.GET.get("range"))
    if not request.htmx:
        return redirect(_account_url(account, range_key))
    context = {"account": account, "health": {"chart": chart_for(account, range_key=range_key)}}
    return render(request, f"{PAGE}#health_chart", context)


def _panel(
    request: HttpRequest,
    account: Account,
    *,
    form: OverrideForm | None = None,
    status: int = 200,
    message: str = "",
):
    account.refresh_from_db()  # the service re-scored it
    range_key = chart_range(request.GET.get("range"))
    context = {
        "account": account,
        "can_change": True,
        "health": account_health(account=account, range_key=range_key),
        "override_form": form or OverrideForm(),
        "health_message": message,
        # The header and the tasks card follow the new tier (the card compares it with the risk level).
        "health_oob": True,
        "work": account_work(account),
    }
    return render(request, f"{PAGE}#health_panel", context, status=status)


@require_http_methods(["POST"])
def override_set(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_account_for_change(request, pk)
    form = OverrideForm(request.POST)
    token = idempotency.check_form_token(request, form)
    if form.is_valid():
        try:
            with idempotency.claimed(request, token, purpose="health.override"):
                services.set_override(account=account, user=request.user, **form.cleaned_data)
        except idempotency.AlreadySent:
            if request.htmx:
                return _panel(request, account, message=str(idempotency.ALREADY_SENT))
            return idempotency.already_sent(request, redirect(_account_url(account)))
        except ValidationError as error:
            form.add_error(None, error)
    if not form.is_valid():
        if request.htmx:
            return _panel(request, account, form=form, status=422)
        context = detail_context(request, account, override_form=form)
        return render(request, PAGE, context, status=422)
    message = _("Override saved: the score is now %(score)s.") % {"score": form.cleaned_data["score"]}
    if request.htmx:
        return _panel(request, account, message=message)
    messages.success(request, message)
    return redirect(_account_url(account))


@require_http_methods(["POST"])
def override_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    override = get_object_or_404(
        HealthOverride.objects.filter(account__in=Account.objects.visible_to(request.user)).select_related(
            "account"
        ),
        pk=pk,
    )
    account = get_account_for_change(request, override.account_id)
    services.revoke_override(override=override, user=request.user)
    message = _("Override revoked: the score is the model's again.")
    if request.htmx:
        return _panel(request, account, message=message)
    messages.success(request, message)
    return redirect(_account_url(account))
