"""One place that scrubs secrets from text before it is stored, logged or shown."""

import re

REDACTED = "[redacted]"

# Glance login keys ($1$<expiration>$<signature>) wherever they appear.
_LOGIN_KEY = re.compile(r"\$1\$\d+\$[A-Za-z0-9_\-]+")
# `Bearer <TYPE> <TOKEN>`: keep the type, drop the token.
_BEARER = re.compile(r"(?i)(bearer\s+[A-Z]+\s+)\S+")
_GSSNID_HEADER = re.compile(r"(?i)(x-gssnid['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+")


def redact(text: str, *secrets: str) -> str:
    """Return `text` with the given secrets and anything shaped like a credential removed."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(rf"\g<1>{REDACTED}", text)
    text = _GSSNID_HEADER.sub(rf"\g<1>{REDACTED}", text)
    return _LOGIN_KEY.sub(REDACTED, text)
