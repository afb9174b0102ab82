"""`make run PORT=<another port>` as a newcomer runs it: migrate, seed_demo, then gunicorn on that
port, with every sandbox URL, demo credential and callback following it. On a database of its
own; the virtualenv is taken as installed (`-o .venv/.installed`)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from bench import stack

pytestmark = pytest.mark.integration

PASSWORD = "make-run-password-2026"


@dataclass
class Served:
    url: str
    database: Path
    log: Path

    def status_of(self, invitee_id: int) -> str:
        with sqlite3.connect(self.database) as db:
            (status,) = db.execute(
                "SELECT status FROM invitations_invitee WHERE id = ?", [invitee_id]
            ).fetchone()
        return str(status)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("make-run")
    port = stack.free_port()
    database, log = folder / "db.sqlite3", folder / "make-run.log"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(stack.ROOT)),
        "DATABASE_URL": f"sqlite:///{database}",
        "DEMO_PASSWORD": PASSWORD,
        "LOG_LEVEL": "WARNING",
    }
    make = shutil.which("make") or "make"
    with log.open("wb") as out:
        # A session of its own, so that make and the gunicorn it starts stop together.
        process = subprocess.Popen(
            [make, "-o", ".venv/.installed", "run", f"PORT={port}"],
            cwd=stack.ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            try:
                if requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.3)
        else:
            pytest.fail(f"make run did not serve on {port}:\n{log.read_text()}")
        yield Served(url=f"http://127.0.0.1:{port}", database=database, log=log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def test_seed_demo_output_names_this_port(served):
    output = served.log.read_text()
    credentials = re.findall(r"^credential (\S+): (\S+)$", output, re.MULTILINE)
    assert len(credentials) == 6
    assert all(url.startswith(f"{served.url}/sandbox/") for _label, url in credentials)
    assert f"login supervisor password {PASSWORD}" in output


def test_the_supervisor_reaches_the_dashboard(served):
    with stack.logged_in(served.url, "supervisor", PASSWORD) as supervisor:
        page = supervisor.get(f"{served.url}/dashboard/", timeout=30)
    assert page.status_code == 200
    assert re.search(r"<h1[^>]*>Dashboard</h1>", page.text)


def invite(served: Served, agent: requests.Session, destination: str) -> int:
    """The home page's form with the demo credential whose links the portal delivers; the
    invitee's id, from the session page it redirects to."""
    answer = agent.post(
        f"{served.url}/",
        data={
            "destination": destination,
            "credential": "demo-onsync-portal",
            "idempotency_key": uuid.uuid4().hex,
            "csrfmiddlewaretoken": agent.cookies["csrftoken"],
        },
        headers={"Referer": f"{served.url}/"},
        timeout=60,
    )
    assert answer.ok, answer.status_code
    with sqlite3.connect(served.database) as db:
        (invitee_id,) = db.execute("SELECT max(id) FROM invitations_invitee").fetchone()
    return int(invitee_id)


def test_an_sms_is_delivered_by_a_receipt_posted_to_this_port(served):
    with stack.logged_in(served.url, "agent", PASSWORD) as agent:
        invitee = invite(served, agent, "(415) 555-0134")
    deadline = time.monotonic() + 15
    while served.status_of(invitee) != "delivered" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert served.status_of(invitee) == "delivered"


def test_the_portals_own_email_shows_in_the_sandbox_outbox(served):
    with stack.logged_in(served.url, "agent", PASSWORD) as agent:
        invitee = invite(served, agent, "bo@example.com")
    assert served.status_of(invitee) == "sent"
    with stack.logged_in(served.url, "admin", PASSWORD) as staff:
        listed = staff.get(f"{served.url}/sandbox/outbox/?format=json&channel=email", timeout=10)
    (message,) = [m for m in listed.json()["messages"] if m["to"] == "bo@example.com"]
    assert f"{served.url}/sandbox/onsync/join/" in message["body"]
