"""/sandbox/faults/: add, list and clear fault rules over HTTP."""

import json

import pytest
from django.test import Client

from sandbox import faults
from sandbox.models import FaultRule, OutboxMessage, SandboxRequest

# The outbox, fault control and request log are for signed-in staff (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signed_in_staff")]
URL = "/sandbox/faults/"


def add(client, body):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(URL, data, content_type="application/json")


def test_added_rule_is_stored_listed_and_played(client, call):
    body = {
        "target": "glance",
        "mode": "status",
        "status": 503,
        "count": 2,
        "retry_after": 1,
        "delay_seconds": 0,
    }
    response = add(client, body)
    assert response.status_code == 201
    created = response.json()["fault"]
    rule = FaultRule.objects.get()
    assert created["id"] == rule.pk
    assert (rule.target, rule.mode, rule.status, rule.retry_after) == ("glance", "status", 503, 1)
    assert (rule.remaining, rule.delay_seconds) == (2, 0.0)

    [listed] = client.get(URL).json()["faults"]
    assert listed == created
    assert {k: listed[k] for k in body if k != "count"} == {
        k: v for k, v in body.items() if k != "count"
    }
    assert listed["remaining"] == 2

    first, second, third = call("glance"), call("glance"), call("glance")
    assert (first.status_code, first["Retry-After"]) == (503, "1")
    assert second.status_code == 503
    assert third.status_code == 200
    assert client.get(URL).json()["faults"][0]["remaining"] == 0
    assert OutboxMessage.objects.count() == 1


def test_only_target_and_mode_are_required(client, call):
    response = add(client, {"target": "sms-gateway", "mode": "malformed"})
    assert response.status_code == 201
    fault = response.json()["fault"]
    assert (fault["status"], fault["retry_after"], fault["delay_seconds"]) == (None, None, 0.0)
    assert fault["remaining"] is None  # every request, until cleared
    assert [call("sms-gateway").content for _ in range(2)] == [b'{"id": '] * 2


def test_nulls_mean_absent(client):
    body = {"target": "onsync", "mode": "slow", "delay_seconds": 0.5, "count": None}
    body |= {"status": None, "retry_after": None}
    assert add(client, body).status_code == 201
    assert FaultRule.objects.get().remaining is None


def test_csrf_is_not_required(settings, staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    assert add(client, {"target": "glance", "mode": "malformed"}).status_code == 201
    assert client.delete(URL).status_code == 200


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('["glance", "status"]', "JSON object"),
        ({"mode": "status", "status": 503}, "target is required"),
        ({"target": "glance"}, "mode is required"),
        ({"target": "fax", "mode": "status", "status": 503}, "target must be one of"),
        ({"target": None, "mode": "malformed"}, "target must be one of"),
        ({"target": "glance", "mode": "refuse"}, "mode must be one of"),
        ({"target": "glance", "mode": "status"}, "needs status"),
        ({"target": "glance", "mode": "status", "status": 200}, "400 to 599"),
        ({"target": "glance", "mode": "status", "status": 600}, "400 to 599"),
        ({"target": "glance", "mode": "status", "status": "503"}, "400 to 599"),
        ({"target": "glance", "mode": "status", "status": 503.0}, "400 to 599"),
        ({"target": "glance", "mode": "malformed", "status": 503}, "status applies"),
        ({"target": "glance", "mode": "malformed", "count": 0}, "count"),
        ({"target": "glance", "mode": "malformed", "count": -1}, "count"),
        ({"target": "glance", "mode": "malformed", "count": 1.5}, "count"),
        ({"target": "glance", "mode": "malformed", "count": "2"}, "count"),
        ({"target": "glance", "mode": "malformed", "count": True}, "count"),
        ({"target": "glance", "mode": "status", "status": 429, "retry_after": -1}, "retry_after"),
        ({"target": "glance", "mode": "status", "status": 429, "retry_after": "1"}, "retry_after"),
        ({"target": "glance", "mode": "reset", "retry_after": 1}, "retry_after applies"),
        ({"target": "glance", "mode": "slow"}, "delay_seconds above 0"),
        ({"target": "glance", "mode": "slow", "delay_seconds": -0.5}, "delay_seconds"),
        ({"target": "glance", "mode": "slow", "delay_seconds": "1"}, "delay_seconds"),
        ({"target": "glance", "mode": "slow", "delay_seconds": True}, "delay_seconds"),
        ({"target": "glance", "mode": "slow", "delay_seconds": None}, "delay_seconds"),
        ({"target": "glance", "mode": "slow", "delay_seconds": 301}, "delay_seconds"),
        ('{"target": "glance", "mode": "slow", "delay_seconds": NaN}', "delay_seconds"),
        ({"target": "glance", "mode": "status", "status": 429, "retry-after": 1}, "retry-after"),
        ({"target": "glance", "mode": "redirect"}, "needs url"),
        ({"target": "glance", "mode": "redirect", "url": "http://x", "status": 404}, "300 to 399"),
        ({"target": "glance", "mode": "link"}, "needs url"),
        ({"target": "glance", "mode": "link", "url": "x" * 501}, "needs url"),
        ({"target": "glance", "mode": "status", "status": 500, "url": "http://x"}, "url applies"),
    ],
)
def test_bad_bodies_are_400_with_a_reason(client, body, reason):
    response = add(client, body)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert not FaultRule.objects.exists()


def test_list_filters_by_target(client):
    faults.inject("glance", "malformed")
    faults.inject("onsync", "status", status=500, count=3)
    faults.inject("glance", "slow", delay_seconds=1.5)
    everything = client.get(URL).json()["faults"]
    assert [(f["target"], f["mode"]) for f in everything] == [
        ("glance", "malformed"),
        ("onsync", "status"),
        ("glance", "slow"),
    ]
    glance = client.get(URL, {"target": "glance"}).json()["faults"]
    assert [f["mode"] for f in glance] == ["malformed", "slow"]
    assert glance[1]["delay_seconds"] == 1.5
    assert client.get(URL, {"target": "fax"}).status_code == 400


def test_delete_clears_one_target_or_all(client, call):
    for target in ("glance", "onsync", "sms-gateway"):
        faults.inject(target, "status", status=503)
    faults.inject("glance", "malformed")
    response = client.delete(URL + "?target=glance")
    assert response.status_code == 200
    assert response.json() == {"deleted": 2}
    assert call("glance").status_code == 200
    assert call("onsync").status_code == 503
    assert client.delete(URL).json() == {"deleted": 2}
    assert not FaultRule.objects.exists()
    assert call("onsync").status_code == 201
    assert client.delete(URL).json() == {"deleted": 0}


def test_delete_with_an_unknown_target_clears_nothing(client):
    faults.inject("glance", "malformed")
    response = client.delete(URL + "?target=gl")
    assert response.status_code == 400
    assert "target" in response.json()["error"]
    assert FaultRule.objects.count() == 1


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_other_methods_are_405(client, method):
    response = client.generic(method, URL, "{}", "application/json")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST, DELETE"


def test_control_calls_are_not_logged(client):
    add(client, {"target": "glance", "mode": "malformed"})
    client.get(URL)
    client.delete(URL)
    assert not SandboxRequest.objects.exists()
