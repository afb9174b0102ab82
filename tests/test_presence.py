"""The customer joined or left (`services.invitee_record_presence`): the moves, their order and
repeats, a late delivery receipt, and what the session page, the API and the dashboard show."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from invitations import services
from invitations.models import Channel, DeliveryAttempt, DeliveryReceipt, Invitee, Session
from invitations.services import receipts, tokens
from invitations.states import DeliveryStatus
from tests.support.dashboard import URL, figure, invite

S = DeliveryStatus
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def make_invitee(agent, credential, locmem_upstream):
    def make(status=S.SENT, **fields):
        session = Session.objects.create(credential=credential, created_by=agent, session_type=1)
        invitee = Invitee.objects.create(
            session=session,
            channel=Channel.SMS,
            destination="+14155550134",
            status=status,
            provider_message_id="m_1",
            name="Ann",
            **fields,
        )
        DeliveryAttempt.objects.create(invitee=invitee, provider_message_id="m_1")
        return invitee

    return make


def record(invitee, event, minutes):
    return services.invitee_record_presence(
        invitee=invitee, event=event, at=T0 + timedelta(minutes=minutes)
    )


def stored(invitee):
    return Invitee.objects.values_list("status", "joined_at", "left_at").get(pk=invitee.pk)


def at(minutes):
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize("start", [S.SENT, S.DELIVERED])
def test_join_leave_and_rejoin(make_invitee, start):
    invitee = make_invitee(start)
    assert record(invitee, "joined", 1)
    assert invitee.status == S.JOINED and invitee.joined_at == at(1)
    assert record(invitee, "left", 5)
    assert stored(invitee) == (S.LEFT, at(1), at(5))
    assert record(invitee, "joined", 7)  # the customer came back
    assert stored(invitee) == (S.JOINED, at(7), at(5))


def test_a_repeated_report_changes_nothing(make_invitee):
    invitee = make_invitee()
    assert record(invitee, "joined", 1)
    before = Invitee.objects.get(pk=invitee.pk).updated_at
    assert not record(invitee, "joined", 1)
    assert not record(invitee, "joined", 2)
    assert Invitee.objects.get(pk=invitee.pk).updated_at == before
    assert record(invitee, "left", 3)
    assert not record(invitee, "left", 3)
    assert stored(invitee) == (S.LEFT, at(1), at(3))


def test_a_leave_that_overtook_its_join(make_invitee):
    """Order-safe: the leave proves the join; the late join only fills in its time."""
    invitee = make_invitee()
    assert record(invitee, "left", 5)
    assert stored(invitee) == (S.LEFT, None, at(5))
    assert record(invitee, "joined", 1)
    assert stored(invitee) == (S.LEFT, at(1), at(5))
    assert not record(invitee, "joined", 2)


def test_a_stale_leave_does_not_undo_a_newer_join(make_invitee):
    invitee = make_invitee()
    record(invitee, "joined", 1)
    record(invitee, "left", 5)
    record(invitee, "joined", 7)
    assert not record(invitee, "left", 5)  # the first visit's leave, delivered twice
    assert stored(invitee)[0] == S.JOINED


@pytest.mark.parametrize("status", [S.QUEUED, S.SENDING, S.FAILED, S.BOUNCED, S.NEEDS_ATTENTION])
def test_nothing_changes_without_a_message_that_went_out(make_invitee, status):
    invitee = make_invitee(status)
    assert not record(invitee, "joined", 1)
    assert not record(invitee, "left", 2)
    assert stored(invitee) == (status, None, None)


def test_bad_arguments_are_refused(make_invitee):
    invitee = make_invitee()
    with pytest.raises(ValueError, match="event"):
        services.invitee_record_presence(invitee=invitee, event="opened", at=T0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="time zone"):
        services.invitee_record_presence(invitee=invitee, event="joined", at=datetime(2026, 3, 1))


def test_a_late_delivery_receipt_is_kept_but_not_applied(make_invitee):
    invitee = make_invitee()
    record(invitee, "joined", 1)
    receipts.receipt_record(
        source=DeliveryReceipt.Source.SMS_GATEWAY,
        event_id="evt-1",
        message_id="m_1",
        status=S.DELIVERED,
        occurred_at=at(2),
    )
    assert stored(invitee)[0] == S.JOINED
    assert DeliveryReceipt.objects.get(event_id="evt-1").applied is False


def test_the_page_shows_joined_with_its_time_and_no_resend(make_invitee, agent, agent_client):
    agent.agent_profile.time_zone = "Europe/Berlin"
    agent.agent_profile.save()
    invitee = make_invitee(expires_at=timezone.now() + timedelta(hours=1))
    record(invitee, "joined", 2)
    rows = reverse("invitations:session-invitees", args=[invitee.session_id])
    page = agent_client.get(rows).content.decode()
    assert "Joined 13:02" in page  # 12:02 UTC in Berlin's winter time
    assert reverse("invitations:invitee-resend", args=[invitee.pk]) not in page
    assert 'hx-trigger="every 500ms"' in page  # a leave may follow while the link is valid
    record(invitee, "left", 20)
    assert "Left 13:20" in agent_client.get(rows).content.decode()
    Session.objects.filter(pk=invitee.session_id).update(ended_at=timezone.now())
    assert "hx-trigger" not in agent_client.get(rows).content.decode()


def test_the_api_shows_joined_and_no_resend(make_invitee, agent, client):
    invitee = make_invitee()
    record(invitee, "joined", 2)
    token = tokens.api_token_create(user=agent, name="crm", actor=None)[1]
    answer = client.get(
        f"/api/v1/invitees/{invitee.pk}/", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert (answer["status"], answer["can_resend"]) == ("joined", False)


def test_the_dashboard_counts_joined_among_the_sent(client, people):
    ann = people["ann"]
    invite(ann, status=S.JOINED)
    invite(ann, status=S.LEFT)
    invite(ann)
    invite(ann, status=S.FAILED)
    client.force_login(people["sue"])
    html = client.get(URL).content.decode()
    assert figure(html, "joined") == "2"
    assert figure(html, "success-rate") == "75.0%"  # joined ones were sent
