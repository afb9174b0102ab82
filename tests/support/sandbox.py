"""The sandbox's staff account and one valid request per emulated upstream API, to send through
the test client or over HTTP."""

from dataclasses import dataclass
from typing import Any

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
FIRST_KEY = {"glance": b'{"sessionKey": ', "onsync": b'{"session_id": ', "sms-gateway": b'{"id": '}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


def valid_call(target: str, settings: Any) -> Call:
    """A request the target accepts, which leaves exactly one message in the outbox."""
    if target == "glance":
        return Call(
            "POST",
            "/sandbox/glance/api/SessionInvitation/smsInvite/?groupid=72",
            {"sessiontype": 1, "smsPhone": "+14155550134"},
            {"X-GSSNID": settings.SANDBOX_GLANCE_GSSNID},
        )
    if target == "onsync":
        ann = {"name": "Ann Lee", "email": "ann@example.com", "send_email_invitation": True}
        return Call(
            "PUT",
            "/sandbox/onsync/session",
            {"title": "Support session", "invited_participants": [ann]},
            {"X-API-Token": settings.SANDBOX_ONSYNC_API_TOKEN},
        )
    return Call(
        "POST",
        "/sandbox/sms-gateway/messages",
        {"to": "+14155550134", "body": "Join: https://example.test/j/1"},
        {"Authorization": f"Bearer {settings.SANDBOX_SMS_GATEWAY_TOKEN}"},
    )
