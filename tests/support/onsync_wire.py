"""Reading and writing an OnSync (the sandbox's, over HTTP) the way OnSync's own clients do
(docs/upstream-contracts.md): end-to-end tests check what OnSync holds through its API, not
through the sandbox's tables."""

from __future__ import annotations

import json
from typing import Any

import requests

from invitations.models import PartnerCredential

TIMEOUT = 5


def _auth(credential: PartnerCredential) -> tuple[str, str]:
    return credential.account, credential.reveal_secret()


def _account_url(credential: PartnerCredential) -> str:
    return f"{credential.base_url.rstrip('/')}/{credential.account}"


def read(credential: PartnerCredential, resource: str, session_key: str) -> requests.Response:
    """GET {base}/{account}/{resource}/id/{id}/format/json."""
    return requests.get(
        f"{_account_url(credential)}/{resource}/id/{session_key}/format/json",
        auth=_auth(credential),
        timeout=TIMEOUT,
    )


def write(credential: PartnerCredential, method: str, payload: dict[str, Any]) -> requests.Response:
    """PUT, POST or DELETE {base}/{account}/session/format/json with
    `input_type=json&rest_data=<JSON>`."""
    return requests.request(
        method,
        f"{_account_url(credential)}/session/format/json",
        data="input_type=json&rest_data=" + json.dumps(payload, separators=(",", ":")),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=_auth(credential),
        timeout=TIMEOUT,
    )


def invitees(credential: PartnerCredential, session_key: str) -> list[dict[str, Any]]:
    """Every invitee of the session, moderators, participants and observers in that order (a
    group of one may come as the entry itself, an empty group may be absent)."""
    response = read(credential, "invitees", session_key)
    response.raise_for_status()
    data = response.json()
    entries: list[dict[str, Any]] = []
    for group in ("moderators", "participants", "observers"):
        members = data.get(group) or []
        entries.extend([members] if isinstance(members, dict) else members)
    return entries
