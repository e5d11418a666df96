"""Action items: raise one from an exit interview (`?interview=<id>`) or a churn review
(`?period=2026-10&category=product`), list them, and move them along. Writes go through
interviews.action_items."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from csworkbench.core import idempotency
from csworkbench.core.roles import role_required

from . import action_items
from .action_forms import ActionItemForm
from .models import ActionItem, ActionStatus, ExitInterview, ReasonCategory
from .periods import parse_period
from .report_views import interview_link


def _source(request: HttpRequest) -> tuple[ExitInterview | None, str]:
    """The interview or churn-review period named in the query string (the form posts back to
    the same URL)."""
    data = request.GET
    interview = None
    if str(data.get("interview", "")).isdigit():
        interview = get_object_or_404(
            ExitInterview.objects.select_related("account", "primary_category"), pk=int(data["interview"])
        )
    period = parse_period(data.get("period"))
    return interview, period.key if period and interview is None else ""


def _back(request: HttpRequest, interview: ExitInterview | None, period: str) -> str:
    if interview is not None:
        return interview_link(request.user, interview)
    return f"{reverse('reports:review')}?period={period}"


@require_http_methods(["GET", "POST"])
@role_required(*action_items.RAISE_ROLES)
def action_create(request: HttpRequest) -> HttpResponse:
    interview, period = _source(request)
    if interview is None and not period:
        messages.error(request, _("Raise an action item from an exit interview or a churn review."))
        return redirect("reports:review")
    initial = {}
    category_key = request.GET.get("category")
    if category_key:
        initial["category"] = ReasonCategory.objects.filter(key=category_key).first()
    elif interview is not None:
        initial["category"] = interview.primary_category
    form = ActionItemForm(request.POST or None, initial=initial, creating=True)
    token = idempotency.check_form_token(request, form) if request.method == "POST" else ""
    if request.method == "POST" and form.is_valid():
        try:
            with idempotency.claimed(request, token, purpose="reports.action_create"):
                action_items.raise_action_item(
                    user=request.user, interview=interview, review_period=period, **form.service_kwargs()
                )
        except idempotency.AlreadySent:
            return idempotency.already_sent(request, redirect(_back(request, interview, period)))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Action item raised."))
            return redirect(_back(request, interview, period))
    context = {
        "form": form,
        "interview": interview,
        "period": parse_period(period),
        "source_query": f"interview={interview.pk}" if interview else f"period={period}",
        "back_url": _back(request, interview, period),
    }
    return render(request, "interviews/reports/action_form.html", context, status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@role_required(*action_items.RAISE_ROLES)
def action_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(action_items.visible_items(request.user), pk=pk)
    if not action_items.may_edit(item=item, user=request.user):
        raise PermissionDenied
    form = ActionItemForm(request.POST or None, instance=ActionItem.objects.get(pk=item.pk))
    if request.method == "POST" and form.is_valid():
        action_items.update_action_item(item=item, user=request.user, **form.service_kwargs())
        messages.success(request, _("Action item saved."))
        return redirect("reports:actions")
    context = {"form": form, "item": item, "back_url": reverse("reports:actions")}
    return render(request, "interviews/reports/action_form.html", context, status=422 if form.errors else 200)


@require_GET
@role_required(*action_items.RAISE_ROLES)
def action_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    items = action_items.visible_items(request.user).order_by("due_on", "-created_at", "pk")
    if status == "open":
        items = items.filter(status__in=[ActionStatus.OPEN, ActionStatus.IN_PROGRESS])
    elif status in ActionStatus.values:
        items = items.filter(status=status)
    filters = [("open", _("Open and under way")), *ActionStatus.choices, ("all", _("All"))]
    return render(
        request,
        "interviews/reports/actions.html",
        {"items": items, "status": status, "filters": filters},
    )
