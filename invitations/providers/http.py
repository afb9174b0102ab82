"""JSON over HTTP for every outside service: kept connections, a timeout on every call, and
one mapping of transport failures and status codes to the typed errors in base.py.

Connections are kept per thread and per origin (scheme, host and port), below any credential
or client: every client that calls an origin on this thread reuses them, so a client costs
nothing to make for each call, and nothing kept holds a secret (each request carries its own
headers). A connection left unused for UPSTREAM_CONNECTION_REUSE_SECONDS is closed before the
next call (the server has likely closed its end by then; 0: a new connection every call), and
a call that failed drops its origin's connections, whatever state it left them in.

Every call is bounded three ways: per read (`timeout`), in total (`total_timeout`: a watchdog
shuts the connection at the deadline, whatever phase the call is in, so a server trickling
its headers or body a byte at a time is cut off too) and in size (`max_response_bytes`).
Redirects are never followed: `requests` would replay the body and custom headers (such as
X-GSSNID or Authorization) to wherever the answer points.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from urllib3.exceptions import MaxRetryError, NewConnectionError

from invitations.providers.base import (
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamConfigurationError,
    UpstreamConnectionError,
    UpstreamConnectionLost,
    UpstreamError,
    UpstreamRedirected,
    UpstreamRejected,
    UpstreamServerError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from invitations.providers.deadline import Deadline, WatchedAdapter, running
from invitations.security.redaction import redact

USER_AGENT = "agentportal/0.1"
MAY_HAVE_SENT = (
    "The invitation may or may not have been sent: check with the customer before resending."
)


def _unknown_outcome(name: str) -> str:
    """In the agent's words: the provider may have sent it; ask before sending again."""
    return _(
        "%(provider)s did not answer clearly: the invitation may or may not have been sent. "
        "Ask the customer whether it arrived before you press Resend."
    ) % {"provider": name}


_CHUNK_BYTES = 64 * 1024


@dataclass
class _Kept:
    session: requests.Session
    last_used: float


_kept = threading.local()


def _kept_sessions() -> dict[str, _Kept]:
    sessions: dict[str, _Kept] = _kept.__dict__.setdefault("sessions", {})
    return sessions


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _take_session(origin: str) -> requests.Session:
    """This thread's kept session for `origin` if it is fresh enough, else a new one."""
    kept = _kept_sessions().pop(origin, None)
    if kept is not None:
        if time.monotonic() - kept.last_used <= settings.UPSTREAM_CONNECTION_REUSE_SECONDS:
            return kept.session
        kept.session.close()
    session = requests.Session()
    adapter = WatchedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _give_back(origin: str, session: requests.Session, *, keep: bool) -> None:
    if keep and settings.UPSTREAM_CONNECTION_REUSE_SECONDS > 0:
        _kept_sessions()[origin] = _Kept(session, time.monotonic())
    else:
        session.close()


def close_kept_connections() -> None:
    """Close this thread's kept connections (a test's live server must not wait on them)."""
    sessions = _kept_sessions()
    for kept in sessions.values():
        kept.session.close()
    sessions.clear()


class JsonApi:
    """Calls one service. Messages name the service and say what the agent can do next."""

    def __init__(
        self,
        *,
        provider: str,
        display_name: str,
        label: str,
        secret: str,
        timeout: tuple[float, float],
        auth_advice: str,
        forbidden_advice: str = "",
        total_timeout: float = 20.0,
        max_response_bytes: int = 1_000_000,
        base_url_advice: str = "",
    ) -> None:
        if total_timeout <= 0 or max_response_bytes <= 0:
            raise UpstreamConfigurationError(
                "UPSTREAM_TOTAL_TIMEOUT and UPSTREAM_MAX_RESPONSE_BYTES must be above 0."
            )
        self.provider = provider
        self.name = display_name
        self.label = label
        self.secret = secret  # only to scrub it from anything the service echoes back
        self.timeout = timeout
        self.total_timeout = total_timeout
        self.max_response_bytes = max_response_bytes
        self.auth_advice = auth_advice
        self.forbidden_advice = forbidden_advice or auth_advice
        self.base_url_advice = (
            base_url_advice
            or f"An administrator should check the base URL of credential '{label}'."
        )
        self.headers = {"User-Agent": f"{USER_AGENT} ({provider})", "Accept": "application/json"}

    def close(self) -> None:
        """Nothing to release: connections are kept per origin, not per client."""

    def call(self, method: str, url: str, **kwargs: Any) -> tuple[dict[str, Any], int]:
        """Send one request; return the decoded JSON object and the status code."""
        response = self.send(method, url, **kwargs)
        self.check_status(response)
        return self.decode(response), response.status_code

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One request, its answer read in full; raises UpstreamError for a redirect, a call
        over `total_timeout`, an answer over `max_response_bytes` and transport failures."""
        headers = {**self.headers, **kwargs.pop("headers", {})}
        origin = _origin(url)
        session = _take_session(origin)
        deadline = Deadline(self.total_timeout)
        running.deadline = deadline
        kept = False
        try:
            with deadline:
                response = session.request(
                    method,
                    url,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                    stream=True,
                    **kwargs,
                )
                complete = _read_body(response, self.max_response_bytes)
            kept = complete and not deadline.expired
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as err:
            raise UpstreamConfigurationError(
                f"Credential '{self.label}' has an unusable base URL."
            ) from err
        except requests.exceptions.RequestException as err:
            if deadline.expired:
                raise self._too_slow() from err
            raise self._transport_error(err) from err
        finally:
            running.deadline = None
            _give_back(origin, session, keep=kept)
        # A cut connection can also look like an answer that ended early.
        if deadline.expired:
            raise self._too_slow()
        if 300 <= response.status_code < 400:
            raise self._redirected(response)
        if not complete:
            raise self.unexpected(
                response.status_code,
                f"an answer larger than {self.max_response_bytes:,} bytes",
            )
        return response

    def _too_slow(self) -> UpstreamTimeout:
        return UpstreamTimeout(
            _unknown_outcome(self.name),
            detail=f"{self.name} did not finish answering within {self.total_timeout:g} s.",
            provider=self.provider,
        )

    def _redirected(self, response: requests.Response) -> UpstreamRedirected:
        return redirect_error(
            response, name=self.name, provider=self.provider, advice=self.base_url_advice
        )

    def _transport_error(self, err: requests.exceptions.RequestException) -> UpstreamError:
        if isinstance(err, requests.exceptions.ConnectTimeout):
            return UpstreamConnectionError(
                f"{self.name} did not accept a connection within {self.timeout[0]:g} s; nothing "
                "was sent. Try again in a minute.",
                provider=self.provider,
            )
        if isinstance(err, requests.exceptions.ReadTimeout):
            return UpstreamTimeout(
                _unknown_outcome(self.name),
                detail=f"{self.name} did not answer within {self.timeout[1]:g} s.",
                provider=self.provider,
            )
        if isinstance(err, requests.exceptions.ConnectionError):
            if _never_connected(err):
                return UpstreamConnectionError(
                    f"Could not connect to {self.name}; nothing was sent. Try again in a "
                    "minute; if it keeps failing, ask an administrator to check the "
                    "credential's base URL.",
                    provider=self.provider,
                )
            return UpstreamConnectionLost(
                _unknown_outcome(self.name),
                detail=f"The connection to {self.name} broke before it answered.",
                provider=self.provider,
            )
        return UpstreamConnectionLost(
            _unknown_outcome(self.name),
            detail=f"The request to {self.name} failed ({type(err).__name__}).",
            provider=self.provider,
        )

    def check_status(self, response: requests.Response, *, secrets: tuple[str, ...] = ()) -> None:
        """Raise the typed error for a status that is not 2xx. `secrets`: more values to scrub
        from the service's words besides the credential's secret (e.g. a token it issued)."""
        status = response.status_code
        if 200 <= status < 300:
            return
        reason = self.reason(response, *secrets)
        name, label = self.name, self.label
        error: UpstreamError
        if status == 401:
            error = UpstreamAuthError(
                f"{name} did not accept the credential '{label}' ({status}{reason}). "
                f"{self.auth_advice}",
                provider=self.provider,
                status_code=status,
            )
        elif status == 403:
            error = UpstreamAuthError(
                f"{name} refused the request ({status}{reason}). {self.forbidden_advice}",
                provider=self.provider,
                status_code=status,
            )
        elif status == 429:
            retry_after = _retry_after(response)
            wait = f" in {retry_after:g} s" if retry_after is not None else " in a minute"
            error = UpstreamUnavailable(
                f"{name} is rate limiting requests (429); nothing was sent. Try again{wait}.",
                provider=self.provider,
                status_code=status,
                retry_after=retry_after,
            )
        elif status in (502, 503, 504):
            error = UpstreamUnavailable(
                f"{name} is unavailable ({status}); nothing was sent. Try again in a minute.",
                provider=self.provider,
                status_code=status,
                retry_after=_retry_after(response),
            )
        elif status >= 500:
            error = UpstreamServerError(
                f"{name} had an internal error ({status}{reason}). Try again; if it keeps "
                f"failing, contact {name} support.",
                provider=self.provider,
                status_code=status,
            )
        elif status == 404:
            error = UpstreamRejected(
                f"{name} has no such service at the credential's base URL (404{reason}). "
                "An administrator should check the base URL.",
                provider=self.provider,
                status_code=status,
            )
        else:
            error = UpstreamRejected(
                f"{name} rejected the invitation ({status}{reason}). Check the recipient; if it "
                "is right, an administrator should check the credential's settings.",
                provider=self.provider,
                status_code=status,
            )
        raise error

    def decode(self, response: requests.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError as err:
            raise self.unexpected(response.status_code, "a body that is not JSON") from err
        if not isinstance(data, dict):
            raise self.unexpected(response.status_code, "unexpected JSON")
        return data

    def unexpected(self, status: int, what: str) -> UpstreamBadResponse:
        return UpstreamBadResponse(
            _unknown_outcome(self.name),
            detail=f"{self.name} answered {status} with {what}.",
            provider=self.provider,
            status_code=status,
        )

    def reason(self, response: requests.Response, *secrets: str) -> str:
        """`: <the service's own words>`, short and scrubbed of anything secret."""
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
        text = " ".join(redact(text, self.secret, *secrets).split())[:200]
        return f": {text}" if text else ""


def redirect_error(
    response: requests.Response, *, name: str, provider: str, advice: str
) -> UpstreamRedirected:
    """The error for a redirect that was not followed; names the target's host, never its
    path or query, which may carry anything."""
    status = response.status_code
    location = response.headers.get("Location", "")
    host = _host(urljoin(response.url, location)) if location else ""
    where = f"a redirect to {host} ({status})" if host else f"a redirect ({status})"
    return UpstreamRedirected(
        f"{name} answered with {where}, which is not followed: nothing was sent there. {advice}",
        provider=provider,
        status_code=status,
    )


def _read_body(response: requests.Response, limit: int) -> bool:
    """Read the whole body into `response`; False (and the connection closed) past `limit`
    bytes, counted after decompression so that a small compressed answer cannot grow big."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=_CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            response.close()
            return False
        chunks.append(chunk)
    response._content = b"".join(chunks)
    return True


def _host(url: str) -> str:
    """`host[:port]` of `url`: where a redirect points, without its path or query."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    host = parts.hostname or ""
    return f"{host}:{port}" if host and port else host


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
