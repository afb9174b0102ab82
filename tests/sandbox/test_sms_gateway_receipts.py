"""The sandbox SMS gateway's delivery receipts, checked against the contract by hand: what it
posts to a message's status_callback, how it signs it, when it tries again, and the manual
receipt control. The receiver is mocked with `responses`; tests/e2e has the real one."""

import hashlib
import hmac
import json
import time
from datetime import datetime
from pathlib import Path

import pytest
import responses

from sandbox import receipts
from sandbox.models import OutboxMessage

pytestmark = pytest.mark.django_db
URL = "/sandbox/sms-gateway/messages"
CALLBACK = "https://portal.test/webhooks/sms-gateway/"
SECRET = "sandbox-test-secret"


def sent_body(call) -> bytes:
    """The body `requests` sent (bytes: the sandbox posts encoded JSON)."""
    body = call.request.body
    assert isinstance(body, bytes)
    return body


@pytest.fixture
def gateway(client, settings):
    settings.SANDBOX_SMS_GATEWAY_WEBHOOK_SECRET = SECRET
    settings.SANDBOX_RECEIPT_DELAY = 0

    def send(to="+14155550134", **extra):
        body = {"to": to, "body": "Join: https://example.test/j/1", **extra}
        return client.post(
            URL,
            json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {settings.SANDBOX_SMS_GATEWAY_TOKEN}"},
        )

    yield send
    assert receipts.wait_for_receipts(timeout=20)


def posted_bodies():
    return [json.loads(sent_body(call)) for call in responses.calls]


@responses.activate
def test_accepted_message_gets_a_signed_delivered_receipt(gateway):
    responses.post(CALLBACK, json={"result": "applied"})
    before = int(time.time())
    response = gateway(status_callback=CALLBACK)
    assert response.status_code == 202
    message_id = response.json()["id"]
    assert receipts.wait_for_receipts(timeout=20)

    [call] = responses.calls
    body = json.loads(sent_body(call))
    assert set(body) == {"event_id", "message_id", "status", "occurred_at"}
    assert (body["message_id"], body["status"]) == (message_id, "delivered")
    assert body["event_id"].startswith("evt_")
    assert datetime.fromisoformat(body["occurred_at"]).utcoffset() is not None
    stamp = call.request.headers["X-Gateway-Timestamp"]
    assert before <= int(stamp) <= int(time.time())
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + sent_body(call), "sha256")
    assert call.request.headers["X-Gateway-Signature"] == f"sha256={expected.hexdigest()}"
    assert call.request.headers["Content-Type"] == "application/json"
    [logged] = receipts.posted(message_id)
    assert (logged.status, logged.http_status) == ("delivered", 200)


@responses.activate
def test_number_ending_0000_is_undelivered_with_an_error(gateway):
    responses.post(CALLBACK, json={"result": "applied"})
    gateway(to="+14155550000", status_callback=CALLBACK)
    assert receipts.wait_for_receipts(timeout=20)
    [body] = posted_bodies()
    assert body["status"] == "undelivered"
    assert body["error"] == "30003 Unreachable destination handset"


@responses.activate
def test_no_status_callback_no_receipt(gateway):
    assert gateway().status_code == 202
    assert receipts.wait_for_receipts(timeout=20)
    assert len(responses.calls) == 0


@responses.activate
def test_receipt_is_tried_again_while_the_receiver_does_not_take_it(gateway):
    # 404: the portal has not recorded the message id yet; 503: it is restarting.
    responses.post(CALLBACK, status=404, json={"error": "unknown"})
    responses.post(CALLBACK, status=503, json={"error": "down"})
    responses.post(CALLBACK, json={"result": "applied"})
    message_id = gateway(status_callback=CALLBACK).json()["id"]
    assert receipts.wait_for_receipts(timeout=20)
    assert [p.http_status for p in receipts.posted(message_id)] == [404, 503, 200]
    # The same event each time, so the receiver can tell a repeat.
    assert len({b["event_id"] for b in posted_bodies()}) == 1


@responses.activate
def test_refused_receipt_is_not_tried_again(gateway):
    responses.post(CALLBACK, status=401, json={"error": "bad signature"})
    message_id = gateway(status_callback=CALLBACK).json()["id"]
    assert receipts.wait_for_receipts(timeout=20)
    assert [p.http_status for p in receipts.posted(message_id)] == [401]


@pytest.mark.parametrize("callback", ["ftp://portal.test/x", "portal.test/x", 7, "https://"])
def test_status_callback_must_be_an_http_url(gateway, callback):
    response = gateway(status_callback=callback)
    assert response.status_code == 400
    assert "status_callback must be an http(s) URL" in response.json()["error"]
    assert not OutboxMessage.objects.exists()


# --- The manual receipt control --------------------------------------------------------------


def control(client, message_id, body, *, as_json=True):
    url = f"{URL}/{message_id}/receipt"
    if as_json:
        return client.post(url, json.dumps(body), content_type="application/json")
    return client.post(url, body)


@pytest.mark.usefixtures("signed_in_staff")
@responses.activate
def test_manual_receipt_posts_now_and_reports_the_answer(client, gateway):
    responses.post(CALLBACK, json={"result": "recorded"})
    message_id = gateway(status_callback=CALLBACK).json()["id"]
    assert receipts.wait_for_receipts(timeout=20)
    response = control(
        client,
        message_id,
        {"status": "failed", "error": "carrier down", "event_id": "e-7", "occurred_at": "x"},
    )
    assert response.status_code == 200
    assert response.json() == {
        "event_id": "e-7",
        "callback_status": 200,
        "callback_answer": '{"result": "recorded"}',
    }
    body = posted_bodies()[-1]
    assert body == {
        "event_id": "e-7",
        "message_id": message_id,
        "status": "failed",
        "occurred_at": "x",  # passed through as given, to try the portal's checks
        "error": "carrier down",
    }


@pytest.mark.usefixtures("signed_in_staff")
@responses.activate
def test_manual_receipt_from_the_outbox_form_goes_back_to_the_outbox(client, gateway):
    responses.post(CALLBACK, json={"result": "applied"})
    message_id = gateway(status_callback=CALLBACK).json()["id"]
    assert receipts.wait_for_receipts(timeout=20)
    page = client.get("/sandbox/outbox/").content.decode()
    assert f'action="{URL}/{message_id}/receipt"' in page
    response = control(client, message_id, {"status": "undelivered"}, as_json=False)
    assert response.status_code == 302 and response.url == "/sandbox/outbox/"
    assert posted_bodies()[-1]["status"] == "undelivered"
    assert "undelivered → 200" in client.get("/sandbox/outbox/").content.decode()


@pytest.mark.usefixtures("signed_in_staff")
def test_manual_receipt_needs_a_known_message(client, gateway):
    response = control(client, "m_nothing", {"status": "delivered"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "status is required"),
        ({"status": "read"}, "status is required, one of queued, sent, delivered"),
        ({"status": "delivered", "colour": "red"}, "unknown field colour"),
        ({"status": "delivered", "error": 5}, "error must be a string"),
        ({"status": "delivered", "status_callback": "mailto:x"}, "status_callback"),
    ],
)
@pytest.mark.usefixtures("signed_in_staff")
def test_manual_receipt_checks_its_fields(client, gateway, body, reason):
    message_id = gateway().json()["id"]
    response = control(client, message_id, body)
    assert response.status_code == 400
    assert reason in response.json()["error"]


@pytest.mark.usefixtures("signed_in_staff")
@responses.activate
def test_manual_receipt_without_a_known_callback(client, gateway):
    message_id = gateway().json()["id"]  # sent without status_callback
    response = control(client, message_id, {"status": "delivered"})
    assert response.status_code == 409
    assert "give status_callback" in response.json()["error"]
    responses.post(CALLBACK, json={"result": "applied"})
    given = control(client, message_id, {"status": "delivered", "status_callback": CALLBACK})
    assert given.json()["callback_status"] == 200


@pytest.mark.usefixtures("signed_in_staff")
@responses.activate
def test_receiver_that_does_not_answer(client, gateway):
    message_id = gateway().json()["id"]
    # Nothing registered: `responses` refuses the connection.
    answer = control(client, message_id, {"status": "delivered", "status_callback": CALLBACK})
    assert answer.json()["callback_status"] is None
    assert answer.json()["callback_answer"] == "ConnectionError"


def test_signature_matches_the_contracts_example():
    body = b'{"event_id": "evt_1"}'
    digest = hashlib.sha256
    expected = hmac.new(b"s3cret", b"1700000000." + body, digest).hexdigest()
    assert receipts.signature("s3cret", "1700000000", body) == f"sha256={expected}"


def test_the_sandbox_imports_nothing_from_the_portal():
    sandbox = Path(receipts.__file__).parent
    for source in sandbox.rglob("*.py"):
        text = source.read_text()
        assert "from invitations" not in text and "import invitations" not in text, source
