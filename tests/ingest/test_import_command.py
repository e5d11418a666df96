"""`import_csv` and `create_api_token`, as an administrator runs them."""

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import ApiToken
from csworkbench.core.models import AuditEvent
from health.models import SignalEvent
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

YESTERDAY = (timezone.localdate() - timedelta(days=1)).isoformat()


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def events_file(tmp_path):
    AccountFactory(external_id="ACME-1")
    path = tmp_path / "events.csv"
    path.write_text(f"account,kind,occurred_on,note\nACME-1,champion_left,{YESTERDAY},Amy left\n")
    return path


def test_it_loads_a_file_prints_the_counts_and_audits_the_import(events_file, maria_manager):
    output = run("import_csv", "events", str(events_file), "--user", "maria")
    assert "Loaded 1 events rows" in output and "1 created" in output
    assert SignalEvent.objects.get().note == "Amy left"
    audit = AuditEvent.objects.get(action="import")
    assert (audit.actor, audit.target, audit.details["via"]) == (maria_manager, "events.csv", "command")
    # A second run finds everything already there.
    assert "0 created, 0 updated, 1 unchanged" in run("import_csv", "events", str(events_file))


def test_it_prints_every_error_and_fails_without_loading_anything(tmp_path):
    AccountFactory(external_id="ACME-1")
    path = tmp_path / "bad.csv"
    path.write_text(
        "account,kind,occurred_on,amount\n"
        f"ACME-1,new,{YESTERDAY},10\n"
        f"NOPE,new,{YESTERDAY},-3\n"
        f"ACME-1,sideways,{YESTERDAY},5\n"
    )
    out = StringIO()
    with pytest.raises(CommandError, match="3 error"):
        call_command("import_csv", "mrr", str(path), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "line 3, column account: Unknown account “NOPE”."
    assert lines[1] == "line 3, column amount: Must be greater than zero."
    assert lines[2].startswith("line 4, column kind: “sideways” is not one of:")
    assert not AuditEvent.objects.exists()


def test_file_level_errors_have_no_column(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("account,kind,occurred_on\nACME-1,champion_left,2025-01-01 Café\n".encode("latin-1"))
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_csv", "events", str(path), stdout=out)
    assert out.getvalue().startswith("line 1: The file is not encoded as UTF-8")


def test_it_refuses_a_missing_file_an_unknown_kind_and_an_unknown_user(tmp_path, events_file):
    with pytest.raises(CommandError, match="Cannot open"):
        run("import_csv", "events", str(tmp_path / "nope.csv"))
    with pytest.raises(CommandError, match="invalid choice"):
        run("import_csv", "planets", str(events_file))
    with pytest.raises(CommandError, match="no user"):
        run("import_csv", "events", str(events_file), "--user", "ghost")


def test_create_api_token_prints_the_token_once_and_stores_its_hash(ada_admin):
    output = run("create_api_token", "billing-sync", "--user", "ada")
    raw = output.splitlines()[1]
    token = ApiToken.objects.get(name="billing-sync")
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.prefix == raw[:8]
    assert token.created_by == ada_admin
    assert len(raw) >= 40
    assert "will not be shown again" in output
    assert AuditEvent.objects.filter(action="api_token.create", target="billing-sync").exists()


def test_create_api_token_refuses_a_duplicate_name():
    run("create_api_token", "billing-sync")
    with pytest.raises(CommandError, match="already exists"):
        run("create_api_token", "billing-sync")
    assert ApiToken.objects.count() == 1
