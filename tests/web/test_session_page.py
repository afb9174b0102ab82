"""The session page after the click: each invitee's state, live and cheap to keep asking for
(304 while nothing changed), the key as read aloud, Join session, a Glance resend's new key,
End session asked twice, rate limits that say until when, warnings above Send."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from invitations import services
from invitations.models import Channel, Invitee, Session, SessionKey
from invitations.states import DeliveryStatus as S
from invitations.web.views import LIVE_REFRESH

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_session(agent, credential):
    def make(*, session_key="419015", status=S.SENT, name="Ann Customer", **invitee_fields):
        session = Session.objects.create(
            credential=credential, created_by=agent, session_type=1, session_key=session_key
        )
        if session_key:
            SessionKey.objects.create(session=session, key=session_key)
        Invitee.objects.create(
            session=session,
            name=name,
            channel=Channel.SMS,
            destination="+14155550134",
            status=status,
            **invitee_fields,
        )
        return session

    return make


def live_url(session):
    return reverse("invitations:session-invitees", args=[session.pk])


def page_of(client, session):
    response = client.get(session.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def test_the_live_part_answers_304_until_something_the_agent_sees_changes(
    agent_client, make_session
):
    session = make_session(status=S.SENDING)
    first = agent_client.get(live_url(session))
    etag = first["ETag"]
    assert first.status_code == 200 and etag
    # The page asks with the version it shows; the forms' CSRF tokens differ every time.
    assert f'hx-trigger="every {LIVE_REFRESH}"' in first.content.decode()
    assert etag.replace('"', "\\&quot;") in first.content.decode()  # in hx-headers
    again = agent_client.get(live_url(session), headers={"If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")
    assert again["ETag"] == etag

    Invitee.objects.filter(session=session).update(status=S.SENT)
    changed = agent_client.get(live_url(session), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert '<span class="status status-sent">Sent</span>' in changed.content.decode()


def test_the_live_part_stops_asking_once_nothing_can_change(agent_client, make_session):
    session = make_session(status=S.FAILED, last_error="Glance rejected the invitation (400)")
    html = agent_client.get(live_url(session)).content.decode()
    assert "hx-trigger" not in html and "hx-get" not in html


@pytest.mark.parametrize(
    ("status", "fields", "big", "detail"),
    [
        (S.QUEUED, {}, "Sending…", ""),
        (S.SENDING, {}, "Sending…", ""),
        (S.SENT, {}, "Sent", "Waiting for the customer to open the link."),
        (S.FAILED, {"last_error": "Refused."}, "Failed", "Check the number or address"),
        (S.NEEDS_ATTENTION, {}, "Needs attention", "Ask the customer whether it arrived"),
        (S.BOUNCED, {}, "Bounced", "The message did not arrive."),
    ],
)
def test_each_state_is_shown_large_with_what_to_do(
    agent_client, make_session, status, fields, big, detail
):
    html = page_of(agent_client, make_session(status=status, **fields))
    assert re.search(rf'<p class="live-state"><span class="status [^"]+">{big}</span>', html)
    assert detail in html


def test_joined_shows_its_time_and_carries_the_announcement(agent, agent_client, make_session):
    agent.agent_profile.time_zone = "UTC"
    agent.agent_profile.save()
    joined_at = timezone.now().replace(hour=14, minute=2)
    session = make_session(status=S.JOINED, joined_at=joined_at)
    html = page_of(agent_client, session)
    assert '<span class="status status-joined">Joined 14:02</span>' in html
    assert 'data-joined="Ann Customer joined the session at 14:02."' in html
    assert 'id="join-announcer" class="visually-hidden" role="status"' in html


def test_an_expired_invitation_says_so_and_offers_resend(agent_client, make_session):
    session = make_session(sent_at=timezone.now(), expires_at=timezone.now() - timedelta(1))
    html = page_of(agent_client, session)
    assert ">Expired</span>" in html and "Resend sends a new one." in html


def test_the_key_is_grouped_for_reading_aloud_and_copied_whole(agent_client, make_session):
    html = page_of(agent_client, make_session(session_key="419015"))
    assert (
        '<code class="session-key" id="session-key"><span>419</span><span>015</span></code>' in html
    )
    assert 'data-copy="419015"' in html
    assert "<title>Session 419 015" in html


def test_a_long_key_is_shown_as_it_is(agent_client, make_session):
    key = "5f0c1a2e-8d7b-4c3a-9e1f-2b6d4a8c0e13"
    html = page_of(agent_client, make_session(session_key=key))
    assert f'<code class="session-key session-key-long" id="session-key">{key}</code>' in html


def join_button(html):
    found = re.search(
        r'action="/sessions/\d+/join/".*?<button type="submit" class="([^"]+)"', html, re.S
    )
    return found.group(1) if found else None


def test_join_session_is_the_primary_button_once_anything_is_sent(agent_client, make_session):
    assert join_button(page_of(agent_client, make_session(status=S.SENDING))) == "button"
    assert join_button(page_of(agent_client, make_session(status=S.SENT))) == (
        "button default join-primary"
    )


def test_a_new_key_is_said_plainly_and_the_earlier_ones_kept(agent_client, make_session):
    session = make_session(session_key="419015")
    SessionKey.objects.create(session=session, key="223763")
    Session.objects.filter(pk=session.pk).update(session_key="223763")
    html = page_of(agent_client, session)
    assert "Sent again — new key 223 763; 419 015 no longer works." in html
    assert re.search(r'Earlier keys: <span class="earlier-key">419 015 ', html)


def test_end_session_asks_before_it_ends(agent_client, make_session):
    session = make_session()
    page = page_of(agent_client, session)
    # Last on the page: after the copy buttons, Join session and the invitees' Resend.
    assert page.index(">End session</button>") > page.index(">Copy key</button>")
    assert page.index(">End session</button>") > page.index(">Join session</button>")
    assert re.search(r"<div class=\"end-confirm\" data-end-confirm hidden>", page)

    end = reverse("invitations:session-end", args=[session.pk])
    asked = agent_client.post(end)
    assert asked.status_code == 200
    html = asked.content.decode()
    assert "Really end this session?" in html
    assert re.search(r'<div class="end-confirm" data-end-confirm>', html)
    session.refresh_from_db()
    assert session.ended_at is None

    assert agent_client.post(end, {"confirmed": "yes"}).status_code == 302
    session.refresh_from_db()
    assert session.ended_at is not None


def test_resend_is_disabled_while_the_destination_is_limited(agent_client, make_session, settings):
    settings.RATE_LIMIT_PER_DESTINATION = "1/3600"
    session = make_session(status=S.FAILED)
    invitee = session.invitees.get()
    resend = reverse("invitations:invitee-resend", args=[invitee.pk])
    assert '<button type="submit" class="button">Resend</button>' in page_of(agent_client, session)

    # Someone invites the same number: the limit is reached for everybody.
    services.invitation_create(agent=session.created_by, destination="+14155550134")
    html = agent_client.get(live_url(session)).content.decode()
    assert re.search(
        r'<button type="submit" class="button" disabled '
        rf'aria-describedby="resend-wait-{invitee.pk}">Resend</button>',
        html,
    )
    assert re.search(
        r"This number was invited 1 time in the last hour; try again after \d\d:\d\d or ask "
        r"the customer for another number\.",
        html,
    )
    assert "another agent" not in html and "someone else" not in html
    # It keeps asking, so that Resend comes back once the limit clears.
    assert "hx-trigger" in html
    refused = agent_client.post(resend, follow=True).content.decode()
    assert "This number was invited 1 time in the last hour; try again after" in refused


def test_a_landline_gets_a_hint_above_send(agent_client, credential):
    preview = reverse("invitations:message-preview")
    answer = agent_client.get(preview, {"destination": "+44 20 7946 0958"}).content.decode()
    assert (
        'id="send-warnings" class="send-warnings" aria-live="polite" hx-swap-oob="innerHTML"'
        in answer
    )
    assert "+44 20 7946 0958 looks like a landline — an SMS may not arrive." in answer
    for other in ("+44 7911 123456", "(415) 555-0134", "ann@example.com", "12"):
        assert "landline" not in agent_client.get(preview, {"destination": other}).content.decode()
    # A deep link with a landline shows it on the first load, before the buttons.
    home = agent_client.get(reverse("invitations:invite"), {"phone": "+442079460958"})
    html = home.content.decode()
    assert html.index("looks like a landline") < html.index('class="submit-row"')


def test_a_multipart_sms_is_flagged_above_send(client, make_agent, portal_credential):
    client.force_login(make_agent(username="pat", credential=portal_credential))
    html = client.get(
        reverse("invitations:invite"),
        {"phone": "+4915123456789", "name": "Müller-Lüdenscheidt " * 5},
    ).content.decode()
    warning = html.index('class="send-warning multipart"')
    assert warning < html.index('class="submit-row"')
    assert "This SMS arrives in " in html and "parts" in html[warning : warning + 200]


def test_the_send_forms_say_sending(agent_client, make_session):
    home = agent_client.get(reverse("invitations:home")).content.decode()
    assert 'class="invite-form" data-sending-label="Sending…"' in home
    page = page_of(agent_client, make_session(status=S.FAILED))
    assert re.search(r'action="/invitees/\d+/resend/" data-sending-label="Sending…"', page)
