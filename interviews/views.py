from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import get_account_for_user
from accounts.models import Account
from csworkbench.core import idempotency
from csworkbench.core.roles import Role, role_required, sees_health_and_revenue

from . import querysets, services
from .forms import (
    CategoryForm,
    InterviewForm,
    InviteForm,
    SubReasonForm,
    bool_choice,
    initial_for,
    sub_reason_choices,
    sub_reasons_for,
)
from .models import ExitInterview, ReasonCategory, SubReason

PAGE = "interviews/interview.html"
WORKSPACE_ROWS = 50
DONE_ROWS = 20
DRAFT_ROWS = 50


@require_GET
@role_required(Role.INTERVIEWER, Role.MANAGER)
def workspace(request: HttpRequest) -> HttpResponse:
    """The interviewer's home: accounts waiting (never the user's own), drafts, done."""
    churned, churning = querysets.awaiting_interview(request.user)
    awaiting = [*churned[:WORKSPACE_ROWS], *churning[:WORKSPACE_ROWS]][:WORKSPACE_ROWS]
    drafts = querysets.drafts_of(request.user)
    context = {
        "awaiting": awaiting,
        "awaiting_count": churned.count() + churning.count(),
        "drafts": drafts[:DRAFT_ROWS],
        "drafts_count": drafts.count(),
        "done": querysets.done_by(request.user)[:DONE_ROWS],
    }
    return render(request, "interviews/workspace.html", context)


# --- the interview form --------------------------------------------------------------------------


def load_interview(request: HttpRequest, account_pk: int) -> tuple[Account, ExitInterview | None]:
    """The account and its interview, if any: 404 for an account the user cannot see or that
    has nothing to interview, 403 for anyone but a neutral interviewer or a manager."""
    account = get_account_for_user(request, account_pk)
    interview = (
        ExitInterview.objects.select_related("interviewer", "primary_category", "sub_reason")
        .filter(account=account)
        .first()
    )
    services.check_neutral(account=account, user=request.user, interview=interview)
    if interview is None and not services.is_interviewable(account):
        raise Http404(_("This account has no exit interview to hold."))
    return account, interview


def _page_url(account: Account) -> str:
    return reverse("interviews:interview", args=[account.pk])


def _render_page(request, account, interview, *, form=None, invite_form=None, status=200) -> HttpResponse:
    can_edit = interview is None or services.may_edit(interview=interview, user=request.user)
    if can_edit and form is None:
        form = InterviewForm(interview=interview)
    if form is not None:
        form.fields["primary_category"].widget.attrs.update(_options_attrs(account))
    can_invite = can_edit and (interview is None or not interview.is_done)
    context = {
        "account": account,
        "interview": interview,
        "form": form if can_edit else None,
        "autosave": interview is None or not interview.is_done,
        "invite_form": (invite_form or InviteForm(account=account)) if can_invite else None,
        "invitations": interview.invitations.all() if interview else [],
        "secondary": interview.secondary_categories.all() if interview else [],
        "facts": _facts(account, interview, with_revenue=sees_health_and_revenue(request.user)),
    }
    return render(request, PAGE, context, status=status)


def _options_attrs(account: Account) -> dict:
    """Choosing the main reason refreshes its sub-reasons and the avoidable default."""
    return {
        "hx-get": reverse("interviews:reason_options", args=[account.pk]),
        "hx-trigger": "change",
        "hx-target": "#reason-detail",
        "hx-swap": "outerHTML",
        "hx-include": "[name='sub_reason']",
    }


def _facts(account: Account, interview: ExitInterview | None, *, with_revenue: bool) -> dict:
    """The account at churn: the interview's copy once it exists, the live account before.
    Revenue only `with_revenue` (managers, admins): interviewers see no MRR."""
    if interview is not None:
        facts = {
            "tier": interview.get_tier_at_churn_display(),
            "mrr": interview.mrr_at_churn,
            "stage": interview.get_lifecycle_stage_at_churn_display(),
            "csm": interview.csm_name_at_churn,
            "churned_on": interview.churned_on,
        }
    else:
        owner = account.owner
        facts = {
            "tier": account.get_value_tier_display(),
            "mrr": account.mrr,
            "stage": account.lifecycle_stage(account.churned_on or timezone.localdate()).label,
            "csm": (owner.get_full_name() or owner.get_username()) if owner else "",
            "churned_on": account.churned_on,
        }
    if not with_revenue:
        del facts["mrr"]
    return facts


def _save(
    request: HttpRequest, account: Account, interview: ExitInterview | None, data: dict
) -> ExitInterview:
    if interview is None:
        interview = services.start_interview(account=account, interviewer=request.user)
    return services.save_draft(interview=interview, user=request.user, changes=data)


@require_http_methods(["GET", "POST"])
def interview_page(request: HttpRequest, account_pk: int) -> HttpResponse:
    """One calm page: the five questions, then the structured fields. GET creates nothing;
    "Save draft" and "Complete interview" post here, the autosave posts next door."""
    account, interview = load_interview(request, account_pk)
    if request.method == "GET":
        return _render_page(request, account, interview)
    if interview is not None and not services.may_edit(interview=interview, user=request.user):
        raise PermissionDenied
    form = InterviewForm(request.POST, interview=interview)
    completing = request.POST.get("action") == "complete"
    if form.is_valid():
        try:
            interview = _save(request, account, interview, form.cleaned_data)
            if completing:
                interview = services.complete_interview(interview=interview, user=request.user)
        except ValidationError as error:
            form.add_error(None, error)
    if form.errors:
        return _render_page(request, account, interview, form=form, status=422)
    if completing:
        messages.success(request, _("Interview with %(account)s completed.") % {"account": account.name})
        return redirect("interviews:workspace")
    messages.success(request, _("Draft saved."))
    return redirect(_page_url(account))


@require_POST
def autosave(request: HttpRequest, account_pk: int) -> HttpResponse:
    """Keeps the draft as the interviewer types; answers HTMX with a one-line status."""
    account, interview = load_interview(request, account_pk)
    if interview is not None and not services.may_edit(interview=interview, user=request.user):
        raise PermissionDenied
    form = InterviewForm(request.POST, interview=interview)
    if form.is_valid():
        try:
            interview = _save(request, account, interview, form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
    status = 422 if form.errors else 200
    if not request.htmx:
        if status == 422:
            return _render_page(request, account, interview, form=form, status=422)
        messages.success(request, _("Draft saved."))
        return redirect(_page_url(account))
    context = {"interview": interview, "autosave_form": form, "autosave": True}
    return render(request, f"{PAGE}#autosave_status", context, status=status)


@require_GET
def reason_options(request: HttpRequest, account_pk: int) -> HttpResponse:
    """The sub-reasons of the main reason just chosen, and its avoidable default (HTMX)."""
    account, interview = load_interview(request, account_pk)
    if not request.htmx:
        return redirect(_page_url(account))
    category = ReasonCategory.objects.filter(pk=_int(request.GET.get("primary_category"))).first()
    initial = initial_for(interview) if interview else {}
    sub_reasons = list(sub_reasons_for(interview.sub_reason if interview else None))
    chosen = _int(request.GET.get("sub_reason"))
    keep = next(
        (s for s in sub_reasons if s.pk == chosen and category and s.category_id == category.pk), None
    )
    initial["sub_reason"] = keep.pk if keep else None
    initial["avoidable"] = bool_choice(category.avoidable) if category else initial.get("avoidable", "")
    form = InterviewForm(interview=interview, initial=initial)
    form.fields["sub_reason"].choices = sub_reason_choices(sub_reasons, category)
    return render(request, f"{PAGE}#reason_detail", {"form": form, "account": account})


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@require_POST
def send_survey(request: HttpRequest, account_pk: int) -> HttpResponse:
    """Email the customer a one-time link to answer the five questions themselves."""
    account, interview = load_interview(request, account_pk)
    if interview is not None and not services.may_edit(interview=interview, user=request.user):
        raise PermissionDenied
    invite_form = InviteForm(request.POST, account=account)
    token = idempotency.check_form_token(request, invite_form)
    if invite_form.is_valid():
        data = invite_form.cleaned_data
        try:
            with idempotency.claimed(request, token, purpose="interviews.send_survey"):
                if interview is None:
                    interview = services.start_interview(account=account, interviewer=request.user)
                services.send_survey(
                    interview=interview, user=request.user, email=data["email"], language=data["language"]
                )
        except idempotency.AlreadySent:
            return idempotency.already_sent(request, redirect(_page_url(account)))
        except ValidationError as error:
            invite_form.add_error(None, error.messages)
    if invite_form.errors:
        return _render_page(request, account, interview, invite_form=invite_form, status=422)
    messages.success(
        request, _("Survey link sent to %(email)s.") % {"email": invite_form.cleaned_data["email"]}
    )
    return redirect(_page_url(account))


# --- the reason taxonomy -------------------------------------------------------------------------


@require_GET
@role_required(Role.MANAGER)
def reason_list(request: HttpRequest) -> HttpResponse:
    categories = querysets.taxonomy_with_use()
    return render(request, "interviews/reasons.html", {"categories": categories})


def _taxonomy_form(request, form, *, title, action, status=200) -> HttpResponse:
    context = {"form": form, "title": title, "action": action}
    return render(request, "interviews/reason_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@role_required(Role.MANAGER)
def category_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    category = get_object_or_404(ReasonCategory, pk=pk) if pk else None
    form = CategoryForm(request.POST or None, instance=category)
    title = (
        _("Edit the reason “%(name)s”") % {"name": category.label} if category else _("New reason category")
    )
    action = request.path
    creating = request.method == "POST" and category is None
    token = idempotency.check_form_token(request, form) if creating else ""
    try:
        idempotency.ensure_unused(token)  # before the form says the key is taken (by the first)
    except idempotency.AlreadySent:
        return idempotency.already_sent(request, redirect("interviews:reasons"))
    if request.method == "POST" and form.is_valid():
        try:
            with idempotency.claimed(request, token, purpose="interviews.category", when=creating):
                saved = services.save_category(user=request.user, data=form.cleaned_data, category=category)
        except idempotency.AlreadySent:
            return idempotency.already_sent(request, redirect("interviews:reasons"))
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, _("Reason “%(name)s” saved.") % {"name": saved.label})
            return redirect("interviews:reasons")
    status = 422 if form.errors else 200
    return _taxonomy_form(request, form, title=title, action=action, status=status)


@require_http_methods(["GET", "POST"])
@role_required(Role.MANAGER)
def sub_reason_form(
    request: HttpRequest, category_pk: int | None = None, pk: int | None = None
) -> HttpResponse:
    if pk:
        sub_reason = get_object_or_404(SubReason.objects.select_related("category"), pk=pk)
        category = sub_reason.category
    else:
        category = get_object_or_404(ReasonCategory, pk=category_pk)
        sub_reason = None
    instance = sub_reason or SubReason(category=category)
    form = SubReasonForm(request.POST or None, instance=instance, category=category)
    if sub_reason:
        title = _("Edit the sub-reason “%(name)s”") % {"name": sub_reason.label}
    else:
        title = _("New sub-reason of “%(category)s”") % {"category": category.label}
    creating = request.method == "POST" and sub_reason is None
    token = idempotency.check_form_token(request, form) if creating else ""
    try:
        idempotency.ensure_unused(token)  # before the form says the key is taken (by the first)
    except idempotency.AlreadySent:
        return idempotency.already_sent(request, redirect("interviews:reasons"))
    if request.method == "POST" and form.is_valid():
        try:
            with idempotency.claimed(request, token, purpose="interviews.sub_reason", when=creating):
                saved = services.save_sub_reason(
                    user=request.user, data=form.cleaned_data, category=category, sub_reason=sub_reason
                )
        except idempotency.AlreadySent:
            return idempotency.already_sent(request, redirect("interviews:reasons"))
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, _("Sub-reason “%(name)s” saved.") % {"name": saved.label})
            return redirect("interviews:reasons")
    status = 422 if form.errors else 200
    return _taxonomy_form(request, form, title=title, action=request.path, status=status)


@require_POST
@role_required(Role.MANAGER)
def category_remove(request: HttpRequest, pk: int) -> HttpResponse:
    category = get_object_or_404(ReasonCategory, pk=pk)
    if services.remove_category(user=request.user, category=category):
        messages.success(request, _("Reason “%(name)s” deleted.") % {"name": category.label})
    else:
        messages.success(
            request,
            _("Reason “%(name)s” is used by interviews: it is switched off, not deleted.")
            % {"name": category.label},
        )
    return redirect("interviews:reasons")


@require_POST
@role_required(Role.MANAGER)
def sub_reason_remove(request: HttpRequest, pk: int) -> HttpResponse:
    sub_reason = get_object_or_404(SubReason.objects.select_related("category"), pk=pk)
    if services.remove_sub_reason(user=request.user, sub_reason=sub_reason):
        messages.success(request, _("Sub-reason “%(name)s” deleted.") % {"name": sub_reason.label})
    else:
        messages.success(
            request,
            _("Sub-reason “%(name)s” is used by interviews: it is switched off, not deleted.")
            % {"name": sub_reason.label},
        )
    return redirect("interviews:reasons")
