"""Queries compiled once (invitations.prepared) answer exactly as the querysets they are made of,
with new values each run, in one statement."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from invitations.models import DeliveryAttempt, Invitee, Session
from invitations.prepared import PreparedInsert, PreparedSelect, PreparedUpdate

pytestmark = pytest.mark.django_db

WITH_EVERYTHING = PreparedSelect(
    lambda pk: Invitee.objects.select_related(
        "session__credential", "session__created_by__agent_profile"
    ).filter(pk=pk)[:1],
    pk=int,
)
BY_STATUS_SINCE = PreparedSelect(
    lambda status, since: Invitee.objects.filter(status=status, created_at__gte=since).order_by(
        "pk"
    ),
    status=str,
    since=datetime,
)


@pytest.fixture
def invitees(agent, credential) -> list[Invitee]:
    session = Session.objects.create(credential=credential, created_by=agent, session_type=1)
    return [
        Invitee.objects.create(
            session=session, channel="sms", destination=f"+1415555010{n}", status=status
        )
        for n, status in enumerate(["queued", "sent", "sent"])
    ]


def test_a_select_reads_the_rows_and_their_related_rows_as_the_queryset_does(invitees):
    expected = (
        Invitee.objects.select_related("session__credential", "session__created_by__agent_profile")
        .filter(pk=invitees[1].pk)
        .get()
    )
    with CaptureQueriesContext(connection) as queries:
        got = WITH_EVERYTHING.first(pk=invitees[1].pk)
        assert got is not None
        related = (
            got.session.credential.label,
            got.session.created_by.agent_profile.partner_user_id,
        )
    assert len(queries) == 1
    assert got == expected
    assert {f.attname: getattr(got, f.attname) for f in Invitee._meta.concrete_fields} == {
        f.attname: getattr(expected, f.attname) for f in Invitee._meta.concrete_fields
    }
    assert related == (
        expected.session.credential.label,
        expected.session.created_by.agent_profile.partner_user_id,
    )
    assert got.created_at.tzinfo is not None  # converted as Django converts it


def test_each_run_takes_its_own_values(invitees):
    assert WITH_EVERYTHING.first(pk=invitees[0].pk) == invitees[0]
    assert WITH_EVERYTHING.first(pk=str(invitees[2].pk)) == invitees[2]  # as a filter takes it
    assert WITH_EVERYTHING.first(pk=invitees[2].pk + 1000) is None
    since = invitees[0].created_at - timedelta(seconds=1)
    assert BY_STATUS_SINCE.all(status="sent", since=since) == invitees[1:]
    assert BY_STATUS_SINCE.all(status="queued", since=since) == invitees[:1]
    assert BY_STATUS_SINCE.all(status="sent", since=datetime.now(UTC) + timedelta(days=1)) == []


def test_an_update_changes_what_the_queryset_would_and_counts_the_rows(invitees):
    claim = PreparedUpdate(
        lambda pk, now: (
            Invitee.objects.filter(pk=pk, status="queued"),
            {"status": "sending", "attempts": F("attempts") + 1, "updated_at": now},
        ),
        pk=int,
        now=datetime,
    )
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert claim.run(pk=invitees[0].pk, now=moment) == 1
    assert claim.run(pk=invitees[0].pk, now=moment) == 0  # no longer queued
    assert claim.run(pk=invitees[1].pk, now=moment) == 0
    invitees[0].refresh_from_db()
    assert (invitees[0].status, invitees[0].attempts, invitees[0].updated_at) == (
        "sending",
        1,
        moment,
    )


def test_an_update_may_set_null(invitees):
    clear = PreparedUpdate(
        lambda pk, sent_at: (Invitee.objects.filter(pk=pk), {"sent_at": sent_at}),
        pk=int,
        sent_at=datetime,
    )
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    clear.run(pk=invitees[1].pk, sent_at=moment)
    assert Invitee.objects.get(pk=invitees[1].pk).sent_at == moment
    clear.run(pk=invitees[1].pk, sent_at=None)
    assert Invitee.objects.get(pk=invitees[1].pk).sent_at is None


def test_an_insert_is_what_create_stores(invitees):
    new_attempt = PreparedInsert(DeliveryAttempt)
    with CaptureQueriesContext(connection) as queries:
        made = new_attempt.insert(DeliveryAttempt(invitee=invitees[0], error="x"))
    assert len(queries) == 1
    assert made.pk is not None and not made._state.adding
    assert made.started_at is not None  # auto_now_add, as save() sets it
    stored = DeliveryAttempt.objects.get(pk=made.pk)
    assert (stored.invitee_id, stored.error, stored.outcome, stored.started_at) == (
        invitees[0].pk,
        "x",
        "in_progress",
        made.started_at,
    )
    second = new_attempt.insert(DeliveryAttempt(invitee=invitees[1]))
    assert second.pk == made.pk + 1


def test_an_insert_breaking_a_unique_constraint_raises_as_create_does(invitees):
    new_invitee = PreparedInsert(Invitee)
    session = invitees[0].session
    new_invitee.insert(
        Invitee(session=session, channel="sms", destination="+1", idempotency_key="k")
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        new_invitee.insert(
            Invitee(session=session, channel="sms", destination="+2", idempotency_key="k")
        )
    assert Invitee.objects.filter(idempotency_key="k").count() == 1


def test_a_parameter_must_appear_once():
    twice = PreparedSelect(
        lambda name: User.objects.filter(username=name) | User.objects.filter(email=name),
        name=str,
    )
    with pytest.raises(ValueError, match="appears 2 times"):
        twice.all(name="x")
    inlined = PreparedSelect(lambda limit: User.objects.all()[:limit], limit=int)
    with pytest.raises(ValueError, match="appears 0 times"):
        inlined.all(limit=3)  # a slice is written into the SQL, not passed as a value


def test_only_int_str_and_datetime_parameters():
    with pytest.raises(TypeError, match="int, str or datetime"):
        PreparedSelect(lambda flag: User.objects.filter(is_staff=flag), flag=bool)


@pytest.mark.django_db(transaction=True)
def test_threads_each_use_their_own_connection(agent, credential):
    session = Session.objects.create(credential=credential, created_by=agent, session_type=1)
    invitee = Invitee.objects.create(session=session, channel="sms", destination="+14155550100")
    read = PreparedSelect(lambda pk: Invitee.objects.filter(pk=pk), pk=int)
    assert read.first(pk=invitee.pk) == invitee  # compiled on this thread's connection
    seen: list[object] = []

    def other_thread() -> None:
        try:
            seen.append(read.first(pk=invitee.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen == [invitee]
