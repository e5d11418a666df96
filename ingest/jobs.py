"""Import jobs, the upload page's files: stored, queued through the outbox, loaded by a Celery
task with progress, re-queued when their worker died, given up after `MAX_IMPORT_ATTEMPTS`."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import ImportJob, ImportStatus
from csworkbench.core import outbox
from csworkbench.core.outbox import Queued

from .cells import ErrorList
from .columns import KINDS
from .load import ImportResult, count_data_lines, load_csv

logger = logging.getLogger(__name__)


@transaction.atomic
def create_import_job(*, kind: str, upload: UploadedFile, created_by: Any) -> ImportJob:
    """Store an uploaded file as a pending job; nothing is checked or loaded yet."""
    if kind not in KINDS:
        raise ValidationError({"kind": _("Choose a kind of data.")})
    job = ImportJob(kind=kind, original_name=(upload.name or "upload.csv")[:255], created_by=created_by)
    # The stored name is ours: the uploaded one is only shown, never used as a path.
    job.file.save(f"{uuid.uuid4().hex}.csv", upload, save=False)
    job.save()
    return job


def import_task_key(job_id: int) -> str:
    """The outbox key of a job's task: one waiting row per job."""
    return f"import:{job_id}"


def start_import_job(*, job: ImportJob, language: str | None = None) -> Queued | None:
    """Queue the load of a pending job (its first attempt) once the transaction commits.

    Returns what became of the task (`Queued.waiting`: the broker is down and the task waits in
    the outbox, to be sent when it is back), or None when the job is no longer pending. Pressed
    again while the task waits, it offers the task to the broker once more. The task itself
    refuses to run a job twice."""
    with transaction.atomic():
        queued = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PENDING).update(
            status=ImportStatus.QUEUED, queued_at=timezone.now(), language=language or ""
        )
        if queued:
            return _queue_attempt(job.pk, attempt=1, language=language or "")
    key = import_task_key(job.pk)
    if ImportJob.objects.filter(pk=job.pk, status=ImportStatus.QUEUED).exists() and outbox.is_waiting(key):
        return outbox.send_waiting(key)
    return None


def _queue_attempt(job_id: int, *, attempt: int, language: str) -> Queued:
    from ingest.tasks import run_import

    return outbox.send_on_commit(
        run_import.si(job_id, language=language, attempt=attempt), key=import_task_key(job_id)
    )


def is_waiting_for_broker(job: ImportJob) -> bool:
    """A queued job whose task the broker has not taken yet (it waits in the outbox)."""
    return job.status == ImportStatus.QUEUED and outbox.is_waiting(import_task_key(job.pk))


PROGRESS_INTERVAL_SECONDS = 1.0
MAX_IMPORT_ATTEMPTS = 3  # runs interrupted by a worker's death before a job is given up


def worker_name() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"[:200]


def run_import_job(*, job_id: int, language: str | None = None, attempt: int = 1) -> ImportJob | None:
    """Check and load a queued job's file as its run number `attempt`, recording progress, the
    outcome and every error (in the uploader's `language`).

    Runs at most once per attempt: attempt N is claimed only while the job waits at N - 1 (one
    conditional UPDATE), and its load commits only while the job is still running as attempt N
    (`mark_done`), so a task delivered twice, or a late redelivery racing a re-queued attempt,
    does nothing. On PostgreSQL the job's advisory lock is held throughout: a job found running
    at this attempt with the lock free lost its worker, and is taken over as the next attempt.
    """
    with job_lock(job_id) as held:
        if not held:
            return None  # another worker is loading this job right now
        # While it runs, `finished_at` is the job's last sign of life (see `requeue_interrupted_jobs`).
        now, me = timezone.now(), worker_name()
        claimed = ImportJob.objects.filter(
            pk=job_id, status__in=(ImportStatus.PENDING, ImportStatus.QUEUED), attempt=attempt - 1
        ).update(status=ImportStatus.RUNNING, attempt=attempt, worker=me, processed_rows=0, finished_at=now)
        if (
            not claimed
            and connection.vendor == "postgresql"
            and attempt < MAX_IMPORT_ATTEMPTS
            and ImportJob.objects.filter(pk=job_id, status=ImportStatus.RUNNING, attempt=attempt).update(
                attempt=attempt + 1, worker=me, processed_rows=0, finished_at=now
            )
        ):
            # The task of a worker that died mid-way, redelivered: its transaction died with it.
            attempt, claimed = attempt + 1, 1
        if not claimed:
            return None
        return _run_claimed_job(job_id=job_id, language=language, attempt=attempt)


@contextlib.contextmanager
def job_lock(job_id: int):
    """A PostgreSQL session lock held while a job loads; it dies with the worker's connection,
    which is how a redelivered task or a restarted worker knows the first worker is gone. Other
    databases run the tasks in-process and need none."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [IMPORT_LOCK_SPACE, job_id])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [IMPORT_LOCK_SPACE, job_id])


IMPORT_LOCK_SPACE = 4711  # the advisory-lock namespace of import jobs


def _run_claimed_job(*, job_id: int, language: str | None, attempt: int) -> ImportJob:
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    with _ProgressWriter(job_id) as progress:
        return _load_job(job, language=language or job.language, progress=progress, attempt=attempt)


class _Superseded(Exception):
    """This run's job was re-queued (its worker was thought gone) or finished by another run:
    its load must not commit."""


class _ProgressWriter:
    """Records a running job's progress (and its sign of life) where the page polling it sees it
    at once. On PostgreSQL that takes a connection of its own: the load holds the default one in
    a transaction, busy streaming a metrics file's rows."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.last = 0.0
        self.side = (
            connections.create_connection(DEFAULT_DB_ALIAS) if connection.vendor == "postgresql" else None
        )

    def __enter__(self) -> _ProgressWriter:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.side is not None:
            self.side.close()

    def __call__(self, processed: int, total: int) -> None:
        now = timezone.now()
        if now.timestamp() - self.last < PROGRESS_INTERVAL_SECONDS:
            return
        self.last = now.timestamp()
        if self.side is None:
            ImportJob.objects.filter(pk=self.job_id).update(
                processed_rows=processed, total_rows=total, finished_at=now
            )
            return
        # Best effort: when the caller's own transaction holds the job's row, skip this report
        # rather than wait for a lock that is only released after the load.
        table = self.side.ops.quote_name(ImportJob._meta.db_table)
        with self.side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET processed_rows = %s, total_rows = %s, finished_at = %s "  # noqa: S608 - our table
                f"WHERE id = (SELECT id FROM {table} WHERE id = %s FOR UPDATE SKIP LOCKED)",
                [processed, total, now, self.job_id],
            )


def _load_job(job: ImportJob, *, language: str | None, progress: _ProgressWriter, attempt: int) -> ImportJob:
    job_id = job.pk
    mine = ImportJob.objects.filter(pk=job_id, status=ImportStatus.RUNNING, attempt=attempt)

    def mark_done(result: ImportResult) -> None:
        # Inside the load's transaction: a run whose job was re-queued meanwhile rolls back.
        if not mine.update(
            status=ImportStatus.DONE,
            processed_rows=result.rows,
            total_rows=result.rows,
            loaded_rows=result.loaded,
            error_count=0,
            errors=[],
            finished_at=timezone.now(),
        ):
            raise _Superseded

    with translation.override(language or None):
        try:
            with job.file.open("rb") as handle:
                total = count_data_lines(handle)
                ImportJob.objects.filter(pk=job_id).update(total_rows=total)
                result = load_csv(
                    kind=job.kind,
                    file=handle,
                    actor=job.created_by,
                    name=job.original_name,
                    via="upload",
                    progress=progress,
                    total_rows=total,
                    before_commit=mark_done,
                )
        except _Superseded:
            logger.warning("import job %s: attempt %s was superseded; nothing written", job_id, attempt)
            job.refresh_from_db()
            return job
        except Exception:
            logger.exception("import job %s failed", job_id)
            result = ImportResult(kind=job.kind)
            failure = ErrorList()
            failure.add(
                1, "", _("The file could not be loaded because of an internal error. Nothing was written.")
            )
            result.take_errors(failure)
        if not result.ok:
            mine.update(
                status=ImportStatus.FAILED,
                processed_rows=result.rows,
                total_rows=result.rows,
                loaded_rows=0,
                error_count=result.error_count,
                errors=result.errors,
                finished_at=timezone.now(),
            )
    job.refresh_from_db()
    return job


STALLED_AFTER = timedelta(minutes=30)


def is_stalled(job: ImportJob) -> bool:
    """A running job without a sign of life for `STALLED_AFTER` (see `requeue_interrupted_jobs`)."""
    seen = job.finished_at or job.created_at
    return job.status == ImportStatus.RUNNING and seen < timezone.now() - STALLED_AFTER


def requeue_interrupted_jobs(*, at_once: bool = False, job_ids: Iterable[int] | None = None) -> int:
    """Queue again (as their next attempt, from the start: a load is all or nothing) the running
    jobs whose worker is gone; give up, saying so, on a job interrupted `MAX_IMPORT_ATTEMPTS`
    times. Returns how many were re-queued or given up.

    On PostgreSQL a running job whose advisory lock is free has lost its worker (the lock died
    with its connection): a worker starting (the `worker_ready` signal) and the beat sweeper
    re-queue it at once (`at_once`); pages do it once it has shown no sign of life for
    `STALLED_AFTER`. Elsewhere only that silence tells. Each job changes with one conditional
    UPDATE on its status and attempt, under its lock, so two workers starting together re-queue
    it once, and the run it replaces could not commit even if it were still alive."""
    running = ImportJob.objects.filter(status=ImportStatus.RUNNING)
    if job_ids is not None:
        running = running.filter(pk__in=list(job_ids))
    if connection.vendor != "postgresql" or not at_once:
        cutoff = timezone.now() - STALLED_AFTER
        running = running.filter(
            models.Q(finished_at__lt=cutoff) | models.Q(finished_at__isnull=True, created_at__lt=cutoff)
        )
    changed = 0
    for job_id, attempt, language in running.values_list("pk", "attempt", "language"):
        with job_lock(job_id) as held:
            if held and _requeue_or_give_up(job_id, attempt=attempt, language=language):
                changed += 1
    return changed


def _requeue_or_give_up(job_id: int, *, attempt: int, language: str) -> bool:
    job = ImportJob.objects.filter(pk=job_id, status=ImportStatus.RUNNING, attempt=attempt)
    if attempt >= MAX_IMPORT_ATTEMPTS:
        failure = ErrorList()
        failure.add(
            1,
            "",
            _(
                "The import stopped without finishing %(attempts)s times, probably because its "
                "worker was restarted. Nothing was written. Upload the file again."
            )
            % {"attempts": attempt},
        )
        given_up = job.update(
            status=ImportStatus.FAILED,
            loaded_rows=0,
            error_count=failure.count,
            errors=failure.items,
            finished_at=timezone.now(),
        )
        return bool(given_up)
    attempt = max(attempt, 1)  # a job started before attempts were counted ran as the first
    with transaction.atomic():
        if not job.update(
            status=ImportStatus.QUEUED, attempt=attempt, queued_at=timezone.now(), worker="", processed_rows=0
        ):
            return False
        _queue_attempt(job_id, attempt=attempt + 1, language=language)
    logger.warning("import job %s: its worker stopped during attempt %s; queued again", job_id, attempt)
    return True
