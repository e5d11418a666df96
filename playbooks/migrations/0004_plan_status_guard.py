"""A plan's status moves only along PLAN_TRANSITIONS, even for SQL that bypasses the services.

A trigger refuses any other change of status (and any insert not in draft), on PostgreSQL and
SQLite alike. Keep LEGAL in step with playbooks.models.PLAN_TRANSITIONS (a test checks it).
"""

from django.db import migrations

LEGAL = [
    ("draft", "submitted"),
    ("submitted", "approved"),
    ("submitted", "changes_requested"),
    ("submitted", "rejected"),
    ("changes_requested", "submitted"),
    ("approved", "active"),
    ("active", "closed"),
]
VALUES = ", ".join(f"('{a}', '{b}')" for a, b in LEGAL)

POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION playbooks_plan_status_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'draft' THEN
            RAISE EXCEPTION 'a retention plan starts as a draft, not %', NEW.status USING ERRCODE = 'check_violation';
        END IF;
    ELSIF NEW.status IS DISTINCT FROM OLD.status
          AND (OLD.status, NEW.status) NOT IN ({VALUES}) THEN
        RAISE EXCEPTION 'illegal retention plan transition % -> %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER playbooks_plan_status_guard BEFORE INSERT OR UPDATE OF status ON playbooks_retentionplan
    FOR EACH ROW EXECUTE FUNCTION playbooks_plan_status_guard();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS playbooks_plan_status_guard ON playbooks_retentionplan;
DROP FUNCTION IF EXISTS playbooks_plan_status_guard();
"""
SQLITE_UP = [
    f"""CREATE TRIGGER playbooks_plan_status_guard_update BEFORE UPDATE OF status ON playbooks_retentionplan
    WHEN NEW.status <> OLD.status AND (OLD.status, NEW.status) NOT IN (VALUES {VALUES})
    BEGIN SELECT RAISE(ABORT, 'illegal retention plan transition'); END;""",
    """CREATE TRIGGER playbooks_plan_status_guard_insert BEFORE INSERT ON playbooks_retentionplan
    WHEN NEW.status <> 'draft'
    BEGIN SELECT RAISE(ABORT, 'a retention plan starts as a draft'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS playbooks_plan_status_guard_update;",
    "DROP TRIGGER IF EXISTS playbooks_plan_status_guard_insert;",
]


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("playbooks", "0003_approvalpolicy_retentionplan_planstep_planoffer_and_more")]

    operations = [migrations.RunPython(install, uninstall)]
