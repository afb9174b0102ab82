"""Faults seen by a real HTTP client against the sandbox on pytest-django's live server."""

import time

import pytest
import requests

from sandbox import faults
from sandbox.models import OutboxMessage, SandboxRequest
from tests.support.sandbox import NORMAL_STATUS, TARGETS, staff_session, valid_call

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def send(live_server, settings, target, timeout=5.0):
    call = valid_call(target, settings)
    return requests.request(
        call.method,
        live_server.url + call.path,
        data=call.body.encode(),
        headers={"Content-Type": call.content_type, **call.headers},
        timeout=timeout,
    )


def wait_until_answered(target, deadline=5.0):
    """The log entries of `target`, once the server has finished answering all of them."""
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        entries = list(SandboxRequest.objects.filter(target=target))
        if all(e.status is not None for e in entries):
            return entries
        time.sleep(0.02)
    raise AssertionError(f"{target} requests still unanswered after {deadline} s")


@pytest.mark.parametrize("target", TARGETS)
def test_reset_drops_the_connection_after_the_upstream_acted(live_server, settings, target):
    faults.inject(target, "reset", count=1)
    with pytest.raises(requests.ConnectionError) as raised:
        send(live_server, settings, target)
    assert not isinstance(raised.value, requests.Timeout)
    assert OutboxMessage.objects.count() == 1  # the upstream acted; the answer was lost
    [entry] = wait_until_answered(target)
    assert (entry.status, entry.fault) == (0, "reset")
    # The server lives on: the next request is answered normally.
    assert send(live_server, settings, target).status_code == NORMAL_STATUS[target]
    assert OutboxMessage.objects.count() == 2


def test_reset_set_over_the_control_endpoint(live_server, settings, staff_user):
    staff = staff_session(live_server.url)
    body = {"target": "sms-gateway", "mode": "reset", "count": 1}
    added = staff.post(live_server.url + "/sandbox/faults/", json=body, timeout=5)
    assert added.status_code == 201
    with requests.Session() as session:
        call = valid_call("sms-gateway", settings)
        url = live_server.url + call.path
        headers = {"Content-Type": call.content_type, **call.headers}
        with pytest.raises(requests.ConnectionError):
            session.post(url, data=call.body, headers=headers, timeout=5)
        assert session.post(url, data=call.body, headers=headers, timeout=5).ok
    log = staff.get(live_server.url + "/sandbox/requests/?format=json", timeout=5).json()
    assert [(r["status"], r["fault"]) for r in log["requests"]] == [(0, "reset"), (202, "")]


def test_slow_upstream_acts_after_the_client_gave_up(live_server, settings):
    faults.inject("sms-gateway", "slow", delay_seconds=0.8, count=1)
    with pytest.raises(requests.ReadTimeout):
        send(live_server, settings, "sms-gateway", timeout=0.3)
    # Logged on arrival: the request counts although nobody got an answer yet.
    assert SandboxRequest.objects.filter(target="sms-gateway").count() == 1
    [entry] = wait_until_answered("sms-gateway")
    assert (entry.status, entry.fault) == (202, "slow")
    assert OutboxMessage.objects.count() == 1


def test_status_and_malformed_faults_over_http(live_server, settings):
    faults.inject("glance", "status", status=429, retry_after=3, count=1)
    faults.inject("glance", "malformed", count=1)
    limited = send(live_server, settings, "glance")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
    assert limited.json() == {"error": "injected fault"}
    broken = send(live_server, settings, "glance")
    assert broken.status_code == 200
    assert broken.headers["Content-Type"] == "application/json"
    with pytest.raises(requests.JSONDecodeError):
        broken.json()
    assert send(live_server, settings, "glance").json()["sessionKey"]
    assert OutboxMessage.objects.count() == 2
