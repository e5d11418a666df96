"""scripts/backup.sh and scripts/restore.sh round-trip a real database: every table comes back
with every row, and restoring over a database that already holds data replaces it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import needs

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120


@pytest.fixture
def scratch(db):
    """Two empty scratch databases on the test server, dropped whatever happens."""
    needs(connection.vendor == "postgresql", "backups are of the production database, PostgreSQL")
    settings = connection.settings_dict
    host, port = settings.get("HOST") or "127.0.0.1", str(settings.get("PORT") or 5432)
    cli = ["-h", host, "-p", port, "-U", settings["USER"]]
    env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
    names = [f"csw_backup_{os.getpid()}", f"csw_restore_{os.getpid()}"]

    def url(name: str) -> str:
        return f"postgres://{settings['USER']}:{settings.get('PASSWORD') or ''}@{host}:{port}/{name}"

    try:
        for name in names:
            subprocess.run(["dropdb", *cli, "--if-exists", "--force", name], env=env, check=True, timeout=60)  # noqa: S603, S607
            subprocess.run(["createdb", *cli, name], env=env, check=True, timeout=60)  # noqa: S603, S607
        yield [url(name) for name in names], env
    finally:
        for name in names:
            subprocess.run(["dropdb", *cli, "--if-exists", "--force", name], env=env, timeout=60)  # noqa: S603, S607


def run(command: list[str], env: dict, **extra_env: str) -> str:
    done = subprocess.run(  # noqa: S603 -- our own scripts and manage.py
        command, cwd=ROOT, env={**env, **extra_env}, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def row_counts(url: str) -> dict[str, int]:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        return {
            table: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[
                0
            ]
            for table in tables
        }


def test_a_backup_restores_every_table_with_every_row(scratch, tmp_path):
    (source, target), env = scratch
    manage = [sys.executable, "manage.py"]
    run([*manage, "migrate", "--noinput", "-v0"], env, DATABASE_URL=source)
    run([*manage, "seed_demo", "--accounts", "20", "--days", "10"], env, DATABASE_URL=source)
    before = row_counts(source)
    assert before["accounts_account"] == 20 and before["health_dailymetric"] > 0

    dump = tmp_path / "nested" / "csworkbench.dump"
    assert run([str(ROOT / "scripts" / "backup.sh"), str(dump)], env, DATABASE_URL=source).strip() == str(
        dump
    )
    assert dump.stat().st_size > 0 and not Path(f"{dump}.partial").exists()

    run([str(ROOT / "scripts" / "restore.sh"), str(dump), target], env)
    assert row_counts(target) == before

    # Over a database that has changed since: replaced, not merged.
    import psycopg

    with psycopg.connect(target) as conn:
        conn.execute("INSERT INTO auth_group (name) VALUES ('added after the backup')")
    assert row_counts(target) != before
    run([str(ROOT / "scripts" / "restore.sh"), str(dump), target], env)
    assert row_counts(target) == before


def test_a_broken_backup_file_leaves_the_target_untouched(scratch, tmp_path):
    import psycopg

    (_source, target), env = scratch
    with psycopg.connect(target) as conn:
        conn.execute("CREATE TABLE precious (id int PRIMARY KEY)")
        conn.execute("INSERT INTO precious VALUES (1), (2)")
    broken = tmp_path / "broken.dump"
    broken.write_bytes(b"PGDMP" + b"\0" * 100)
    done = subprocess.run(  # noqa: S603
        [str(ROOT / "scripts" / "restore.sh"), str(broken), target],
        env=env,
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert done.returncode != 0
    assert row_counts(target) == {"precious": 2}
