"""Shared by the tests that need a real Celery worker on the local Redis broker: an in-process
worker thread (tests/test_celery_worker.py) and worker OS processes (tests/test_worker_crash.py)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kombu import pools

from csworkbench.celery import app

BROKER = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parent.parent


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def forget_cached_backend() -> None:
    """Celery caches its result backend and its broker connection pools on first use (eager
    runs in earlier tests create them); make it read the changed settings."""
    app._backend_cache = None
    if hasattr(app._local, "backend"):
        del app._local.backend
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    # kombu keeps producer pools per connection in a global registry; a closed one would be
    # handed out again to the next test that talks to the same broker.
    pools.reset()


def free_port() -> int:
    """A TCP port nothing listens on: bound, then closed again."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The test database, for a worker process to share."""
    from django.db import connection

    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{settings['USER']}{password}@{host}:{port}/{settings['NAME']}"


def start_worker_process(*, queue: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`celery worker` as its own OS process (solo pool: the task runs in that very process, so
    killing it kills the task), consuming only `queue`."""
    command = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "csworkbench",
        "worker",
        "--pool",
        "solo",
        "--concurrency",
        "1",
        "-Q",
        queue,
        "--without-heartbeat",
        "--without-mingle",
        "--without-gossip",
        "--loglevel",
        "INFO",
    ]
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 -- our own command line
            command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )


def stop(process: subprocess.Popen | None) -> None:
    """Kill a worker process, whatever state it is in, and reap it."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def wait_for(condition, *, timeout: float, step: float = 0.1, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
