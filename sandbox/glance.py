"""Glance's side of the GKEY login key, written from Glance's documentation.

Login key: `$1$<expiration>$<signature>`, expiration in Unix seconds, signature the unpadded
base64url HMAC-SHA256 of `<partnerid><partneruserid>1<expiration>` keyed with the partner's
API key. Tokens: `partnerid&partneruserid&loginkey` (partneruserid URL-encoded) or
`glanceaddress~loginkey`. A key may be valid for at most one day.
"""

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import unquote

LONGEST_VALIDITY = 86_400
# Clocks differ a little between partner and Glance.
CLOCK_SKEW = 60
_KEY_SHAPE = re.compile(
    r"^\$(?P<version>1)\$(?P<expires>\d{1,12})\$(?P<signature>[A-Za-z0-9_-]{43})$"
)


class Unauthorized(Exception):
    pass


@dataclass(frozen=True)
class Agent:
    partner_id: int
    partner_user_id: str


def parse_authorization(header: str) -> tuple[str, str]:
    """`Bearer <TYPE> <TOKEN>` -> (TYPE, TOKEN)."""
    parts = header.split(" ")
    if len(parts) != 3 or parts[0] != "Bearer":
        raise Unauthorized("Authorization header must be 'Bearer <type> <token>'")
    return parts[1], parts[2]


def authenticate_gkey(token: str, *, api_keys: dict[int, str], now: int) -> Agent:
    """The agent a GKEY token speaks for, if its login key is genuine and current."""
    if "~" in token and "&" not in token:
        raise Unauthorized("glanceaddress~loginkey tokens are not enabled for this partner")
    fields = token.split("&")
    if len(fields) != 3:
        raise Unauthorized("GKEY token must be partnerid&partneruserid&loginkey")
    raw_partner, encoded_user, key = fields
    if not raw_partner.isdigit():
        raise Unauthorized("partner id must be a number")
    partner_id = int(raw_partner)
    partner_user_id = unquote(encoded_user)
    if not partner_user_id:
        raise Unauthorized("partner user id is empty")
    api_key = api_keys.get(partner_id)
    if api_key is None:
        raise Unauthorized(f"unknown partner {partner_id}")
    shape = _KEY_SHAPE.match(key)
    if shape is None:
        raise Unauthorized("login key is malformed")
    expires = int(shape["expires"])
    if expires <= now:
        raise Unauthorized("login key has expired")
    if expires > now + LONGEST_VALIDITY + CLOCK_SKEW:
        raise Unauthorized("login key is valid for more than one day")
    signed = (str(partner_id) + partner_user_id + "1" + str(expires)).encode("utf-8")
    expected = hmac.new(api_key.encode("utf-8"), signed, hashlib.sha256).digest()
    given = base64.urlsafe_b64decode(shape["signature"] + "=")
    if not hmac.compare_digest(expected, given):
        raise Unauthorized("login key signature does not match")
    return Agent(partner_id=partner_id, partner_user_id=partner_user_id)
