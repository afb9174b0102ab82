"""The sandbox's staff account and one valid request per emulated upstream API, to send through
the test client or over HTTP."""

import base64
import json
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import requests

from bench.stack import logged_in

# The `staff_user` fixture's account (tests/conftest.py): the sandbox's own pages (outbox, fault
# control, request log, manual receipts) are for signed-in staff.
STAFF_USERNAME = "sandbox-staff"
STAFF_PASSWORD = "sandbox-staff-password-1"


def staff_session(base_url: str) -> requests.Session:
    """A requests session signed in as the `staff_user` fixture's user, on a live server."""
    return logged_in(base_url, STAFF_USERNAME, STAFF_PASSWORD)


TARGETS = ("glance", "onsync", "sms-gateway")
# What each target answers a valid request with, when no fault is played.
NORMAL_STATUS = {"glance": 200, "onsync": 201, "sms-gateway": 202}
# The start of each target's answer to the valid request: a "malformed" fault answers with it.
FIRST_KEY = {"glance": b'{"sessionKey": ', "onsync": b'{"message": ', "sms-gateway": b'{"id": '}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: str
    content_type: str
    headers: dict[str, str]


def onsync_api(settings: Any, version: int = 1) -> str:
    """The sandbox OnSync's API root for its demo account (no trailing slash)."""
    return f"/sandbox/onsync/api/{version}/{settings.SANDBOX_ONSYNC_ACCOUNT}"


def basic_auth(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def onsync_auth(settings: Any) -> dict[str, str]:
    return basic_auth(settings.SANDBOX_ONSYNC_ACCOUNT, settings.SANDBOX_ONSYNC_PASSWORD)


def rest_data(fields: dict[str, Any]) -> str:
    """An OnSync body as its clients send it: the JSON in `rest_data`, not URL-encoded."""
    return "input_type=json&rest_data=" + json.dumps(fields)


def xml_answer(content: bytes) -> ElementTree.Element:
    """The root of an XML answer of the sandbox OnSync (our own output, so no untrusted XML)."""
    return ElementTree.fromstring(content)  # noqa: S314


def valid_call(target: str, settings: Any) -> Call:
    """A request the target accepts, which leaves exactly one message in the outbox."""
    if target == "glance":
        return Call(
            "POST",
            "/sandbox/glance/api/SessionInvitation/smsInvite/?groupid=72",
            json.dumps({"sessiontype": 1, "smsPhone": "+14155550134"}),
            "application/json",
            {"X-GSSNID": settings.SANDBOX_GLANCE_GSSNID},
        )
    if target == "onsync":
        ann = {
            "email": "ann@example.com",
            "first_name": "Ann",
            "last_name": "Lee",
            "role": 2,
            "send_email_invitation": True,
        }
        return Call(
            "PUT",
            onsync_api(settings) + "/session/format/json",
            rest_data({"topic": "Support session", "invited_participants": [ann]}),
            "application/x-www-form-urlencoded",
            onsync_auth(settings),
        )
    return Call(
        "POST",
        "/sandbox/sms-gateway/messages",
        json.dumps({"to": "+14155550134", "body": "Join: https://example.test/j/1"}),
        "application/json",
        {"Authorization": f"Bearer {settings.SANDBOX_SMS_GATEWAY_TOKEN}"},
    )
