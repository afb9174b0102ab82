"""Invitees and sessions as CSV rows for the admin's export actions; cells that a spreadsheet
would read as a formula are quoted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db.models import QuerySet

from invitations.models import (
    Invitee,
    Session,
)

INVITEE_EXPORT_HEADER = [
    "id",
    "created_at",
    "session_key",
    "provider",
    "credential",
    "agent",
    "channel",
    "destination",
    "status",
    "attempts",
    "sent_at",
]
SESSION_EXPORT_HEADER = [
    "id",
    "created_at",
    "session_key",
    "provider",
    "credential",
    "agent",
    "session_type",
    "ticket_reference",
    "invitees",
    "destinations",
    "statuses",
]
EXPORT_CHUNK = 500


def invitees_export(*, invitees: QuerySet[Invitee]) -> Iterator[list[str]]:
    """CSV rows (header first) describing `invitees`: destinations masked; no names, links,
    message texts or errors (they can hold the destination), and never a secret."""
    yield INVITEE_EXPORT_HEADER
    rows = invitees.select_related("session__credential", "session__created_by").order_by("pk")
    for invitee in rows.iterator(chunk_size=EXPORT_CHUNK):
        session = invitee.session
        yield _cells(
            invitee.pk,
            invitee.created_at,
            session.session_key,
            session.credential.provider,
            session.credential.label,
            session.created_by.get_username(),
            invitee.channel,
            invitee.masked_destination,
            invitee.status,
            invitee.attempts,
            invitee.sent_at,
        )


def sessions_export(*, sessions: QuerySet[Session]) -> Iterator[list[str]]:
    """CSV rows (header first) describing `sessions` and who was invited, masked; the join
    URL is left out because it lets anyone join."""
    yield SESSION_EXPORT_HEADER
    rows = (
        sessions.select_related("credential", "created_by")
        .prefetch_related("invitees")
        .order_by("pk")
    )
    for session in rows.iterator(chunk_size=EXPORT_CHUNK):
        invitees = list(session.invitees.all())
        yield _cells(
            session.pk,
            session.created_at,
            session.session_key,
            session.credential.provider,
            session.credential.label,
            session.created_by.get_username(),
            session.session_type,
            session.ticket_reference,
            len(invitees),
            "; ".join(invitee.masked_destination for invitee in invitees),
            "; ".join(invitee.status for invitee in invitees),
        )


# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cells(*values: object) -> list[str]:
    cells = []
    for value in values:
        if value is None:
            text = ""
        elif isinstance(value, datetime):
            text = value.isoformat()
        else:
            text = str(value)
        cells.append("'" + text if text.startswith(_FORMULA_START) else text)
    return cells
