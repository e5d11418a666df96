"""Settings from the environment (django-environ): an empty variable means its default, and the
demo's port reaches the links in emails (issue 14, item 15). Each case imports the settings in a
fresh interpreter with exactly the environment given."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "d = s.DATABASES['default']; print(json.dumps({'engine': d['ENGINE'], 'name': str(d['NAME']), "
    "'options': d.get('OPTIONS', {}), 'site_url': s.SITE_URL, 'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS, "
    "'axes': s.AXES_ENABLED, 'limit': s.AXES_FAILURE_LIMIT, 'broker': s.CELERY_BROKER_URL, "
    "'eager': s.CELERY_TASK_ALWAYS_EAGER}))"
)
KEEP = ("PATH", "HOME", "LANG", "PYTHONPATH", "VIRTUAL_ENV")


def settings_with(**variables: str) -> dict:
    env = {key: os.environ[key] for key in KEEP if key in os.environ}
    env.update({"DJANGO_SETTINGS_MODULE": "csworkbench.settings", **variables})
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_with_no_environment_the_demo_runs_on_sqlite_with_tasks_in_process():
    found = settings_with()
    assert found["engine"] == "django.db.backends.sqlite3" and found["name"].endswith("db.sqlite3")
    assert found["eager"] is True and found["debug"] is True
    assert found["site_url"] == "http://127.0.0.1:8000"


@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_variable_means_its_default(empty):
    """`DATABASE_URL=` as a .env file leaves it once crashed `make demo` ("Scheme '://' is unknown")."""
    found = settings_with(DATABASE_URL=empty, CELERY_BROKER_URL=empty, DEBUG=empty, AXES_FAILURE_LIMIT=empty)
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["broker"] == "" and found["eager"] is True
    assert found["debug"] is True and found["limit"] == 5


def test_the_demo_port_reaches_the_links_in_emails():
    assert settings_with(PORT="8101")["site_url"] == "http://127.0.0.1:8101"
    # An explicit SITE_URL wins.
    assert (
        settings_with(PORT="8101", SITE_URL="https://cs.example.com/")["site_url"] == "https://cs.example.com"
    )


def test_values_are_cast_and_lists_split():
    found = settings_with(DEBUG="0", SECRET_KEY="x" * 50, ALLOWED_HOSTS="cs.example.com, cs2.example.com")
    assert found["debug"] is False and found["hosts"] == ["cs.example.com", "cs2.example.com"]
    assert settings_with(AXES_ENABLED="0")["axes"] is False


def test_postgresql_sessions_keep_the_servers_page_cost_when_asked():
    url = "postgres://root@127.0.0.1:5432/unused"
    assert settings_with(DATABASE_URL=url)["options"] == {"options": "-c random_page_cost=1.1"}
    assert "options" not in settings_with(DATABASE_URL=url, PG_RANDOM_PAGE_COST="server")["options"]
