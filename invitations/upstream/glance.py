"""Glance's Session Invitation web service, authenticated with GKEY login keys.

    POST {base_url}/api/SessionInvitation/smsInvite/?groupid={group_id}
    Authorization: Bearer GKEY {partnerid}&{url-encoded partneruserid}&{login key}
    {"sessiontype": 1, "smsPhone": "+14155550134"}
    -> 200 {"sessionKey": "123456", "invitationText": "..."}

The login key is `$1$<expiration>$<signature>`: `expiration` in Unix seconds (in the future,
at most one day ahead) and `signature` the HMAC-SHA256, keyed with the partner's API key, of
`<partnerid><partneruserid>1<expiration>`, base64url-encoded without padding. A fresh key is
made for every request from the stored API key; keys are never stored or logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import quote

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from invitations.redaction import redact
from invitations.upstream.base import (
    InvitationRequest,
    InvitationResult,
    ProviderAccount,
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamClient,
    UpstreamConfigurationError,
    UpstreamConnectionError,
    UpstreamConnectionLost,
    UpstreamError,
    UpstreamRejected,
    UpstreamServerError,
    UpstreamTimeout,
    UpstreamUnavailable,
)

LOGIN_KEY_VERSION = "1"
MAX_LOGIN_KEY_LIFETIME = 24 * 60 * 60
SMS_INVITE_PATH = "/api/SessionInvitation/smsInvite/"
USER_AGENT = "agentportal/0.1 (+glance-session-invitation)"
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
    channels: ClassVar[frozenset[str]] = frozenset({"sms"})

    def __init__(
        self,
        *,
        account: ProviderAccount,
        connect_timeout: float = 3.05,
        read_timeout: float = 15.0,
        login_key_lifetime: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            account=account, connect_timeout=connect_timeout, read_timeout=read_timeout
        )
        if not 0 < login_key_lifetime <= MAX_LOGIN_KEY_LIFETIME:
            raise UpstreamConfigurationError(
                f"GLANCE_LOGIN_KEY_LIFETIME must be 1 to {MAX_LOGIN_KEY_LIFETIME} seconds."
            )
        self.login_key_lifetime = login_key_lifetime
        self.clock = clock
        self.session = self.create_session()

    def create_session(self) -> requests.Session:
        """One HTTP session per client so that connections are reused across calls."""
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        session.headers["Accept"] = "application/json"
        return session

    def close(self) -> None:
        self.session.close()

    def send_invitation(self, request: InvitationRequest) -> InvitationResult:
        if request.channel not in self.channels:
            raise UpstreamConfigurationError(
                f"Glance credential '{self.account.label}' can only send SMS invitations."
            )
        if not request.agent_id:
            raise UpstreamConfigurationError(
                "A Glance invitation needs the agent's partner user id."
            )
        response = self._post(
            self.account.base_url.rstrip("/") + SMS_INVITE_PATH,
            params={"groupid": self.account.group_id},
            json={"sessiontype": request.session_type, "smsPhone": request.destination},
            headers={"Authorization": self._authorization(request.agent_id)},
        )
        self._check_status(response)
        data = self._decode(response)
        session_key = data.get("sessionKey")
        if not isinstance(session_key, str | int) or not str(session_key).strip():
            raise UpstreamBadResponse(
                "Glance answered without a session key. The SMS may have been sent: "
                "check with the customer before resending.",
                provider=self.provider,
                status_code=response.status_code,
            )
        text = data.get("invitationText")
        message_text = text if isinstance(text, str) else ""
        link = _URL.search(message_text)
        return InvitationResult(
            session_key=str(session_key).strip(),
            message_text=message_text,
            join_url=link.group(0) if link else "",
            http_status=response.status_code,
        )

    # --- overridable steps ------------------------------------------------------------------

    def _authorization(self, partner_user_id: str) -> str:
        if not self.account.secret:
            raise UpstreamConfigurationError(
                f"Credential '{self.account.label}' has no API key; set one in the admin."
            )
        expiration = int(self.clock()) + self.login_key_lifetime
        key = login_key(
            partner_id=self.account.group_id,
            partner_user_id=partner_user_id,
            api_key=self.account.secret,
            expiration=expiration,
        )
        token = gkey_token(
            partner_id=self.account.group_id, partner_user_id=partner_user_id, key=key
        )
        return f"Bearer GKEY {token}"

    def _post(self, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.post(url, timeout=self.timeout, **kwargs)
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as err:
            raise UpstreamConfigurationError(
                f"Credential '{self.account.label}' has an unusable base URL."
            ) from err
        except requests.exceptions.ConnectTimeout as err:
            raise UpstreamConnectionError(
                f"Glance did not accept a connection within {self.timeout[0]:g} s; nothing was "
                "sent. Try again in a minute.",
                provider=self.provider,
            ) from err
        except requests.exceptions.ReadTimeout as err:
            raise UpstreamTimeout(
                f"Glance did not answer within {self.timeout[1]:g} s. The SMS may or may not "
                "have been sent: check with the customer before resending.",
                provider=self.provider,
            ) from err
        except requests.exceptions.ConnectionError as err:
            if _never_connected(err):
                raise UpstreamConnectionError(
                    "Could not connect to Glance; nothing was sent. Try again in a minute; if "
                    "it keeps failing, ask an administrator to check the credential's base URL.",
                    provider=self.provider,
                ) from err
            raise UpstreamConnectionLost(
                "The connection to Glance broke before it answered. The SMS may or may not "
                "have been sent: check with the customer before resending.",
                provider=self.provider,
            ) from err
        except requests.exceptions.RequestException as err:
            raise UpstreamConnectionLost(
                f"The request to Glance failed ({type(err).__name__}). The SMS may or may "
                "not have been sent: check with the customer before resending.",
                provider=self.provider,
            ) from err

    def _check_status(self, response: requests.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        reason = self._reason(response)
        error: UpstreamError
        if status == 401:
            error = UpstreamAuthError(
                f"Glance did not accept the credential '{self.account.label}' (401{reason}). "
                "An administrator should check its API key and group id, and the agent's "
                "partner user id.",
                provider=self.provider,
                status_code=status,
            )
        elif status == 403:
            error = UpstreamAuthError(
                f"Glance refused the request (403{reason}). The agent's partner user id may "
                "not be allowed to start sessions in this group.",
                provider=self.provider,
                status_code=status,
            )
        elif status == 429:
            retry_after = _retry_after(response)
            wait = f" in {retry_after:g} s" if retry_after is not None else " in a minute"
            error = UpstreamUnavailable(
                f"Glance is rate limiting requests (429); nothing was sent. Try again{wait}.",
                provider=self.provider,
                status_code=status,
                retry_after=retry_after,
            )
        elif status in (502, 503, 504):
            error = UpstreamUnavailable(
                f"Glance is unavailable ({status}); nothing was sent. Try again in a minute.",
                provider=self.provider,
                status_code=status,
                retry_after=_retry_after(response),
            )
        elif status >= 500:
            error = UpstreamServerError(
                f"Glance had an internal error ({status}{reason}). Try again; if it keeps "
                "failing, contact Glance support.",
                provider=self.provider,
                status_code=status,
            )
        elif status == 404:
            error = UpstreamRejected(
                "Glance has no Session Invitation service at the credential's base URL (404). "
                "An administrator should check the base URL.",
                provider=self.provider,
                status_code=status,
            )
        else:
            error = UpstreamRejected(
                f"Glance rejected the invitation ({status}{reason}). Check the phone number; "
                "if it is right, an administrator should check the credential's session type.",
                provider=self.provider,
                status_code=status,
            )
        raise error

    def _decode(self, response: requests.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError as err:
            raise UpstreamBadResponse(
                f"Glance answered {response.status_code} with a body that is not JSON. The SMS "
                "may have been sent: check with the customer before resending.",
                provider=self.provider,
                status_code=response.status_code,
            ) from err
        if not isinstance(data, dict):
            raise UpstreamBadResponse(
                f"Glance answered {response.status_code} with unexpected JSON. The SMS may have "
                "been sent: check with the customer before resending.",
                provider=self.provider,
                status_code=response.status_code,
            )
        return data

    def _reason(self, response: requests.Response) -> str:
        """`: <the provider's own words>`, short and scrubbed of anything secret."""
        try:
            data = response.json()
        except ValueError:
            data = None
        text = ""
        if isinstance(data, dict):
            for field in ("error", "message", "Message", "detail"):
                if isinstance(data.get(field), str):
                    text = data[field]
                    break
        elif response.headers.get("Content-Type", "").startswith("text/plain"):
            text = response.text
        text = " ".join(redact(text, self.account.secret).split())[:200]
        return f": {text}" if text else ""


def _never_connected(err: requests.exceptions.ConnectionError) -> bool:
    """True when the connection itself failed, so the request was certainly not sent."""
    if isinstance(err, requests.exceptions.SSLError | requests.exceptions.ProxyError):
        return True
    cause = err.args[0] if err.args else None
    return isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
