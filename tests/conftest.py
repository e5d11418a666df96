"""Named users and helpers shared by every test.

Tests that need PostgreSQL, a Redis-backed Celery worker or a browser call `needs(...)`: it
skips when the part is absent on a developer's machine, and fails under CI, where every part
must be present.
"""

import os

import pytest

from tests.factories import AccountFactory, UserFactory

PASSWORD = "correct horse battery staple"


def needs(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI requires this part, but it is missing: {reason}")
    pytest.skip(reason)


@pytest.fixture
def alice_csm(db):
    return UserFactory(username="alice", first_name="Alice", last_name="Chen", roles=["csm"])


@pytest.fixture
def bob_other_csm(db):
    return UserFactory(username="bob", first_name="Bob", last_name="Lin", roles=["csm"])


@pytest.fixture
def maria_manager(db):
    return UserFactory(username="maria", first_name="Maria", last_name="Wang", roles=["manager"])


@pytest.fixture
def ivan_interviewer(db):
    return UserFactory(username="ivan", first_name="Ivan", last_name="Huang", roles=["interviewer"])


@pytest.fixture
def ada_admin(db):
    return UserFactory(username="ada", first_name="Ada", last_name="Wu", roles=["admin"], is_staff=True)


@pytest.fixture
def nora_no_role(db):
    return UserFactory(username="nora", first_name="Nora", last_name="Ho")


@pytest.fixture
def alice_account(alice_csm):
    return AccountFactory(name="Acme Ltd", owner=alice_csm, value_tier="A")


@pytest.fixture
def bob_account(bob_other_csm):
    return AccountFactory(name="Bobcat Industries", owner=bob_other_csm)


@pytest.fixture
def client_for(client):
    """Log the test client in as a user: `client_for(alice_csm).get(...)`."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Close connections after each request and task, so threads (the live server, the Celery
    test worker) leave no session behind that would block dropping the test database."""
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0


@pytest.fixture(scope="session", autouse=True)
def _no_stray_sessions_at_the_end(django_db_setup, django_db_blocker):
    """A session some thread or worker process left open would stop pytest-django from dropping
    the test database at the end (a warning, and a database left behind): end them first."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The cache outlives a test's rolled-back data (reports cache pages by a data version that
    rolled-back rows never move), so every test starts with an empty one."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """A request in Chinese leaves its language active in the thread (LocaleMiddleware activates
    it and nothing deactivates it), so code a later test calls outside a request would speak
    Chinese: every test starts and ends in the default language."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()
