"""OnSync sessions and invitees (contract in docs/upstream-contracts.md).

    PUT  {base}/session                      create, with invited_participants -> session_id
    POST {base}/session/{id}                 add invited_participants
    GET  {base}/session/{id}                 -> session_link (generic, asks for a screen name)
    GET  {base}/session/{id}/invitees        -> personal_session_link per participant
    DELETE {base}/session/{id}               end the session (404: already gone)

With `send_email_invitation: true` OnSync e-mails each participant a personal link itself;
with `false` it sends nothing and the portal reads the link and delivers it.
"""

from __future__ import annotations

import logging
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

DEFAULT_PARTICIPANT_NAME = "Customer"
# Issued session ids look like s_8f3a2c (hex digits); this one has letters past f.
CHECK_SESSION_ID = "s_credential_check"


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
    ) -> None:
        super().__init__(
            account=account,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            total_timeout=total_timeout,
            max_response_bytes=max_response_bytes,
        )
        if account.auth_type != "api_token":
            raise UpstreamConfigurationError(
                f"Credential '{account.label}': OnSync takes an API token, "
                f"not '{account.auth_type}'."
            )
        self.session_title = session_title
        self.base_url = account.base_url.rstrip("/")
        self.api = JsonApi(
            provider=self.provider,
            display_name="OnSync",
            label=account.label,
            secret=account.secret,
            timeout=self.timeout,
            total_timeout=self.total_timeout,
            max_response_bytes=self.max_response_bytes,
            auth_advice="An administrator should check its API token.",
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
        participant: dict[str, Any] = {
            "name": request.name or DEFAULT_PARTICIPANT_NAME,
            "reference": request.reference,
            "send_email_invitation": self.provider_sends,
        }
        if request.channel == "email":
            participant["email"] = request.destination

        if request.session_key:
            session_id = request.session_key
            status = self._add_participant(session_id, participant)
        else:
            session_id, status = self._create_session(request.session_type, participant)

        # The invitee exists upstream from here on: failures must keep the session id.
        join_url = self._generic_link(session_id)
        personal_link = ""
        if not self.provider_sends:
            try:
                personal_link = self._personal_link(session_id, request.reference)
            except UpstreamError as err:
                raise UpstreamIncomplete(
                    "OnSync added the invitee but did not return the personal link "
                    f"({err.message}) Nothing was sent to the customer; resend to try again.",
                    provider=self.provider,
                    status_code=err.status_code,
                    session_key=session_id,
                ) from err
        return InvitationResult(
            session_key=session_id,
            http_status=status,
            join_url=join_url,
            personal_link=personal_link,
            message_text=(
                "OnSync e-mailed a personal session link." if self.provider_sends else ""
            ),
        )

    def check(self, *, agent_id: str) -> None:
        """Ask OnSync whether it accepts the API token, creating and changing nothing.

        Reads a session that cannot exist. OnSync checks the token first, so its own 404
        (`{"error": ...}`, as the contract words every error) means the token was accepted and
        401 that it was refused. A 404 without that body comes from something else at the base
        URL, so it fails like any wrong base URL. `agent_id` is unused: tokens are not per agent.
        """
        response = self.api.send(
            "GET", self._session_url(CHECK_SESSION_ID), headers=self._headers()
        )
        if response.status_code == 404 and _is_error_body(response):
            return
        self.api.check_status(response)

    def _headers(self) -> dict[str, str]:
        if not self.account.secret:
            raise UpstreamConfigurationError(
                f"Credential '{self.account.label}' has no API token; set one in the admin."
            )
        return {"X-API-Token": self.account.secret}

    def _session_url(self, session_id: str) -> str:
        return f"{self.base_url}/session/{quote(session_id, safe='')}"

    def _create_session(self, session_type: int, participant: dict[str, Any]) -> tuple[str, int]:
        body = {
            "title": self.session_title,
            "session_type": session_type,
            "invited_participants": [participant],
        }
        data, status = self.api.call(
            "PUT", f"{self.base_url}/session", json=body, headers=self._headers()
        )
        session_id = data.get("session_id")
        if not isinstance(session_id, str) or not session_id:
            raise self.api.unexpected(status, "no session_id")
        return session_id, status

    def _add_participant(self, session_id: str, participant: dict[str, Any]) -> int:
        try:
            _, status = self.api.call(
                "POST",
                self._session_url(session_id),
                json={"invited_participants": [participant]},
                headers=self._headers(),
            )
        except UpstreamRejected as err:
            if err.status_code == 404:
                raise UpstreamNotFound(
                    f"Session {session_id} no longer exists at OnSync; nothing was sent. Start a "
                    "new session for this customer.",
                    provider=self.provider,
                    status_code=404,
                ) from err
            raise
        return status

    def end_session(self, session_key: str) -> bool:
        """DELETE {base}/session/{id}; 404 means it is gone already."""
        response = self.api.send("DELETE", self._session_url(session_key), headers=self._headers())
        if response.status_code != 404:
            self.api.check_status(response)
        return True

    def _generic_link(self, session_id: str) -> str:
        """The session's generic link; a failure here costs only the link, not the invitation."""
        try:
            data, _ = self.api.call("GET", self._session_url(session_id), headers=self._headers())
        except UpstreamError as err:
            logger.warning("OnSync session %s: generic link unavailable: %s", session_id, err)
            return ""
        link = data.get("session_link")
        return link if isinstance(link, str) else ""

    def _personal_link(self, session_id: str, reference: str) -> str:
        data, status = self.api.call(
            "GET", self._session_url(session_id) + "/invitees", headers=self._headers()
        )
        invitees = data.get("invitees")
        if not isinstance(invitees, list):
            raise self.api.unexpected(status, "no invitees list")
        # The newest participant with our reference: a retry may have added it twice.
        for invitee in reversed(invitees):
            if isinstance(invitee, dict) and invitee.get("reference") == reference:
                link = invitee.get("personal_session_link")
                if isinstance(link, str) and link:
                    return link
        raise self.api.unexpected(status, f"no personal link for {reference}")


def _is_error_body(response: requests.Response) -> bool:
    try:
        data = response.json()
    except ValueError:
        return False
    return isinstance(data, dict) and isinstance(data.get("error"), str)
