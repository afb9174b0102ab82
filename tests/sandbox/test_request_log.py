"""Every call to the three upstream APIs is logged, whatever it was answered with."""

import pytest

from sandbox import faults
from sandbox.models import OnSyncParticipant, SandboxRequest
from tests.support.sandbox import (
    glance_authorize_path,
    glance_credentials,
    glance_gkey,
    onsync_api,
    onsync_auth,
)

# The outbox, fault control and request log are for signed-in staff (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signed_in_staff")]
GLANCE = "/sandbox/glance/api/SessionInvitation/smsInvite/"
GATEWAY = "/sandbox/sms-gateway/messages"


def log():
    return [(r.target, r.method, r.path, r.status, r.fault) for r in SandboxRequest.objects.all()]


def test_glance_calls_are_logged_with_their_status(client, call, settings):
    call("glance")
    client.post(GLANCE + "?groupid=72", "{}", "application/json")  # no credential
    client.post(GLANCE + "?groupid=x", "{}", "application/json")
    client.get(GLANCE + "?groupid=72")
    gkey = {"Authorization": glance_gkey(settings, "ann-77")}
    client.post(GLANCE + "?groupid=72", "[]", "application/json", headers=gkey)
    assert log() == [
        ("glance", "POST", GLANCE + "?groupid=72", 200, ""),
        ("glance", "POST", GLANCE + "?groupid=72", 401, ""),
        ("glance", "POST", GLANCE + "?groupid=x", 400, ""),
        ("glance", "GET", GLANCE + "?groupid=72", 405, ""),
        ("glance", "POST", GLANCE + "?groupid=72", 400, ""),
    ]


def test_glance_authorization_calls_are_logged_and_can_be_faulted(client, settings):
    authorize = glance_authorize_path(settings)
    faults.inject("glance", "status", status=503, count=1)
    client.post(authorize, glance_credentials(settings, "ann-77"), "application/json")
    client.post(authorize, glance_credentials(settings, "ann-77"), "application/json")
    client.post(authorize, "", "application/json")
    assert log() == [
        ("glance", "POST", authorize, 503, "status"),
        ("glance", "POST", authorize, 200, ""),
        ("glance", "POST", authorize, 401, ""),
    ]


def test_every_onsync_endpoint_is_logged(client, call, settings):
    session_id = call("onsync").json()["id"]
    auth = onsync_auth(settings)
    api = onsync_api(settings)
    token = OnSyncParticipant.objects.get().token
    client.get(f"{api}/session/id/{session_id}/format/json", headers=auth)
    body = f"id={session_id}&topic=Renamed"
    client.post(f"{api}/session", body, "application/x-www-form-urlencoded", headers=auth)
    client.get(f"{api}/invitees/id/{session_id}", headers=auth)
    client.get(f"{api}/invitees/id/0/format/json", headers=auth)
    client.get(f"{api}/session/id/{session_id}")  # no credentials
    client.generic("PUT", f"{api}/session/", "duration=60", headers=auth)  # no topic
    client.generic("DELETE", f"{api}/session/format/json", f"id={session_id}", headers=auth)
    client.get(f"/sandbox/onsync/join/{token}/")  # a join page, not the API
    assert log() == [
        ("onsync", "PUT", f"{api}/session/format/json", 201, ""),
        ("onsync", "GET", f"{api}/session/id/{session_id}/format/json", 200, ""),
        ("onsync", "POST", f"{api}/session", 200, ""),
        ("onsync", "GET", f"{api}/invitees/id/{session_id}", 200, ""),
        ("onsync", "GET", f"{api}/invitees/id/0/format/json", 404, ""),
        ("onsync", "GET", f"{api}/session/id/{session_id}", 401, ""),
        ("onsync", "PUT", f"{api}/session/", 400, ""),
        ("onsync", "DELETE", f"{api}/session/format/json", 200, ""),
    ]


def test_sms_gateway_calls_are_logged_with_their_status(client, call):
    call("sms-gateway")
    client.post(GATEWAY, "{}", "application/json")
    call("sms-gateway")
    client.get(GATEWAY)
    assert [(r[3], r[1]) for r in log()] == [
        (202, "POST"),
        (401, "POST"),
        (202, "POST"),
        (405, "GET"),
    ]


def test_faulted_requests_are_logged_with_the_fault_and_the_status_answered(call):
    faults.inject("sms-gateway", "status", status=429, count=1)
    faults.inject("sms-gateway", "malformed", count=1)
    faults.inject("sms-gateway", "slow", delay_seconds=0.01, count=1)
    faults.inject("sms-gateway", "reset", count=1)  # no socket under the test client: 500
    for _ in range(5):
        call("sms-gateway")
    assert [(r[3], r[4]) for r in log()] == [
        (429, "status"),
        (200, "malformed"),
        (202, "slow"),
        (500, "reset"),
        (202, ""),
    ]


def test_a_view_that_raises_is_logged_as_500(call, monkeypatch):
    def explode(**fields):
        raise RuntimeError("disk full")

    monkeypatch.setattr("sandbox.sms_gateway.OutboxMessage.objects.create", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        call("sms-gateway")
    assert [(r[3], r[4]) for r in log()] == [(500, "")]


def test_the_log_endpoint_lists_newest_last_and_filters_by_target(client, call):
    call("glance")
    call("sms-gateway")
    call("glance")
    listed = client.get("/sandbox/requests/", {"format": "json"}).json()["requests"]
    assert [r["target"] for r in listed] == ["glance", "sms-gateway", "glance"]
    ids = [r["id"] for r in listed]
    assert ids == sorted(ids)
    first = listed[0]
    assert (first["method"], first["path"], first["status"], first["fault"]) == (
        "POST",
        GLANCE + "?groupid=72",
        200,
        "",
    )
    assert first["created_at"]
    glance = client.get("/sandbox/requests/?format=json&target=glance").json()["requests"]
    assert [r["id"] for r in glance] == [ids[0], ids[2]]
    assert client.get("/sandbox/requests/?target=onsync").json() == {"requests": []}


@pytest.mark.parametrize("query", ["?target=fax", "?format=html"])
def test_the_log_endpoint_refuses_bad_queries(client, query):
    response = client.get("/sandbox/requests/" + query)
    assert response.status_code == 400
    assert response.json()["error"]


def test_the_log_endpoint_is_read_only(client):
    assert client.delete("/sandbox/requests/").status_code == 405
