"""The sandbox's own pages show customers' numbers and links and steer what the portal is told:
signed-in staff only. The emulated upstream APIs stay open to the portal's HTTP client."""

import json

import pytest

from sandbox.models import FaultRule, OutboxMessage
from tests.support.sandbox import NORMAL_STATUS, TARGETS

pytestmark = pytest.mark.django_db

PAGES = ["/sandbox/outbox/", "/sandbox/outbox/?format=json", "/sandbox/faults/"]
PAGES += ["/sandbox/requests/?format=json"]


@pytest.fixture(params=["anonymous", "agent"])
def not_staff(request, client, django_user_model):
    if request.param == "agent":
        client.force_login(django_user_model.objects.create_user("ann", password="pw-ann-123"))
    return client


@pytest.mark.parametrize("page", PAGES)
def test_pages_send_everyone_else_to_the_staff_login(not_staff, call, page):
    call("sms-gateway")
    response = not_staff.get(page)
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")
    assert b"+14155550134" not in response.content


def test_fault_control_changes_nothing_for_everyone_else(not_staff):
    body = json.dumps({"target": "glance", "mode": "status", "status": 503})
    added = not_staff.post("/sandbox/faults/", body, content_type="application/json")
    assert added.status_code == 302
    assert not FaultRule.objects.exists()
    FaultRule.objects.create(target="glance", mode="malformed")
    assert not_staff.delete("/sandbox/faults/").status_code == 302
    assert FaultRule.objects.count() == 1


def test_manual_receipts_are_for_staff(not_staff, call):
    message_id = call("sms-gateway").json()["id"]
    url = f"/sandbox/sms-gateway/messages/{message_id}/receipt"
    answer = not_staff.post(url, json.dumps({"status": "failed"}), content_type="application/json")
    assert answer.status_code == 302 and answer.url.startswith("/admin/login/")


@pytest.mark.parametrize("target", TARGETS)
def test_the_upstream_apis_need_no_login(client, call, target):
    assert call(target).status_code == NORMAL_STATUS[target]
    assert OutboxMessage.objects.count() == 1


def test_staff_see_the_outbox(signed_in_staff, call):
    call("sms-gateway")
    assert "+14155550134" in signed_in_staff.get("/sandbox/outbox/").content.decode()
