"""The audit log's one write path."""

from __future__ import annotations

from django.contrib.auth.models import User

from invitations.models import (
    AuditEvent,
)
from invitations.security.redaction import redact


def audit_record(
    *, actor: User | None, action: str, target: str = "", details: str = ""
) -> AuditEvent:
    """Write an audit event; `actor=None` means an operator command. Details are redacted."""
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "command",
        action=action,
        target=target[:200],
        details=redact(details),
    )
