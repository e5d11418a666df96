"""Retention-plan pages: draft and edit, the plan with its history, submit, decide, activate,
close; the managers' approval inbox (/plans/approvals/) with the approval limits; the save rate.

Every write is one call to playbooks.plans. Decisions carry the plan's `version`, so a stale or
double-posted form changes nothing and says who acted first (409 for HTMX).
"""

from datetime import timedelta
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Exists, Min, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.access import get_account_for_change
from accounts.models import AccountStatus
from csworkbench.core import idempotency
from csworkbench.core.roles import Role, has_role, role_required

from . import plans
from .models import ApprovalPolicy, PlanApproval, PlanStatus, RetentionPlan, StepKind, Task
from .plan_forms import (
    ApprovalPolicyForm,
    CloseForm,
    DecisionForm,
    OfferFormSet,
    PlanForm,
    StepFormSet,
    VersionForm,
    rows_of,
)

READER_ROLES = (Role.CSM, Role.MANAGER, Role.ADMIN)
DRAFTER_ROLES = (Role.CSM, Role.MANAGER)  # as plans.draft_plan requires
CONFLICT = 409
INVALID = 422
PENDING_PAGE_SIZE = 25
OFFER_FIELDS = ("kind", "description", "discount_percent", "cost", "duration_months")
STEP_FIELDS = ("title", "owner_role", "due_offset_hours")


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def _int_or_404(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise Http404 from None


def _plan_for_user(request: HttpRequest, pk: int) -> RetentionPlan:
    """The plan if the user may see it, else 404."""
    return get_object_or_404(
        plans.plans_visible_to(request.user).select_related(
            "account__owner", "author", "root_cause", "root_cause_detail", "playbook", "task"
        ),
        pk=pk,
    )


def _safe_next(request: HttpRequest, default: str) -> str:
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        return next_url
    return default


# --- drafting and editing ----------------------------------------------------------------------


def _form_page(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    template = "playbooks/plans/plan_form.html"
    if request.htmx and not request.htmx.boosted:
        template += "#plan-form"
    return render(request, template, context, status=status)


def _saved(request: HttpRequest, plan: RetentionPlan, message: str) -> HttpResponse:
    url = reverse("plans:detail", args=[plan.pk])
    messages.success(request, message)
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@require_http_methods(["GET", "POST"])
@role_required(*DRAFTER_ROLES)
def create(request: HttpRequest) -> HttpResponse:
    """A new draft for an account (?account=), optionally from its retention-plan task (&task=)."""
    source = request.POST if request.method == "POST" else request.GET
    account = get_account_for_change(request, _int_or_404(source.get("account")))
    if account.status == AccountStatus.CHURNED:
        # Say what is actually wrong, on the account's page: not a role problem.
        messages.error(request, plans.churned_message(account))
        url = reverse("accounts:detail", args=[account.pk])
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    task = None
    if source.get("task"):
        task = get_object_or_404(
            Task.objects.visible_to(request.user),
            pk=_int_or_404(source.get("task")),
            account=account,
            kind=StepKind.RETENTION_PLAN,
        )
        # Back from the queue to a draft already started from this task: carry on with it.
        started = task.retention_plans.filter(
            author=request.user, status__in=(PlanStatus.DRAFT, PlanStatus.CHANGES_REQUESTED)
        ).first()
        if started is not None and request.method == "GET":
            return redirect("plans:edit", pk=started.pk)
    data = request.POST if request.method == "POST" else None
    form = PlanForm(data, initial={"target_date": timezone.localdate() + timedelta(days=30)})
    offers = OfferFormSet(data, prefix="offers")
    steps = StepFormSet(data, prefix="steps")
    context = {"form": form, "offers": offers, "steps": steps, "account": account, "task": task, "plan": None}
    if data is None:
        return _form_page(request, context)
    token = idempotency.check_form_token(request, form)
    if form.is_valid() & offers.is_valid() & steps.is_valid():
        try:
            with idempotency.claimed(request, token, purpose="plans.create") as claim:
                plan = plans.draft_plan(
                    account=account,
                    author=request.user,
                    task=task,
                    offers=rows_of(offers),
                    steps=rows_of(steps),
                    **form.cleaned_data,
                )
                claim.answer(reverse("plans:detail", args=[plan.pk]))
        except idempotency.AlreadySent as sent:
            url = sent.url or reverse("accounts:detail", args=[account.pk])
            response = HttpResponseClientRedirect(url) if request.htmx else redirect(url)
            return idempotency.already_sent(request, response)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _saved(request, plan, _("Draft saved. Submit it when it is ready for approval."))
    return _form_page(request, context, status=INVALID)


@require_http_methods(["GET", "POST"])
@role_required(*READER_ROLES)
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Only the author edits, and only a draft or a plan sent back for changes."""
    plan = _plan_for_user(request, pk)
    if plan.author_id != request.user.pk:
        raise PermissionDenied
    if not plan.is_editable:
        messages.error(
            request,
            _("This plan is %(status)s and can no longer be edited.") % {"status": plan.get_status_display()},
        )
        return redirect("plans:detail", pk=plan.pk)
    data = request.POST if request.method == "POST" else None
    form = PlanForm(
        data,
        initial={
            "root_cause": plan.root_cause_id,
            "root_cause_detail": plan.root_cause_detail_id,
            "target_date": plan.target_date,
            "diagnosis": plan.diagnosis,
            "objectives": plan.objectives,
        },
    )
    offers = OfferFormSet(data, prefix="offers", initial=list(plan.offers.values(*OFFER_FIELDS)))
    steps = StepFormSet(data, prefix="steps", initial=list(plan.steps.values(*STEP_FIELDS)))
    context = {
        "form": form,
        "offers": offers,
        "steps": steps,
        "account": plan.account,
        "task": plan.task,
        "plan": plan,
        "version": plan.version,
        # What the manager asked for when sending the plan back, shown above the form.
        "feedback": plan.events.filter(to_status=PlanStatus.CHANGES_REQUESTED)
        .select_related("actor")
        .order_by("-version")
        .first(),
    }
    if data is None:
        return _form_page(request, context)
    version = VersionForm({"version": request.POST.get("version")})
    status = INVALID
    if version.is_valid() & form.is_valid() & offers.is_valid() & steps.is_valid():
        try:
            plan = plans.update_plan(
                plan=plan,
                author=request.user,
                offers=rows_of(offers),
                steps=rows_of(steps),
                expected_version=version.cleaned_data["version"],
                **form.cleaned_data,
            )
        except plans.PlanConflict as error:
            form.add_error(None, error)
            status = CONFLICT
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _saved(request, plan, _("Plan saved."))
    elif not version.is_valid():
        form.add_error(None, _("The form is out of date: reload the page."))
    return _form_page(request, context, status=status)


# --- the plan ----------------------------------------------------------------------------------


def detail_context(request: HttpRequest, plan: RetentionPlan, *, flash: str = "", error: str = "") -> dict:
    user = request.user
    offers = list(plan.offers.all())
    approvals = list(plan.approvals.select_related("approver"))
    events = list(plan.events.select_related("actor"))
    # Approvals count for the version that was submitted: approving moves the plan on a version,
    # so comparing with the current one showed an approved plan as "0 of 1".
    submitted = [event.version for event in events if event.to_status == PlanStatus.SUBMITTED]
    round_version = plan.version if plan.status == PlanStatus.SUBMITTED or not submitted else max(submitted)
    this_round = [a for a in approvals if a.version == round_version]
    is_author = plan.author_id == user.pk
    is_manager = has_role(user, Role.MANAGER)
    may_run = is_author or has_role(user, Role.MANAGER, Role.ADMIN)
    return {
        "plan": plan,
        "account": plan.account,
        "offers": offers,
        "total_cost": sum((offer.cost for offer in offers), start=Decimal(0)),
        "steps": list(plan.steps.select_related("task__assignee")),
        "approvals": approvals,
        "approvals_given": len(this_round),
        "events": events,
        "is_author": is_author,
        "can_edit": is_author and plan.is_editable,
        "can_decide": (
            is_manager
            and not is_author
            and plan.status == PlanStatus.SUBMITTED
            and all(a.approver_id != user.pk for a in this_round)
        ),
        "can_activate": may_run and plan.status == PlanStatus.APPROVED,
        "can_close": may_run and plan.status == PlanStatus.ACTIVE,
        "close_form": CloseForm(initial={"version": plan.version}),
        "decision_form": DecisionForm(),
        "now": timezone.now(),
        "flash": flash,
        "error": error,
    }


@require_GET
@role_required(*READER_ROLES)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_for_user(request, pk)
    template = "playbooks/plans/plan_detail.html"
    if request.htmx and not request.htmx.boosted:
        template += "#plan"
    return render(request, template, detail_context(request, plan))


def _plan_response(
    request: HttpRequest, plan: RetentionPlan, *, flash: str = "", error: str = "", status: int = 200
) -> HttpResponse:
    """After an action on the plan page: the refreshed plan for HTMX, else POST/redirect/GET."""
    if request.htmx:
        plan = _plan_for_user(request, plan.pk)
        context = detail_context(request, plan, flash=flash, error=error)
        return render(request, "playbooks/plans/plan_detail.html#plan", context, status=status)
    if error:
        messages.error(request, error)
    elif flash:
        messages.success(request, flash)
    return redirect("plans:detail", pk=plan.pk)


def _transition(request: HttpRequest, pk: int, form_class, action, flash) -> HttpResponse:
    plan = _plan_for_user(request, pk)
    form = form_class(request.POST)
    if not form.is_valid():
        errors = "; ".join(" ".join(errs) for errs in form.errors.values())
        return _plan_response(request, plan, error=errors, status=INVALID)
    data = form.cleaned_data
    try:
        moved = action(plan, data)
    except plans.PlanConflict as error:
        return _plan_response(request, plan, error=_error_text(error), status=CONFLICT)
    except ValidationError as error:
        return _plan_response(request, plan, error=_error_text(error), status=INVALID)
    return _plan_response(request, moved, flash=flash(moved))


@require_POST
@role_required(*READER_ROLES)
def submit(request: HttpRequest, pk: int) -> HttpResponse:
    def action(plan, data):
        return plans.submit_plan(
            plan=plan, user=request.user, comment=data["comment"], expected_version=data["version"]
        )

    def flash(plan):
        if plan.status == PlanStatus.APPROVED:
            return _("Within the approval limits: the plan is approved and its next steps are tasks.")
        return _("Submitted for approval. Your manager has been notified.")

    return _transition(request, pk, VersionForm, action, flash)


@require_POST
@role_required(*READER_ROLES)
def activate(request: HttpRequest, pk: int) -> HttpResponse:
    def action(plan, data):
        return plans.activate_plan(
            plan=plan, user=request.user, comment=data["comment"], expected_version=data["version"]
        )

    return _transition(request, pk, VersionForm, action, lambda plan: _("The plan is active."))


@require_POST
@role_required(*READER_ROLES)
def close(request: HttpRequest, pk: int) -> HttpResponse:
    def action(plan, data):
        return plans.close_plan(
            plan=plan,
            user=request.user,
            outcome=data["outcome"],
            comment=data["comment"],
            expected_version=data["version"],
        )

    def flash(plan):
        return _("The plan is closed: %(outcome)s.") % {"outcome": plan.get_outcome_display()}

    return _transition(request, pk, CloseForm, action, flash)


# --- deciding: the approval inbox --------------------------------------------------------------


def _inbox(user):
    """The pending plans, each marked when this manager has already given the first approval."""
    mine = PlanApproval.objects.filter(plan=OuterRef("pk"), version=OuterRef("version"), approver=user)
    return plans.pending_for(user).annotate(approved_by_me=Exists(mine))


def approval_counts(user) -> dict:
    """The inbox's count strip, in one aggregate."""
    summary = _inbox(user).aggregate(
        total=Count("pk"), second=Count("pk", filter=Q(approvals_given__gt=0)), oldest=Min("submitted_at")
    )
    return {
        "pending_count": summary["total"],
        "waiting_second": summary["second"],
        "oldest": summary["oldest"],
        "now": timezone.now(),
    }


def approvals_context(request: HttpRequest, *, policy_form: ApprovalPolicyForm | None = None) -> dict:
    inbox = _inbox(request.user)
    page = Paginator(inbox, PENDING_PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "pending": list(page.object_list),
        "page": page,
        **approval_counts(request.user),
        "can_decide": has_role(request.user, Role.MANAGER),
        "decision_form": DecisionForm(),
        "policy_form": policy_form or ApprovalPolicyForm(instance=ApprovalPolicy.current()),
    }


@require_GET
@role_required(Role.MANAGER, Role.ADMIN)
def approvals(request: HttpRequest) -> HttpResponse:
    """The manager's home: submitted plans, oldest first, with what is at stake; decide in the row."""
    template = "playbooks/plans/approvals.html"
    if request.htmx and not request.htmx.boosted:
        template += "#inbox"
    return render(request, template, approvals_context(request))


@require_POST
@role_required(Role.MANAGER)
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_for_user(request, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _decision_response(request, plan, form=form, status=INVALID)
    decision, comment, version = (form.cleaned_data[k] for k in ("decision", "comment", "version"))
    service = {
        DecisionForm.APPROVE: plans.approve_plan,
        DecisionForm.CHANGES: plans.request_changes,
        DecisionForm.REJECT: plans.reject_plan,
    }[decision]
    try:
        decided = service(plan=plan, manager=request.user, comment=comment, expected_version=version)
    except plans.PlanConflict as error:
        return _decision_response(request, plan, error=_error_text(error), status=CONFLICT)
    except ValidationError as error:
        form.add_error(None, error)
        return _decision_response(request, plan, form=form, status=INVALID)
    names = {
        "account": decided.account,
        "author": decided.author.get_full_name() or decided.author.get_username(),
        "count": decided.steps.count(),
    }
    if decided.status == PlanStatus.SUBMITTED:  # the first of two approvals
        flash = _("Your approval of the plan for %(account)s is recorded; a second manager completes it.")
    elif decided.status == PlanStatus.APPROVED:
        flash = ngettext(
            "Approved: the plan for %(account)s. %(count)s next step is now a task.",
            "Approved: the plan for %(account)s. %(count)s next steps are now tasks.",
            names["count"],
        )
    elif decided.status == PlanStatus.CHANGES_REQUESTED:
        flash = _("Sent back for changes: the plan for %(account)s. %(author)s has been told.")
    else:
        flash = _("Rejected: the plan for %(account)s. %(author)s has been told.")
    flash %= names
    return _decision_response(request, decided, flash=flash)


def _decision_response(
    request: HttpRequest,
    plan: RetentionPlan,
    *,
    flash: str = "",
    error: str = "",
    form: DecisionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """HTMX: the row becomes a status line (or comes back with the form's errors). Otherwise
    POST/redirect/GET to the inbox, or to the plan page the form came from."""
    if request.htmx:
        if form is not None:
            row = _inbox(request.user).filter(pk=plan.pk).first()
            if row is not None:
                context = {"plan": row, "decision_form": form, "can_decide": True, "now": timezone.now()}
                return render(request, "playbooks/plans/approvals.html#pending-row", context, status=status)
            error = plans.conflict_message(plan)
            status = CONFLICT
        # The row becomes a status line; the counts above the list are sent along, out of band.
        context = {"plan": plan, "flash": flash, "error": error, "oob": True, **approval_counts(request.user)}
        return render(request, "playbooks/plans/approvals.html#decided", context, status=status)
    if form is not None:
        error = "; ".join(" ".join(errs) for errs in form.errors.values())
    if error:
        messages.error(request, error)
    elif flash:
        messages.success(request, flash)
    return redirect(_safe_next(request, reverse("playbooks:approvals")))


@require_POST
@role_required(Role.MANAGER, Role.ADMIN)
def approval_policy(request: HttpRequest) -> HttpResponse:
    """The approval limits, edited in their section of the inbox."""
    form = ApprovalPolicyForm(request.POST, instance=ApprovalPolicy.current())
    if form.is_valid():
        try:
            plans.update_approval_policy(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
    if form.errors:
        if request.htmx:
            return render(
                request, "playbooks/plans/approvals.html#limits", {"policy_form": form}, status=INVALID
            )
        return render(
            request,
            "playbooks/plans/approvals.html",
            approvals_context(request, policy_form=form),
            status=INVALID,
        )
    flash = _("The approval limits are saved.")
    if request.htmx:
        fresh = ApprovalPolicyForm(instance=ApprovalPolicy.current())
        return render(
            request, "playbooks/plans/approvals.html#limits", {"policy_form": fresh, "policy_flash": flash}
        )
    messages.success(request, flash)
    return redirect("playbooks:approvals")


# --- reporting ---------------------------------------------------------------------------------


@require_GET
@role_required(Role.MANAGER, Role.ADMIN)
def save_rate(request: HttpRequest) -> HttpResponse:
    """Closed plans' outcomes by playbook, offer and risk level, over the plans the user sees."""
    rates = plans.save_rates(plans.plans_visible_to(request.user))
    # Every closed plan has exactly one risk level (or none), so these rows add up to the whole.
    total = {
        key: sum(row[key] for row in rates["risk"]) for key in ("total", "saved", "downgraded", "churned")
    }
    total["save_rate"] = round(100 * total["saved"] / total["total"]) if total["total"] else None
    total["kept_rate"] = (
        round(100 * (total["saved"] + total["downgraded"]) / total["total"]) if total["total"] else None
    )
    sections = [
        ("by-playbook", _("By playbook"), _("Playbook"), rates["playbook"]),
        ("by-offer", _("By offer"), _("Offer"), rates["offer"]),
        ("by-risk", _("By risk level"), _("Risk level"), rates["risk"]),
    ]
    return render(request, "playbooks/plans/save_rate.html", {"total": total, "sections": sections})
