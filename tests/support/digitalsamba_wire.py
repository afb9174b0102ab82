"""Digital Samba requests built by hand, as the documentation shows them (facts.md §2), for
tests of the sandbox's emulation over HTTP. Shares no code with the sandbox: the JWT is signed
here with the standard library."""

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import requests

API = "/sandbox/digitalsamba/api/v1"


def basic(settings: Any) -> str:
    pair = f"{settings.SANDBOX_DIGITALSAMBA_TEAM_ID}:{settings.SANDBOX_DIGITALSAMBA_DEVELOPER_KEY}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def api_session(settings: Any) -> requests.Session:
    """A client of the sandbox team's API, with HTTP Basic team id and developer key."""
    session = requests.Session()
    session.headers["Authorization"] = basic(settings)
    return session


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt(claims: dict[str, Any], key: str, header: dict[str, Any] | None = None) -> str:
    """An HS256 JWT as RFC 7519 writes it."""
    head = b64url(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    mac = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(mac)}"


def room_token(settings: Any, room: dict[str, Any], **claims: Any) -> str:
    """A customer's token for `room` (an API room object), valid for ten minutes."""
    now = int(time.time())
    values = {
        "td": settings.SANDBOX_DIGITALSAMBA_TEAM_ID,
        "rd": room["id"],
        "ud": "42",
        "u": "Ann Lee",
        "role": "speaker",
        "iat": now,
        "exp": now + 600,
        **claims,
    }
    return jwt({k: v for k, v in values.items() if v is not None}, key_of(settings))


def key_of(settings: Any) -> str:
    return str(settings.SANDBOX_DIGITALSAMBA_DEVELOPER_KEY)
