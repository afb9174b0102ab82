"""JSON over HTTP for every outside service: one `requests.Session`, a timeout on every call,
and one mapping of transport failures and status codes to the typed errors in base.py."""

from __future__ import annotations

from typing import Any

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from invitations.redaction import redact
from invitations.upstream.base import (
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamConfigurationError,
    UpstreamConnectionError,
    UpstreamConnectionLost,
    UpstreamError,
    UpstreamRejected,
    UpstreamServerError,
    UpstreamTimeout,
    UpstreamUnavailable,
)

USER_AGENT = "agentportal/0.1"
MAY_HAVE_SENT = (
    "The invitation may or may not have been sent: check with the customer before resending."
)


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
    ) -> None:
        self.provider = provider
        self.name = display_name
        self.label = label
        self.secret = secret  # only to scrub it from anything the service echoes back
        self.timeout = timeout
        self.auth_advice = auth_advice
        self.forbidden_advice = forbidden_advice or auth_advice
        self.session = self.create_session()

    def create_session(self) -> requests.Session:
        session = requests.Session()
        session.headers["User-Agent"] = f"{USER_AGENT} ({self.provider})"
        session.headers["Accept"] = "application/json"
        return session

    def close(self) -> None:
        self.session.close()

    def call(self, method: str, url: str, **kwargs: Any) -> tuple[dict[str, Any], int]:
        """Send one request; return the decoded JSON object and the status code."""
        response = self.send(method, url, **kwargs)
        self.check_status(response)
        return self.decode(response), response.status_code

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(method, url, timeout=self.timeout, **kwargs)
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as err:
            raise UpstreamConfigurationError(
                f"Credential '{self.label}' has an unusable base URL."
            ) from err
        except requests.exceptions.ConnectTimeout as err:
            raise UpstreamConnectionError(
                f"{self.name} did not accept a connection within {self.timeout[0]:g} s; nothing "
                "was sent. Try again in a minute.",
                provider=self.provider,
            ) from err
        except requests.exceptions.ReadTimeout as err:
            raise UpstreamTimeout(
                f"{self.name} did not answer within {self.timeout[1]:g} s. {MAY_HAVE_SENT}",
                provider=self.provider,
            ) from err
        except requests.exceptions.ConnectionError as err:
            if _never_connected(err):
                raise UpstreamConnectionError(
                    f"Could not connect to {self.name}; nothing was sent. Try again in a minute; "
                    "if it keeps failing, ask an administrator to check the credential's base URL.",
                    provider=self.provider,
                ) from err
            raise UpstreamConnectionLost(
                f"The connection to {self.name} broke before it answered. {MAY_HAVE_SENT}",
                provider=self.provider,
            ) from err
        except requests.exceptions.RequestException as err:
            raise UpstreamConnectionLost(
                f"The request to {self.name} failed ({type(err).__name__}). {MAY_HAVE_SENT}",
                provider=self.provider,
            ) from err

    def check_status(self, response: requests.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        reason = self.reason(response)
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
            f"{self.name} answered {status} with {what}. {MAY_HAVE_SENT}",
            provider=self.provider,
            status_code=status,
        )

    def reason(self, response: requests.Response) -> str:
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
        text = " ".join(redact(text, self.secret).split())[:200]
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
