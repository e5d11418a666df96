from contextlib import nullcontext

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import get_account_for_change
from accounts.models import Account, RiskLevel
from accounts.services import log_touchpoint
from csworkbench.core import idempotency
from csworkbench.core.roles import Role, has_role, role_required

from . import matrix as matrix_reads
from . import queue, services
from .business_time import SlaUnit
from .forms import (
    CompleteTaskForm,
    MatrixRowForm,
    PlaybookForm,
    QuickTouchpointForm,
    ReassignForm,
    SnoozeForm,
    StartPlaybookForm,
    StepFormSet,
    snooze_until,
)
from .models import MatrixRow, Playbook, PlaybookStep, Task
from .risk import compare_risk

QUEUE_PAGE_SIZE = 50
BREACH_PAGE_SIZE = 25
# Someone acted first (or the state forbids it): the refreshed list comes back with the message.
# 422, not 409, because base.html's htmx config swaps 2xx and 422 answers only.
CONFLICT = 422
WORKER_ROLES = (Role.CSM, Role.MANAGER, Role.ADMIN)


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


# --- My queue ----------------------------------------------------------------------------------


def queue_context(request: HttpRequest, *, flash: str = "", error: str = "") -> dict:
    now = timezone.now()
    user = request.user
    page = Paginator(queue.queue_tasks(user, now=now), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    tasks = list(page.object_list)
    unattended = list(queue.unattended_accounts(user)[: queue.UNATTENDED_LIMIT])
    reasons = queue.top_reasons([t.account_id for t in tasks] + [a.pk for a in unattended])
    matrix = {row.risk_level: row.playbook_id for row in MatrixRow.objects.all()}
    for task in tasks:
        task.top_reason = reasons.get(task.account_id)
        task.is_overdue = task.due_at < now
    for account in unattended:
        account.top_reason = reasons.get(account.pk)
        # The same response the account page offers: today's tier when it is worse than the
        # level being worked (nobody has answered it yet), else the level.
        account.suggested_playbook = matrix.get(compare_risk(account).response_level or "medium")
    return {
        "page": page,
        "tasks": tasks,
        "unattended": unattended,
        "counts": queue.queue_counts(user, now=now),
        "now": now,
        "outcome_form": CompleteTaskForm(),
        "snooze_form": SnoozeForm(),
        "touch_form": QuickTouchpointForm(),
        "playbook_choices": [(p.pk, p.name) for p in StartPlaybookForm().fields["playbook"].queryset],
        "flash": flash,
        "error": error,
    }


@require_GET
@role_required(Role.CSM, Role.MANAGER)
def my_queue(request: HttpRequest) -> HttpResponse:
    """The CSM's home: what to do next, most urgent first. Managers work the tasks assigned to
    them (a squad's CS-lead and executive steps, a plan's next steps) here too."""
    template = "playbooks/queue.html"
    if request.htmx and not request.htmx.boosted:
        template += "#queue"
    return render(request, template, queue_context(request))


def _queue_response(
    request: HttpRequest, *, flash: str = "", error: str = "", status: int = 200
) -> HttpResponse:
    """After an action: the refreshed queue for HTMX, or back to the page (POST/redirect/GET)."""
    if request.htmx:
        context = queue_context(request, flash=flash, error=error)
        return render(request, "playbooks/queue.html#queue", context, status=status)
    if error:
        messages.error(request, error)
    elif flash:
        messages.success(request, flash)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = reverse("playbooks:queue")
    return redirect(next_url)


def _task_for_change(request: HttpRequest, pk: int) -> Task:
    task = get_object_or_404(
        Task.objects.visible_to(request.user).select_related("account", "assignee"), pk=pk
    )
    return task


@require_POST
@role_required(*WORKER_ROLES)
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_for_change(request, pk)
    form = CompleteTaskForm(request.POST)
    if not form.is_valid():
        return _queue_response(request, error=_("Choose an outcome to mark the task done."), status=422)
    try:
        services.complete_task(
            task=task, user=request.user, outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"]
        )
    except ValidationError as error:
        return _queue_response(request, error=_error_text(error), status=CONFLICT)
    return _queue_response(
        request, flash=_("Done: %(task)s (%(account)s).") % {"task": task, "account": task.account}
    )


@require_POST
@role_required(*WORKER_ROLES)
def task_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_for_change(request, pk)
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        return _queue_response(request, error=_("Choose how long to snooze."), status=422)
    calendar = services.calendar_for(task.assignee or request.user)
    until = snooze_until(form.cleaned_data["until"], now=timezone.now(), calendar=calendar)
    try:
        services.snooze_task(task=task, user=request.user, until=until)
    except ValidationError as error:
        return _queue_response(request, error=_error_text(error), status=CONFLICT)
    local = timezone.localtime(until)
    return _queue_response(
        request,
        # The date as every other date in the app: the reader's language's format.
        flash=_("Snoozed until %(when)s: %(task)s.")
        % {"when": date_format(local, "SHORT_DATETIME_FORMAT"), "task": task},
    )


@require_POST
@role_required(*WORKER_ROLES)
def task_touchpoint(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a call (or a note) on the task's account without leaving the queue."""
    task = _task_for_change(request, pk)
    if not Account.objects.editable_by(request.user).filter(pk=task.account_id).exists():
        raise PermissionDenied
    form = QuickTouchpointForm(request.POST)
    token = idempotency.check_form_token(request, form)
    if not form.is_valid():
        errors = "; ".join(
            f"{form.fields[name].label}: {' '.join(errs)}" if name in form.fields else " ".join(errs)
            for name, errs in form.errors.items()
        )
        return _queue_response(request, error=errors, status=422)
    try:
        with idempotency.claimed(request, token, purpose="playbooks.task_touchpoint"):
            log_touchpoint(account=task.account, author=request.user, **form.cleaned_data)
    except idempotency.AlreadySent:
        return _queue_response(request, flash=str(idempotency.ALREADY_SENT))
    return _queue_response(
        request,
        flash=_("Logged on %(account)s: %(subject)s.")
        % {
            "account": task.account,
            "subject": form.cleaned_data["subject"],
        },
    )


@require_POST
@role_required(*WORKER_ROLES)
def task_signoff(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_for_change(request, pk)
    try:
        services.request_signoff(task=task, user=request.user)
    except ValidationError as error:
        return _queue_response(request, error=_error_text(error), status=CONFLICT)
    return _queue_response(
        request, flash=_("Sign-off requested from your CS lead: %(task)s.") % {"task": task}
    )


@require_POST
@role_required(*WORKER_ROLES)
def start_playbook(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_account_for_change(request, pk)
    form = StartPlaybookForm(request.POST)
    if not form.is_valid():
        return _queue_response(request, error=_("Choose a playbook to start."), status=422)
    playbook = form.cleaned_data["playbook"]
    try:
        run = services.start_playbook(account=account, playbook=playbook, started_by=request.user)
    except ValidationError as error:
        return _queue_response(request, error=_error_text(error), status=CONFLICT)
    count = run.tasks.count()
    return _queue_response(
        request,
        flash=_("Started “%(playbook)s” on %(account)s: %(count)s task(s) created.")
        % {"playbook": playbook, "account": account, "count": count},
    )


# --- Team queue --------------------------------------------------------------------------------


@require_GET
@role_required(Role.MANAGER)
def team_queue(request: HttpRequest) -> HttpResponse:
    """Breaches, sign-off requests and the load per CSM, with reassignment in the row."""
    template = "playbooks/team_queue.html"
    if request.htmx and not request.htmx.boosted:
        template += "#team"
    return render(request, template, team_context(request))


def team_context(request: HttpRequest, *, flash: str = "", error: str = "") -> dict:
    now = timezone.now()
    members = queue.team_members(request.user)
    breaches = Paginator(queue.breached_tasks(request.user, now=now), BREACH_PAGE_SIZE)
    page = breaches.get_page(request.GET.get("page"))
    reassign_form = ReassignForm(assignees=members | queue.User.objects.filter(pk=request.user.pk))
    return {
        "now": now,
        "breached": list(page.object_list),
        "breached_count": breaches.count,
        "breach_page": page,
        "signoffs": list(queue.signoff_requests(request.user)[:50]),
        "load": queue.team_load(request.user, now=now),
        "assignee_choices": [
            (user.pk, user.get_full_name() or user.username)
            for user in reassign_form.fields["assignee"].queryset
        ],
        "outcome_form": CompleteTaskForm(),
        "flash": flash,
        "error": error,
    }


@require_POST
@role_required(Role.MANAGER)
def task_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_for_change(request, pk)
    members = queue.team_members(request.user) | queue.User.objects.filter(pk=request.user.pk)
    form = ReassignForm(request.POST, assignees=members)
    if form.is_valid():
        try:
            services.reassign_task(task=task, manager=request.user, assignee=form.cleaned_data["assignee"])
        except ValidationError as error:
            return _team_response(request, error=_error_text(error), status=CONFLICT)
        who = form.cleaned_data["assignee"]
        return _team_response(
            request,
            flash=_("%(task)s now with %(user)s.") % {"task": task, "user": who.get_full_name() or who},
        )
    return _team_response(request, error=_("Choose someone in your team."), status=422)


@require_POST
@role_required(Role.MANAGER)
def task_signoff_done(request: HttpRequest, pk: int) -> HttpResponse:
    """A CS lead signs off a step that needs approval."""
    task = _task_for_change(request, pk)
    form = CompleteTaskForm(request.POST)
    if not form.is_valid():
        return _team_response(request, error=_("Choose an outcome to sign the step off."), status=422)
    try:
        services.complete_task(
            task=task, user=request.user, outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"]
        )
    except ValidationError as error:
        return _team_response(request, error=_error_text(error), status=CONFLICT)
    return _team_response(request, flash=_("Signed off: %(task)s.") % {"task": task})


def _team_response(
    request: HttpRequest, *, flash: str = "", error: str = "", status: int = 200
) -> HttpResponse:
    if request.htmx:
        return render(
            request,
            "playbooks/team_queue.html#team",
            team_context(request, flash=flash, error=error),
            status=status,
        )
    if error:
        messages.error(request, error)
    elif flash:
        messages.success(request, flash)
    return redirect("playbooks:team_queue")


# --- Intervention matrix and playbooks ---------------------------------------------------------

MATRIX_ORDER = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}


@require_GET
@role_required(Role.CSM, Role.MANAGER, Role.ADMIN)
def matrix(request: HttpRequest) -> HttpResponse:
    steps = PlaybookStep.objects.select_related("email_template").order_by("position")
    rows = sorted(
        MatrixRow.objects.select_related("playbook", "updated_by").prefetch_related(
            Prefetch("playbook__steps", queryset=steps)
        ),
        key=lambda row: MATRIX_ORDER.get(row.risk_level, 9),
    )
    return render(
        request,
        "playbooks/matrix.html",
        {"rows": rows, "can_edit": has_role(request.user, Role.MANAGER), "playbooks": Playbook.objects.all()},
    )


def _proposed_response(row: MatrixRow, data) -> tuple[int | None, str | None]:
    """The response time typed into the edit form, for the preview of what it would change;
    anything unusable previews the saved value."""
    try:
        amount = int(data.get("response_amount", ""))
    except ValueError:
        amount = None
    unit = data.get("response_unit")
    return (amount if amount and 0 < amount <= 32767 else None), (unit if unit in SlaUnit.values else None)


@require_http_methods(["GET", "POST"])
@role_required(Role.MANAGER)
def matrix_edit(request: HttpRequest, risk_level: str) -> HttpResponse:
    row = get_object_or_404(MatrixRow, risk_level=risk_level)
    before = (row.response_amount, row.response_unit)
    form = MatrixRowForm(request.POST or None, instance=row)
    if request.method == "GET" and request.htmx:  # the preview follows what is typed
        amount, unit = _proposed_response(row, request.GET)
        impact = matrix_reads.impact_of(row, amount=amount, unit=unit)
        return render(request, "playbooks/matrix_edit.html#impact", {"row": row, "impact": impact})
    if request.method == "POST":
        if form.is_valid():
            row = services.update_matrix_row(row=form.instance, user=request.user, changed=form.changed_data)
            impact = matrix_reads.impact_of(row)
            message = _("The %(level)s risk row is saved.") % {"level": row.get_risk_level_display()}
            if (row.response_amount, row.response_unit) != before and impact.reaches_anything:
                message += " " + _(
                    "New tasks from %(steps)s and %(rules)s are now due within %(amount)s %(unit)s."
                ) % {
                    "steps": ngettext(
                        "%(count)s playbook step", "%(count)s playbook steps", len(impact.following)
                    )
                    % {"count": len(impact.following)},
                    "rules": ngettext("%(count)s rule", "%(count)s rules", len(impact.rules))
                    % {"count": len(impact.rules)},
                    "amount": row.response_amount,
                    "unit": row.get_response_unit_display(),
                }
            messages.success(request, message)
            return redirect("playbooks:matrix")
        amount, unit = _proposed_response(row, request.POST)
        row.response_amount, row.response_unit = before  # the invalid values stay in the form only
        context = {"form": form, "row": row, "impact": matrix_reads.impact_of(row, amount=amount, unit=unit)}
        return render(request, "playbooks/matrix_edit.html", context, status=422)
    context = {"form": form, "row": row, "impact": matrix_reads.impact_of(row)}
    return render(request, "playbooks/matrix_edit.html", context)


@require_http_methods(["GET", "POST"])
@role_required(Role.MANAGER)
def playbook_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    playbook = get_object_or_404(Playbook, pk=pk) if pk else Playbook()
    form = PlaybookForm(request.POST or None, instance=playbook, prefix="playbook")
    steps = StepFormSet(request.POST or None, instance=playbook, prefix="steps")
    if request.method == "POST":
        # Saving an existing playbook twice is harmless; creating one twice is not.
        token = idempotency.check_form_token(request, form) if pk is None else ""
        try:
            idempotency.ensure_unused(token)  # before the form says the name is taken (by the first)
        except idempotency.AlreadySent:
            return idempotency.already_sent(request, redirect("playbooks:matrix"))
        if form.is_valid() and steps.is_valid() and steps.check_due_times(form.cleaned_data["risk_level"]):
            try:
                guard = (
                    idempotency.claimed(request, token, purpose="playbooks.create")
                    if token
                    else nullcontext()
                )
                with guard:
                    playbook = services.save_playbook(form=form, steps=steps, user=request.user)
            except idempotency.AlreadySent:
                return idempotency.already_sent(request, redirect("playbooks:matrix"))
            messages.success(request, _("Playbook “%(name)s” saved.") % {"name": playbook.name})
            return redirect("playbooks:matrix")
        return render(
            request, "playbooks/playbook_edit.html", _playbook_context(form, steps, playbook), status=422
        )
    return render(request, "playbooks/playbook_edit.html", _playbook_context(form, steps, playbook))


def _playbook_context(form: PlaybookForm, steps: StepFormSet, playbook: Playbook) -> dict:
    rows = sorted(MatrixRow.objects.all(), key=lambda row: MATRIX_ORDER.get(row.risk_level, 9))
    return {"form": form, "steps": steps, "playbook": playbook, "matrix_rows": rows}
