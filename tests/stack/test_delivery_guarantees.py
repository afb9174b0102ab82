"""Delivery guarantees through real services: PostgreSQL, a Redis broker, a Celery worker
process, and the sandbox upstream on a live HTTP server, with faults injected upstream.

Every test counts what matters: messages that reached the customer (the sandbox outbox),
requests the upstream received, and each invitee's final state. Duplicates and lost
invitations must both be zero.
"""

from __future__ import annotations

import io
import os
import re
import signal
import time

import pytest
from django.core.management import call_command
from django.urls import reverse

from bench.stack import Worker
from invitations import services
from invitations.models import DeliveryStatus, Invitee, Session
from sandbox import faults
from sandbox.models import OutboxMessage, SandboxRequest
from tests.support.stack import WORKER_APPLICATION_NAME

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FINAL = {DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.NEEDS_ATTENTION}


@pytest.fixture
def agent(celery_worker, sandbox_credential, make_agent):
    return make_agent(credential=sandbox_credential)


def wait_for(invitee_id: int, states=FINAL, timeout: float = 30.0) -> Invitee:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        invitee = Invitee.objects.get(pk=invitee_id)
        if invitee.status in states:
            return invitee
        time.sleep(0.1)
    raise AssertionError(f"invitee {invitee_id} still {invitee.status} after {timeout} s")


def test_one_click_is_delivered_by_the_worker(client, agent, celery_worker):
    from django.db import connection

    assert connection.vendor == "postgresql"
    assert (
        "DATABASE_URL" in celery_worker.env and "postgres://" in celery_worker.env["DATABASE_URL"]
    )
    client.force_login(agent)
    page = client.get(reverse("invitations:home")).content.decode()
    key = re.search(r'name="idempotency_key" value="(\w+)"', page)
    assert key
    started = time.monotonic()
    response = client.post(
        reverse("invitations:home"),
        {"destination": "(415) 555-0134", "idempotency_key": key.group(1)},
    )
    click = time.monotonic() - started
    assert response.status_code == 302
    invitee = wait_for(Invitee.objects.get().pk)
    assert invitee.status == DeliveryStatus.SENT, invitee.last_error
    assert OutboxMessage.objects.get().session_key == Session.objects.get().session_key
    assert "Task invitations.deliver_invitee" in celery_worker.log.read_text()
    assert click < 2.0  # the click only queues; the worker talks to the upstream


def test_the_worker_keeps_its_database_connections_between_tasks(agent, celery_worker):
    """Celery's Django fixup would close them around every task (a new connection, ~10 ms,
    per delivery); agentportal.celery keeps them for CONN_MAX_AGE, as requests do."""
    from django.db import connection

    def worker_connections() -> set[tuple[int, object]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, backend_start FROM pg_stat_activity WHERE application_name = %s",
                [WORKER_APPLICATION_NAME],
            )
            return set(cursor.fetchall())

    seen: set[tuple[int, object]] = set()
    for n in range(6):
        invitee = services.invitation_create(agent=agent, destination=f"+1415555010{n}")
        assert wait_for(invitee.pk).status == DeliveryStatus.SENT
        still_open = worker_connections()
        assert still_open, "the worker closed its connection after the task"
        seen |= still_open
    assert len(seen) <= celery_worker.concurrency, seen


def test_double_submit_and_rerun_send_one_message(client, agent):
    client.force_login(agent)
    form = {"destination": "+44 20 7946 0958", "idempotency_key": "double-click-1"}
    first = client.post(reverse("invitations:home"), form)
    second = client.post(reverse("invitations:home"), form)
    assert first.url == second.url
    for _ in range(2):
        call_command(
            "send_invitation",
            "--agent=ann",
            "--sms=+14155550134",
            "--idempotency-key=rerun-1",
            "--wait",
            stdout=io.StringIO(),
        )
    for invitee in Invitee.objects.all():
        assert wait_for(invitee.pk).status == DeliveryStatus.SENT
    assert Session.objects.count() == 2
    assert sorted(OutboxMessage.objects.values_list("to", flat=True)) == [
        "+14155550134",
        "+442079460958",
    ]


# fault, count, final status, upstream requests, messages the customer got
FAULT_MATRIX = [
    ({"mode": "status", "status": 500}, 1, "failed", 1, 0),
    ({"mode": "status", "status": 502}, 1, "sent", 2, 1),
    ({"mode": "status", "status": 503}, 1, "sent", 2, 1),
    ({"mode": "status", "status": 503}, None, "failed", 3, 0),
    ({"mode": "status", "status": 429, "retry_after": 1}, 1, "sent", 2, 1),
    ({"mode": "status", "status": 401}, 1, "sent", 2, 1),
    ({"mode": "status", "status": 401}, None, "failed", 2, 0),
    ({"mode": "slow", "delay_seconds": 2.5}, 1, "needs_attention", 1, 1),
    ({"mode": "reset"}, 1, "needs_attention", 1, 1),
    ({"mode": "malformed"}, 1, "needs_attention", 1, 1),
]


@pytest.mark.parametrize(
    ("fault", "count", "final", "requests", "messages"),
    FAULT_MATRIX,
    ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else str(v),
)
def test_fault_matrix(agent, fault, count, final, requests, messages):
    faults.inject("glance", count=count, **fault)
    started = time.monotonic()
    invitee = services.invitation_create(agent=agent, destination="(415) 555-0134")
    invitee = wait_for(invitee.pk)
    elapsed = time.monotonic() - started
    if fault["mode"] == "slow":
        time.sleep(fault["delay_seconds"])  # let the sandbox finish what the client gave up on
    assert invitee.status == final, invitee.last_error
    assert SandboxRequest.objects.filter(target="glance").count() == requests
    delivered = OutboxMessage.objects.filter(to="+14155550134").count()
    assert delivered == messages
    assert delivered <= 1  # never a duplicate SMS
    if fault.get("retry_after"):
        assert elapsed >= fault["retry_after"]


def test_worker_killed_mid_delivery_loses_nothing_and_sends_nothing_twice(
    agent, celery_worker, settings
):
    faults.inject("glance", mode="slow", delay_seconds=3, count=1)
    invitee = services.invitation_create(agent=agent, destination="(415) 555-0134")
    wait_for(invitee.pk, states={DeliveryStatus.SENDING})
    time.sleep(0.3)  # the request is on its way to the upstream
    for pid in celery_worker.pool_children():
        os.kill(pid, signal.SIGKILL)
    time.sleep(4)  # the upstream finishes what it was asked; the task is given back and rerun

    invitee.refresh_from_db()
    assert invitee.status == DeliveryStatus.SENDING  # claimed: the rerun did not send again
    settings.CELERY_TASK_TIME_LIMIT = 1
    out = io.StringIO()
    call_command("requeue_stuck", "--older-than=1", stdout=out)
    assert "interrupted (now needs attention): 1" in out.getvalue()
    invitee.refresh_from_db()
    assert invitee.status == DeliveryStatus.NEEDS_ATTENTION
    assert SandboxRequest.objects.filter(target="glance").count() == 1
    assert OutboxMessage.objects.count() == 1
    # The worker reports its lost pool process when it notices, which may be a moment later.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any(
        word in celery_worker.log.read_text() for word in ("WorkerLostError", "SIGKILL")
    ):
        time.sleep(0.2)
    assert any(word in celery_worker.log.read_text() for word in ("WorkerLostError", "SIGKILL"))


def test_the_worker_reports_the_customer_joined(agent, celery_worker, live_server):
    """With a broker, the worker asks Glance whether the customer joined (LookupPartnerSession2,
    at most once per invitation per GLANCE_LOOKUP_INTERVAL_SECONDS); nobody reads the session."""
    import requests

    invitee = wait_for(services.invitation_create(agent=agent, destination="+14155550134").pk)
    assert invitee.status == DeliveryStatus.SENT, invitee.last_error
    key = invitee.session.session_key
    # The customer opens the link from the SMS (the sandbox's visitor page starts the session).
    [link] = re.findall(r"https?://\S+", OutboxMessage.objects.get().body)
    assert f"/join/{key}/" in link
    opened = time.monotonic()
    assert requests.get(link, timeout=10).status_code == 200
    joined = wait_for(invitee.pk, {DeliveryStatus.JOINED}, timeout=15)
    took = time.monotonic() - opened
    print(f"worker reported joined {took:.1f} s after the link was opened")
    assert joined.joined_at is not None
    assert took <= 10
    assert "Task invitations.poll_invitee_presence" in celery_worker.log.read_text()
    lookups = SandboxRequest.objects.filter(path__endswith="/LookupPartnerSession2")
    # One per interval at most: the chain stops once the join is found.
    time.sleep(6)
    assert lookups.count() <= 2 + took / 5


def test_a_delivery_worker_and_a_presence_worker_split_the_work_by_queue(
    agent, celery_worker, live_server, tmp_path
):
    """As docs/production.md runs them for bulk sends: the worker started with `-Q celery`
    delivers, the one with `-Q presence` asks whether the customer joined."""
    celery_worker.stop()
    deliveries = Worker(celery_worker.env, tmp_path / "deliveries.log", 1, queues="celery")
    lookups = Worker(celery_worker.env, tmp_path / "presence.log", 1, queues="presence")
    try:
        deliveries.start()
        lookups.start()
        invitee = wait_for(services.invitation_create(agent=agent, destination="+14155550134").pk)
        assert invitee.status == DeliveryStatus.SENT, invitee.last_error
        deadline = time.monotonic() + 20
        while "Task invitations.poll_invitee_presence" not in lookups.log.read_text():
            assert time.monotonic() < deadline, "no presence lookup ran"
            time.sleep(0.2)
        assert "Task invitations.deliver_invitee" in deliveries.log.read_text()
        assert "Task invitations.poll_invitee_presence" not in deliveries.log.read_text()
        assert "Task invitations.deliver_invitee" not in lookups.log.read_text()
    finally:
        deliveries.stop()
        lookups.stop()
        celery_worker.start()
