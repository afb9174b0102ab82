"""Digital Samba Embedded: private rooms, personal links signed by the portal, and the webhook
that reports who joined (docs/upstream-contracts.md; facts.md §2 has the evidence).

    POST   {base}/rooms                          a private room per portal session
    GET    {base}/rooms/{room}                   its room_url, to add another invitee
    GET    {base}/rooms?limit=1                  credential check
    DELETE {base}/rooms/{room}                   end the session (404: gone already)
    GET    {base}/sessions/{session}/participants  participantId -> external_id (our `ud`)
    GET|POST|PATCH|DELETE {base}/webhooks[/{id}] keep one webhook per credential

`base` is the API root with its version (https://api.digitalsamba.com/api/v1). Every call is
HTTP Basic with the team id (the credential's account) and the developer key, the one form
every generation of the docs accepts. Digital Samba sends no invitations: the portal hands
each invitee `{room_url}?token=<JWT>`, HS256-signed with the developer key, and delivers it
by SMS or e-mail itself. The session key is the room's id.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import quote

import requests

from invitations.providers import jwt
from invitations.providers.base import (
    AgentEntry,
    InvitationRequest,
    InvitationResult,
    ProviderAccount,
    UpstreamBadResponse,
    UpstreamClient,
    UpstreamConfigurationError,
    UpstreamConnectionLost,
    UpstreamError,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamTimeout,
)
from invitations.providers.http import MAY_HAVE_SENT, JsonApi

ROLE_CUSTOMER = "speaker"
ROLE_AGENT = "moderator"
# What the portal's webhook subscribes to; other events are ignored when they arrive anyway.
WEBHOOK_EVENTS = ("participant_joined", "participant_left", "session_ended")
# List endpoints answer at most 100 items a page; a room holds at most 2000 participants.
PAGE_SIZE = 100
MAX_PAGES = 25


class UpstreamNothingSent(UpstreamError):
    """Digital Samba's answer was lost or unreadable. It sends nothing itself and the portal had
    no link yet, so nothing reached the customer: trying again is safe (at worst it leaves an
    empty room behind)."""

    retryable = True


class DigitalSambaClient(UpstreamClient):
    provider: ClassVar[str] = "digitalsamba"
    # Join session: a moderator link for the agent (its presence comes by webhook instead).
    offers_agent_entry: ClassVar[bool] = True

    def __init__(
        self,
        *,
        account: ProviderAccount,
        connect_timeout: float = 3.05,
        read_timeout: float = 15.0,
        total_timeout: float = 20.0,
        max_response_bytes: int = 1_000_000,
        room_description: str = "Support session",
        agent_token_minutes: int = 10,
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
                f"Credential '{account.label}': Digital Samba takes the team id and developer "
                f"key (HTTP Basic), not '{account.auth_type}'."
            )
        if account.link_delivery == "provider":
            raise UpstreamConfigurationError(
                f"Credential '{account.label}': Digital Samba sends no invitations itself; set "
                "its link delivery to the portal."
            )
        self.room_description = room_description
        self.agent_token_seconds = agent_token_minutes * 60
        self.base_url = account.base_url.rstrip("/")
        self.api = JsonApi(
            provider=self.provider,
            display_name="Digital Samba",
            label=account.label,
            secret=account.secret,
            timeout=self.timeout,
            total_timeout=self.total_timeout,
            max_response_bytes=self.max_response_bytes,
            auth_advice="An administrator should check its team id and developer key.",
        )

    def close(self) -> None:
        self.api.close()

    # --- the portal's calls -------------------------------------------------------------------

    def send_invitation(self, request: InvitationRequest) -> InvitationResult:
        """A private room (or the session's existing one) and a personal link into it for
        this invitee, valid until the invitation is; the portal delivers the link."""
        if not request.participant_id or request.valid_until is None:
            raise UpstreamConfigurationError(
                "A Digital Samba invitation needs the invitee's id and validity."
            )
        try:
            if request.session_key:
                room, status = self._room(request.session_key)
            else:
                body = {"privacy": "private", "description": self.room_description}
                room, status = self.api.call("POST", self._url("rooms"), **self._auth(body))
            room_id, room_url = room.get("id"), room.get("room_url")
            if not isinstance(room_id, str) or not room_id:
                raise self.api.unexpected(status, "no room id")
            if not isinstance(room_url, str) or not room_url:
                error = self.api.unexpected(status, "no room_url")
                error.session_key = room_id  # the room exists: keep it, to end it later
                raise error
        except (UpstreamTimeout, UpstreamConnectionLost, UpstreamBadResponse) as err:
            what = err.detail or err.message.replace(MAY_HAVE_SENT, "").strip()
            raise UpstreamNothingSent(
                f"{what} Nothing was sent to the customer; resend to try again.",
                provider=self.provider,
                status_code=err.status_code,
                session_key=err.session_key,
            ) from err
        claims = {"ud": request.participant_id, "u": request.name.strip(), "role": ROLE_CUSTOMER}
        # Whole seconds, rounded down: the token never outlives the invitation.
        expires = int(request.valid_until.timestamp())
        return InvitationResult(
            session_key=room_id,
            http_status=status,
            personal_link=self._link(room_url, room_id, claims, expires),
        )

    def check(self, *, agent_id: str) -> None:
        """Read one room: accepted credentials, changing nothing. `agent_id` is unused (the
        developer key is the team's, not an agent's)."""
        self.api.call("GET", self._url("rooms"), params={"limit": 1}, **self._auth())

    def end_session(self, session_key: str) -> bool:
        """Delete the room: a live session in it ends and its links stop working. A room
        Digital Samba no longer knows counts as ended."""
        response = self.api.send("DELETE", self._url("rooms", session_key), **self._auth())
        if not _not_found(response):
            self.api.check_status(response)
        return True

    def agent_entry(self, *, session_key: str, agent_id: str, agent_name: str) -> AgentEntry:
        """The room with a moderator token for this agent, valid for a few minutes. Its `ud`
        is never a number, so it never matches an invitee when the agent's join is reported."""
        room, status = self._room(session_key)
        room_url = room.get("room_url")
        if not isinstance(room_url, str) or not room_url:
            raise self.api.unexpected(status, "no room_url")
        claims = {"ud": f"agent-{agent_id}", "u": agent_name.strip(), "role": ROLE_AGENT}
        expires = int(time.time()) + self.agent_token_seconds
        return AgentEntry(
            url=self._link(room_url, str(room.get("id") or session_key), claims, expires)
        )

    def participant_external_id(self, *, session_id: str, participant_id: str) -> str | None:
        """The `external_id` (our `ud`) of one participant of a session, read from the
        session's participants; None when the session or participant is unknown or has none."""
        try:
            for item in self._pages("sessions", session_id, "participants"):
                if str(item.get("id")) == participant_id:
                    external_id = item.get("external_id")
                    return str(external_id) if external_id not in (None, "") else None
        except UpstreamRejected as err:
            if err.status_code == 404:
                return None
            raise
        return None

    def ensure_webhook(self, *, endpoint: str, secret: str, name: str, known_id: str = "") -> str:
        """Leave exactly one webhook of ours: at `endpoint`, on WEBHOOK_EVENTS, sending
        `secret`; return its id. Ours is the one with id `known_id` (the portal registered it
        earlier and keeps its id) or any at `endpoint` (which names this portal and credential).
        The list omits events and the secret, so the kept one is read to compare, changed
        only where it differs, and other copies are deleted. None of ours: one is created."""
        ours = [
            str(hook["id"])
            for hook in self._pages("webhooks")
            if hook.get("id")
            and (str(hook["id"]) == known_id or _same_url(hook.get("endpoint"), endpoint))
        ]
        wanted = {
            "endpoint": endpoint,
            "events": list(WEBHOOK_EVENTS),
            "authorization_header": secret,
            "name": name,
        }
        if not ours:
            created, status = self.api.call("POST", self._url("webhooks"), **self._auth(wanted))
            if not created.get("id"):
                raise self.api.unexpected(status, "no webhook id")
            return str(created["id"])
        keep = known_id if known_id in ours else ours[0]
        current, _ = self.api.call("GET", self._url("webhooks", keep), **self._auth())
        if _differs(current, endpoint=endpoint, secret=secret):
            self.api.call("PATCH", self._url("webhooks", keep), **self._auth(wanted))
        for duplicate in ours:
            if duplicate != keep:
                response = self.api.send("DELETE", self._url("webhooks", duplicate), **self._auth())
                if not _not_found(response):
                    self.api.check_status(response)
        return keep

    # --- requests -----------------------------------------------------------------------------

    def _url(self, *segments: str) -> str:
        return "/".join([self.base_url, *(quote(segment, safe="") for segment in segments)])

    def _auth(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """`requests` arguments: HTTP Basic team id:developer key, and a JSON `body`."""
        team = self.account.account.strip()
        if not team or not self.account.secret:
            raise UpstreamConfigurationError(
                f"Credential '{self.account.label}' needs the Digital Samba team id and "
                "developer key; set them in the admin."
            )
        pair = base64.b64encode(f"{team}:{self.account.secret}".encode()).decode("ascii")
        arguments: dict[str, Any] = {"headers": {"Authorization": f"Basic {pair}"}}
        if body is not None:
            arguments["json"] = body
        return arguments

    def _room(self, room: str) -> tuple[dict[str, Any], int]:
        """GET one room; UpstreamNotFound when Digital Samba no longer has it."""
        response = self.api.send("GET", self._url("rooms", room), **self._auth())
        if _not_found(response):
            raise UpstreamNotFound(
                f"Room {room} no longer exists at Digital Samba; nothing was sent. Start a new "
                "session for this customer.",
                provider=self.provider,
                status_code=404,
            )
        self.api.check_status(response)
        return self.api.decode(response), response.status_code

    def _link(self, room_url: str, room_id: str, claims: dict[str, Any], expires: int) -> str:
        """`room_url` with a token for one person: team, room, who, and until when."""
        issued = int(time.time())
        signed = {"td": self.account.account.strip(), "rd": room_id, **claims}
        if not signed.get("u"):
            signed.pop("u", None)  # without a name Digital Samba asks for one
        token = jwt.hs256({**signed, "iat": issued, "exp": expires}, self.account.secret)
        return f"{room_url}{'&' if '?' in room_url else '?'}token={token}"

    def _pages(self, *path: str) -> Iterator[dict[str, Any]]:
        """The items of a paginated list (`{"total_count": N, "data": [...]}`; the count may be
        a number or a string), page by page."""
        offset = 0
        for _ in range(MAX_PAGES):
            params = {"limit": PAGE_SIZE, "offset": offset}
            data, status = self.api.call("GET", self._url(*path), params=params, **self._auth())
            items = data.get("data")
            if not isinstance(items, list):
                raise self.api.unexpected(status, "a list without data")
            yield from (item for item in items if isinstance(item, dict))
            offset += len(items)
            try:
                total = int(data.get("total_count", 0))
            except (TypeError, ValueError):
                total = 0
            if not items or offset >= total:
                return


def _same_url(value: object, endpoint: str) -> bool:
    return isinstance(value, str) and value.rstrip("/") == endpoint.rstrip("/")


def _differs(webhook: dict[str, Any], *, endpoint: str, secret: str) -> bool:
    """Whether the webhook as read needs changing: another endpoint, other events, or a
    secret that is not ours (absent from the answer: not known to be ours, so set again)."""
    events = webhook.get("events")
    header = webhook.get("authorization_header")
    return (
        not _same_url(webhook.get("endpoint"), endpoint)
        or not isinstance(events, list)
        or set(map(str, events)) != set(WEBHOOK_EVENTS)
        or header not in (secret, f"Bearer {secret}")
    )


def _not_found(response: requests.Response) -> bool:
    """Digital Samba's own 404 (`{"message": "Not Found", "error": "not-found"}`), not the 404
    of something else at a wrong base URL."""
    if response.status_code != 404:
        return False
    try:
        data = response.json()
    except ValueError:
        return False
    return isinstance(data, dict) and any(
        isinstance(data.get(k), str) for k in ("error", "message")
    )
