"""Fill a migrated PostgreSQL database fast, for the scale benchmark (bench/scale.py).

`people()` makes three credentials (Glance SMS, OnSync with the portal's SMS and e-mail, OnSync
e-mailing itself), three teams with a supervisor each, 50 agents (a quarter of them on no team)
and a superuser. `sessions(n, people)` adds n sessions with three invitees each, spread over the
last 90 days, in the proportions a busy portal has: mostly sent or delivered, some failed,
bounced or needing attention, a few still queued; one delivery attempt per invitee (two after a
retry), a delivery receipt per delivered or bounced message, and an audit event per ten
sessions. Sessions and invitees go in with PostgreSQL's COPY (psycopg 3's `cursor.copy`), the
attempts, receipts and audit events with INSERT … SELECT. While they go in, the loaded tables'
secondary indexes and foreign keys are set aside and then made again from their own definitions
(`indexes_and_foreign_keys_set_aside`): building an index once over every row is many times
faster than updating it row by row, and adding a foreign key checks every row in one join
instead of a trigger per row; the schema afterwards is the one the migrations made, and every
row has been checked against it. 100,000 sessions and 300,000 invitees take about 15 s on a
small machine (goal: under a minute), 1,000,000 sessions and 3,000,000 invitees 5 to 15 minutes.

Deterministic: the same calls on two empty databases give the same users, ids and rows.
"""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User

# (status, weight) per channel; e-mails can bounce, SMS cannot.
SMS_STATUSES = [
    ("sent", 45),
    ("delivered", 35),
    ("failed", 9),
    ("needs_attention", 8),
    ("queued", 3),
]
EMAIL_STATUSES = [
    ("sent", 40),
    ("delivered", 35),
    ("bounced", 8),
    ("failed", 7),
    ("needs_attention", 7),
    ("queued", 3),
]
ERRORS = {
    "failed": [
        "Glance refused the request (400): invalid phone number.",
        "The SMS gateway refused the number: not a mobile number.",
        "OnSync is unavailable (503). Nothing was sent.",
        "Undelivered: the carrier reported the handset unreachable.",
    ],
    "bounced": [
        "Bounced: mailbox does not exist (550 5.1.1).",
        "Bounced: mailbox full (552 5.2.2).",
    ],
    "needs_attention": [
        "Glance did not answer within 15 s. The message may or may not have been sent: "
        "check with the customer before resending.",
        "The connection to OnSync was lost after sending. Check with the customer before "
        "resending.",
    ],
}
RECEIVED = ("delivered", "bounced")
TEAMS = ["Red", "Blue", "Green"]
AGENTS = 50
DAYS = 90
INVITEES_PER_SESSION = 3
# The tables a load fills; their secondary indexes and foreign keys wait for the end of it.
LOADED_TABLES = [
    "invitations_session",
    "invitations_invitee",
    "invitations_deliveryattempt",
    "invitations_deliveryreceipt",
    "invitations_auditevent",
]
AGENT_SHARE = 3  # the timed agent's weight among the agents (see sessions())


@dataclass
class People:
    """Who the pages are looked at as, and who starts the sessions."""

    admin: User
    supervisor: User  # of team Red
    agent: User  # on team Blue, no supervisor
    agents: list[User] = field(default_factory=list)
    credential_of: dict[int, int] = field(default_factory=dict)  # agent id -> credential id
    provider_of: dict[int, str] = field(default_factory=dict)  # credential id -> provider
    delivery_of: dict[int, str] = field(default_factory=dict)  # credential id -> link delivery

    @property
    def viewers(self) -> dict[str, User]:
        return {"admin": self.admin, "supervisor": self.supervisor, "agent": self.agent}


def people() -> People:
    """Credentials, teams, 50 agents with three supervisors, and a superuser."""
    from django.contrib.auth.models import Group

    from invitations import services
    from invitations.models import SUPERVISORS_GROUP, Team

    credentials = [
        services.credential_upsert(
            label="bench-glance",
            provider="glance",
            base_url="https://glance.invalid",
            group_id=72,
            api_key="bench-key-glance",
        )[0],
        services.credential_upsert(
            label="bench-onsync-portal",
            provider="onsync",
            base_url="https://onsync.invalid/api/1",
            account="bench-account",
            api_key="bench-key-onsync",
            link_delivery="portal",
        )[0],
        services.credential_upsert(
            label="bench-onsync-mail",
            provider="onsync",
            base_url="https://onsync.invalid/api/1",
            account="bench-account",
            api_key="bench-key-onsync-mail",
            link_delivery="provider",
        )[0],
    ]
    teams = [Team.objects.create(name=name) for name in TEAMS]
    supervisors = Group.objects.get(name=SUPERVISORS_GROUP)
    agents = []
    for n in range(AGENTS):
        credential = credentials[n % len(credentials)]
        user, _ = services.agent_upsert(
            username=f"agent-{n}", partner_user_id=f"puid-{n}", credential=credential
        )
        if n % 4 < len(teams):  # agents 3, 7, 11, … are on no team
            user.agent_profile.team = teams[n % 4]
            user.agent_profile.save()
        if n < len(teams):  # agent-0 supervises Red, agent-1 Blue, agent-2 Green
            user.groups.add(supervisors)
        agents.append(user)
    admin, _ = services.agent_upsert(
        username="admin", partner_user_id="puid-admin", credential=credentials[0], is_superuser=True
    )
    return People(
        admin=admin,
        supervisor=agents[0],
        agent=agents[5],
        agents=agents,
        credential_of={
            user.pk: credentials[n % len(credentials)].pk for n, user in enumerate(agents)
        },
        provider_of={c.pk: c.provider for c in credentials},
        delivery_of={c.pk: c.link_delivery for c in credentials},
    )


def _copy(table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _pick(randomness: random.Random, weighted: list[tuple[str, int]]) -> str:
    return randomness.choices([s for s, _ in weighted], [w for _, w in weighted])[0]


@contextmanager
def indexes_and_foreign_keys_set_aside(tables: list[str]) -> Iterator[None]:
    """Drop the secondary indexes (those behind no constraint) and the foreign keys of
    `tables`, and make them again afterwards from the definitions PostgreSQL gave for them
    (pg_get_indexdef, pg_get_constraintdef). Primary keys and unique constraints stay, so
    those are checked row by row as ever; the rest is checked when it is made again (a
    foreign key checks every row as it is added)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = ANY(%s::regclass[])
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
            """,
            [tables],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])
            """,
            [tables],
        )
        foreign_keys = cursor.fetchall()
        for table, name, _definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    with connection.cursor() as cursor:
        # Room to sort each index's rows in memory (the default is 64 MB).
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("RESET maintenance_work_mem")


@dataclass
class LoadReport:
    sessions: int
    invitees: int
    attempts: int
    receipts: int
    audit_events: int
    seconds: float


def sessions(count: int, people: People, *, days: int = DAYS, seed: int = 1) -> LoadReport:
    """Add `count` sessions with three invitees each, their attempts, receipts and audit
    events; then VACUUM ANALYZE, as autovacuum would have done on a live database."""
    from django.db import connection

    from invitations.models import Session

    started = time.monotonic()
    randomness = random.Random(seed)
    now = datetime.datetime.now(tz=datetime.UTC)
    first_id = (Session.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    agents = [user.pk for user in people.agents]
    # The agent whose pages are timed starts three times the share of the others (about 6 %),
    # so that with 1,000 sessions too their list fills its first page of 50: otherwise the
    # comparison would be of 20 rows against 50, not of 1,000 sessions against 100,000.
    weights = [AGENT_SHARE if pk == people.agent.pk else 1 for pk in agents]
    with indexes_and_foreign_keys_set_aside(LOADED_TABLES):
        plan = []  # (created_at, agent id, credential id), in id order
        for _ in range(count):
            agent = randomness.choices(agents, weights)[0]
            at = now - datetime.timedelta(seconds=randomness.uniform(60, days * 86400))
            plan.append((at, agent, people.credential_of[agent]))

        def session_rows() -> Iterator[tuple[Any, ...]]:
            for n, (at, agent, credential) in enumerate(plan):
                ordinal = first_id + n
                key = f"{ordinal:06d}"
                old = at < now - datetime.timedelta(days=1)
                ended = at + datetime.timedelta(minutes=25) if old and n % 3 == 0 else None
                yield (
                    credential,
                    agent,
                    1,
                    key,
                    f"https://join.invalid/{key}/",
                    f"CASE-{ordinal:07d}" if n % 5 else "",
                    at,
                    ended or at,
                    ended,
                    agent if ended else None,
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
                "ended_at",
                "ended_by_id",
            ],
            session_rows(),
        )
        session_ids = list(
            Session.objects.filter(pk__gte=first_id).order_by("pk").values_list("pk", flat=True)
        )
        assert len(session_ids) == count

        def invitee_rows() -> Iterator[tuple[Any, ...]]:
            for session_id, (at, _agent, credential) in zip(session_ids, plan, strict=True):
                provider, delivery = people.provider_of[credential], people.delivery_of[credential]
                for person in range(INVITEES_PER_SESSION):
                    if provider == "glance":
                        channel = "sms"
                    elif delivery == "provider":
                        channel = "email"
                    else:
                        channel = ("sms", "email")[(session_id + person) % 2]
                    weights = SMS_STATUSES if channel == "sms" else EMAIL_STATUSES
                    status = _pick(randomness, weights)
                    # The first invitee with the session, others a few minutes later.
                    later = datetime.timedelta(seconds=person * randomness.uniform(20, 600))
                    created = min(at + later, now)
                    handed_over = status in ("sent", "delivered", "bounced")
                    sent = (
                        created + datetime.timedelta(seconds=randomness.lognormvariate(0.3, 0.6))
                        if handed_over
                        else None
                    )
                    number = session_id * INVITEES_PER_SESSION + person
                    destination = (
                        f"+1415{number % 10_000_000:07d}"
                        if channel == "sms"
                        else f"customer{number}@example.com"
                    )
                    yield (
                        session_id,
                        f"Customer {number}",
                        channel,
                        destination,
                        status,
                        0 if status == "queued" else 1 + (number % 17 == 0),
                        randomness.choice(ERRORS[status]) if status in ERRORS else "",
                        "en",
                        "Your support agent invites you to a screen-sharing session: "
                        f"https://join.invalid/{session_id}/",
                        f"msg-{number}" if handed_over and provider == "onsync" else "",
                        f"https://join.invalid/{session_id}/p{person}"
                        if provider == "onsync"
                        else "",
                        created,
                        (sent or created) + datetime.timedelta(seconds=2),
                        sent,
                        sent + datetime.timedelta(minutes=30) if sent else None,
                        sent + datetime.timedelta(seconds=5)
                        if sent and status in RECEIVED
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
                "receipt_at",
            ],
            invitee_rows(),
        )
        with connection.cursor() as cursor:
            # One attempt per invitee that was tried, two where it was retried.
            cursor.execute(
                """
                INSERT INTO invitations_deliveryattempt
                    (invitee_id, started_at, finished_at, outcome, http_status, latency_ms, error,
                     provider_message_id)
                SELECT i.id, i.created_at + (n - 1) * interval '30 seconds',
                       i.created_at + (n - 1) * interval '30 seconds' + interval '180 milliseconds',
                       CASE WHEN n < i.attempts THEN 'retry'
                            WHEN i.status IN ('sent', 'delivered', 'bounced') THEN 'sent'
                            WHEN i.status = 'failed' THEN 'failed' ELSE 'ambiguous' END,
                       CASE WHEN n < i.attempts THEN 503 WHEN i.status = 'failed' THEN 400
                            WHEN i.status = 'needs_attention' THEN NULL ELSE 200 END,
                       180, CASE WHEN n = i.attempts THEN i.last_error ELSE '' END,
                       CASE WHEN n = i.attempts THEN i.provider_message_id ELSE '' END
                FROM invitations_invitee i, generate_series(1, i.attempts) AS n
                WHERE i.session_id >= %s
                ORDER BY i.id, n
                """,
                [first_id],
            )
            attempts = cursor.rowcount
            cursor.execute(
                """
                INSERT INTO invitations_deliveryreceipt
                    (source, event_id, message_id, status, occurred_at, received_at, invitee_id,
                     applied, detail)
                SELECT CASE WHEN i.channel = 'sms' THEN 'sms_gateway' ELSE 'email' END,
                       'evt-' || i.id, COALESCE(NULLIF(i.provider_message_id, ''), 'msg-' || i.id),
                       i.status, i.receipt_at, i.receipt_at + interval '1 second', i.id, true,
                       CASE WHEN i.status = 'bounced' THEN i.last_error ELSE '' END
                FROM invitations_invitee i
                WHERE i.session_id >= %s AND i.status IN ('delivered', 'bounced')
                ORDER BY i.receipt_at
                """,
                [first_id],
            )
            receipts = cursor.rowcount
            cursor.execute(
                """
                INSERT INTO invitations_auditevent
                    (created_at, actor_id, actor_name, action, target, details)
                SELECT s.created_at + interval '10 minutes', s.created_by_id, u.username,
                       'invitee_resent', 'invitee ' || s.id, ''
                FROM invitations_session s JOIN auth_user u ON u.id = s.created_by_id
                WHERE s.id >= %s AND s.id %% 10 = 0
                ORDER BY s.created_at
                """,
                [first_id],
            )
            audit_events = cursor.rowcount
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return LoadReport(
        sessions=count,
        invitees=count * INVITEES_PER_SESSION,
        attempts=attempts,
        receipts=receipts,
        audit_events=audit_events,
        seconds=time.monotonic() - started,
    )
