"""The production shape on this machine, for the benchmarks that need a broker: PostgreSQL,
Redis, gunicorn serving the portal and the sandbox (DEBUG off), and one Celery worker."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bench import stack


@dataclass
class ProductionStack:
    url: str
    env: dict[str, str]
    worker: stack.Worker
    folder: Path
    # The gunicorn master process; its children serve the requests.
    web: subprocess.Popen[bytes]

    def set_sandbox_delay(self, seconds: float, targets: tuple[str, ...] = ("glance",)) -> None:
        stack.set_sandbox_delay(self.url, seconds, targets)

    def logged_in(self, username: str = "agent") -> requests.Session:
        return stack.logged_in(self.url, username)

    def use_database_here(self) -> None:
        """Point this process's Django at the stack's database, for counting rows."""
        stack.use_django(self.env)


def create_database(url: str) -> None:
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')


@contextlib.contextmanager
def production_stack(
    *,
    worker_concurrency: int,
    presence_worker_concurrency: int = 0,
    web_workers: int = 2,
    web_threads: int = 16,
    **settings: Any,
) -> Iterator[ProductionStack]:
    """With `presence_worker_concurrency`, the worker only delivers and a second one with that
    many processes runs the presence lookups (docs/production.md); without, one does both."""
    with (
        tempfile.TemporaryDirectory(prefix="agentportal-bench-") as tmp,
        stack.postgres(options="-c max_connections=200") as database_url,
        stack.redis() as redis_url,
    ):
        folder = Path(tmp)
        port = stack.free_port()
        sandbox = f"http://127.0.0.1:{port}/sandbox"
        env = stack.base_env(
            DEBUG="false",
            SECRET_KEY=stack.SECRET_KEY,
            FIELD_ENCRYPTION_KEYS=stack.FIELD_KEY,
            SANDBOX_ENABLED="true",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            # Where the sandbox's SMS gateway posts its delivery receipts: this portal.
            PORTAL_BASE_URL=f"http://127.0.0.1:{port}",
            DATABASE_URL=database_url,
            CONN_MAX_AGE="60",
            CELERY_BROKER_URL=f"{redis_url}/0",
            CACHE_URL=f"{redis_url}/1",
            SANDBOX_BASE_URL=f"{sandbox}/glance",
            SANDBOX_ONSYNC_BASE_URL=f"{sandbox}/onsync/api/1",
            SANDBOX_DIGITALSAMBA_BASE_URL=f"{sandbox}/digitalsamba/api/v1",
            SANDBOX_SMS_GATEWAY_URL=f"{sandbox}/sms-gateway",
            RATE_LIMIT_PER_AGENT="1000000/60",
            RATE_LIMIT_PER_DESTINATION="1000000/60",
            RATE_LIMIT_PER_PREFIX="1000000/60",
            LOG_LEVEL="WARNING",
            **{key: str(value) for key, value in settings.items()},
        )
        create_database(database_url)
        stack.manage(env, "migrate", "--noinput", "-v0")
        stack.manage({**env, "DEMO_PASSWORD": stack.PASSWORD}, "seed_demo")
        web = stack.gunicorn(
            port,
            "--workers",
            str(web_workers),
            "--threads",
            str(web_threads),
            "--keep-alive",
            "30",
        )
        separate = presence_worker_concurrency > 0
        worker = stack.Worker(
            env,
            folder / "worker.log",
            concurrency=worker_concurrency,
            queues="celery" if separate else "",
        )
        presence_worker = stack.Worker(
            env, folder / "presence.log", concurrency=presence_worker_concurrency, queues="presence"
        )
        with stack.serving(
            web, port=port, timeout=30, what="gunicorn", cwd=stack.ROOT, env=env
        ) as web_master:
            worker.start()
            if separate:
                presence_worker.start()
            try:
                yield ProductionStack(
                    url=f"http://127.0.0.1:{port}",
                    env=env,
                    worker=worker,
                    folder=folder,
                    web=web_master,
                )
            finally:
                worker.stop()
                presence_worker.stop()


def wait_until(condition: Any, timeout: float, what: str) -> float:
    """Poll `condition()` until true; return when it became true (time.monotonic())."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.05)
    return time.monotonic()
