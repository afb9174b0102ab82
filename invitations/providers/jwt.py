"""HS256 JSON web tokens (RFC 7519), signed only: the portal mints Digital Samba room tokens
and never reads one. Twenty lines of hmac instead of a dependency."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

HEADER = {"alg": "HS256", "typ": "JWT"}


def _segment(raw: bytes) -> str:
    """base64url without padding, as JWTs encode each part."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _json(value: Mapping[str, Any]) -> bytes:
    # Compact, and UTF-8 rather than \u escapes: the token travels in an SMS, every byte counts.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def hs256(claims: Mapping[str, Any], secret: str) -> str:
    """`claims` as a compact JWT signed with HMAC-SHA256 keyed with `secret` (UTF-8)."""
    signing_input = f"{_segment(_json(HEADER))}.{_segment(_json(claims))}"
    mac = hmac.new(secret.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256)
    return f"{signing_input}.{_segment(mac.digest())}"
