"""OnSync sessions and invitees, as OnSync's own clients call them (docs/upstream-contracts.md;
the evidence is listed there).

    PUT    {base}/{account}/session/format/json               create with invited_participants
    POST   {base}/{account}/session/format/json               add invited_participants (id in body)
    GET    {base}/{account}/session/id/{id}/format/json       -> session_link (generic)
    GET    {base}/{account}/invitees/id/{id}/format/json      -> personal_session_link, by role
    DELETE {base}/{account}/session/format/json               end the session (id in body)

Every call is HTTP Basic with the account login and its password. PUT, POST and DELETE carry
`input_type=json&rest_data=<JSON>`, the JSON not URL-encoded, as every OnSync client sends it.
With `send_email_invitation: true` OnSync e-mails each participant a personal link itself; with
`false` it sends nothing and the portal reads the link and delivers it. OnSync keeps no
reference of ours, so an invitee is found again by e-mail address; one invited by SMS gets an
address under the `sms_invitee_domain` that nobody receives mail for.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

import requests

from invitations.providers.base import (
    InvitationRequest,
    InvitationResult,
    ProviderAccount,
    UpstreamClient,
    UpstreamConfigurationError,
    UpstreamError,
    UpstreamNotFound,
    UpstreamRejected,
)
from invitations.providers.http import JsonApi

logger = logging.getLogger(__name__)

# OnSync may refuse empty names; its own clients send a single space instead.
EMPTY_NAME = " "
ROLE_PARTICIPANT = 2
ROLE_GROUPS = ("participants", "moderators", "observers")
# Ids are positive integers: reading session 0 tests the credentials without touching any.
CHECK_SESSION_ID = 0
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class UpstreamIncomplete(UpstreamError):
    """The invitee was added upstream but its personal link could not be read; nothing was
    sent to the customer, so trying again is safe."""

    retryable = True


class OnSyncClient(UpstreamClient):
    provider: ClassVar[str] = "onsync"

    def __init__(
        self,
        *,
        account: ProviderAccount,
        connect_timeout: float = 3.05,
        read_timeout: float = 15.0,
        total_timeout: float = 20.0,
        max_response_bytes: int = 1_000_000,
        session_title: str = "Support session",
        session_minutes: int = 60,
        sms_invitee_domain: str = "sms.invalid",
    ) -> None:
        super().__init__(
            account=account,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            total_timeout=total_timeout,
            max_response_bytes=max_response_bytes,
        )
        if account.auth_type != "basic":
            raise UpstreamConfigurationError(
                f"Credential '{account.label}': OnSync takes the account password (HTTP Basic), "
                f"not '{account.auth_type}'."
            )
        domain = sms_invitee_domain.strip().lstrip("@")
        if not domain or "@" in domain:
            raise UpstreamConfigurationError(
                "ONSYNC_SMS_INVITEE_DOMAIN must be a domain name, e.g. sms.invalid."
            )
        self.session_title = session_title
        self.session_minutes = session_minutes
        self.sms_invitee_domain = domain
        self.base_url = account.base_url.rstrip("/")
        self.api = JsonApi(
            provider=self.provider,
            display_name="OnSync",
            label=account.label,
            secret=account.secret,
            timeout=self.timeout,
            total_timeout=self.total_timeout,
            max_response_bytes=self.max_response_bytes,
            auth_advice="An administrator should check its account and password.",
        )

    @property
    def provider_sends(self) -> bool:
        return self.account.link_delivery == "provider"

    def close(self) -> None:
        self.api.close()

    def send_invitation(self, request: InvitationRequest) -> InvitationResult:
        if self.provider_sends and request.channel != "email":
            raise UpstreamConfigurationError(
                f"Credential '{self.account.label}' lets OnSync send the invitations, and OnSync "
                "only sends e-mail."
            )
        email = self._email_of(request)
        first_name, _, last_name = request.name.strip().partition(" ")
        participant: dict[str, Any] = {
            "email": email,
            "first_name": first_name or EMPTY_NAME,
            "last_name": last_name.strip() or EMPTY_NAME,
            "role": ROLE_PARTICIPANT,
            "send_email_invitation": self.provider_sends,
        }

        if request.session_key:
            session_id = _session_id(request.session_key)
            if session_id is None:
                raise self._gone(request.session_key)
            status = self._add_participant(session_id, participant)
        else:
            session_id, status = self._create_session(participant)

        # The invitee exists upstream from here on: failures must keep the session id.
        join_url = self._generic_link(session_id)
        personal_link = ""
        if not self.provider_sends:
            try:
                personal_link = self._personal_link(session_id, email)
            except UpstreamError as err:
                raise UpstreamIncomplete(
                    "OnSync added the invitee but did not return the personal link "
                    f"({err.message}) Nothing was sent to the customer; resend to try again.",
                    provider=self.provider,
                    status_code=err.status_code,
                    session_key=str(session_id),
                ) from err
        return InvitationResult(
            session_key=str(session_id),
            http_status=status,
            join_url=join_url,
            personal_link=personal_link,
            message_text=(
                "OnSync e-mailed a personal session link." if self.provider_sends else ""
            ),
        )

    def check(self, *, agent_id: str) -> None:
        """Ask OnSync whether it accepts the account and password, creating and changing
        nothing.

        Reads session 0, which cannot exist. OnSync checks the credentials first, so its own
        404 (`{"status": false, "error": ...}`) means they were accepted and 401 that they were
        refused. A 404 without that body comes from something else at the base URL, so it fails
        like any wrong base URL. `agent_id` is unused: the account is not per agent.
        """
        response = self.api.send("GET", self._read_url("session", CHECK_SESSION_ID), **self._auth())
        if response.status_code == 404 and _is_error_body(response):
            return
        self.api.check_status(response)

    def end_session(self, session_key: str) -> bool:
        """DELETE the session (its id in the body); 404 means it is gone already, as is a key
        that is no OnSync session id (none can exist under it)."""
        session_id = _session_id(session_key)
        if session_id is None:
            return True
        response = self.api.send("DELETE", self._session_url(), **self._form({"id": session_id}))
        if response.status_code != 404:
            self.api.check_status(response)
        return True

    # --- requests -----------------------------------------------------------------------------

    def _auth(self, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """`requests` arguments with HTTP Basic for the account (and any other `headers`)."""
        if not self.account.account.strip():
            raise UpstreamConfigurationError(
                f"Credential '{self.account.label}' has no OnSync account; set one in the admin."
            )
        if not self.account.secret:
            raise UpstreamConfigurationError(
                f"Credential '{self.account.label}' has no account password; set one in the admin."
            )
        pair = f"{self.account.account.strip()}:{self.account.secret}".encode()
        basic = f"Basic {base64.b64encode(pair).decode('ascii')}"
        return {"headers": {**(headers or {}), "Authorization": basic}}

    def _form(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`requests` arguments for a PUT, POST or DELETE: `input_type=json&rest_data=<JSON>`.
        The JSON is not URL-encoded, as every OnSync client sends it; it is ASCII (non-ASCII
        letters as \\u escapes) and has no spaces."""
        body = "input_type=json&rest_data=" + json.dumps(payload, separators=(",", ":"))
        return {**self._auth({"Content-Type": FORM_CONTENT_TYPE}), "data": body}

    def _account_url(self) -> str:
        return f"{self.base_url}/{quote(self.account.account.strip(), safe='')}"

    def _session_url(self) -> str:
        return f"{self._account_url()}/session/format/json"

    def _read_url(self, resource: str, session_id: int) -> str:
        return f"{self._account_url()}/{resource}/id/{session_id}/format/json"

    def _email_of(self, request: InvitationRequest) -> str:
        """The invitee's address at OnSync: the customer's for e-mail; for SMS one that
        nobody receives mail for, unique to our invitee, by which its link is found again."""
        if request.channel == "email":
            return request.destination
        return f"invitee-{request.reference}@{self.sms_invitee_domain}"

    def _create_session(self, participant: dict[str, Any]) -> tuple[int, int]:
        body = {
            "topic": self.session_title,
            "duration": self.session_minutes,
            "start_time": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "timezone": "UTC",
            "invited_participants": [participant],
        }
        data, status = self.api.call("PUT", self._session_url(), **self._form(body))
        session_id = _session_id(data.get("id"))
        if session_id is None:
            raise self.api.unexpected(status, "no session id")
        return session_id, status

    def _add_participant(self, session_id: int, participant: dict[str, Any]) -> int:
        body = {"id": session_id, "invited_participants": [participant]}
        try:
            _, status = self.api.call("POST", self._session_url(), **self._form(body))
        except UpstreamRejected as err:
            if err.status_code == 404:
                raise self._gone(str(session_id)) from err
            raise
        return status

    def _gone(self, session_key: str) -> UpstreamNotFound:
        return UpstreamNotFound(
            f"Session {session_key} no longer exists at OnSync; nothing was sent. Start a new "
            "session for this customer.",
            provider=self.provider,
            status_code=404,
        )

    def _generic_link(self, session_id: int) -> str:
        """The session's generic link; a failure here costs only the link, not the invitation."""
        try:
            data, _ = self.api.call("GET", self._read_url("session", session_id), **self._auth())
        except UpstreamError as err:
            logger.warning("OnSync session %s: generic link unavailable: %s", session_id, err)
            return ""
        link = data.get("session_link")
        return link if isinstance(link, str) else ""

    def _personal_link(self, session_id: int, email: str) -> str:
        data, status = self.api.call("GET", self._read_url("invitees", session_id), **self._auth())
        # The newest invitee with our address (a retry may have added it twice), participants
        # first (the role we invite with), then any other role.
        wanted = email.casefold()
        for members in _role_groups(data):
            for invitee in reversed(members):
                address = invitee.get("email")
                if isinstance(address, str) and address.strip().casefold() == wanted:
                    link = invitee.get("personal_session_link")
                    if isinstance(link, str) and link:
                        return link
        raise self.api.unexpected(status, "no personal link for the invitee")


def _session_id(value: object) -> int | None:
    """An OnSync session id (a positive integer, or its digits as we store it), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else None


def _role_groups(data: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The entries of each role group, in ROLE_GROUPS order. A group of one may be the entry
    itself rather than a list of one, and an empty group may be absent (OnSync renders lists
    loosely)."""
    groups = []
    for group in ROLE_GROUPS:
        members = data.get(group)
        if isinstance(members, dict):
            members = [members]
        if isinstance(members, list):
            groups.append([member for member in members if isinstance(member, dict)])
    return groups


def _is_error_body(response: requests.Response) -> bool:
    try:
        data = response.json()
    except ValueError:
        return False
    return isinstance(data, dict) and isinstance(data.get("error"), str)
