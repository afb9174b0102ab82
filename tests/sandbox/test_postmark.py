"""The sandbox's Postmark send API and the tracking webhook it posts back (mocked receiver)."""

import base64
import json
import uuid

import pytest
import responses

from sandbox import receipts
from sandbox.models import OutboxMessage

pytestmark = pytest.mark.django_db
URL = "/sandbox/postmark/email"
HOOK = "https://portal.test/webhooks/email/postmark/"
EMAIL = {"From": "noreply@portal.test", "To": "ann@example.com", "Subject": "Hi", "TextBody": "x"}


def sent_body(call) -> bytes:
    """The body `requests` sent (bytes: the sandbox posts encoded JSON)."""
    body = call.request.body
    assert isinstance(body, bytes)
    return body


@pytest.fixture
def postmark(client, settings):
    settings.SANDBOX_POSTMARK_WEBHOOK_URL = HOOK
    settings.SANDBOX_EMAIL_WEBHOOK_SECRET = "hook:secret"
    settings.SANDBOX_RECEIPT_DELAY = 0

    def send(body=EMAIL, token=None):
        return client.post(
            URL,
            json.dumps(body),
            content_type="application/json",
            headers={"X-Postmark-Server-Token": token or settings.SANDBOX_POSTMARK_SERVER_TOKEN},
        )

    yield send
    assert receipts.wait_for_receipts(timeout=20)


@responses.activate
def test_accepts_like_postmark_and_posts_a_delivery_webhook_with_basic_auth(postmark):
    responses.post(HOOK, json={"results": ["applied"]})
    response = postmark()
    assert response.status_code == 200
    answer = response.json()
    assert (answer["ErrorCode"], answer["Message"], answer["To"]) == (0, "OK", "ann@example.com")
    uuid.UUID(answer["MessageID"])
    message = OutboxMessage.objects.get()
    assert (message.provider, message.channel, message.message_id) == (
        "postmark",
        "email",
        answer["MessageID"],
    )
    assert receipts.wait_for_receipts(timeout=20)
    [call] = responses.calls
    event = json.loads(sent_body(call))
    assert (event["RecordType"], event["MessageID"]) == ("Delivery", answer["MessageID"])
    assert (
        call.request.headers["Authorization"]
        == "Basic " + base64.b64encode(b"hook:secret").decode()
    )


@responses.activate
def test_bounce_addresses_bounce(postmark):
    responses.post(HOOK, json={"results": ["applied"]})
    postmark({**EMAIL, "To": "bounce@example.com"})
    assert receipts.wait_for_receipts(timeout=20)
    event = json.loads(sent_body(responses.calls[0]))
    assert (event["RecordType"], event["Type"], event["Email"]) == (
        "Bounce",
        "HardBounce",
        "bounce@example.com",
    )
    assert isinstance(event["ID"], int)


def test_wrong_server_token_is_401(postmark):
    response = postmark(token="nope")
    assert response.status_code == 401 and response.json()["ErrorCode"] == 10
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {**EMAIL, "To": ""},
        {**EMAIL, "From": ""},
        {**EMAIL, "TextBody": ""},
        {**EMAIL, "TextBody": 5},
    ],
)
def test_invalid_email_is_422(postmark, body):
    response = postmark(body)
    assert response.status_code == 422 and response.json()["ErrorCode"] == 300
    assert not OutboxMessage.objects.exists()
