"""Glance's side of authentication, written from Glance's documentation and the contract.

Login key: `$1$<expiration>$<signature>`, expiration in Unix seconds, signature the unpadded
base64url HMAC-SHA256 keyed with the partner's API key. GKEY tokens come in two forms:
`partnerid&partneruserid&loginkey` (partneruserid URL-encoded; signed over
`<partnerid><partneruserid>1<expiration>`) and `glanceaddress~loginkey` (signed, by the
contract, over `<groupid><glanceaddress>1<expiration>`). A key may be valid for at most one
day. GSSNID and GJWT tokens are issued by the Authorization Service
(`sandbox.glance_authorization`) to one agent of one group, for a limited time.
"""

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

LONGEST_VALIDITY = 86_400
# Clocks differ a little between partner and Glance.
CLOCK_SKEW = 60
_KEY_SHAPE = re.compile(
    r"\$(?P<version>1)\$(?P<expires>[0-9]{1,12})\$(?P<signature>[A-Za-z0-9_-]{43})"
)
_DIGITS = re.compile(r"[0-9]+")


class Unauthorized(Exception):
    pass


@dataclass(frozen=True)
class Agent:
    partner_id: int
    partner_user_id: str


@dataclass(frozen=True)
class Partner:
    """What the sandbox's Glance knows about its one demo partner."""

    group_id: int
    api_key: str
    addresses: frozenset[str]


# (token type, token) -> the agent it was issued to; raises Unauthorized for any other token.
TokenHolder = Callable[[str, str], Agent]


def parse_authorization(header: str) -> tuple[str, str]:
    """`Bearer <TYPE> <TOKEN>` -> (TYPE, TOKEN)."""
    parts = header.split(" ")
    if len(parts) != 3 or parts[0] != "Bearer":
        raise Unauthorized("Authorization header must be 'Bearer <type> <token>'")
    return parts[1], parts[2]


def authenticate(
    authorization: str, x_gssnid: str, *, partner: Partner, now: int, tokens: TokenHolder
) -> Agent:
    """The agent a request speaks for, from its Authorization or X-GSSNID header."""
    if authorization:
        scheme, token = parse_authorization(authorization)
    elif x_gssnid:
        scheme, token = "GSSNID", x_gssnid
    else:
        raise Unauthorized("Authorization header (or X-GSSNID) is missing")
    if scheme == "GKEY":
        return authenticate_gkey(token, partner=partner, now=now)
    if scheme in ("GSSNID", "GJWT"):
        return tokens(scheme, token)
    raise Unauthorized(f"token type {scheme} is not accepted")


def authenticate_gkey(token: str, *, partner: Partner, now: int) -> Agent:
    """The agent a GKEY token speaks for, if its login key is genuine and current."""
    # A URL-encoded puid cannot hold a raw '&', but may hold a '~'.
    if "&" not in token and "~" in token:
        return _authenticate_address(token, partner=partner, now=now)
    fields = token.split("&")
    if len(fields) != 3:
        raise Unauthorized("GKEY token must be partnerid&partneruserid&loginkey")
    raw_partner, encoded_user, key = fields
    if not _DIGITS.fullmatch(raw_partner):
        raise Unauthorized("partner id must be a number")
    partner_id = int(raw_partner)
    partner_user_id = unquote(encoded_user)
    if not partner_user_id:
        raise Unauthorized("partner user id is empty")
    return authenticate_partner(partner_id, partner_user_id, key, partner=partner, now=now)


def authenticate_partner(
    partner_id: int, partner_user_id: str, key: str, *, partner: Partner, now: int
) -> Agent:
    """The agent a partner login key speaks for (GKEY tokens and the Authorization Service)."""
    if partner_id != partner.group_id:
        raise Unauthorized(f"unknown partner {partner_id}")
    _verify_login_key(key, signed_prefix=f"{partner_id}{partner_user_id}", partner=partner, now=now)
    return Agent(partner_id=partner_id, partner_user_id=partner_user_id)


def _authenticate_address(token: str, *, partner: Partner, now: int) -> Agent:
    # A login key never holds '~', so the last one ends the address.
    address, _, key = token.rpartition("~")
    if not address:
        raise Unauthorized("glance address is empty")
    if address not in partner.addresses:
        raise Unauthorized("unknown glance address")
    _verify_login_key(key, signed_prefix=f"{partner.group_id}{address}", partner=partner, now=now)
    return Agent(partner_id=partner.group_id, partner_user_id=address)


def _verify_login_key(key: str, *, signed_prefix: str, partner: Partner, now: int) -> None:
    shape = _KEY_SHAPE.fullmatch(key)
    if shape is None:
        raise Unauthorized("login key is malformed")
    expires = int(shape["expires"])
    if expires <= now:
        raise Unauthorized("login key has expired")
    if expires > now + LONGEST_VALIDITY + CLOCK_SKEW:
        raise Unauthorized("login key is valid for more than one day")
    signed = f"{signed_prefix}1{expires}".encode()
    expected = hmac.new(partner.api_key.encode("utf-8"), signed, hashlib.sha256).digest()
    given = base64.urlsafe_b64decode(shape["signature"] + "=")
    if not hmac.compare_digest(expected, given):
        raise Unauthorized("login key signature does not match")
