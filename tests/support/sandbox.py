"""The sandbox's staff account and one valid request per emulated upstream API, to send through
the test client or over HTTP."""

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
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


def glance_login_key(
    settings: Any, partner_user_id: str, *, expires: int | None = None, api_key: str | None = None
) -> str:
    """A partner login key of the sandbox Glance's demo group, as Glance documents it."""
    expires = expires if expires is not None else int(time.time()) + 600
    key = api_key if api_key is not None else settings.SANDBOX_GLANCE_API_KEY
    message = f"{settings.SANDBOX_GLANCE_GROUP_ID}{partner_user_id}1{expires}"
    mac = hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()
    return f"$1${expires}${base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def glance_gkey(settings: Any, partner_user_id: str) -> str:
    """An `Authorization` header value in GKEY partner form."""
    key = glance_login_key(settings, partner_user_id)
    encoded = quote(partner_user_id, safe="")
    return f"Bearer GKEY {settings.SANDBOX_GLANCE_GROUP_ID}&{encoded}&{key}"


def glance_authorize_path(settings: Any, *, duration: int = 60, group: int | None = None) -> str:
    group = group if group is not None else settings.SANDBOX_GLANCE_GROUP_ID
    return (
        "/sandbox/glance/services/AuthorizationService.svc/rest/Authorize"
        f"?groupid={group}&service=webservices&duration={duration}&site=production"
    )


def glance_credentials(settings: Any, partner_user_id: str, **key: Any) -> str:
    """The Authorization Service's JSON body for one agent of the demo group."""
    return json.dumps(
        {
            "partnerid": settings.SANDBOX_GLANCE_GROUP_ID,
            "partneruserid": partner_user_id,
            "loginkey": glance_login_key(settings, partner_user_id, **key),
        }
    )


def glance_partner_form(
    settings: Any, partner_user_id: str, session_key: str, **key: Any
) -> dict[str, str]:
    """The Session Service's form fields (and the agent viewer's) for one agent of the demo
    group, with a fresh login key."""
    return {
        "partnerid": str(settings.SANDBOX_GLANCE_GROUP_ID),
        "partneruserid": partner_user_id,
        "loginkey": glance_login_key(settings, partner_user_id, **key),
        "ssnkey": session_key,
    }


def valid_call(target: str, settings: Any) -> Call:
    """A request the target accepts, which leaves exactly one message in the outbox."""
    if target == "glance":
        return Call(
            "POST",
            "/sandbox/glance/api/SessionInvitation/smsInvite/?groupid=72",
            json.dumps({"sessiontype": 1, "smsPhone": "+14155550134"}),
            "application/json",
            {"Authorization": glance_gkey(settings, "agent-1")},
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
