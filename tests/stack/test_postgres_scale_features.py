"""What the PostgreSQL database adds for large tables: trigram indexes behind the session
search, and admin lists that take a big table's size from the planner's statistics."""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invitations import selectors
from invitations.admin.base import GrowingTablePaginator
from invitations.models import DeliveryStatus, Invitee, Session, SessionKey

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def make_sessions(agent, credential, count: int) -> None:
    sessions = Session.objects.bulk_create(
        Session(credential=credential, created_by=agent, session_type=1, ticket_reference=f"T-{n}")
        for n in range(count)
    )
    Invitee.objects.bulk_create(
        Invitee(
            session=session,
            name=f"Customer {n}",
            channel="sms",
            destination=f"+1415555{n:04d}",
            status=DeliveryStatus.SENT,
        )
        for n, session in enumerate(sessions)
    )


def test_the_search_columns_have_trigram_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%%_trgm'")
        indexes = dict(cursor.fetchall())
    assert set(indexes) == {
        "invitations_session_key_trgm",
        "invitations_session_ticket_trgm",
        "invitations_invitee_name_trgm",
        "invitations_invitee_destination_trgm",
        "invitations_sessionkey_key_trgm",
    }
    assert all("gin_trgm_ops" in definition for definition in indexes.values())


def test_search_finds_sessions_by_ticket_name_or_number(client, agent, credential):
    make_sessions(agent, credential, 30)
    client.force_login(agent)
    url = reverse("invitations:session-list")
    # A number is found however it is typed (selectors.sessions_matching).
    for query, expected in (
        ("T-17", 1),
        ("customer 2", 11),
        ("555-0029", 1),
        ("5550029", 1),
        ("(415) 555-0029", 1),
        ("+1 415 555 0029", 1),
        ("0029", 1),
    ):
        html = client.get(url, {"q": query}).content.decode()
        # Links to sessions, not the top bar's "Sessions" link to the list itself.
        assert len(re.findall(r'href="/sessions/\d+/"', html)) == expected, query


def test_every_part_of_a_search_can_use_its_trigram_index(agent, credential):
    """The search is a union of small queries, one per table (selectors.sessions_matching),
    so that each can read its columns' indexes; an OR across joins could use none of them.
    With sequential scans off, the plan shows whether an index could serve each column."""
    make_sessions(agent, credential, 30)
    # Enough earlier keys, spread like Glance's six digits, that reading all of a B-tree
    # costs more than the trigram index.
    sessions = list(Session.objects.all())
    SessionKey.objects.bulk_create(
        SessionKey(session=sessions[n % len(sessions)], key=f"{n * 7919 % 10**6:06d}")
        for n in range(5000)
    )
    found = selectors.sessions_matching(user=agent, text="(415) 555-0029")
    with transaction.atomic(), connection.cursor() as cursor:
        # As autovacuum would: move the new keys from the index's pending list into it.
        cursor.execute("SELECT gin_clean_pending_list('invitations_sessionkey_key_trgm')")
        cursor.execute("ANALYZE invitations_sessionkey")
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = found.explain()
    assert {
        "invitations_session_key_trgm",
        "invitations_session_ticket_trgm",
        "invitations_invitee_name_trgm",
        "invitations_invitee_destination_trgm",
        "invitations_sessionkey_key_trgm",
    } <= set(re.findall(r"invitations_\w+_trgm", plan)), plan
    assert [s.ticket_reference for s in found] == ["T-29"]


def test_unfiltered_admin_lists_of_big_tables_do_not_count_every_row(
    admin_client, agent, credential, monkeypatch
):
    monkeypatch.setattr(GrowingTablePaginator, "EXACT_BELOW", 10)
    make_sessions(agent, credential, 40)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE invitations_invitee")
    url = reverse("admin:invitations_invitee_changelist")

    def counts_of_the_table(response_url: str, **params: str) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(response_url, params).status_code == 200
        return [
            q["sql"]
            for q in queries.captured_queries
            if "COUNT(*)" in q["sql"] and "invitations_invitee" in q["sql"]
        ]

    assert counts_of_the_table(url) == []
    assert len(counts_of_the_table(url, status__exact="sent")) == 1  # filtered: exact
    # The estimate says it is one; the exact count does not.
    assert re.search(r"about \d+ invitees", admin_client.get(url).content.decode())
    filtered = admin_client.get(url, {"status__exact": "sent"}).content.decode()
    assert re.search(r"\n40 invitees", filtered) and "about" not in filtered
