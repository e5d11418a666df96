"""The import page says what is true (issue 14, item 16): a file that cannot be loaded says so
instead of "Waiting to start", nothing polls a job that waits for the user, and a load that ran
at once (no broker: the demo) is reported as loaded, not as "Loading started"."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ImportJob
from tests.factories import AccountFactory

DAY = (timezone.localdate() - timedelta(days=1)).isoformat()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def make_job(user, content: bytes) -> ImportJob:
    job = ImportJob(kind="metrics", original_name="upload.csv", created_by=user)
    job.file.save("upload.csv", io.BytesIO(content), save=False)
    job.save()
    return job


@pytest.mark.django_db
def test_a_file_that_cannot_be_loaded_says_so_and_does_not_poll(client_for, maria_manager):
    job = make_job(maria_manager, b"acount;date\nACME-1;2025-01-01\n")

    html = client_for(maria_manager).get(reverse("imports:detail", args=[job.pk])).content.decode()

    assert "Cannot be loaded" in html
    assert "Waiting to start" not in html
    assert "hx-trigger" not in html and ">Refresh<" not in html


@pytest.mark.django_db
def test_a_file_waiting_for_the_users_load_does_not_poll(client_for, maria_manager):
    job = make_job(maria_manager, f"account,date,logins\nACME-1,{DAY},3\n".encode())

    html = client_for(maria_manager).get(reverse("imports:detail", args=[job.pk])).content.decode()

    assert "Load this file" in html
    assert "hx-trigger" not in html and ">Refresh<" not in html


@pytest.mark.django_db(transaction=True)
def test_a_load_that_ran_at_once_is_reported_loaded_not_started(client_for, maria_manager, settings):
    # No broker (the demo): the task runs in the request, as soon as the job is committed.
    AccountFactory(external_id="ACME-1")
    job = make_job(maria_manager, f"account,date,logins\nACME-1,{DAY},3\n".encode())

    page = client_for(maria_manager).post(reverse("imports:confirm", args=[job.pk]), follow=True)

    html = page.content.decode()
    job.refresh_from_db()
    assert job.status == "done"
    assert "The file is loaded." in html
    assert "Loading started" not in html


@pytest.mark.django_db(transaction=True)
def test_a_file_rejected_at_once_says_it_was_rejected(client_for, maria_manager):
    job = make_job(maria_manager, f"account,date,logins\nNOBODY-9,{DAY},3\n".encode())

    html = (
        client_for(maria_manager)
        .post(reverse("imports:confirm", args=[job.pk]), follow=True)
        .content.decode()
    )

    assert "The file was rejected; nothing was loaded." in html
    assert "Loading started" not in html
