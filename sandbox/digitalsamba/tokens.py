"""HS256 JSON Web Tokens (RFC 7519) as Digital Samba's personal room links carry them.

Signed and verified here with the standard library: the header must say `HS256`, the secret
is the team's developer key (UTF-8), base64url without padding (facts.md §2.3, §2.4).
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any

# A token in compact form: three base64url parts; anything else is not worth decoding.
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
LONGEST_TOKEN = 8192


class BadToken(Exception):
    """A token the room does not take; the message says why (for logs and tests, not users)."""


def sign(claims: dict[str, Any], key: str) -> str:
    header = _encode(json.dumps({"typ": "JWT", "alg": "HS256"}, separators=(",", ":")).encode())
    payload = _encode(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{payload}.{_encode(_mac(key, f'{header}.{payload}'))}"


def verify(token: str, key: str, *, now: float | None) -> dict[str, Any]:
    """The claims of a token signed with `key`; `exp` and `nbf` checked against `now` unless
    it is None. Raises BadToken."""
    if len(token) > LONGEST_TOKEN or not _COMPACT.fullmatch(token):
        raise BadToken("not a compact JWS")
    header_part, payload_part, signature_part = token.split(".")
    header = _json_object(header_part, "header")
    if header.get("alg") != "HS256":
        # Never "none", never a public-key algorithm verified with the shared key.
        raise BadToken("alg must be HS256")
    if "typ" in header and header["typ"] != "JWT":
        raise BadToken("typ must be JWT")
    signature = _decode(signature_part, "signature")
    if not key or not hmac.compare_digest(signature, _mac(key, f"{header_part}.{payload_part}")):
        raise BadToken("signature does not match")
    claims = _json_object(payload_part, "payload")
    if now is not None:
        _check_times(claims, now)
    return claims


def _check_times(claims: dict[str, Any], now: float) -> None:
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise BadToken(f"{name} must be a number of seconds")
    if "exp" in claims and claims["exp"] <= now:
        raise BadToken("expired")
    if "nbf" in claims and claims["nbf"] > now:
        raise BadToken("not valid yet")


def _mac(key: str, signing_input: str) -> bytes:
    return hmac.new(key.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256).digest()


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _decode(part: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as err:
        raise BadToken(f"{what} is not base64url") from err


def _json_object(part: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_decode(part, what))
    except (ValueError, UnicodeDecodeError) as err:
        raise BadToken(f"{what} is not JSON") from err
    if not isinstance(value, dict):
        raise BadToken(f"{what} is not a JSON object")
    return value
