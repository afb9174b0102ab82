"""Fault rules and the request log cover the sandbox's Digital Samba like the other providers,
over real HTTP."""

import pytest

from sandbox import faults
from sandbox.models import DigitalSambaRoom, SandboxRequest
from tests.support.digitalsamba_wire import API, api_session
from tests.support.sandbox import staff_session

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def client_of_team(settings):
    with api_session(settings) as session:
        yield session


def test_rate_limit_fault_answers_as_documented(live_server, client_of_team):
    faults.inject("digitalsamba", "status", status=429, retry_after=38, count=1)
    url = live_server.url + API + "/rooms"
    limited = client_of_team.post(url, json={"privacy": "private"}, timeout=5)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "38"
    assert limited.json() == {
        "message": "Too Many Attempts. You may try again in 38 seconds.",
        "error": "rate-limit",
    }
    assert not DigitalSambaRoom.objects.exists()  # the real handler did not run
    assert client_of_team.post(url, json={"privacy": "private"}, timeout=5).status_code == 200
    assert DigitalSambaRoom.objects.count() == 1


def test_a_429_without_retry_after_still_says_how_long(live_server, client_of_team):
    faults.inject("digitalsamba", "status", status=429, count=1)
    limited = client_of_team.get(live_server.url + API + "/webhooks", timeout=5)
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "1")
    assert limited.json()["error"] == "rate-limit"


def test_link_fault_replaces_the_room_url(live_server, client_of_team):
    faults.inject("digitalsamba", "link", url="javascript:alert(1)", count=1)
    room = client_of_team.post(
        live_server.url + API + "/rooms", json={"privacy": "private"}, timeout=5
    )
    assert room.json()["room_url"] == "javascript:alert(1)"


def test_every_call_is_in_the_request_log(live_server, settings, staff_user, client_of_team):
    faults.inject("digitalsamba", "status", status=503, count=1)
    rooms = live_server.url + API + "/rooms"
    client_of_team.get(rooms, timeout=5)
    created = client_of_team.post(rooms, json={"privacy": "private"}, timeout=5).json()
    client_of_team.get(f"{rooms}/{created['friendly_url']}", timeout=5)
    client_of_team.post(rooms, json={}, timeout=5)
    client_of_team.get(live_server.url + API + "/nowhere", timeout=5)
    api = "/sandbox/digitalsamba/api/v1"
    # The room page is not the API: not logged.
    client_of_team.get(created["room_url"], timeout=5)
    staff = staff_session(live_server.url)
    log = staff.get(
        live_server.url + "/sandbox/requests/?format=json&target=digitalsamba", timeout=5
    ).json()
    assert [(r["method"], r["path"], r["status"], r["fault"]) for r in log["requests"]] == [
        ("GET", f"{api}/rooms", 503, "status"),
        ("POST", f"{api}/rooms", 200, ""),
        ("GET", f"{api}/rooms/{created['friendly_url']}", 200, ""),
        ("POST", f"{api}/rooms", 422, ""),
        ("GET", f"{api}/nowhere", 404, ""),
    ]
    assert SandboxRequest.objects.filter(target="digitalsamba").count() == 5


def test_fault_rules_for_digital_samba_over_the_control_endpoint(live_server, staff_user):
    staff = staff_session(live_server.url)
    body = {"target": "digitalsamba", "mode": "status", "status": 429, "retry_after": 5}
    added = staff.post(live_server.url + "/sandbox/faults/", json=body, timeout=5)
    assert added.status_code == 201, added.text
    assert added.json()["fault"]["target"] == "digitalsamba"
