"""The upload page for managers and admins: upload a CSV file, preview it, load it in the
background and watch its progress; download the error report of a rejected file."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.models import ImportJob, ImportKind, ImportStatus
from csworkbench.core.csv_response import csv_download, neutralise
from csworkbench.core.roles import Role, has_role, role_required

from .jobs import (
    create_import_job,
    is_stalled,
    is_waiting_for_broker,
    requeue_interrupted_jobs,
    start_import_job,
)
from .load import preview_csv

IMPORT_ROLES = (Role.MANAGER, Role.ADMIN)
RECENT_JOBS = 50
ERRORS_SHOWN = 50


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the file holds"), choices=ImportKind.choices)
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy("UTF-8, comma-separated, with the column names on the first line."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s; files up to %(limit)s can be loaded.")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(settings.IMPORT_MAX_BYTES)}
            )
        return upload


def jobs_visible_to(user) -> QuerySet[ImportJob]:
    """Managers and admins see every import; nobody else sees any."""
    if has_role(user, *IMPORT_ROLES):
        return ImportJob.objects.all()
    return ImportJob.objects.none()


def get_job_for_user(request: HttpRequest, pk: int) -> ImportJob:
    return get_object_or_404(jobs_visible_to(request.user).select_related("created_by"), pk=pk)


@require_http_methods(["GET", "POST"])
@role_required(*IMPORT_ROLES)
def import_list(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST, request.FILES) if request.method == "POST" else ImportUploadForm()
    if form.is_bound and form.is_valid():
        job = create_import_job(
            kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"], created_by=request.user
        )
        return redirect("imports:detail", pk=job.pk)
    jobs = jobs_visible_to(request.user).select_related("created_by").order_by("-created_at", "-pk")
    recent = list(jobs[:RECENT_JOBS])
    stalled = [job.pk for job in recent if is_stalled(job)]
    if stalled and requeue_interrupted_jobs(job_ids=stalled):
        recent = list(jobs[:RECENT_JOBS])
    status = 422 if form.errors else 200
    return render(request, "ingest/import_list.html", {"form": form, "jobs": recent}, status=status)


def progress_context(job: ImportJob) -> dict:
    # Only a queued or loading job changes by itself; a pending one waits for the user's "Load".
    running = job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)
    percent = round(100 * job.processed_rows / job.total_rows) if job.total_rows else 0
    return {
        "job": job,
        "running": running,
        "waiting_for_broker": is_waiting_for_broker(job),
        "restarted": job.attempt > 1 or (job.status == ImportStatus.QUEUED and job.attempt >= 1),
        "next_attempt": job.attempt + 1,
        "percent": min(percent, 100),
        "errors_shown": job.errors[:ERRORS_SHOWN] if job.status == ImportStatus.FAILED else [],
    }


@require_http_methods(["GET"])
@role_required(*IMPORT_ROLES)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for_user(request, pk)
    if is_stalled(job) and requeue_interrupted_jobs(job_ids=[job.pk]):
        job.refresh_from_db()
    context = progress_context(job)
    if job.status == ImportStatus.PENDING:
        # Read again on every look: the first rows of a file are cheap, and a job has no other
        # place to keep them.
        with job.file.open("rb") as handle:
            preview = preview_csv(kind=job.kind, file=handle)
        context["preview"] = preview
        context["preview_rows"] = [list(zip(preview.header, row, strict=True)) for row in preview.rows]
    template = "ingest/import_detail.html"
    if request.htmx:
        template += "#progress"
    return render(request, template, context)


@require_http_methods(["POST"])
@role_required(*IMPORT_ROLES)
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for_user(request, pk)
    queued = start_import_job(job=job, language=get_language())
    if queued is not None and queued.waiting:
        # The job is committed; its task waits in the outbox and goes when the broker is back.
        messages.warning(
            request,
            _(
                "Queued: waiting for the background worker, which is not reachable right now. "
                "The load will start automatically when it is back."
            ),
        )
    elif queued is not None:
        job.refresh_from_db(fields=["status"])
        # Without a broker (the demo) the load has already run by now: say how it ended.
        if job.status == ImportStatus.DONE:
            messages.success(request, _("The file is loaded."))
        elif job.status == ImportStatus.FAILED:
            messages.error(request, _("The file was rejected; nothing was loaded. The errors are below."))
        else:
            messages.success(request, _("Loading started. This page shows its progress."))
    elif job.status in (ImportStatus.DONE, ImportStatus.FAILED):
        messages.info(request, _("This file has already been loaded or rejected."))
    else:
        messages.info(request, _("This file is already queued or loading. This page shows its progress."))
    return redirect("imports:detail", pk=job.pk)


@require_http_methods(["GET"])
@role_required(*IMPORT_ROLES)
def import_errors(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    job = get_job_for_user(request, pk)
    rows = [["line", "column", "reason"]]
    rows += [
        [str(error["line"]), neutralise(error["column"]), neutralise(error["reason"])] for error in job.errors
    ]
    return csv_download(rows, filename=f"import-{job.pk}-errors.csv")
