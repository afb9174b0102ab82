"""Tokens for the JSON API: created in the admin or by `create_api_token`, shown once.

Only the token's SHA-256 digest and its first few characters are stored. A token acts as its
user, with exactly what the user may do on the pages at the time of each request (the user is
read afresh every time); revoking it, its expiry, or deactivating the user stops it at once.
Only superusers (and operators, by command) create tokens for other users: anyone else's token
would let its maker act with that user's rights.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from invitations.errors import InvalidInput
from invitations.models import ApiToken, AuditEvent
from invitations.services.audit import audit_record

TOKEN_PREFIX = "ap_"  # noqa: S105  (the marker every token starts with, not a secret)
# Shown in the admin so people can tell their tokens apart: "ap_" and 7 random characters.
SHOWN_PREFIX_LENGTH = 10
# "ap_" and 43 URL-safe characters (32 random bytes); anything much longer is not a token.
MAX_TOKEN_LENGTH = 100
# last_used_at is written at most this often per token, not on every request.
LAST_USED_PRECISION = timedelta(minutes=1)
EXPIRY_IN_THE_PAST = "The expiry is in the past; choose a later time, or none."


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class TokenRefused(Exception):
    """A raw token that does not authenticate; the message says why, for the API's answer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def may_create_token_for(*, user: User, actor: User | None) -> bool:
    """Whether `actor` may create a token acting as `user`: for themselves, or anyone's if a
    superuser or an operator command (`actor=None`)."""
    return actor is None or actor.is_superuser or actor.pk == user.pk


def other_users_token_refused(actor: User) -> str:
    return (
        "Only superusers may create API tokens for other users; "
        f"you can create one for yourself ({actor.get_username()})."
    )


def api_token_create(
    *, user: User, name: str, actor: User | None, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token for `user`, valid until `expires_at` (None: until revoked); returns it and
    the raw token, which is never stored and must be shown to the person exactly once.
    `actor=None` means an operator command."""
    if actor is not None and not may_create_token_for(user=user, actor=actor):
        raise InvalidInput(other_users_token_refused(actor), field="user")
    name = name.strip()
    if not name:
        raise InvalidInput("Give the token a name (what uses it, e.g. the CRM).", field="name")
    if len(name) > ApiToken._meta.get_field("name").max_length:  # type: ignore[operator]
        raise InvalidInput("The name is too long (100 characters at most).", field="name")
    if not user.is_active:
        raise InvalidInput(
            f"User '{user.get_username()}' is inactive; its tokens would not work.", field="user"
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput(EXPIRY_IN_THE_PAST, field="expires_at")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=raw[:SHOWN_PREFIX_LENGTH],
            digest=_digest(raw),
            expires_at=expires_at,
        )
        expiry = f"expires {expires_at.isoformat()}" if expires_at else "no expiry"
        audit_record(
            actor=actor,
            action=AuditEvent.Action.API_TOKEN_CREATED,
            target=_target(token),
            details=f"name: {name}; {expiry}",
        )
    return token, raw


def api_token_revoke(*, token: ApiToken, actor: User | None) -> bool:
    """Revoke `token` for good. Returns False (and records nothing) if it already was."""
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token.refresh_from_db(fields=["revoked_at"])
        if revoked:
            audit_record(
                actor=actor, action=AuditEvent.Action.API_TOKEN_REVOKED, target=_target(token)
            )
    return bool(revoked)


def api_token_user(raw: str) -> User:
    """The active user a raw token belongs to, or TokenRefused saying why not (unknown or
    malformed, revoked, expired, inactive user). The lookup is by digest, so timing reveals
    nothing about stored tokens."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > MAX_TOKEN_LENGTH or not raw.isascii():
        raise TokenRefused("The API token is unknown.")
    digest = _digest(raw)
    token = ApiToken.objects.select_related("user").filter(digest=digest).first()
    if token is None or not hmac.compare_digest(token.digest, digest):
        raise TokenRefused("The API token is unknown.")
    now = timezone.now()
    if token.revoked_at is not None:
        raise TokenRefused("The API token was revoked; ask an administrator for a new one.")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRefused(
            f"The API token expired at {token.expires_at.isoformat(timespec='seconds')}; "
            "ask an administrator for a new one."
        )
    if not token.user.is_active:
        raise TokenRefused("The API token's user is inactive.")
    if token.last_used_at is None or token.last_used_at <= now - LAST_USED_PRECISION:
        # Conditional, so that concurrent requests write it once.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_PRECISION)
        ).update(last_used_at=now)
    return token.user


def api_token_authenticate(raw: str) -> User | None:
    """The active user a raw token belongs to, or None when it does not authenticate."""
    try:
        return api_token_user(raw)
    except TokenRefused:
        return None


def _target(token: ApiToken) -> str:
    return f"API token {token.prefix}… ({token.name}) of {token.user.get_username()}"
