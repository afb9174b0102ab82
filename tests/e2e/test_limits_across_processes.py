"""The anti-abuse limits hold across processes in the embedded default: command runs, and a
web server with several worker processes, on one SQLite file set up with `migrate` and
`seed_demo` only, delivering to the sandbox over real HTTP (another server, on the port the
demo credentials point at)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from bench import stack

pytestmark = pytest.mark.integration

RUNS = 12
PER_DESTINATION = 3


@dataclass
class Portal:
    url: str
    env: dict[str, str]
    database: Path

    def invitees_with_key(self, key: str) -> int:
        with sqlite3.connect(self.database) as db:
            (count,) = db.execute(
                "SELECT count(*) FROM invitations_invitee WHERE idempotency_key = ?", [key]
            ).fetchone()
        return int(count)

    def sms_sent_to(self, number: str) -> int:
        """SMS the sandbox's Glance accepted for `number`: what the customer would receive."""
        with sqlite3.connect(self.database) as db:
            (count,) = db.execute(
                "SELECT count(*) FROM sandbox_outboxmessage WHERE channel = 'sms' AND `to` = ?",
                [number],
            ).fetchone()
        return int(count)


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """The embedded default (no CACHE_URL, no broker) served by gunicorn with 3 worker
    processes; the sandbox served by a second gunicorn, as the demo credentials name it."""
    folder = tmp_path_factory.mktemp("embedded")
    portal_port, sandbox_port = stack.free_port(), stack.free_port()
    database = folder / "db.sqlite3"
    env = stack.base_env(
        DATABASE_URL=f"sqlite:///{database}",
        SANDBOX_BASE_URL=f"http://127.0.0.1:{sandbox_port}/sandbox/glance",
        # No delivery receipts: they would go to whatever listens on port 8000.
        SMS_STATUS_CALLBACK_URL="",
        DEMO_PASSWORD=stack.PASSWORD,
        LOG_LEVEL="WARNING",
    )
    stack.manage(env, "migrate", "--noinput", "-v0")
    stack.manage(env, "seed_demo")
    with (
        stack.serving(
            stack.gunicorn(
                sandbox_port, "--log-level", "warning", "--workers", "1", "--threads", "16"
            ),
            port=sandbox_port,
            timeout=30,
            what="sandbox",
            cwd=stack.ROOT,
            env=env,
        ),
        stack.serving(
            stack.gunicorn(portal_port, "--log-level", "warning", "--workers", "3"),
            port=portal_port,
            timeout=30,
            what="portal",
            cwd=stack.ROOT,
            env=env,
        ),
    ):
        yield Portal(url=f"http://127.0.0.1:{portal_port}", env=env, database=database)


def send_invitation(portal: Portal, number: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "send_invitation", "--agent", "agent", "--sms", number],
        cwd=stack.ROOT,
        env=portal.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_command_runs_share_the_per_destination_limit(portal):
    number = "+14155550134"
    with ThreadPoolExecutor(RUNS) as pool:
        runs = list(pool.map(lambda _: send_invitation(portal, number), range(RUNS)))

    refused = [run for run in runs if run.returncode != 0]
    assert len(runs) - len(refused) == PER_DESTINATION, [run.stderr for run in refused]
    for run in refused:
        assert "This number was invited" in run.stderr, run.stderr
    assert portal.sms_sent_to(number) == PER_DESTINATION


def post_form(portal: Portal, agent: requests.Session, number: str, key: str) -> int:
    # A request of its own, with the agent's cookies: a Session is not for several threads.
    answer = requests.post(
        f"{portal.url}/",
        cookies=agent.cookies.get_dict(),
        data={
            "destination": number,
            "channel": "sms",
            "idempotency_key": key,
            "csrfmiddlewaretoken": agent.cookies["csrftoken"],
        },
        headers={"Referer": f"{portal.url}/"},
        allow_redirects=False,
        timeout=60,
    )
    if answer.status_code == 400:
        assert "This number was invited" in answer.text
    return answer.status_code


def session_pages(portal: Portal, agent: requests.Session, number: str, keys: list[str]):
    with ThreadPoolExecutor(len(keys)) as pool:
        return list(pool.map(lambda key: post_form(portal, agent, number, key), keys))


def test_web_workers_share_the_per_destination_limit(portal):
    number = "+14155560134"
    agent = stack.logged_in(portal.url)
    agent.get(f"{portal.url}/", timeout=10)  # the CSRF cookie

    answers = session_pages(portal, agent, number, [uuid.uuid4().hex for _ in range(RUNS)])

    # Never a 500 ("database is locked"): each answer is the session page or the refusal.
    assert Counter(answers) == {302: PER_DESTINATION, 400: RUNS - PER_DESTINATION}
    assert portal.sms_sent_to(number) == PER_DESTINATION


def test_replays_of_one_form_count_once(portal):
    """Parallel double-clicks of one form (one idempotency key) are one invitation: the
    destination can still receive two more under its limit of three, then no more."""
    number = "+14155570134"
    agent = stack.logged_in(portal.url)
    agent.get(f"{portal.url}/", timeout=10)

    key = uuid.uuid4().hex
    replays = session_pages(portal, agent, number, [key] * 8)
    assert replays == [302] * 8
    assert portal.invitees_with_key(key) == 1
    more = [post_form(portal, agent, number, uuid.uuid4().hex) for _ in range(3)]

    assert more == [302, 302, 400]
    assert portal.sms_sent_to(number) == PER_DESTINATION
