"""Fill a migrated PostgreSQL database fast: sessions with three invitees and one delivery
attempt each, spread over the last 90 days, with PostgreSQL's COPY (about 10 s per 100,000
sessions on a small machine)."""

from __future__ import annotations

import datetime
import itertools
import random
from collections.abc import Iterable, Iterator
from typing import Any

STATUSES = ["sent"] * 6 + ["delivered"] * 2 + ["failed", "needs_attention"]
ERRORS = {
    "failed": "Glance refused the request (400): invalid phone number.",
    "needs_attention": "Glance did not answer within 15 s. The message may or may not have been "
    "sent: check with the customer before resending.",
}
_numbers = itertools.count(1)


def people() -> dict[str, Any]:
    """A credential, a team of agents with a supervisor, and a superuser; who looks at pages."""
    from django.contrib.auth.models import Group

    from invitations import services
    from invitations.models import Team

    credential, _ = services.credential_upsert(
        label="bench-glance",
        provider="glance",
        base_url="https://glance.invalid",
        group_id=72,
        api_key="bench-key",
    )
    team = Team.objects.create(name="Red")
    agents = []
    for n in range(50):
        user, _ = services.agent_upsert(
            username=f"agent-{n}", partner_user_id=f"puid-{n}", credential=credential
        )
        if n < 10:  # a tenth of the agents are on the supervisor's team
            user.agent_profile.team = team
            user.agent_profile.save()
        agents.append(user)
    agents[0].groups.add(Group.objects.get(name="Supervisors"))
    admin, _ = services.agent_upsert(
        username="admin", partner_user_id="puid-admin", credential=credential, is_superuser=True
    )
    return {"supervisor": agents[0], "agent": agents[1], "admin": admin, "all": agents}


def _copy(table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def sessions(count: int, people: dict[str, Any], *, days: int = 90) -> None:
    """`count` sessions, each with 3 invitees and one attempt per invitee, then ANALYZE."""
    from django.db import connection

    from invitations.models import PartnerCredential, Session

    credential = PartnerCredential.objects.get(label="bench-glance")
    agents = [user.pk for user in people["all"]]
    now = datetime.datetime.now(tz=datetime.UTC)
    randomness = random.Random(count)
    first_id = (Session.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    created = [
        now - datetime.timedelta(seconds=randomness.uniform(0, days * 86400)) for _ in range(count)
    ]

    def session_rows() -> Iterator[tuple[Any, ...]]:
        for n, at in enumerate(created):
            key = f"{next(_numbers):06d}"
            yield (
                credential.pk,
                agents[n % len(agents)],
                1,
                key,
                f"https://glance.invalid/join/{key}/",
                f"T-{n}",
                at,
                at,
            )

    _copy(
        "invitations_session",
        [
            "credential_id",
            "created_by_id",
            "session_type",
            "session_key",
            "join_url",
            "ticket_reference",
            "created_at",
            "updated_at",
        ],
        session_rows(),
    )
    session_ids = list(
        Session.objects.filter(pk__gte=first_id).order_by("pk").values_list("pk", flat=True)
    )

    def invitee_rows() -> Iterator[tuple[Any, ...]]:
        for session_id, at in zip(session_ids, created, strict=True):
            for person in range(3):
                status = STATUSES[randomness.randrange(len(STATUSES))]
                sent = at + datetime.timedelta(seconds=randomness.uniform(0.2, 3))
                yield (
                    session_id,
                    f"Customer {person}",
                    "sms",
                    f"+1415{next(_numbers) % 10_000_000:07d}",
                    status,
                    1,
                    ERRORS.get(status, ""),
                    "en",
                    "Your support agent invites you to a screen-sharing session.",
                    "",
                    "",
                    at,
                    sent,
                    sent if status in ("sent", "delivered") else None,
                    sent + datetime.timedelta(minutes=30)
                    if status in ("sent", "delivered")
                    else None,
                )

    _copy(
        "invitations_invitee",
        [
            "session_id",
            "name",
            "channel",
            "destination",
            "status",
            "attempts",
            "last_error",
            "language",
            "message_text",
            "provider_message_id",
            "personal_link",
            "created_at",
            "updated_at",
            "sent_at",
            "expires_at",
        ],
        invitee_rows(),
    )
    with connection.cursor() as cursor:
        # One attempt per new invitee, written by the database itself.
        cursor.execute(
            """
            INSERT INTO invitations_deliveryattempt
                (invitee_id, started_at, finished_at, outcome, http_status, latency_ms, error,
                 provider_message_id)
            SELECT i.id, i.created_at, i.updated_at,
                   CASE WHEN i.status IN ('sent', 'delivered') THEN 'sent'
                        WHEN i.status = 'failed' THEN 'failed' ELSE 'ambiguous' END,
                   CASE WHEN i.status = 'failed' THEN 400 ELSE 200 END, 180, i.last_error, ''
            FROM invitations_invitee i
            WHERE i.session_id >= %s
            """,
            [first_id],
        )
        cursor.execute("ANALYZE")
