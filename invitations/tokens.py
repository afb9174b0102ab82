"""Tokens for the JSON API: created in the admin or by `create_api_token`, shown once.

Only the token's SHA-256 digest and its first few characters are stored. A token acts as its
user, with exactly what the user may do on the pages; revoking it or deactivating the user
stops it at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from invitations.errors import InvalidInput
from invitations.models import ApiToken, AuditEvent
from invitations.services import audit_record

TOKEN_PREFIX = "ap_"  # noqa: S105  (the marker every token starts with, not a secret)
# Shown in the admin so people can tell their tokens apart: "ap_" and 7 random characters.
SHOWN_PREFIX_LENGTH = 10
# "ap_" and 43 URL-safe characters (32 random bytes); anything much longer is not a token.
MAX_TOKEN_LENGTH = 100
# last_used_at is written at most this often per token, not on every request.
LAST_USED_PRECISION = timedelta(minutes=1)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, user: User, name: str, actor: User | None) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns it and the raw token, which is never stored and
    must be shown to the person exactly once. `actor=None` means an operator command."""
    name = name.strip()
    if not name:
        raise InvalidInput("Give the token a name (what uses it, e.g. the CRM).", field="name")
    if len(name) > ApiToken._meta.get_field("name").max_length:  # type: ignore[operator]
        raise InvalidInput("The name is too long (100 characters at most).", field="name")
    if not user.is_active:
        raise InvalidInput(
            f"User '{user.get_username()}' is inactive; its tokens would not work.", field="user"
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=raw[:SHOWN_PREFIX_LENGTH], digest=_digest(raw)
        )
        audit_record(
            actor=actor,
            action=AuditEvent.Action.API_TOKEN_CREATED,
            target=_target(token),
            details=f"name: {name}",
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


def api_token_authenticate(raw: str) -> User | None:
    """The active user a raw token belongs to, or None for an unknown, revoked or malformed
    token or an inactive user. The lookup is by digest, so timing reveals nothing about
    stored tokens."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > MAX_TOKEN_LENGTH:
        return None
    digest = _digest(raw)
    token = ApiToken.objects.select_related("user").filter(digest=digest).first()
    if token is None or not hmac.compare_digest(token.digest, digest):
        return None
    if token.revoked_at is not None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or token.last_used_at <= now - LAST_USED_PRECISION:
        # Conditional, so that concurrent requests write it once.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_PRECISION)
        ).update(last_used_at=now)
    return token.user


def _target(token: ApiToken) -> str:
    return f"API token {token.prefix}… ({token.name}) of {token.user.get_username()}"
