"""Glance's Session Invitation web service (docs/upstream-contracts.md).

    POST {base_url}/api/SessionInvitation/smsInvite/?groupid={group_id}
    {"sessiontype": 1, "smsPhone": "+14155550134", "sessionParams": {...}}
    -> 200 {"sessionKey": "123456", "invitationText": "..."}

With a GKEY credential a login key `$1$<expiration>$<signature>` is made for every request:
`expiration` in Unix seconds (in the future, at most one day ahead) and `signature` the
unpadded base64url HMAC-SHA256, keyed with the partner's API key, of
`<partnerid><partneruserid>1<expiration>`. Keys are never stored or logged. GSSNID and GJWT
tokens, issued by Glance's Authorization Service, are stored and sent as they are.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import quote

import requests

from invitations.providers.base import (
    InvitationRequest,
    InvitationResult,
    ProviderAccount,
    UpstreamAuthError,
    UpstreamClient,
    UpstreamConfigurationError,
)
from invitations.providers.http import JsonApi

LOGIN_KEY_VERSION = "1"
MAX_LOGIN_KEY_LIFETIME = 24 * 60 * 60
SMS_INVITE_PATH = "/api/SessionInvitation/smsInvite/"
# A refused login key from a server whose clock is further off than this is blamed on the
# clock: a key is only valid until its expiration by Glance's clock (Date has 1 s precision).
CLOCK_SKEW_TOLERANCE = 60
_URL = re.compile(r"https?://\S+")


def login_key(*, partner_id: int | str, partner_user_id: str, api_key: str, expiration: int) -> str:
    """A Glance login key for `partner_user_id`, valid until `expiration` (Unix seconds)."""
    message = f"{partner_id}{partner_user_id}{LOGIN_KEY_VERSION}{expiration}".encode()
    digest = hmac.new(api_key.encode(), message, hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return f"${LOGIN_KEY_VERSION}${expiration}${signature}"


def gkey_token(*, partner_id: int | str, partner_user_id: str, key: str) -> str:
    """The `partnerid&partneruserid&loginkey` token; the partner user id is URL-encoded."""
    return f"{partner_id}&{quote(partner_user_id, safe='')}&{key}"


class GlanceClient(UpstreamClient):
    provider: ClassVar[str] = "glance"

    def __init__(
        self,
        *,
        account: ProviderAccount,
        connect_timeout: float = 3.05,
        read_timeout: float = 15.0,
        total_timeout: float = 20.0,
        max_response_bytes: int = 1_000_000,
        login_key_lifetime: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            account=account,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            total_timeout=total_timeout,
            max_response_bytes=max_response_bytes,
        )
        if not 0 < login_key_lifetime <= MAX_LOGIN_KEY_LIFETIME:
            raise UpstreamConfigurationError(
                f"GLANCE_LOGIN_KEY_LIFETIME must be 1 to {MAX_LOGIN_KEY_LIFETIME} seconds."
            )
        if account.group_id is None:
            raise UpstreamConfigurationError(f"Credential '{account.label}' has no group id.")
        self.group_id: int = account.group_id
        self.login_key_lifetime = login_key_lifetime
        self.clock = clock
        self.api = JsonApi(
            provider=self.provider,
            display_name="Glance",
            label=account.label,
            secret=account.secret,
            timeout=self.timeout,
            total_timeout=self.total_timeout,
            max_response_bytes=self.max_response_bytes,
            auth_advice=(
                "An administrator should check its API key or token and group id, and the "
                "agent's partner user id."
            ),
            forbidden_advice=(
                "The agent's partner user id may not be allowed to start sessions in this group."
            ),
        )

    def close(self) -> None:
        self.api.close()

    def send_invitation(self, request: InvitationRequest) -> InvitationResult:
        if request.channel != "sms":
            raise UpstreamConfigurationError(
                f"Glance credential '{self.account.label}' can only send SMS invitations."
            )
        body: dict[str, object] = {
            "sessiontype": request.session_type,
            "smsPhone": request.destination,
        }
        if self.account.session_params:
            body["sessionParams"] = self.account.session_params
        response = self._post(body, request.agent_id)
        self.api.check_status(response)
        data, status = self.api.decode(response), response.status_code
        session_key = data.get("sessionKey")
        if not isinstance(session_key, str | int) or not str(session_key).strip():
            raise self.api.unexpected(status, "no session key")
        text = data.get("invitationText")
        message_text = text if isinstance(text, str) else ""
        link = _URL.search(message_text)
        return InvitationResult(
            session_key=str(session_key).strip(),
            message_text=message_text,
            join_url=link.group(0) if link else "",
            http_status=status,
        )

    def check(self, *, agent_id: str) -> None:
        """Ask Glance whether it accepts the credential for `agent_id`, inviting nobody.

        Glance has no endpoint that only checks a credential, so this posts to smsInvite with
        the real authentication header (a fresh login key for `agent_id` with GKEY) and the
        empty body `{}`. Glance authenticates a request before it reads the body, so:

        - 400 (the body lacks sessiontype and smsPhone) means the credential was accepted;
        - 401 and 403 mean it was refused (UpstreamAuthError);
        - anything else raises the usual error (429 and 5xx, or 404 for a wrong base URL).

        The body names no phone number, so however Glance answers it cannot send an SMS. Never
        add a destination here.
        """
        response = self._post({}, agent_id)
        if response.status_code == 400:
            return
        # 2xx cannot invite anyone either; like 400 it comes after authentication.
        self.api.check_status(response)

    def _post(self, body: dict[str, Any], agent_id: str) -> requests.Response:
        """POST to smsInvite; a refused login key from a Glance whose clock differs from ours
        raises an error that says so, since no API key would help."""
        response = self.api.send(
            "POST",
            self.account.base_url.rstrip("/") + SMS_INVITE_PATH,
            params={"groupid": self.group_id},
            json=body,
            headers=self._auth_headers(agent_id),
        )
        if response.status_code == 401 and self.account.auth_type in ("gkey", "gkey_address"):
            skew = self._clock_skew(response)
            if skew is not None and abs(skew) > CLOCK_SKEW_TOLERANCE:
                direction = "behind" if skew > 0 else "ahead of"
                raise UpstreamAuthError(
                    f"Glance refused the login key (401{self.api.reason(response)}). This "
                    f"server's clock is {abs(skew):.0f} s {direction} Glance's, and login keys "
                    "expire by Glance's clock: an administrator should set this server's clock "
                    "right (NTP). The API key is not the problem.",
                    provider=self.provider,
                    status_code=401,
                )
        return response

    def _clock_skew(self, response: requests.Response) -> float | None:
        """Seconds Glance's clock (its `Date` header) is ahead of ours, or None if unknown."""
        try:
            theirs = parsedate_to_datetime(response.headers.get("Date", ""))
        except (TypeError, ValueError, IndexError):
            return None
        if theirs.tzinfo is None:  # "-0000": UTC, with no claim about the sender's zone
            theirs = theirs.replace(tzinfo=datetime.UTC)
        return theirs.timestamp() - self.clock()

    def _auth_headers(self, agent_id: str) -> dict[str, str]:
        if not self.account.secret:
            raise UpstreamConfigurationError(
                f"Credential '{self.account.label}' has no API key or token; set one in the admin."
            )
        auth_type = self.account.auth_type
        if auth_type == "gssnid" and self.account.auth_header == "x-gssnid":
            return {"X-GSSNID": self.account.secret}
        if auth_type in ("gssnid", "gjwt"):
            return {"Authorization": f"Bearer {auth_type.upper()} {self.account.secret}"}
        if auth_type in ("gkey", "gkey_address"):
            return {"Authorization": self._authorization(agent_id)}
        raise UpstreamConfigurationError(
            f"Credential '{self.account.label}': Glance does not take auth type '{auth_type}'."
        )

    def _authorization(self, agent_id: str) -> str:
        """`Bearer GKEY <token>` with a login key made now for `agent_id`."""
        if not agent_id:
            raise UpstreamConfigurationError("A GKEY login key needs the agent's partner user id.")
        expiration = int(self.clock()) + self.login_key_lifetime
        key = login_key(
            partner_id=self.group_id,
            partner_user_id=agent_id,
            api_key=self.account.secret,
            expiration=expiration,
        )
        if self.account.auth_type == "gkey_address":
            return f"Bearer GKEY {agent_id}~{key}"
        token = gkey_token(partner_id=self.group_id, partner_user_id=agent_id, key=key)
        return f"Bearer GKEY {token}"
