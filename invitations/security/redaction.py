"""One place that scrubs secrets from text before it is stored, logged or shown, and
customers' numbers and addresses from log lines."""

import base64
import re
from urllib.parse import quote, quote_plus, unquote

from django.utils.crypto import salted_hmac

REDACTED = "[redacted]"

# Glance login keys ($1$<expiration>$<signature>) wherever they appear.
_LOGIN_KEY = re.compile(r"\$1\$\d+\$[A-Za-z0-9_\-]+")
# `Bearer <TYPE> <TOKEN>`: keep the type, drop the token.
_BEARER = re.compile(r"(?i)(bearer\s+[A-Z]+\s+)\S+")
_GSSNID_HEADER = re.compile(r"(?i)(x-gssnid['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+")
# The portal's own API tokens (invitations/services/tokens.py), e.g. in
# `Authorization: Bearer ap_...`.
_API_TOKEN = re.compile(r"\bap_[A-Za-z0-9_\-]{20,}")


# Shorter base64 fragments could match ordinary text by chance.
_MIN_BASE64_FRAGMENT = 8


def redact(text: str, *secrets: str) -> str:
    """Return `text` with the given secrets (also URL-encoded or in base64) and anything shaped
    like a credential removed."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
            text = _encoded_forms(secret).sub(REDACTED, text)
    text = _BEARER.sub(rf"\g<1>{REDACTED}", text)
    text = _GSSNID_HEADER.sub(rf"\g<1>{REDACTED}", text)
    text = _API_TOKEN.sub(REDACTED, text)
    return _LOGIN_KEY.sub(REDACTED, text)


def _encoded_forms(secret: str) -> re.Pattern[str]:
    """The secret as a service may echo it: URL-encoded (query strings, form bodies; hex digits
    in either case) and in base64, standard or URL-safe, also inside a longer encoded value
    such as `Basic base64(user:secret)`."""
    forms = {quote(secret, safe=""), quote(secret), quote_plus(secret)}
    raw = secret.encode()
    for offset in range(3):
        # The characters that encode only the secret's bytes when it starts `offset` bytes
        # into the encoded value: each base64 character stands for 6 bits.
        encoded = base64.b64encode(bytes(offset) + raw).decode()
        fragment = encoded[-(-offset * 8 // 6) : (offset + len(raw)) * 8 // 6]
        if len(fragment) >= _MIN_BASE64_FRAGMENT:
            forms |= {fragment, fragment.translate(str.maketrans("+/", "-_"))}
    forms.discard(secret)
    patterns = [
        re.sub(r"%([0-9A-F]{2})", lambda m: "%" + _either_case(str(m.group(1))), re.escape(form))
        for form in sorted(forms, key=len, reverse=True)
    ]
    return re.compile("|".join(patterns)) if patterns else re.compile(r"(?!)")


def _either_case(hex_digits: str) -> str:
    return "".join(f"[{c}{c.lower()}]" if c.isalpha() else c for c in hex_digits)


# Customers' numbers and addresses, as they appear in log lines: E.164 numbers (also URL-encoded,
# as in a CRM deep link's query string), e-mail addresses, and the deep link's parameters.
_QUERY_VALUE = re.compile(r"(?i)\b(phone|email|destination|name|to)=([^&\s\"']+)")
_E164 = re.compile(r"(?:\+|%2B)\d{8,15}\b", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def destination_hash(destination: str) -> str:
    """A short keyed hash that tells log lines about one destination apart without showing
    it (a plain hash of a phone number is easy to reverse: there are few numbers)."""
    return salted_hmac("invitations.destination", destination.strip().lower()).hexdigest()[:12]


def redact_personal_data(text: str) -> str:
    """Replace customers' numbers and addresses in a log line with their destination hash."""
    text = _QUERY_VALUE.sub(
        lambda m: f"{m.group(1)}=#{destination_hash(unquote(m.group(2)))}", text
    )
    text = _E164.sub(lambda m: f"#{destination_hash(unquote(m.group(0)))}", text)
    return _EMAIL.sub(lambda m: f"#{destination_hash(unquote(m.group(0)))}", text)
