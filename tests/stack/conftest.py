"""Real PostgreSQL, Redis and Celery worker processes for the delivery-guarantee tests.

These tests run in their own pytest session (`pytest tests/stack`, as `make test` does),
because the whole session's database is the PostgreSQL server started here. The servers are
started from the machine's binaries (Debian's postgresql-15 and redis-server), as an
unprivileged user when running as root, on free loopback ports, in a temporary folder.
Outside CI a missing binary skips these tests; in CI (CI=true) it fails them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from bench import stack
from bench.stack import ROOT, Worker
from tests.support.stack import WORKER_APPLICATION_NAME

__all__ = ["ROOT", "Worker"]


@contextlib.contextmanager
def _or_skip() -> Iterator[None]:
    """A missing binary or account skips (outside CI; tests/conftest.py fails it in CI)."""
    try:
        yield
    except stack.MissingService as err:
        pytest.skip(str(err))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with _or_skip(), stack.postgres() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _or_skip(), stack.redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="session")
def django_db_modify_db_settings(postgres_url: str) -> None:
    """Point the whole session at the PostgreSQL server before the test database is made."""
    import environ
    from asgiref.local import Local
    from django.conf import settings
    from django.db import connections

    settings.DATABASES["default"] = environ.Env.db_url_config(postgres_url)
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    connections.close_all()
    # The connection handler caches the settings it read first; make it read them again.
    connections.__dict__.pop("settings", None)
    connections._connections = Local(connections.thread_critical)  # type: ignore[attr-defined]


# Short timeouts and delays so that the fault matrix runs in seconds; the rules are the same.
WORKER_SETTINGS = {
    "UPSTREAM_READ_TIMEOUT": "1.5",
    "DELIVERY_RETRY_BASE_DELAY": "0.2",
    "DELIVERY_RETRY_MAX_DELAY": "3",
    "DELIVERY_MAX_ATTEMPTS": "3",
    "LOG_LEVEL": "INFO",
    # As in production: a connection is kept between tasks.
    "CONN_MAX_AGE": "60",
}


@pytest.fixture(scope="session")
def celery_worker(
    django_db_setup: None,
    django_db_blocker: object,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Worker]:
    """A real worker on the test database and a real Redis broker; this process queues to it."""
    from django.conf import settings
    from django.db import connection

    from agentportal.celery import app

    broker = f"{redis_url}/0"
    database = connection.settings_dict
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(ROOT)),
        "DJANGO_SETTINGS_MODULE": "agentportal.settings.base",
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
            f"?application_name={WORKER_APPLICATION_NAME}"
        ),
        "CELERY_BROKER_URL": broker,
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        **WORKER_SETTINGS,
    }
    app.conf.update(broker_url=broker, task_always_eager=False)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    worker = Worker(env, tmp_path_factory.mktemp("celery") / "worker.log")
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        app.conf.update(broker_url="memory://", task_always_eager=True)
