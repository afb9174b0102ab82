"""An invitation's life: its validity window, End session, and inviting the same person twice."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from invitations import services
from invitations.channels.sms import locmem as sms_outbox
from invitations.errors import NotAllowed
from invitations.models import AuditEvent, DeliveryStatus, Invitee, Session
from invitations.providers.base import UpstreamServerError

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal(portal_credential, make_agent):
    """An agent with an OnSync-like credential (sessions can take more people and be ended)."""
    portal_credential.invitation_validity_minutes = 15
    portal_credential.save()
    return make_agent(username="pat", credential=portal_credential)


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    def send(**kwargs) -> Invitee:
        with django_capture_on_commit_callbacks(execute=True):
            invitee = services.invitation_create(**kwargs)
        invitee.refresh_from_db()
        return invitee

    return send


def resend(invitee, actor, capture) -> Invitee:
    with capture(execute=True):
        services.invitee_resend(invitee=invitee, actor=actor)
    invitee.refresh_from_db()
    return invitee


# --- validity window ---------------------------------------------------------------------------


def test_sent_invitation_is_valid_for_the_credentials_window_then_expired(
    portal, send, client, django_capture_on_commit_callbacks
):
    invitee = send(agent=portal, destination="(415) 555-0134")
    assert invitee.status == DeliveryStatus.SENT
    assert invitee.expires_at == invitee.sent_at + datetime.timedelta(minutes=15)
    assert not invitee.is_expired()
    assert invitee.is_expired(now=invitee.expires_at)

    client.force_login(portal)
    page = client.get(invitee.session.get_absolute_url()).content.decode()
    assert "valid until" in page and ">Expired<" not in page

    Invitee.objects.filter(pk=invitee.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    page = client.get(invitee.session.get_absolute_url()).content.decode()
    assert '<span class="status status-expired"' in page and ">Expired<" in page

    invitee.refresh_from_db()
    before = invitee.expires_at
    invitee = resend(invitee, portal, django_capture_on_commit_callbacks)
    assert invitee.status == DeliveryStatus.SENT and invitee.attempts == 2
    assert before is not None and invitee.expires_at is not None
    assert invitee.expires_at > timezone.now() > before  # the window starts again
    assert len(sms_outbox.outbox) == 2  # a fresh message
    page = client.get(invitee.session.get_absolute_url()).content.decode()
    assert ">Expired<" not in page


def test_failed_invitations_never_show_as_expired(portal, send, locmem_upstream):
    locmem_upstream.pending_errors.append(
        UpstreamServerError("down", provider="locmem", status_code=500)
    )
    invitee = send(agent=portal, destination="(415) 555-0134")
    assert invitee.status == DeliveryStatus.FAILED
    assert invitee.expires_at is None and not invitee.is_expired()


# --- End session -------------------------------------------------------------------------------


def test_end_session_ends_it_upstream_and_here_and_stops_invitations(
    portal, send, client, locmem_upstream
):
    invitee = send(agent=portal, destination="(415) 555-0134")
    session = invitee.session
    client.force_login(portal)
    page = client.get(session.get_absolute_url()).content.decode()
    assert "End session" in page and "Invite another person" in page

    response = client.post(
        reverse("invitations:session-end", args=[session.pk]), {"confirmed": "yes"}, follow=True
    )
    html = response.content.decode()
    assert "Session ended at OnSync and here." in html
    assert locmem_upstream.ended == [session.session_key]
    session.refresh_from_db()
    assert session.ended_at is not None and session.ended_by == portal
    assert "Invite another person" not in html and ">Resend<" not in html
    assert "This session has ended." in html
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.SESSION_ENDED, target=f"session {session.pk}"
    ).exists()

    with pytest.raises(NotAllowed, match="This session has ended"):
        services.invitee_resend(invitee=invitee, actor=portal)
    with pytest.raises(NotAllowed, match="This session has ended"):
        services.invitation_create(agent=portal, destination="bo@example.com", session=session)
    with pytest.raises(NotAllowed, match="already ended"):
        services.session_end(session=session, actor=portal)
    assert session.invitees.count() == 1 and len(sms_outbox.outbox) == 1


def test_an_invitation_still_queued_when_the_session_ends_is_not_sent(portal, locmem_upstream):
    first = services.invitation_create(agent=portal, destination="(415) 555-0134")
    session = Session.objects.get(pk=first.session_id)
    session.session_key = "100001"
    session.save()
    services.session_end(session=session, actor=portal)
    services.invitee_deliver(invitee_id=first.pk)
    first.refresh_from_db()
    assert first.status == DeliveryStatus.FAILED
    assert "ended before this invitation was sent" in first.last_error
    assert locmem_upstream.outbox == [] and sms_outbox.outbox == []


def test_a_provider_without_an_end_api_is_ended_here_only_and_says_so(
    agent, client, locmem_upstream, send
):
    invitee = send(agent=agent, destination="(415) 555-0134")  # Glance-like credential
    client.force_login(agent)
    response = client.post(
        reverse("invitations:session-end", args=[invitee.session_id]),
        {"confirmed": "yes"},
        follow=True,
    )
    assert "links already sent keep working until they expire" in response.content.decode()
    assert locmem_upstream.ended == []
    assert Session.objects.get(pk=invitee.session_id).ended_at is not None


def test_when_the_provider_refuses_to_end_nothing_changes(portal, send, client, locmem_upstream):
    invitee = send(agent=portal, destination="(415) 555-0134")
    locmem_upstream.pending_errors.append(
        UpstreamServerError("OnSync failed (500).", provider="locmem", status_code=500)
    )
    client.force_login(portal)
    response = client.post(
        reverse("invitations:session-end", args=[invitee.session_id]),
        {"confirmed": "yes"},
        follow=True,
    )
    assert "could not be ended at OnSync: OnSync failed (500)." in response.content.decode()
    assert Session.objects.get(pk=invitee.session_id).ended_at is None
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SESSION_ENDED).exists()


def test_other_agents_cannot_end_a_session(portal, send, client, make_agent):
    invitee = send(agent=portal, destination="(415) 555-0134")
    client.force_login(make_agent(username="bo"))
    response = client.post(
        reverse("invitations:session-end", args=[invitee.session_id]), {"confirmed": "yes"}
    )
    assert response.status_code == 404
    assert Session.objects.get(pk=invitee.session_id).ended_at is None


# --- the same person twice ---------------------------------------------------------------------


def test_inviting_someone_already_in_the_session_resends_to_the_same_row(portal, send, client):
    first = send(agent=portal, destination="(415) 555-0134", name="Ann")
    again = send(agent=portal, destination="+1 415-555-0134", name="Ann L.", session=first.session)
    assert again.pk == first.pk
    assert again.attempts == 2 and again.status == DeliveryStatus.SENT
    assert first.session.invitees.count() == 1
    assert len(sms_outbox.outbox) == 2
    assert AuditEvent.objects.filter(action=AuditEvent.Action.INVITEE_RESENT).count() == 1

    # Through the page: the same number again redirects to the session, still one row.
    client.force_login(portal)
    response = client.post(
        reverse("invitations:session-invite", args=[first.session_id]),
        {"destination": "4155550134", "idempotency_key": "k-2"},
    )
    assert response.status_code == 302
    assert first.session.invitees.count() == 1


def test_the_same_person_while_their_invitation_is_on_its_way_is_not_sent_twice(portal):
    first = services.invitation_create(agent=portal, destination="ann@example.com")
    again = services.invitation_create(
        agent=portal, destination="ann@example.com", session=first.session
    )
    assert again.pk == first.pk and again.status == DeliveryStatus.QUEUED
    assert Invitee.objects.count() == 1


def test_a_supervisor_adding_a_person_the_agent_invited_gets_no_hint_of_it(
    portal, send, make_agent
):
    from django.contrib.auth.models import Group

    from invitations.models import Team

    team = Team.objects.create(name="Red")
    portal.agent_profile.team = team
    portal.agent_profile.save()
    supervisor = make_agent(username="sue", credential=portal.agent_profile.default_credential)
    supervisor.agent_profile.team = team
    supervisor.agent_profile.save()
    supervisor.groups.add(Group.objects.get(name="Supervisors"))
    first = send(agent=portal, destination="ann@example.com")
    again = send(agent=supervisor, destination="ann@example.com", session=first.session)
    # The same row, resent; the error and message fields say nothing about who sent it first.
    assert again.pk == first.pk and again.last_error == ""


# --- CRM deep link -----------------------------------------------------------------------------


def test_crm_deep_link_fills_the_form_and_sends_nothing(portal, client):
    client.force_login(portal)
    url = reverse("invitations:invite")
    response = client.get(url, {"phone": "+44 7911 123456", "name": "Ann Lee", "ticket": "T-42"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="+44 7911 123456"' in html
    assert 'value="Ann Lee"' in html and 'value="T-42"' in html
    assert "Hi Ann Lee, " in html  # the preview follows the filled-in name
    assert Invitee.objects.count() == 0 and sms_outbox.outbox == []


def test_crm_deep_link_survives_the_login_page(portal, client):
    url = reverse("invitations:invite") + "?phone=%2B447911123456&ticket=T-42"
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login") + "?next=")
    login = client.post(
        response.url, {"username": "pat", "password": "correct-horse-battery"}, follow=True
    )
    html = login.content.decode()
    assert 'value="+447911123456"' in html and 'value="T-42"' in html
    assert Invitee.objects.count() == 0
