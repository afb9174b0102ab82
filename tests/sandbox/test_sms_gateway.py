"""The sandbox enforces the SMS gateway contract; requests are built by hand, not by our client."""

import json
import re

import pytest

from sandbox.models import OutboxMessage

pytestmark = pytest.mark.django_db
URL = "/sandbox/sms-gateway/messages"
BODY = {"to": "+14155550134", "body": "Join: https://example.test/j/1", "reference": "inv-42"}


@pytest.fixture
def auth(settings):
    return {"HTTP_AUTHORIZATION": f"Bearer {settings.SANDBOX_SMS_GATEWAY_TOKEN}"}


def post(client, body=BODY, headers=None):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", **(headers or {}))


def test_accepted_message_is_202_and_lands_in_the_outbox(client, auth):
    response = post(client, headers=auth)
    assert response.status_code == 202
    data = response.json()
    assert data["status"] == "accepted"
    assert re.fullmatch(r"m_[0-9a-f]+", data["id"])
    message = OutboxMessage.objects.get()
    assert (message.provider, message.channel, message.to, message.body) == (
        "sms-gateway",
        "sms",
        "+14155550134",
        BODY["body"],
    )
    assert (message.session_key, message.reference, message.message_id) == (
        "",
        "inv-42",
        data["id"],
    )


def test_reference_is_optional_and_ids_differ(client, auth):
    first = post(client, {"to": "+447700900123", "body": "x"}, auth)
    second = post(client, {"to": "+447700900123", "body": "x"}, auth)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] != second.json()["id"]
    assert OutboxMessage.objects.filter(reference="").count() == 2


@pytest.mark.parametrize(
    "body",
    [
        {"to": "+1234567", "body": "x"},  # shortest E.164: 7 digits
        {"to": "+123456789012345", "body": "x"},  # longest: 15 digits
        {"to": "+14155550134", "body": "x" * 1600},
        {"to": "+14155550134", "body": "x", "reference": "r" * 64},
    ],
)
def test_boundaries_are_accepted(client, auth, body):
    assert post(client, body, auth).status_code == 202


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"body": "x"}, "to"),
        ({"to": "14155550134", "body": "x"}, "to"),
        ({"to": "+04155550134", "body": "x"}, "to"),
        ({"to": "+123456", "body": "x"}, "to"),
        ({"to": "+1234567890123456", "body": "x"}, "to"),
        ({"to": "+1 415 555 0134", "body": "x"}, "to"),
        ({"to": "+14155550134\n", "body": "x"}, "to"),
        ({"to": "+1415555\u0661\u0662\u0663", "body": "x"}, "to"),
        ({"to": 14155550134, "body": "x"}, "to"),
        ({"to": "+14155550134"}, "body"),
        ({"to": "+14155550134", "body": ""}, "body"),
        ({"to": "+14155550134", "body": "x" * 1601}, "body"),
        ({"to": "+14155550134", "body": 5}, "body"),
        ({"to": "+14155550134", "body": "x", "reference": "r" * 65}, "reference"),
        ({"to": "+14155550134", "body": "x", "reference": 42}, "reference"),
        ({"to": "+14155550134", "body": "x", "reference": None}, "reference"),
        ("{not json", "not valid JSON"),
        (["+14155550134", "x"], "JSON object"),
    ],
)
def test_invalid_bodies_are_400_with_a_reason(client, auth, body, reason):
    response = post(client, body, auth)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong-token",
        "Basic sandbox-sms-token-0001",
        "bearer sandbox-sms-token-0001",
        "Bearer sandbox-sms-token-0001 extra",
    ],
)
def test_missing_or_wrong_token_is_401(client, authorization):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = post(client, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]
    assert not OutboxMessage.objects.exists()


def test_token_is_read_from_settings_at_request_time(client, settings):
    settings.SANDBOX_SMS_GATEWAY_TOKEN = "rotated"
    assert post(client, headers={"HTTP_AUTHORIZATION": "Bearer rotated"}).status_code == 202
    old = {"HTTP_AUTHORIZATION": "Bearer sandbox-sms-token-0001"}
    assert post(client, headers=old).status_code == 401


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_only_post_is_allowed(client, auth, method):
    response = client.generic(method, URL, json.dumps(BODY), "application/json", **auth)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert not OutboxMessage.objects.exists()
