"""The agent pages through Django's test client, with the in-memory provider twin."""

import re

import pytest
from django.urls import reverse

from invitations.models import DeliveryStatus, Invitee, Session
from invitations.providers.base import UpstreamRejected

pytestmark = pytest.mark.django_db
HOME = reverse("invitations:home")


def form_key(response):
    match = re.search(rb'name="idempotency_key" value="([0-9a-f]+)"', response.content)
    assert match, "the form has no idempotency key"
    return match.group(1).decode()


def post(client, number, key=None, **extra):
    key = key or form_key(client.get(HOME))
    return client.post(HOME, {"destination": number, "idempotency_key": key, **extra})


@pytest.mark.parametrize("url", [HOME, reverse("invitations:session-detail", args=[1])])
def test_pages_require_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_login_page_uses_the_admin_look(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"admin/css/login.css" in response.content
    assert b"agentportal" in response.content


def test_home_shows_the_form_focused_with_labels(agent_client):
    html = agent_client.get(HOME).content.decode()
    assert "Mobile number" in html and "Name (optional)" in html
    assert "Ticket reference (optional)" in html
    assert (
        '<button type="submit" name="channel" value="sms" class="button default">Send SMS</button>'
        in html
    )
    assert "Send e-mail" not in html  # a Glance credential only sends SMS
    assert re.search(r'<input type="tel"[^>]*autofocus', html)


def test_one_click_sends_and_shows_key_text_and_status(
    agent_client, locmem_upstream, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(agent_client, "(415) 555-0134", name="Ann <b>")
    session = Session.objects.get()
    assert response.status_code == 302
    assert response.url == session.get_absolute_url()

    page = agent_client.get(response.url).content.decode()
    assert session.session_key in page
    assert "Join your support session" in page
    assert 'class="status status-sent"' in page
    assert "••• ••• 0134" in page and "+14155550134" not in page
    assert "Ann &lt;b&gt;" in page and "Ann <b>" not in page
    assert len(locmem_upstream.outbox) == 1


def test_double_submit_creates_one_session_and_one_message(
    agent_client, locmem_upstream, django_capture_on_commit_callbacks
):
    key = form_key(agent_client.get(HOME))
    with django_capture_on_commit_callbacks(execute=True):
        first = post(agent_client, "+44 20 7946 0958", key=key)
        second = post(agent_client, "+44 20 7946 0958", key=key)
    assert first.url == second.url
    assert Session.objects.count() == 1
    assert len(locmem_upstream.outbox) == 1


def test_invalid_number_shows_the_error_next_to_the_field(agent_client, locmem_upstream):
    response = post(agent_client, "12345")
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(
        r'class="form-row errors">\s*<ul class="errorlist"[^>]*>'
        r"<li>&#x27;12345&#x27; is not a valid phone number",
        html,
    )
    assert not Session.objects.exists()
    assert locmem_upstream.outbox == []


def test_empty_number_is_required(agent_client):
    response = post(agent_client, "")
    assert response.status_code == 400
    assert b"This field is required." in response.content


def test_agent_without_partner_user_id_sees_what_to_fix(agent, agent_client, locmem_upstream):
    agent.agent_profile.partner_user_id = ""
    agent.agent_profile.save()
    page = agent_client.get(HOME).content.decode()
    assert "has no partner user id" in page
    assert 'value="sms" class="button default" disabled>Send SMS' in page
    response = post(agent_client, "(415) 555-0134")
    assert response.status_code == 400
    assert not Session.objects.exists()


def test_failed_delivery_shows_the_reason_and_resend_works(
    agent_client, locmem_upstream, django_capture_on_commit_callbacks
):
    locmem_upstream.pending_errors.append(
        UpstreamRejected("Glance rejected the invitation (400)", provider="glance", status_code=400)
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post(agent_client, "(415) 555-0134")
    page = agent_client.get(response.url).content.decode()
    assert "status-failed" in page and "Glance rejected the invitation (400)" in page

    invitee = Invitee.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        resend = agent_client.post(reverse("invitations:invitee-resend", args=[invitee.pk]))
    assert resend.status_code == 302
    invitee.refresh_from_db()
    assert invitee.status == DeliveryStatus.SENT


def test_agents_cannot_see_or_resend_each_others_sessions(
    agent_client,
    make_agent,
    credential,
    client,
    locmem_upstream,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        post(agent_client, "(415) 555-0134")
    invitee = Invitee.objects.get()
    client.force_login(make_agent(username="bob", credential=credential))
    assert client.get(invitee.session.get_absolute_url()).status_code == 404
    assert client.post(reverse("invitations:invitee-resend", args=[invitee.pk])).status_code == 404
    assert invitee.session.session_key not in client.get(HOME).content.decode()


def test_resend_requires_post(agent_client, locmem_upstream, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(agent_client, "(415) 555-0134")
    invitee = Invitee.objects.get()
    assert (
        agent_client.get(reverse("invitations:invitee-resend", args=[invitee.pk])).status_code
        == 405
    )


def test_home_lists_recent_sessions(
    agent_client, locmem_upstream, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(agent_client, "(415) 555-0134", name="Ann", ticket_reference="CASE-9")
    html = agent_client.get(HOME).content.decode()
    assert "CASE-9" in html and Session.objects.get().session_key in html


@pytest.fixture
def portal_agent_client(client, make_agent, portal_credential):
    """An agent whose credential lets the portal deliver by SMS and e-mail (OnSync-like)."""
    client.force_login(make_agent(username="pat", credential=portal_credential))
    return client


def post_channel(client, destination, channel):
    key = form_key(client.get(HOME))
    return client.post(
        HOME, {"destination": destination, "channel": channel, "idempotency_key": key}
    )


@pytest.mark.parametrize(
    ("destination", "channel", "sent_as"),
    [
        ("ann@example.com", "auto", "email"),
        ("(415) 555-0134", "auto", "sms"),
        ("ann@example.com", "email", "email"),
        ("+44 20 7946 0958", "sms", "sms"),
    ],
)
def test_enter_detects_the_channel_and_buttons_choose_it(
    portal_agent_client, destination, channel, sent_as, django_capture_on_commit_callbacks
):
    from django.core import mail

    from invitations.channels.sms import locmem as sms_outbox

    sms_outbox.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = post_channel(portal_agent_client, destination, channel)
    assert response.status_code == 302
    invitee = Invitee.objects.get()
    assert invitee.channel == sent_as
    assert invitee.status == DeliveryStatus.SENT
    assert len(mail.outbox) == (sent_as == "email")
    assert len(sms_outbox.outbox) == (sent_as == "sms")


@pytest.mark.parametrize(
    ("destination", "channel", "error"),
    [
        ("ann@example.com", "sms", "That is an e-mail address: use Send e-mail"),
        ("ann@", "email", "&#x27;ann@&#x27; is not a valid e-mail address."),
        ("not an address", "email", "&#x27;not an address&#x27; is not a valid e-mail address."),
        ("12", "auto", "is not a valid phone number"),
    ],
)
def test_bad_recipients_are_explained_next_to_the_field(
    portal_agent_client, destination, channel, error
):
    response = post_channel(portal_agent_client, destination, channel)
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'class="form-row errors">\s*<ul class="errorlist"', html)
    assert error in html
    assert not Session.objects.exists()


def test_session_list_searches_and_filters(
    agent_client, locmem_upstream, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(agent_client, "(415) 555-0134", name="Ann", ticket_reference="CASE-1")
    locmem_upstream.pending_errors.append(
        UpstreamRejected("refused", provider="glance", status_code=400)
    )
    with django_capture_on_commit_callbacks(execute=True):
        post(agent_client, "+44 20 7946 0958", name="Bo", ticket_reference="CASE-2")
    url = reverse("invitations:session-list")

    def tickets(**params):
        html = agent_client.get(url, params).content.decode()
        return {t for t in ("CASE-1", "CASE-2") if t in html}

    assert tickets() == {"CASE-1", "CASE-2"}
    assert tickets(q="case-2") == {"CASE-2"}
    assert tickets(q="Ann") == {"CASE-1"}
    assert tickets(status="failed") == {"CASE-2"}
    assert tickets(status="sent") == {"CASE-1"}
    assert tickets(q="nobody") == set()


def test_glance_sessions_offer_no_invite_another(
    agent_client, locmem_upstream, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(agent_client, "(415) 555-0134")
    page = agent_client.get(response.url).content.decode()
    assert "Invite another person" not in page
    assert "starts a new session with every invitation" in page
    session = Session.objects.get()
    refused = agent_client.post(
        reverse("invitations:session-invite", args=[session.pk]),
        {"destination": "+442079460958", "idempotency_key": "k-x"},
    )
    assert refused.status_code == 400
    assert Invitee.objects.count() == 1


def test_supervisors_see_their_teams_sessions_and_agents_only_their_own(
    client, make_agent, credential, locmem_upstream, django_capture_on_commit_callbacks
):
    from django.contrib.auth.models import Group

    from invitations import services
    from invitations.models import Team

    red, blue = Team.objects.create(name="red"), Team.objects.create(name="blue")
    people = {}
    for username, team in (("ann", red), ("bo", red), ("cy", blue), ("sue", red)):
        user = make_agent(username=username, credential=credential)
        user.agent_profile.team = team
        user.agent_profile.save()
        people[username] = user
    people["sue"].groups.add(Group.objects.get(name="Supervisors"))
    for username in ("ann", "bo", "cy"):
        with django_capture_on_commit_callbacks(execute=True):
            services.invitation_create(
                agent=people[username],
                destination="(415) 555-0134",
                ticket_reference=f"T-{username}",
            )
    sessions = {s.ticket_reference: s for s in Session.objects.all()}
    url = reverse("invitations:session-list")

    def visible(username):
        client.force_login(people[username])
        html = client.get(url).content.decode()
        return {t for t in sessions if t in html}

    assert visible("sue") == {"T-ann", "T-bo"}
    assert visible("ann") == {"T-ann"}
    assert visible("cy") == {"T-cy"}
    client.force_login(people["sue"])
    assert client.get(sessions["T-bo"].get_absolute_url()).status_code == 200
    assert client.get(sessions["T-cy"].get_absolute_url()).status_code == 404
    client.force_login(people["ann"])
    assert client.get(sessions["T-bo"].get_absolute_url()).status_code == 404


def test_home_previews_the_message_for_portal_credentials(portal_agent_client):
    html = portal_agent_client.get(HOME).content.decode()
    assert "What the customer receives" in html
    assert "Hello, this is your support agent from Customer Support. Tap to share" in html
    assert "/join/s_8f3a2c1d/p/7d1e4b9a0c2f5e6d" in html  # a link of the usual length
    assert "characters, GSM-7: 1 SMS." in html


def test_dates_show_in_the_agents_time_zone(
    agent, agent_client, locmem_upstream, django_capture_on_commit_callbacks
):
    import datetime

    from invitations import services

    with django_capture_on_commit_callbacks(execute=True):
        invitee = services.invitation_create(agent=agent, destination="(415) 555-0134")
    noon_utc = datetime.datetime(2026, 7, 1, 12, 0, tzinfo=datetime.UTC)
    Session.objects.filter(pk=invitee.session_id).update(created_at=noon_utc)
    url = invitee.session.get_absolute_url()
    assert "2026-07-01 12:00:00" in agent_client.get(url).content.decode()
    agent.agent_profile.time_zone = "America/Los_Angeles"
    agent.agent_profile.save()
    assert "2026-07-01 05:00:00" in agent_client.get(url).content.decode()


def test_unknown_time_zone_is_rejected(agent):
    from django.core.exceptions import ValidationError

    agent.agent_profile.time_zone = "Mars/Olympus"
    with pytest.raises(ValidationError, match="Unknown time zone"):
        agent.agent_profile.full_clean()


def test_agent_pages_follow_the_browser_language(
    agent_client, locmem_upstream, django_capture_on_commit_callbacks
):
    german = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}
    html = agent_client.get(HOME, **german).content.decode()
    assert '<html lang="de"' in html
    assert "Kunden einladen" in html and "Handynummer" in html and ">SMS senden</button>" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = post(agent_client, "(415) 555-0134")
    page = agent_client.get(response.url, **german).content.decode()
    assert "Gesendet" in page and "Erneut senden" in page
    english = agent_client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Sent" in english and "Gesendet" not in english
