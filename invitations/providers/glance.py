"""Glance's Session Invitation web service and its Authorization Service
(docs/upstream-contracts.md, facts.md §3).

    POST {base_url}/api/SessionInvitation/smsInvite/?groupid={group_id}
    {"sessiontype": 1, "smsPhone": "+14155550134", "sessionParams": {...}}
    -> 200 {"sessionKey": "123456", "invitationText": "..."}

    POST {base_url}/services/AuthorizationService.svc/rest/Authorize
         ?groupid={group_id}&service=webservices&duration={minutes}&site=production
    {"partnerid": 72, "partneruserid": "ann-77", "loginkey": "$1$..."}
    -> 200 {"authToken": "<JWT>", "authTokeExp": "2026-03-12T20:41:55.6484735Z",
            "gssnId": "...", "groupId": 72, ...}

    POST {base_url}/services/SessionService.asmx/LookupPartnerSession2
    partnerid=72&partneruserid=ann-77&loginkey=%241%24...&ssnkey=123456   (form-encoded)
    -> 200 <SessionInfo xmlns="http://www.glance.net/"><id>4711</id>...</SessionInfo>
       (<id>0</id>: the visitor has not started the session yet)

    The agent viewer: the agent's browser POSTs SESSIONKEY, PARTNERID, PARTNERUSERID,
    LOGINKEY and WAIT=1 as an HTML form to {base_url}/agentjoin/AgentView.aspx.

Every auth type starts from the partner's API key, which signs a login key
`$1$<expiration>$<signature>` made for each use: `expiration` in Unix seconds (in the future, at
most one day ahead) and `signature` the unpadded base64url HMAC-SHA256, keyed with the API key,
of `<partnerid><partneruserid>1<expiration>`. GKEY sends the login key itself to smsInvite.
GSSNID and GJWT exchange it at the Authorization Service for a token of that agent, kept in
this process's memory until a minute before it expires (never stored, never logged, never
used for another agent). Login keys and tokens never leave this module except in a request.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import quote

import requests

from invitations.providers.base import (
    AgentEntry,
    InvitationRequest,
    InvitationResult,
    ProviderAccount,
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamClient,
    UpstreamConfigurationError,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamRejected,
    UpstreamServerError,
)
from invitations.providers.http import JsonApi
from invitations.providers.xmlread import first_text

LOGIN_KEY_VERSION = "1"
MAX_LOGIN_KEY_LIFETIME = 24 * 60 * 60
SMS_INVITE_PATH = "/api/SessionInvitation/smsInvite/"
AUTHORIZE_PATH = "/services/AuthorizationService.svc/rest/Authorize"
LOOKUP_PATH = "/services/SessionService.asmx/LookupPartnerSession2"
AGENT_VIEW_PATH = "/agentjoin/AgentView.aspx"
# Glance issues authorization tokens for 1 to 120 minutes.
MAX_TOKEN_MINUTES = 120
# A cached token is replaced this long before Glance's expiry, so that it cannot expire on the
# way to Glance.
TOKEN_RENEWAL_MARGIN = 60
# Auth types whose token comes from the Authorization Service.
MINTED_TOKEN_AUTH = ("gssnid", "gjwt")
# Glance's own client and its web services use both for a refused credential.
AUTH_REFUSED = (401, 403)
# A refused login key from a server whose clock is further off than this is blamed on the
# clock: a key is only valid until its expiration by Glance's clock (Date has 1 s precision).
CLOCK_SKEW_TOLERANCE = 60
_URL = re.compile(r"https?://\S+")
# A session id as the session service writes it; anything else reads as "not found".
_SESSION_ID = re.compile(r"[+-]?[0-9]{1,20}")


def login_key(*, partner_id: int | str, partner_user_id: str, api_key: str, expiration: int) -> str:
    """A Glance login key for `partner_user_id`, valid until `expiration` (Unix seconds)."""
    message = f"{partner_id}{partner_user_id}{LOGIN_KEY_VERSION}{expiration}".encode()
    digest = hmac.new(api_key.encode(), message, hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return f"${LOGIN_KEY_VERSION}${expiration}${signature}"


def gkey_token(*, partner_id: int | str, partner_user_id: str, key: str) -> str:
    """The `partnerid&partneruserid&loginkey` token; the partner user id is URL-encoded."""
    return f"{partner_id}&{quote(partner_user_id, safe='')}&{key}"


@dataclass(frozen=True)
class Authorization:
    """What Glance's Authorization Service issued for one agent."""

    auth_token: str
    gssn_id: str
    expires_at: float  # Unix seconds

    def __repr__(self) -> str:  # the tokens never reach a log through a repr
        return f"Authorization(expires_at={self.expires_at!r})"


class TokenCache:
    """Tokens by (credential, partner user id), shared by the threads of this process.

    Never written anywhere: a restart only costs one Authorization call per agent. Two threads
    missing the same entry at once both authorize; the later answer wins, and both are valid.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, ...], Authorization] = {}

    def get(self, key: tuple[str, ...], *, now: float) -> Authorization | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None and now < found.expires_at - TOKEN_RENEWAL_MARGIN:
                return found
            self._entries.pop(key, None)
            return None

    def put(self, key: tuple[str, ...], authorization: Authorization, *, now: float) -> None:
        with self._lock:
            # Forget what has expired, so that agents who stopped sending leave nothing behind.
            for old in [k for k, v in self._entries.items() if v.expires_at <= now]:
                del self._entries[old]
            self._entries[key] = authorization

    def drop(self, key: tuple[str, ...]) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


tokens = TokenCache()


def parse_expiry(value: object) -> float | None:
    """`authTokeExp` (ISO 8601, `Z` or an offset, up to 7 fractional digits) as Unix seconds;
    None when it is missing or unreadable. A time without a zone is taken as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    # Python reads at most 6 fractional digits; Glance writes 7 (100 ns ticks).
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def visitor_session_id(body: bytes) -> int:
    """The session id in a LookupPartnerSession2 answer; 0 when the visitor has not started
    the session. Any root element and namespace; a missing, empty or non-numeric `id` counts
    as 0, as `<id>0</id>` does. Raises ValueError for a body that is not XML or that
    declares entities (never expanded)."""
    text = first_text(body, "id")
    if text is None or not _SESSION_ID.fullmatch(text):
        return 0
    return int(text)


class GlanceClient(UpstreamClient):
    provider: ClassVar[str] = "glance"
    offers_agent_entry: ClassVar[bool] = True
    looks_up_visitors: ClassVar[bool] = True

    def __init__(
        self,
        *,
        account: ProviderAccount,
        connect_timeout: float = 3.05,
        read_timeout: float = 15.0,
        total_timeout: float = 20.0,
        max_response_bytes: int = 1_000_000,
        login_key_lifetime: int = 300,
        token_minutes: int = 60,
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
        if not 0 < token_minutes <= MAX_TOKEN_MINUTES:
            raise UpstreamConfigurationError(
                f"GLANCE_TOKEN_MINUTES must be 1 to {MAX_TOKEN_MINUTES} minutes."
            )
        if account.group_id is None:
            raise UpstreamConfigurationError(f"Credential '{account.label}' has no group id.")
        self.group_id: int = account.group_id
        self.login_key_lifetime = login_key_lifetime
        self.token_minutes = token_minutes
        self.clock = clock
        self.api = self._json_api("Glance")
        self.authorization_api = self._json_api("Glance's Authorization Service")
        self.session_api = self._json_api("Glance's Session Service")

    def _json_api(self, display_name: str) -> JsonApi:
        return JsonApi(
            provider=self.provider,
            display_name=display_name,
            label=self.account.label,
            secret=self.account.secret,
            timeout=self.timeout,
            total_timeout=self.total_timeout,
            max_response_bytes=self.max_response_bytes,
            auth_advice=(
                "An administrator should check its API key and group id, and the agent's "
                "partner user id."
            ),
            forbidden_advice=(
                "The agent's partner user id may not be allowed to start sessions in this "
                "group, or the API key or group id is wrong."
            ),
        )

    def close(self) -> None:
        self.api.close()
        self.authorization_api.close()
        self.session_api.close()

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
        response, token = self._invite(body, request.agent_id)
        self.api.check_status(response, secrets=(token,))
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

        The partner form (GKEY, GSSNID, GJWT) asks the Authorization Service for a token with
        a fresh login key, never a cached token: it has no side effect, and a 200 with a token
        means the API key, group id and partner user id are right.

        The address form (`glanceaddress~loginkey`) is not something the Authorization Service
        is documented to take, so it keeps the old probe: smsInvite with the real header and
        the empty body `{}`. Glance authenticates before it reads the body, so 400 (no
        sessiontype or smsPhone) means accepted and 401/403 refused. The body names no phone
        number, so it cannot send an SMS. Never add a destination here.
        """
        if self.account.auth_type != "gkey_address":
            self._authorize(agent_id)
            return
        response = self._post({}, agent_id, self._gkey_headers(agent_id))
        if response.status_code == 400:
            return
        # 2xx cannot invite anyone either; like 400 it comes after authentication.
        self.api.check_status(response)

    def visitor_joined(self, *, session_key: str, agent_id: str) -> bool:
        """Whether the visitor has started the session `session_key` (LookupPartnerSession2,
        facts.md §3.3): a non-zero session id means they have. Asked as `agent_id` (the agent
        who sent the invitation) with a login key made for this call; a 401 or 403 is asked
        once more with a new key (Glance's services answer either for a refused key, §3.5),
        then raises UpstreamAuthError. Nothing reaches the customer here."""
        api = self.session_api
        url = self.account.base_url.rstrip("/") + LOOKUP_PATH
        response, key = self._look_up(api, url, session_key, agent_id)
        if response.status_code in AUTH_REFUSED:
            response, key = self._look_up(api, url, session_key, agent_id)
            self._blame_the_clock(response, api)
        api.check_status(response, secrets=(key,))
        try:
            return visitor_session_id(response.content) != 0
        except ValueError as err:
            raise UpstreamBadResponse(
                f"{api.name} answered {response.status_code} with an unreadable session "
                f"lookup: {err}.",
                provider=self.provider,
                status_code=response.status_code,
            ) from err

    def _look_up(
        self, api: JsonApi, url: str, session_key: str, agent_id: str
    ) -> tuple[requests.Response, str]:
        key = self._login_key(agent_id)
        # Form-encoded by requests: `&`, spaces and non-ASCII letters of a partner user id
        # travel as UTF-8 percent escapes, and the key's `$` as %24.
        fields = {
            "partnerid": str(self.group_id),
            "partneruserid": agent_id,
            "loginkey": key,
            "ssnkey": session_key,
        }
        headers = {"Accept": "text/xml, application/xml"}
        return api.send("POST", url, data=fields, headers=headers), key

    def agent_entry(self, *, session_key: str, agent_id: str, agent_name: str) -> AgentEntry:
        """Glance's agent viewer for `session_key` (facts.md §3.2, the form the GlanceAgent
        library posts): the fields go in an HTML form the agent's browser POSTs, so the login
        key, made now and valid GLANCE_LOGIN_KEY_LIFETIME seconds, stays out of URLs. WAIT=1:
        the viewer waits for a visitor who has not started yet. Glance takes no display name
        here; the agent is known by `agent_id`."""
        return AgentEntry(
            url=self.account.base_url.rstrip("/") + AGENT_VIEW_PATH,
            fields={
                "SESSIONKEY": session_key,
                "PARTNERID": str(self.group_id),
                "PARTNERUSERID": agent_id,
                "LOGINKEY": self._login_key(agent_id),
                "WAIT": "1",
            },
        )

    def _invite(self, body: dict[str, Any], agent_id: str) -> tuple[requests.Response, str]:
        """POST to smsInvite; returns the answer and the token it carried (to scrub from
        errors). A refused minted token is dropped and replaced once: 401 and 403 are refusals
        before anything was sent, so sending again cannot invite twice."""
        if self.account.auth_type not in MINTED_TOKEN_AUTH:
            return self._post(body, agent_id, self._gkey_headers(agent_id)), ""
        authorization = self._cached_authorization(agent_id)
        response = self._post(body, agent_id, self._token_headers(authorization))
        if response.status_code in AUTH_REFUSED:
            tokens.drop(self._cache_key(agent_id))
            authorization = self._cached_authorization(agent_id)
            response = self._post(body, agent_id, self._token_headers(authorization))
        return response, self._token(authorization)

    def _post(
        self, body: dict[str, Any], agent_id: str, headers: dict[str, str]
    ) -> requests.Response:
        response = self.api.send(
            "POST",
            self.account.base_url.rstrip("/") + SMS_INVITE_PATH,
            params={"groupid": self.group_id},
            json=body,
            headers=headers,
        )
        if self.account.auth_type in ("gkey", "gkey_address"):
            self._blame_the_clock(response, self.api)
        return response

    def _blame_the_clock(self, response: requests.Response, api: JsonApi) -> None:
        """A refused login key from a Glance whose clock differs from ours raises an error
        that says so, since no API key would help."""
        if response.status_code not in AUTH_REFUSED:
            return
        skew = self._clock_skew(response)
        if skew is None or abs(skew) <= CLOCK_SKEW_TOLERANCE:
            return
        status = response.status_code
        direction = "behind" if skew > 0 else "ahead of"
        raise UpstreamAuthError(
            f"Glance refused the login key ({status}{api.reason(response)}). This "
            f"server's clock is {abs(skew):.0f} s {direction} Glance's, and login keys "
            "expire by Glance's clock: an administrator should set this server's clock "
            "right (NTP). The API key is not the problem.",
            provider=self.provider,
            status_code=status,
        )

    def _clock_skew(self, response: requests.Response) -> float | None:
        """Seconds Glance's clock (its `Date` header) is ahead of ours, or None if unknown."""
        try:
            theirs = parsedate_to_datetime(response.headers.get("Date", ""))
        except (TypeError, ValueError, IndexError):
            return None
        if theirs.tzinfo is None:  # "-0000": UTC, with no claim about the sender's zone
            theirs = theirs.replace(tzinfo=datetime.UTC)
        return theirs.timestamp() - self.clock()

    def _api_key(self) -> str:
        if not self.account.secret:
            raise UpstreamConfigurationError(
                f"Credential '{self.account.label}' has no API key; set one in the admin."
            )
        return self.account.secret

    def _login_key(self, agent_id: str) -> str:
        """A login key made now for `agent_id`, signed with the API key."""
        api_key = self._api_key()
        if not agent_id:
            raise UpstreamConfigurationError(
                "A Glance login key needs the agent's partner user id."
            )
        return login_key(
            partner_id=self.group_id,
            partner_user_id=agent_id,
            api_key=api_key,
            expiration=int(self.clock()) + self.login_key_lifetime,
        )

    def _gkey_headers(self, agent_id: str) -> dict[str, str]:
        return {"Authorization": self._authorization(agent_id)}

    def _authorization(self, agent_id: str) -> str:
        """`Bearer GKEY <token>` with a login key made now for `agent_id`."""
        auth_type = self.account.auth_type
        if auth_type not in ("gkey", "gkey_address"):
            raise UpstreamConfigurationError(
                f"Credential '{self.account.label}': Glance does not take auth type '{auth_type}'."
            )
        if auth_type == "gkey_address":
            address = self._glance_address(agent_id)
            return f"Bearer GKEY {address}~{self._login_key(address)}"
        key = self._login_key(agent_id)
        token = gkey_token(partner_id=self.group_id, partner_user_id=agent_id, key=key)
        return f"Bearer GKEY {token}"

    def _glance_address(self, agent_id: str) -> str:
        """The Glance address the address form speaks as: the credential's, else the agent's
        partner user id. Glance does not document what that form's login key signs (facts.md
        §3.4), so nothing is sent in it unless an administrator has allowed the mode."""
        if not self.account.unverified_address_form:
            raise UpstreamConfigurationError(
                f"Credential '{self.account.label}' uses the Glance address form "
                "(glanceaddress~loginkey), which is unverified: Glance does not document what "
                "its login key signs. Nothing was sent. An administrator may allow it with "
                "'Unverified address form' in the admin, or choose another auth type."
            )
        return self.account.glance_address.strip() or agent_id

    def _token(self, authorization: Authorization) -> str:
        return (
            authorization.gssn_id
            if self.account.auth_type == "gssnid"
            else (authorization.auth_token)
        )

    def _token_headers(self, authorization: Authorization) -> dict[str, str]:
        token = self._token(authorization)
        if self.account.auth_type == "gssnid" and self.account.auth_header == "x-gssnid":
            return {"X-GSSNID": token}
        return {"Authorization": f"Bearer {self.account.auth_type.upper()} {token}"}

    def _cache_key(self, agent_id: str) -> tuple[str, ...]:
        # The API key's digest too: a changed key must not keep using tokens it did not sign.
        key_digest = hashlib.sha256(self.account.secret.encode()).hexdigest()
        account = (self.account.label, self.account.base_url, str(self.group_id), key_digest)
        return (*account, agent_id)

    def _cached_authorization(self, agent_id: str) -> Authorization:
        key = self._cache_key(agent_id)
        found = tokens.get(key, now=self.clock())
        if found is not None:
            return found
        authorization = self._authorize(agent_id)
        tokens.put(key, authorization, now=self.clock())
        return authorization

    def _authorize(self, agent_id: str) -> Authorization:
        """A new token for `agent_id` from the Authorization Service. Nothing reaches a
        customer here, so no failure of this call leaves an invitation in doubt."""
        body = {
            "partnerid": self.group_id,
            "partneruserid": agent_id,
            "loginkey": self._login_key(agent_id),
        }
        api = self.authorization_api
        try:
            response = api.send(
                "POST",
                self.account.base_url.rstrip("/") + AUTHORIZE_PATH,
                params={
                    "groupid": self.group_id,
                    "service": "webservices",
                    "duration": self.token_minutes,
                    "site": "production",
                },
                json=body,
            )
        except UpstreamError as err:
            if not err.ambiguous:
                raise
            raise UpstreamConnectionError(
                f"{api.name} did not answer properly ({err}). Nothing was sent: try again "
                "in a minute.",
                provider=self.provider,
                status_code=err.status_code,
            ) from err
        status = response.status_code
        self._blame_the_clock(response, api)
        if status in AUTH_REFUSED:
            raise UpstreamAuthError(
                f"{api.name} did not accept the credential '{self.account.label}' "
                f"({status}{api.reason(response)}). {api.auth_advice}",
                provider=self.provider,
                status_code=status,
            )
        if 400 <= status < 500 and status not in (404, 429):
            raise UpstreamRejected(
                f"{api.name} refused the request ({status}{api.reason(response)}); nothing was "
                f"sent. An administrator should check the group id of credential "
                f"'{self.account.label}' and the agent's partner user id.",
                provider=self.provider,
                status_code=status,
            )
        api.check_status(response)
        return self._read_authorization(response)

    def _read_authorization(self, response: requests.Response) -> Authorization:
        """The documented object, or the bare JSON string (the JWT) that Glance's older
        library reads; without `authTokeExp` the token lasts the duration asked for."""
        requested_expiry = self.clock() + self.token_minutes * 60
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, str) and data.strip():
            authorization = Authorization(data.strip(), "", requested_expiry)
        elif isinstance(data, dict) and isinstance(data.get("authToken"), str):
            gssn_id = data.get("gssnId")
            authorization = Authorization(
                auth_token=data["authToken"].strip(),
                gssn_id=gssn_id.strip() if isinstance(gssn_id, str) else "",
                expires_at=parse_expiry(data.get("authTokeExp")) or requested_expiry,
            )
        else:
            authorization = Authorization("", "", requested_expiry)
        if not self._token(authorization):
            what = "gssnId" if self.account.auth_type == "gssnid" else "authToken"
            raise UpstreamServerError(
                f"{self.authorization_api.name} answered {response.status_code} without the "
                f"{what} this credential's auth type needs; nothing was sent. An administrator "
                "should check the credential's auth type.",
                provider=self.provider,
                status_code=response.status_code,
            )
        return authorization
