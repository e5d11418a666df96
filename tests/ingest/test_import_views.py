"""The upload page: upload, preview, load in the background, progress, error report."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import ImportJob
from csworkbench.core.models import AuditEvent
from health.models import DailyMetric
from ingest.jobs import run_import_job
from tests.factories import AccountFactory, UserFactory

LIST = reverse("imports:list")
YESTERDAY = (timezone.localdate() - timedelta(days=1)).isoformat()
GOOD = (
    "account,date,logins,nps\n"
    + "".join(
        f"ACME-1,{(timezone.localdate() - timedelta(days=n)).isoformat()},{n},8\n" for n in range(1, 13)
    )
).encode()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def forget_celery_connections():
    """An eager `.delay()` still builds Celery's producer pool for the broker configured now (none);
    drop it so a later test that points Celery at a real broker does not publish into it."""
    yield
    from csworkbench.celery import app

    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None
    app._pool = None


@pytest.fixture
def acme(db):
    return AccountFactory(external_id="ACME-1")


def upload(client, content: bytes, kind: str = "metrics", name: str = "metrics.csv"):
    return client.post(LIST, {"kind": kind, "file": SimpleUploadedFile(name, content, "text/csv")})


def make_job(user, content: bytes = GOOD, kind: str = "metrics", **fields) -> ImportJob:
    job = ImportJob(kind=kind, original_name="upload.csv", created_by=user, **fields)
    job.file.save("upload.csv", io.BytesIO(content), save=False)
    job.save()
    return job


def test_a_manager_uploads_previews_and_loads_a_file(
    client_for, maria_manager, acme, django_capture_on_commit_callbacks
):
    client = client_for(maria_manager)
    response = upload(client, GOOD)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:detail", args=[job.pk])
    assert (job.status, job.kind, job.original_name, job.created_by) == (
        "pending",
        "metrics",
        "metrics.csv",
        maria_manager,
    )
    assert not DailyMetric.objects.exists()

    preview = client.get(response["Location"])
    content = preview.content.decode()
    assert '<th scope="col">account</th>' in content
    assert content.count(">ACME-1</td>") == 10  # the first ten rows only
    assert "Load this file" in content

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        confirmed = client.post(reverse("imports:confirm", args=[job.pk]))
    assert confirmed.status_code == 302
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert (job.status, job.loaded_rows, job.total_rows, job.processed_rows, job.error_count) == (
        "done",
        12,
        12,
        12,
        0,
    )
    assert job.finished_at is not None
    assert DailyMetric.objects.count() == 12
    assert AuditEvent.objects.get(action="import").actor == maria_manager

    done = client.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "12 rows loaded." in done
    assert "hx-trigger" not in done  # finished: no more polling
    assert "Load this file" not in done


def test_confirming_twice_loads_once(client_for, maria_manager, acme, django_capture_on_commit_callbacks):
    job = make_job(maria_manager)
    client = client_for(maria_manager)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:confirm", args=[job.pk]))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("imports:confirm", args=[job.pk]), follow=True)
    assert callbacks == []
    assert "already been loaded" in response.content.decode()
    assert run_import_job(job_id=job.pk) is None  # a task delivered twice does nothing
    assert DailyMetric.objects.count() == 12


def test_a_bad_file_is_rejected_with_its_errors_and_an_error_report(
    client_for, ada_admin, acme, django_capture_on_commit_callbacks
):
    content = GOOD + b"ACME-1,2025-01-01,=cmd|' /C calc'!A0,8\nNOPE,2025-01-02,1,99\n"
    job = make_job(ada_admin, content)
    client = client_for(ada_admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:confirm", args=[job.pk]))
    job.refresh_from_db()
    assert (job.status, job.error_count, job.loaded_rows) == ("failed", 3, 0)
    assert [(e["line"], e["column"]) for e in job.errors] == [(14, "logins"), (15, "account"), (15, "nps")]
    assert not DailyMetric.objects.exists()

    page = client.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "rejected because of 3 errors" in page
    assert "Unknown account “NOPE”." in page
    assert reverse("imports:errors", args=[job.pk]) in page

    report = client.get(reverse("imports:errors", args=[job.pk]))
    assert report["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert rows[0] == ["line", "column", "reason"]
    assert rows[1][:2] == ["14", "logins"]
    assert rows[1][2].startswith("“=cmd")  # quoted by the reason, so harmless as it is
    assert len(rows) == 4


def test_error_report_cells_are_neutralised_against_formulas(client_for, maria_manager):
    job = make_job(
        maria_manager,
        status="failed",
        error_count=1,
        errors=[{"line": 1, "column": "=SUM(A1)", "reason": "@evil"}],
    )
    report = client_for(maria_manager).get(reverse("imports:errors", args=[job.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert rows[1] == ["1", "'=SUM(A1)", "'@evil"]


def test_the_preview_explains_a_file_that_cannot_load(client_for, maria_manager):
    job = make_job(maria_manager, b"acount;date\nACME-1;2025-01-01\n")
    content = client_for(maria_manager).get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "cannot be loaded as it is" in content
    assert "Load this file" not in content
    latin = make_job(maria_manager, "account,date\nCafé,2025-01-01\n".encode("latin-1"))
    assert (
        "UTF-8" in client_for(maria_manager).get(reverse("imports:detail", args=[latin.pk])).content.decode()
    )


def test_the_progress_partial_is_a_fragment_that_polls_while_running(client_for, maria_manager):
    job = make_job(maria_manager, status="running", total_rows=200, processed_rows=50)
    response = client_for(maria_manager).get(
        reverse("imports:detail", args=[job.pk]), headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert 'id="import-progress"' in content
    assert 'hx-trigger="every 1s"' in content
    assert '<progress id="import-progress-bar" max="200" value="50">25%</progress>' in content
    assert '<label for="import-progress-bar">50 of 200 rows checked</label>' in content
    ImportJob.objects.filter(pk=job.pk).update(status="done", loaded_rows=200)
    finished = client_for(maria_manager).get(
        reverse("imports:detail", args=[job.pk]), headers={"HX-Request": "true"}
    )
    assert "hx-trigger" not in finished.content.decode()


def test_a_job_whose_worker_stopped_is_queued_again_after_a_while(client_for, maria_manager):
    job = make_job(maria_manager, status="running", attempt=1, total_rows=200, processed_rows=50)
    ImportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(hours=1))
    content = client_for(maria_manager).get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "it will be loaded again from the start (attempt 2)" in content
    assert "hx-trigger" in content  # still polls: the next attempt will start
    job.refresh_from_db()
    assert (job.status, job.attempt, job.processed_rows) == ("queued", 1, 0)
    other = make_job(maria_manager, status="running", attempt=1)
    ImportJob.objects.filter(pk=other.pk).update(finished_at=timezone.now() - timedelta(hours=1))
    assert client_for(maria_manager).get(LIST).status_code == 200  # the list finds it too
    other.refresh_from_db()
    assert other.status == "queued"


def test_a_job_interrupted_three_times_is_given_up_saying_so(client_for, maria_manager):
    job = make_job(maria_manager, status="running", attempt=3, total_rows=200, processed_rows=50)
    ImportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(hours=1))
    content = client_for(maria_manager).get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "stopped without finishing 3 times" in content
    assert "hx-trigger" not in content  # no longer polls
    job.refresh_from_db()
    assert (job.status, job.error_count) == ("failed", 1)


def test_a_file_over_the_limit_is_a_field_error(client_for, maria_manager, settings):
    settings.IMPORT_MAX_BYTES = 100
    response = upload(client_for(maria_manager), GOOD)
    assert response.status_code == 422
    assert response.context["form"].errors.keys() == {"file"}
    assert "files up to 100" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_kind_and_the_file_are_required(client_for, maria_manager):
    response = client_for(maria_manager).post(LIST, {})
    assert response.status_code == 422
    assert response.context["form"].errors.keys() == {"kind", "file"}
    assert '<label for="id_kind">' in response.content.decode()
    assert '<label for="id_file">' in response.content.decode()


@pytest.mark.parametrize("user_fixture", ["alice_csm", "ivan_interviewer", "nora_no_role"])
def test_other_roles_may_not_import(request, client_for, maria_manager, user_fixture):
    job = make_job(maria_manager)
    client = client_for(request.getfixturevalue(user_fixture))
    assert client.get(LIST).status_code == 403
    assert upload(client, GOOD).status_code == 403
    assert client.get(reverse("imports:detail", args=[job.pk])).status_code == 403
    assert client.post(reverse("imports:confirm", args=[job.pk])).status_code == 403
    assert client.get(reverse("imports:errors", args=[job.pk])).status_code == 403
    assert ImportJob.objects.count() == 1


def test_wrong_methods_are_refused(client_for, maria_manager):
    job = make_job(maria_manager)
    client = client_for(maria_manager)
    assert client.put(LIST).status_code == 405
    assert client.post(reverse("imports:detail", args=[job.pk])).status_code == 405
    assert client.get(reverse("imports:confirm", args=[job.pk])).status_code == 405
    assert client.post(reverse("imports:errors", args=[job.pk])).status_code == 405


def test_an_unknown_job_is_a_404(client_for, maria_manager):
    assert client_for(maria_manager).get(reverse("imports:detail", args=[999])).status_code == 404


def test_the_list_shows_recent_imports_with_a_constant_number_of_queries(
    client_for, maria_manager, django_assert_num_queries
):
    client = client_for(maria_manager)
    make_job(maria_manager)
    client.get(LIST)  # warm the session and the role cache
    with django_assert_num_queries(5) as one:
        client.get(LIST)
    for n in range(6):
        make_job(UserFactory(username=f"uploader{n}"), status="done", loaded_rows=n)
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(LIST)
    content = response.content.decode()
    for job in ImportJob.objects.all():
        assert f'href="{reverse("imports:detail", args=[job.pk])}"' in content


def test_managers_and_admins_see_imports_in_the_navigation(client_for, maria_manager, ada_admin, alice_csm):
    assert f'href="{LIST}"' in client_for(maria_manager).get(LIST).content.decode()
    assert f'href="{LIST}"' in client_for(ada_admin).get(LIST).content.decode()
    assert f'href="{LIST}"' not in client_for(alice_csm).get(reverse("accounts:list")).content.decode()


def test_a_job_whose_file_disappeared_fails_cleanly(maria_manager):
    job = make_job(maria_manager)
    job.file.storage.delete(job.file.name)
    run_import_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert "internal error" in job.errors[0]["reason"]
