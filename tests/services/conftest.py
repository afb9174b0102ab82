"""Real PostgreSQL, Redis and Celery worker processes for the delivery-guarantee tests.

These tests run in their own pytest session (`pytest tests/services`, as `make test` does),
because the whole session's database is the PostgreSQL server started here. The servers are
started from the machine's binaries (Debian's postgresql-15 and redis-server), as an
unprivileged user when running as root, on free loopback ports, in a temporary folder.
Outside CI a missing binary skips these tests; in CI (CI=true) it fails them.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_BIN_DIRS = [Path("/usr/lib/postgresql/15/bin"), Path("/usr/local/bin"), Path("/usr/bin")]
UNPRIVILEGED_USER = "postgres"  # initdb and postgres refuse to run as root


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _binary(name: str, dirs: list[Path] | None = None) -> str:
    for folder in dirs or []:
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found:
        return found
    pytest.skip(f"{name} is not installed (CI installs it in .ci/run)")


def _as_unprivileged(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        pytest.skip(f"running as root and there is no '{UNPRIVILEGED_USER}' user for PostgreSQL")
    return ["runuser", "-u", UNPRIVILEGED_USER, "--", *command]


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )


def _wait_for_port(port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout} s")


@contextlib.contextmanager
def serving(
    command: list[str], *, port: int, timeout: float, what: str, **popen: Any
) -> Iterator[None]:
    """Run a server process until the block ends; enter once it listens on `port`."""
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    server = subprocess.Popen(command, **popen)
    try:
        _wait_for_port(port, timeout, what)
        yield
    finally:
        server.terminate()
        server.wait(20)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    initdb = _binary("initdb", PG_BIN_DIRS)
    pg_ctl = _binary("pg_ctl", PG_BIN_DIRS)
    # Not under pytest's temporary root, which is private to the user running the tests.
    base = Path(tempfile.mkdtemp(prefix="agentportal-pg-"))
    data, sockets = base / "data", base / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        account = pwd.getpwnam(UNPRIVILEGED_USER)
        for path in (base, sockets):
            os.chown(path, account.pw_uid, account.pw_gid)
    _run(_as_unprivileged([initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]))
    port = _free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    _run(
        _as_unprivileged(
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"]
        )
    )
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/agentportal"
    finally:
        subprocess.run(
            _as_unprivileged([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    redis_server = _binary("redis-server")
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    command = [
        redis_server,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(folder),
    ]
    with serving(command, port=port, timeout=10, what="redis-server"):
        yield f"redis://127.0.0.1:{port}"


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


class Worker:
    """A `celery worker` process of this project, with its log for debugging."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.write_text("")
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "agentportal",
                    "worker",
                    "--loglevel",
                    "INFO",
                    "--concurrency",
                    "2",
                    "--pool",
                    "prefork",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while "ready." not in self.log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start:\n{self.log.read_text()}")
            time.sleep(0.2)

    def pool_children(self) -> list[int]:
        """Process ids of the prefork pool processes that run the tasks."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None


# Short timeouts and delays so that the fault matrix runs in seconds; the rules are the same.
WORKER_SETTINGS = {
    "UPSTREAM_READ_TIMEOUT": "1.5",
    "DELIVERY_RETRY_BASE_DELAY": "0.2",
    "DELIVERY_RETRY_MAX_DELAY": "3",
    "DELIVERY_MAX_ATTEMPTS": "3",
    "LOG_LEVEL": "INFO",
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
