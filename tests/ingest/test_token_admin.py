"""API tokens and import jobs in the admin."""

import hashlib

import pytest
from django.urls import reverse

from accounts.models import ApiToken, ImportJob
from ingest.tokens import create_api_token


@pytest.fixture
def admin_client(client_for, ada_admin):
    ada_admin.is_superuser = True
    ada_admin.save()
    return client_for(ada_admin)


def test_adding_a_token_in_the_admin_shows_it_once_and_stores_its_hash(admin_client, ada_admin):
    response = admin_client.post(reverse("admin:accounts_apitoken_add"), {"name": "warehouse"}, follow=True)
    assert response.status_code == 200
    token = ApiToken.objects.get(name="warehouse")
    warnings = [
        str(message) for message in response.context["messages"] if "will not be shown again" in str(message)
    ]
    assert len(warnings) == 1
    raw = warnings[0].split(" is ", 1)[1].split(" ", 1)[0]
    assert hashlib.sha256(raw.encode()).hexdigest() == token.token_hash
    assert (token.prefix, token.created_by) == (raw[:8], ada_admin)
    again = admin_client.get(reverse("admin:accounts_apitoken_change", args=[token.pk])).content.decode()
    assert raw not in again and token.prefix in again


def test_a_duplicate_name_is_a_form_error(admin_client):
    create_api_token(name="warehouse")
    response = admin_client.post(reverse("admin:accounts_apitoken_add"), {"name": "warehouse"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert ApiToken.objects.count() == 1


def test_the_list_shows_tokens_and_revokes_them(admin_client):
    token, _raw = create_api_token(name="warehouse")
    listing = admin_client.get(reverse("admin:accounts_apitoken_changelist")).content.decode()
    assert "warehouse" in listing and token.prefix in listing
    admin_client.post(
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_import_jobs_are_read_only_in_the_admin(admin_client, maria_manager):
    job = ImportJob.objects.create(
        kind="metrics", original_name="m.csv", file="imports/m.csv", created_by=maria_manager
    )
    assert admin_client.get(reverse("admin:accounts_importjob_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:accounts_importjob_add")).status_code == 403
    view = admin_client.get(reverse("admin:accounts_importjob_change", args=[job.pk]))
    assert view.status_code == 200
    assert 'name="_save"' not in view.content.decode()
