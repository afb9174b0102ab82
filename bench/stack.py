"""Real PostgreSQL, Redis, web servers and Celery workers on this machine, started and stopped
as context managers. Used by the benchmarks and by the real-services tests (tests/stack).

Everything runs from the machine's own binaries (Debian's postgresql-15 and redis-server), on
free loopback ports, in temporary folders; PostgreSQL runs as an unprivileged user when this
process is root, because initdb and postgres refuse to run as root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
# The benchmarks' throw-away settings: the demo users' password, and keys for nothing real.
PASSWORD = "bench-password-2026"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"
FIELD_KEY = "pJ2FhQ0m1Wq7Yx4nZ8cV6bT3rS5uI9oL2kJ1hG0fE7w="
PG_BIN_DIRS = [Path("/usr/lib/postgresql/15/bin"), Path("/usr/local/bin"), Path("/usr/bin")]
UNPRIVILEGED_USER = "postgres"


class MissingService(RuntimeError):
    """A binary or account this machine lacks (.ci/run installs them)."""


def run_main(main: Callable[[], int]) -> None:
    """Exit with `main()`'s code; a missing service is one line, not a traceback."""
    try:
        code = main()
    except MissingService as err:
        print(f"cannot run: {err}", file=sys.stderr)
        code = 2
    sys.exit(code)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def binary(name: str, dirs: list[Path] | None = None) -> str:
    for folder in dirs or []:
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found:
        return found
    raise MissingService(f"{name} is not installed (CI installs it in .ci/run)")


def as_unprivileged(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError as err:
        raise MissingService(
            f"running as root and there is no '{UNPRIVILEGED_USER}' user for PostgreSQL"
        ) from err
    return [binary("runuser"), "-u", UNPRIVILEGED_USER, "--", *command]


def run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )


def wait_for_port(port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout} s")


def gunicorn(port: int, *options: str) -> list[str]:
    """The command that serves the portal (and its sandbox) with gunicorn on `port`."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "agentportal.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        *options,
    ]


@contextlib.contextmanager
def serving(
    command: list[str], *, port: int, timeout: float, what: str, **popen: Any
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server process until the block ends; enter once it listens on `port`."""
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    server = subprocess.Popen(command, **popen)
    try:
        wait_for_port(port, timeout, what)
        yield server
    finally:
        server.terminate()
        server.wait(20)


@contextlib.contextmanager
def postgres(*, database: str = "agentportal", options: str = "") -> Iterator[str]:
    """A throw-away PostgreSQL cluster; yields the URL of `database` (not created yet)."""
    initdb = binary("initdb", PG_BIN_DIRS)
    pg_ctl = binary("pg_ctl", PG_BIN_DIRS)
    # Not under a private temporary root: the unprivileged user must reach it.
    base = Path(tempfile.mkdtemp(prefix="agentportal-pg-"))
    data, sockets = base / "data", base / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        account = pwd.getpwnam(UNPRIVILEGED_USER)
        for path in (base, sockets):
            os.chown(path, account.pw_uid, account.pw_gid)
    run(as_unprivileged([initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]))
    port = free_port()
    server_options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off {options}"
    run(
        as_unprivileged(
            [pg_ctl, "-D", str(data), "-o", server_options, "-l", str(base / "log"), "-w", "start"]
        )
    )
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run(
            as_unprivileged([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def redis(folder: Path | None = None) -> Iterator[str]:
    """A redis-server without persistence; yields its URL (add /0, /1 for databases)."""
    redis_server = binary("redis-server")
    port = free_port()
    workdir = folder or Path(tempfile.mkdtemp(prefix="agentportal-redis-"))
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
        str(workdir),
    ]
    try:
        with serving(command, port=port, timeout=10, what="redis-server"):
            yield f"redis://127.0.0.1:{port}"
    finally:
        if folder is None:
            shutil.rmtree(workdir, ignore_errors=True)


def base_env(**settings: str) -> dict[str, str]:
    """The environment for a process of this project: the embedded defaults, plus `settings`."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(ROOT)),
        "DJANGO_SETTINGS_MODULE": "agentportal.settings.base",
        **settings,
    }


def manage(env: dict[str, str], *args: str) -> None:
    """Run `manage.py` with `env`; raise with its output if it fails."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)}:\n{result.stdout}\n{result.stderr}")


class Worker:
    """A `celery worker` process of this project, with its log for debugging."""

    def __init__(
        self, env: dict[str, str], log: Path, concurrency: int = 2, queues: str = ""
    ) -> None:
        """`queues`: the queues it takes tasks from, comma-separated (-Q); "" for all."""
        self.env, self.log, self.concurrency, self.queues = env, log, concurrency, queues
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
                    str(self.concurrency),
                    "--pool",
                    "prefork",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    # A second worker on this machine needs a name of its own.
                    *(
                        ["-Q", self.queues, "--hostname", f"{self.queues}@%h"]
                        if self.queues
                        else []
                    ),
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


# --- The portal over HTTP, as an agent's browser uses it ----------------------------------------


def use_django(env: dict[str, str]) -> None:
    """Set up Django in this process with a server's settings `env`, to read its database."""
    import django

    os.environ.update({k: v for k, v in env.items() if k not in ("PATH", "HOME")})
    django.setup()


def set_sandbox_delay(
    base_url: str, seconds: float, targets: tuple[str, ...] = ("glance",)
) -> None:
    """The sandbox at `base_url` answers every request to each of `targets` (its upstream APIs:
    glance, onsync, sms-gateway, digitalsamba) after `seconds` (0: at once), and every other
    at once. Its fault control is for staff: this signs in as the demo `admin`."""
    control = f"{base_url}/sandbox/faults/"
    with logged_in(base_url, "admin") as staff:
        answer = staff.delete(control, allow_redirects=False, timeout=10)
        assert answer.status_code == 200, f"fault control answered {answer.status_code}"
        for target in targets if seconds else ():
            answer = staff.post(
                control,
                json={"target": target, "mode": "slow", "delay_seconds": seconds},
                allow_redirects=False,
                timeout=10,
            )
            assert answer.status_code == 201, f"fault control answered {answer.status_code}"


def logged_in(base_url: str, username: str = "agent", password: str = PASSWORD) -> requests.Session:
    """A session signed in to the portal as `username` (a demo user by default)."""
    agent = requests.Session()
    page = agent.get(f"{base_url}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the login page"
    answer = agent.post(
        f"{base_url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{base_url}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, f"login failed: {answer.status_code}"
    return agent


def one_click(base_url: str, agent: requests.Session, destination: str) -> None:
    """The agent's one-click SMS invitation: the home page's form, posted as the browser does.
    The portal answers with a redirect to the session page."""
    answer = agent.post(
        f"{base_url}/",
        data={
            "destination": destination,
            "channel": "sms",
            "idempotency_key": uuid.uuid4().hex,
            "csrfmiddlewaretoken": agent.cookies["csrftoken"],
        },
        headers={"Referer": f"{base_url}/"},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, f"portal answered {answer.status_code}"
