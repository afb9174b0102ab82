"""What the PostgreSQL database adds for large tables: trigram indexes behind the session
search, and admin lists that take a big table's size from the planner's statistics."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invitations.admin.base import GrowingTablePaginator
from invitations.models import DeliveryStatus, Invitee, Session

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
    }
    assert all("gin_trgm_ops" in definition for definition in indexes.values())


def test_search_finds_sessions_by_ticket_name_or_number(client, agent, credential):
    make_sessions(agent, credential, 30)
    client.force_login(agent)
    url = reverse("invitations:session-list")
    for query, expected in (("T-17", 1), ("customer 2", 11), ("555-0029", 0), ("5550029", 1)):
        html = client.get(url, {"q": query}).content.decode()
        assert html.count('href="/sessions/') == expected, query


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
