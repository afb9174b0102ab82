"""Fault rules, injected in-process with sandbox.faults, played by the three upstream APIs."""

import json
import time
from email.utils import parsedate_to_datetime

import pytest

from sandbox import faults
from sandbox.models import FaultRule, OnSyncSession, OutboxMessage, SandboxRequest
from tests.support.sandbox import (
    FIRST_KEY,
    NORMAL_STATUS,
    TARGETS,
    onsync_api,
    onsync_auth,
    xml_answer,
)

pytestmark = pytest.mark.django_db


def logged(target):
    return [(r.status, r.fault) for r in SandboxRequest.objects.filter(target=target)]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("status", [500, 502, 503, 401])
def test_status_fault_answers_instead_of_the_upstream(call, target, status):
    faults.inject(target, "status", status=status, count=1)
    response = call(target)
    assert response.status_code == status
    assert response.json() == {"error": "injected fault"}
    assert "Retry-After" not in response
    # The real handler did not run: nothing sent, no session made.
    assert not OutboxMessage.objects.exists()
    assert not OnSyncSession.objects.exists()
    assert logged(target) == [(status, "status")]


@pytest.mark.parametrize("target", TARGETS)
def test_429_always_says_when_to_retry(call, target):
    faults.inject(target, "status", status=429, count=1)
    response = call(target)
    assert response.status_code == 429
    assert response["Retry-After"] == str(faults.DEFAULT_RETRY_AFTER) == "1"


@pytest.mark.parametrize(("status", "retry_after"), [(429, 7), (503, 30), (503, 0)])
def test_retry_after_is_sent_whenever_it_is_set(call, status, retry_after):
    faults.inject("sms-gateway", "status", status=status, retry_after=retry_after)
    response = call("sms-gateway")
    assert response.status_code == status
    assert response["Retry-After"] == str(retry_after)


@pytest.mark.parametrize("target", TARGETS)
def test_slow_fault_waits_then_the_upstream_acts(call, target):
    faults.inject(target, "slow", delay_seconds=0.2, count=1)
    started = time.monotonic()
    response = call(target)
    assert time.monotonic() - started >= 0.2
    assert response.status_code == NORMAL_STATUS[target]
    assert OutboxMessage.objects.count() == 1
    assert logged(target) == [(NORMAL_STATUS[target], "slow")]
    # Spent: the next request is not delayed.
    started = time.monotonic()
    assert call(target).status_code == NORMAL_STATUS[target]
    assert time.monotonic() - started < 0.2


def test_delay_applies_before_a_status_fault_too(call):
    faults.inject("glance", "status", status=503, delay_seconds=0.2, count=1)
    started = time.monotonic()
    assert call("glance").status_code == 503
    assert time.monotonic() - started >= 0.2
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize("target", TARGETS)
def test_malformed_fault_lets_the_upstream_act_but_answers_broken_json(call, target):
    faults.inject(target, "malformed", count=1)
    response = call(target)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content == FIRST_KEY[target]
    with pytest.raises(ValueError):
        json.loads(response.content)
    assert OutboxMessage.objects.count() == 1
    assert logged(target) == [(200, "malformed")]


def test_malformed_answers_200_even_when_the_upstream_refused(client):
    faults.inject("sms-gateway", "malformed", count=1)
    response = client.post("/sandbox/sms-gateway/messages", "{}", "application/json")
    assert (response.status_code, response.content) == (200, b'{"error": ')
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize("target", TARGETS)
def test_reset_under_the_test_client_is_a_500_that_says_why(call, target):
    # There is no socket to drop here; tests/sandbox/test_faults_over_http.py drops real ones.
    faults.inject(target, "reset", count=1)
    response = call(target)
    assert response.status_code == 500
    assert "live server" in response.json()["error"]
    assert OutboxMessage.objects.count() == 1  # the upstream acted before the reset
    assert logged(target) == [(500, "reset")]


@pytest.mark.parametrize("target", TARGETS)
def test_count_faults_that_many_requests_then_the_next_is_normal(call, target):
    rule = faults.inject(target, "status", status=503, count=2)
    assert [call(target).status_code for _ in range(3)] == [503, 503, NORMAL_STATUS[target]]
    assert OutboxMessage.objects.count() == 1
    rule.refresh_from_db()
    assert rule.remaining == 0
    assert logged(target) == [(503, "status"), (503, "status"), (NORMAL_STATUS[target], "")]


def test_without_count_every_request_is_faulted_until_cleared(call):
    rule = faults.inject("onsync", "status", status=502)
    assert [call("onsync").status_code for _ in range(4)] == [502] * 4
    rule.refresh_from_db()
    assert rule.remaining is None
    assert faults.clear() == 1
    assert call("onsync").status_code == 201


def test_rules_of_a_target_are_consumed_in_order(call):
    faults.inject("glance", "status", status=503, count=1)
    faults.inject("glance", "malformed", count=1)
    faults.inject("glance", "status", status=429, count=1)
    statuses = [call("glance").status_code for _ in range(4)]
    assert statuses == [503, 200, 429, 200]
    assert [f for _, f in logged("glance")] == ["status", "malformed", "status", ""]


def test_a_rule_applies_to_its_own_target_only(call):
    faults.inject("glance", "status", status=503)
    assert call("onsync").status_code == 201
    assert call("sms-gateway").status_code == 202
    assert call("glance").status_code == 503
    assert OutboxMessage.objects.count() == 2


def test_clear_by_target_leaves_the_others(call):
    for target in TARGETS:
        faults.inject(target, "status", status=503)
    assert faults.clear("glance") == 1
    assert call("glance").status_code == 200
    assert call("onsync").status_code == call("sms-gateway").status_code == 503
    assert faults.clear() == 2
    assert not FaultRule.objects.exists()
    assert call("onsync").status_code == 201
    assert call("sms-gateway").status_code == 202


@pytest.mark.parametrize(
    ("args", "kwargs", "reason"),
    [
        (("fax", "status"), {"status": 503}, "target"),
        (("glance", "explode"), {}, "mode"),
        (("glance", "status"), {}, "status"),
        (("glance", "status"), {"status": 200}, "status"),
        (("glance", "slow"), {"status": 503, "delay_seconds": 1}, "status"),
        (("glance", "slow"), {}, "delay_seconds"),
        (("glance", "slow"), {"delay_seconds": -1}, "delay_seconds"),
        (("glance", "malformed"), {"count": 0}, "count"),
        (("glance", "malformed"), {"retry_after": 5}, "retry_after"),
    ],
)
def test_inject_refuses_rules_that_make_no_sense(args, kwargs, reason):
    with pytest.raises(faults.BadFault, match=reason):
        faults.inject(*args, **kwargs)
    assert not FaultRule.objects.exists()


def test_clear_refuses_an_unknown_target():
    faults.inject("glance", "status", status=503)
    with pytest.raises(faults.BadFault, match="target"):
        faults.clear("fax")
    assert FaultRule.objects.count() == 1


@pytest.mark.usefixtures("signed_in_staff")
def test_faults_never_touch_the_sandbox_pages(client, call, settings):
    assert call("glance").status_code == 200
    assert call("onsync").status_code == 201
    session_key = OutboxMessage.objects.get(provider="glance").session_key
    onsync = OnSyncSession.objects.get()
    generic = f"/sandbox/onsync/go/{onsync.account}/{onsync.friendly_url}/"
    personal = f"/sandbox/onsync/join/{onsync.participants.get().token}/"
    for target in TARGETS:
        faults.inject(target, "status", status=503)
        faults.inject(target, "malformed")
    before = SandboxRequest.objects.count()
    pages = [
        "/sandbox/outbox/",
        "/sandbox/outbox/?format=json",
        "/sandbox/faults/",
        "/sandbox/requests/?format=json",
        f"/sandbox/glance/join/{session_key}/",
        generic,
        personal,
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert b"injected fault" not in response.content
    assert "Support session" in client.get(generic).content.decode()
    assert len(client.get("/sandbox/outbox/?format=json").json()["messages"]) == 2
    # Not upstream calls, so not logged; the upstream itself is still faulted.
    assert SandboxRequest.objects.count() == before
    assert call("sms-gateway").status_code == 503


@pytest.mark.parametrize("target", TARGETS)
def test_every_answer_is_dated_like_a_real_servers(call, target):
    """Clients tell their clock is off from Date (Glance login keys expire by Glance's clock)."""
    response = call(target)
    date = parsedate_to_datetime(response["Date"])
    assert abs(date.timestamp() - time.time()) < 5


@pytest.mark.parametrize("target", TARGETS)
def test_redirect_answers_a_3xx_to_the_url_without_acting(call, target):
    faults.inject(target, "redirect", url="http://elsewhere.test/capture?x=1", count=1)
    response = call(target)
    assert (response.status_code, response["Location"]) == (
        307,
        "http://elsewhere.test/capture?x=1",
    )
    assert not OutboxMessage.objects.exists() and not OnSyncSession.objects.exists()
    faults.inject(target, "redirect", status=308, url="/elsewhere", count=1)
    assert call(target).status_code == 308
    assert logged(target) == [(307, "redirect"), (308, "redirect")]


def test_link_puts_the_url_in_place_of_glances_link(call):
    faults.inject("glance", "link", url="javascript:alert(1)//")
    text = call("glance").json()["invitationText"]
    assert text.endswith("Tap to join: javascript:alert(1)//")
    assert "http" not in text


@pytest.mark.parametrize("fmt", ["/format/json", ""])
def test_link_puts_the_url_in_place_of_onsyncs_links_in_json_and_xml(client, call, settings, fmt):
    session_id = call("onsync").json()["id"]
    faults.inject("onsync", "link", url="javascript:alert(1)//")
    api, auth = onsync_api(settings), onsync_auth(settings)
    read = client.get(f"{api}/session/id/{session_id}{fmt}", headers=auth)
    listed = client.get(f"{api}/invitees/id/{session_id}{fmt}", headers=auth)
    if fmt:
        assert read.json()["session_link"] == "javascript:alert(1)//"
        assert listed.json()["participants"]["personal_session_link"] == "javascript:alert(1)//"
        return
    session_link = xml_answer(read.content).findtext("session_link")
    personal = xml_answer(listed.content).findtext("participants/item/personal_session_link")
    assert session_link == personal == "javascript:alert(1)//"
    assert b"http" not in read.content + listed.content
