"""Upgrading a database that holds data loses none of it.

A scratch PostgreSQL database is migrated to where the previous release left it (accounts
0003, health 0002, no playbooks, no interviews yet), filled with representative rows through the
historical models, then migrated forward to the latest state; every row must still be there,
with its key fields unchanged, and the new tables must be usable. It runs in a process of its
own, so the test database the rest of the suite shares is never migrated back and forth (and
playbooks' 0002 cannot be unapplied: see the report of this change).
"""

import json
import os
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from django.db import connection

# The previous release's latest migrations; playbooks and interviews did not exist yet.
PREVIOUS_RELEASE = [
    ("accounts", "0003_apitoken_importjob_account_health_delta_7d_and_more"),
    ("health", "0002_default_model"),
]
UTC = datetime.now().astimezone().tzinfo
ROOT = Path(__file__).resolve().parent.parent


def migrate(target_connection, targets):
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(target_connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def latest(target_connection):
    from django.db.migrations.executor import MigrationExecutor

    return MigrationExecutor(target_connection).loader.graph.leaf_nodes()


def seed(apps) -> dict:
    """Rows of every kind the previous release stored, through its own models."""
    User = apps.get_model("auth", "User")
    Group = apps.get_model("auth", "Group")
    Account = apps.get_model("accounts", "Account")
    HealthModel = apps.get_model("health", "HealthModel")

    alice = User.objects.create(username="alice", email="alice@example.com", password="!")
    alice.groups.add(Group.objects.get_or_create(name="csm")[0])
    acme = Account.objects.create(
        external_id="ACME-1",
        name="Acme Ltd",
        industry="software",
        employee_band="11-50",
        acquisition_channel="inbound",
        mrr=Decimal("1200.50"),
        contract_start=date(2024, 1, 15),
        renewal_date=date(2027, 1, 15),
        value_tier="A",
        owner=alice,
        health_score=64,
        health_tier="watch",
    )
    gone = Account.objects.create(
        external_id="GONE-2",
        name="Gone Co",
        industry="retail",
        employee_band="1-10",
        acquisition_channel="partner",
        contract_start=date(2023, 3, 1),
        value_tier="C",
        status="churned",
        churned_on=date(2026, 10, 1),
        churn_type="cancelled",
    )
    apps.get_model("accounts", "Contact").objects.create(
        account=acme, name="Chen Mei", email="mei@acme.example", is_primary=True, is_champion=True
    )
    apps.get_model("accounts", "Touchpoint").objects.create(
        account=acme,
        kind="call",
        subject="QBR",
        body="Went well",
        occurred_at=datetime(2026, 11, 2, 9, tzinfo=UTC),
    )
    apps.get_model("accounts", "MrrMovement").objects.create(
        account=gone, kind="churn", amount=Decimal("300.00"), occurred_on=date(2026, 10, 1)
    )
    apps.get_model("accounts", "ApiToken").objects.create(
        name="analytics", prefix="abcd1234", token_hash="0" * 64, created_by=alice
    )
    apps.get_model("accounts", "ImportJob").objects.create(
        kind="metrics", file="imports/2026/11/x.csv", original_name="m.csv", status="done", loaded_rows=2
    )
    model = HealthModel.objects.get(status="published")
    for day in (date(2026, 11, 1), date(2026, 11, 2)):
        apps.get_model("health", "DailyMetric").objects.create(
            account=acme, date=day, logins=12, csat_count=2, csat_sum=9, first_response_hours=Decimal("2.50")
        )
    apps.get_model("health", "SignalEvent").objects.create(
        account=acme, kind="champion_left", occurred_on=date(2026, 11, 1), note="Left for a rival"
    )
    apps.get_model("health", "HealthSnapshot").objects.create(
        account=acme,
        date=date(2026, 11, 2),
        model=model,
        score=64,
        computed_score=64,
        tier="watch",
        confidence=0.9,
    )
    apps.get_model("health", "HealthOverride").objects.create(
        account=acme, score=70, reason="Renewal signed", expires_on=date(2026, 12, 31), created_by=alice
    )
    apps.get_model("health", "Alert").objects.create(
        account=acme, kind="login_drop", raised_on=date(2026, 11, 1), last_seen_on=date(2026, 11, 2)
    )
    return {"model_version": model.version}


def counts(apps) -> dict[str, int]:
    labels = [
        ("auth", "User"),
        ("accounts", "Account"),
        ("accounts", "Contact"),
        ("accounts", "Touchpoint"),
        ("accounts", "MrrMovement"),
        ("accounts", "ApiToken"),
        ("accounts", "ImportJob"),
        ("health", "HealthModel"),
        ("health", "DailyMetric"),
        ("health", "SignalEvent"),
        ("health", "HealthSnapshot"),
        ("health", "HealthOverride"),
        ("health", "Alert"),
    ]
    return {f"{app}.{name}": apps.get_model(app, name).objects.count() for app, name in labels}


def upgrade_and_compare() -> dict:
    """Runs in a separate process on a scratch database: from nothing to the previous release,
    its rows, then up to the latest. Returns what the test checks."""
    old_apps = migrate(connection, PREVIOUS_RELEASE)
    seeded = seed(old_apps)
    before = counts(old_apps)

    new_apps = migrate(connection, latest(connection))

    assert counts(new_apps) == before
    Account = new_apps.get_model("accounts", "Account")
    acme = Account.objects.get(external_id="ACME-1")
    assert (acme.name, acme.mrr, acme.value_tier, acme.owner.username) == (
        "Acme Ltd",
        Decimal("1200.50"),
        "A",
        "alice",
    )
    assert (acme.health_score, acme.health_tier, acme.renewal_date) == (64, "watch", date(2027, 1, 15))
    gone = Account.objects.get(external_id="GONE-2")
    assert (gone.status, gone.churned_on, gone.churn_type) == ("churned", date(2026, 10, 1), "cancelled")
    metric = new_apps.get_model("health", "DailyMetric").objects.get(account=acme, date=date(2026, 11, 2))
    assert (metric.logins, metric.csat_sum, metric.first_response_hours) == (12, 9, Decimal("2.50"))
    assert new_apps.get_model("accounts", "Contact").objects.get(account=acme).is_primary
    snapshot = new_apps.get_model("health", "HealthSnapshot").objects.get(account=acme)
    assert (snapshot.score, snapshot.model.version) == (64, seeded["model_version"])
    assert new_apps.get_model("accounts", "ApiToken").objects.get().created_by.username == "alice"

    # The new apps' data migrations ran over the old data: the reason taxonomy and the
    # playbook defaults exist, and the old rows can be used by them.
    assert new_apps.get_model("interviews", "ReasonCategory").objects.exists()
    assert new_apps.get_model("playbooks", "MatrixRow").objects.exists()
    new_apps.get_model("playbooks", "Task").objects.create(
        account=acme, assignee=acme.owner, title="Call", due_at=datetime(2026, 12, 1, 9, tzinfo=UTC)
    )
    return {"before": before, "after": counts(new_apps)}


def test_upgrading_from_the_previous_release_keeps_every_row(db):
    from tests.conftest import needs

    needs(connection.vendor == "postgresql", "the upgrade is checked on the production database")
    settings = connection.settings_dict
    scratch = f"csw_upgrade_{os.getpid()}"
    cli = ["-h", settings.get("HOST") or "127.0.0.1", "-p", str(settings.get("PORT") or 5432)]
    cli += ["-U", settings["USER"]]
    env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
    url = f"postgres://{settings['USER']}:{settings.get('PASSWORD') or ''}@{cli[1]}:{cli[3]}/{scratch}"
    subprocess.run(["dropdb", *cli, "--if-exists", scratch], env=env, check=True, timeout=60)  # noqa: S603, S607
    subprocess.run(["createdb", *cli, scratch], env=env, check=True, timeout=60)  # noqa: S603, S607
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tests.test_migrations_forward"],
            cwd=ROOT,
            env={**env, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "csworkbench.settings"},
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        subprocess.run(["dropdb", *cli, "--if-exists", "--force", scratch], env=env, timeout=60)  # noqa: S603, S607
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["after"] == result["before"]
    assert result["before"]["accounts.Account"] == 2 and result["before"]["health.DailyMetric"] == 2


if __name__ == "__main__":
    # The separate process: a scratch database of its own, so migrating back and forth never
    # touches the test database the rest of the suite shares.
    import django

    django.setup()
    print(json.dumps(upgrade_and_compare()))
