"""Resident memory of a worker process and of a web process over many deliveries and requests.

    .venv/bin/python -m bench.memory [--deliveries 10000] [--requests 10000]

PostgreSQL, Redis, gunicorn with one worker process (portal and sandbox) and one Celery
worker with one pool process (bench/production_stack.py); the sandbox answers at once. Takes
about ten minutes on a quiet machine.

- worker: invitations of the demo Digital Samba credential (a room, a signed link, an SMS
  through the gateway) are written to the database and their delivery tasks queued, in
  batches; after each batch is delivered the pool process's resident memory (VmRSS) is read.
- web: the agent's pages (home, session list, a session, its live part as htmx polls it) and
  the API (session list and detail, with a token), in turn through one kept-alive
  connection; gunicorn's worker process's VmRSS is read as they go.

Goal: for each, the resident memory after all of them within 10 % of the memory after the
first 100 (memory that grows with every delivery or request would not stop).
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
from pathlib import Path

import requests

from bench import stack
from bench.production_stack import ProductionStack, production_stack, wait_until

WARM = 100  # deliveries or requests before the reference reading
GOAL = 1.10  # the last reading at most this many times the reference
CREDENTIAL = "demo-digitalsamba"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=10_000)
    options = parser.parse_args()
    with production_stack(worker_concurrency=1, web_workers=1, web_threads=4) as portal:
        portal.set_sandbox_delay(0)
        portal.use_database_here()
        worker = worker_memory(portal, options.deliveries)
        web = web_memory(portal, options.requests)
    ok = True
    for what, count, readings in (
        ("worker", f"{options.deliveries} deliveries", worker),
        ("web", f"{options.requests} requests", web),
    ):
        reference, last = readings[WARM], readings[max(readings)]
        passed = last <= reference * GOAL
        ok = ok and passed
        print(
            f"RESULT memory {what}: {last / 1024:.1f} MiB after {count} = "
            f"{(last / reference - 1) * 100:+.1f} % against {reference / 1024:.1f} MiB after "
            f"{WARM} (goal ≤ {(GOAL - 1) * 100:+.0f} %) {'PASS' if passed else 'FAIL'}"
        )
    return 0 if ok else 1


def rss_kib(pid: int) -> int:
    """A process's resident memory (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def only_child(pid: int) -> int:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert len(children) == 1, f"process {pid} has {len(children)} children, not 1"
    return int(children[0])


def checkpoints(total: int) -> list[int]:
    """Where to read the memory: after WARM, then every tenth of the way."""
    step = max(total // 10, 1)
    return sorted({WARM, *range(step, total, step), total})


def worker_memory(portal: ProductionStack, deliveries: int) -> dict[int, int]:
    from django.contrib.auth.models import User

    from invitations.models import AttemptOutcome, Invitee, PartnerCredential, Session
    from invitations.states import DeliveryStatus
    from invitations.tasks import deliver_invitee

    agent = User.objects.get(username="agent")
    credential = PartnerCredential.objects.get(label=CREDENTIAL)
    numbers = (f"+1415{n:07d}" for n in itertools.count(3_000_000))
    pool_process = portal.worker.pool_children()
    assert len(pool_process) == 1, f"{len(pool_process)} pool processes, not 1"
    readings: dict[int, int] = {}
    done = 0
    for checkpoint in checkpoints(deliveries):
        batch = checkpoint - done
        sessions = Session.objects.bulk_create(
            Session(credential=credential, created_by=agent, session_type=1) for _ in range(batch)
        )
        invitees = Invitee.objects.bulk_create(
            Invitee(session=session, channel="sms", destination=next(numbers), name="Customer")
            for session in sessions
        )
        for invitee in invitees:
            deliver_invitee.delay(invitee.pk)
        ids = [invitee.pk for invitee in invitees]

        def delivered(ids: list[int] = ids) -> bool:
            return not Invitee.objects.filter(
                pk__in=ids, status__in=(DeliveryStatus.QUEUED, DeliveryStatus.SENDING)
            ).exists()

        wait_until(delivered, timeout=max(60.0, batch * 0.5), what=f"{batch} deliveries")
        # Each was sent once; the status may already show the gateway's receipt since.
        unsent = Invitee.objects.filter(pk__in=ids).exclude(
            attempts_log__outcome=AttemptOutcome.SENT
        )
        assert not unsent.exists(), f"not sent: {set(unsent.values_list('status', 'last_error'))}"
        done = checkpoint
        readings[done] = rss_kib(pool_process[0])
        print(
            f"worker: {done} deliveries, pool process {readings[done] / 1024:.1f} MiB", flush=True
        )
    return readings


def web_memory(portal: ProductionStack, total: int) -> dict[int, int]:
    from django.contrib.auth.models import User

    from invitations.models import Session
    from invitations.services import tokens

    agent = User.objects.get(username="agent")
    session = Session.objects.filter(created_by=agent).latest("pk")
    _, token = tokens.api_token_create(user=agent, name="bench.memory", actor=None)
    browser = portal.logged_in("agent")
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    url = portal.url
    mix: list[Callable[[], requests.Response]] = [
        lambda: browser.get(f"{url}/", timeout=30),
        lambda: browser.get(f"{url}/sessions/", timeout=30),
        lambda: browser.get(f"{url}/sessions/{session.pk}/", timeout=30),
        lambda: browser.get(
            f"{url}/sessions/{session.pk}/invitees/", headers={"HX-Request": "true"}, timeout=30
        ),
        lambda: api.get(f"{url}/api/v1/sessions/", timeout=30),
        lambda: api.get(f"{url}/api/v1/sessions/{session.pk}/", timeout=30),
    ]
    web_process = only_child(portal.web.pid)
    readings: dict[int, int] = {}
    wanted = checkpoints(total)
    for done, request in enumerate(itertools.islice(itertools.cycle(mix), total), start=1):
        answer = request()
        assert getattr(answer, "status_code", 0) == 200, f"request {done}: {answer}"
        if done in wanted:
            readings[done] = rss_kib(web_process)
            print(
                f"web: {done} requests, gunicorn worker {readings[done] / 1024:.1f} MiB", flush=True
            )
    return readings


if __name__ == "__main__":
    stack.run_main(main)
