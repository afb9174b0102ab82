"""Links from a provider are shown, served and sent only when they are web addresses: one rule
(invitations/security/links.py) for the agent pages, the admin, the API and the portal's
messages, also for links stored before the rule existed."""

import json

import pytest
from django.urls import reverse

from invitations import services
from invitations.channels.sms import locmem as sms_outbox
from invitations.models import DeliveryStatus, Invitee, Session
from invitations.security.links import safe_link
from invitations.services import tokens

EVIL = "javascript:alert(document.cookie)//"


@pytest.mark.parametrize(
    ("url", "base_url", "safe"),
    [
        ("https://join.example/s/1", "https://onsync.example", True),
        ("HTTPS://join.example/s/1", "https://onsync.example", True),
        ("http://join.example/s/1", "http://127.0.0.1:8000/sandbox/onsync", True),
        # http:// only where the credential itself speaks http.
        ("http://join.example/s/1", "https://onsync.example", False),
        (EVIL, "https://onsync.example", False),
        (EVIL, "http://127.0.0.1:8000/sandbox/onsync", False),
        ("JaVaScRiPt:alert(1)", "https://onsync.example", False),
        (" javascript:alert(1)", "https://onsync.example", False),
        ("java\tscript:alert(1)", "https://onsync.example", False),
        ("data:text/html,<script>alert(1)</script>", "https://onsync.example", False),
        ("vbscript:msgbox(1)", "https://onsync.example", False),
        ("//join.example/s/1", "https://onsync.example", False),
        ("https:///no-host", "https://onsync.example", False),
        ("https://join.example:port/", "https://onsync.example", False),
        ("https:\\\\join.example", "https://onsync.example", False),
        ("", "https://onsync.example", False),
    ],
)
def test_safe_link_takes_web_addresses_only(url, base_url, safe):
    assert safe_link(url, base_url=base_url) == (url if safe else None)


@pytest.fixture
def stored_evil_links(portal_credential, make_agent, django_capture_on_commit_callbacks):
    """An invitation whose provider links were stored before links were checked."""
    agent = make_agent(credential=portal_credential)
    with django_capture_on_commit_callbacks(execute=True):
        invitee = services.invitation_create(agent=agent, destination="+14155550134")
    Session.objects.filter(pk=invitee.session_id).update(join_url=EVIL)
    Invitee.objects.filter(pk=invitee.pk).update(personal_link=EVIL)
    sms_outbox.outbox.clear()
    return agent, Invitee.objects.get(pk=invitee.pk)


def assert_no_evil_link(html):
    assert "javascript:" not in html.lower()


@pytest.mark.django_db
def test_a_stored_unsafe_link_is_not_rendered_on_the_agent_pages(client, stored_evil_links):
    agent, invitee = stored_evil_links
    client.force_login(agent)
    page = client.get(reverse("invitations:session-detail", args=[invitee.session_id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert_no_evil_link(html)
    assert 'id="join-url"' not in html and "Copy personal link" not in html
    rows = client.get(reverse("invitations:session-invitees", args=[invitee.session_id]))
    assert rows.status_code == 200
    assert_no_evil_link(rows.content.decode())


@pytest.mark.django_db
def test_a_stored_unsafe_link_is_left_out_of_the_api(client, stored_evil_links):
    agent, invitee = stored_evil_links
    token = tokens.api_token_create(user=agent, name="crm", actor=None)[1]
    response = client.get(
        reverse("api:session-detail", args=[invitee.session_id]),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    data = response.json()
    assert data["join_url"] == ""
    assert data["invitees"][0]["personal_link"] == ""
    assert EVIL not in json.dumps(data)


@pytest.mark.django_db
def test_a_stored_unsafe_link_is_plain_text_in_the_admin(admin_client, stored_evil_links):
    _, invitee = stored_evil_links
    for url in (
        reverse("admin:invitations_session_change", args=[invitee.session_id]),
        reverse("admin:invitations_invitee_change", args=[invitee.pk]),
    ):
        html = admin_client.get(url).content.decode()
        assert 'href="javascript:' not in html.lower()


@pytest.mark.django_db
def test_resending_a_stored_unsafe_link_fails_and_sends_nothing(
    stored_evil_links, django_capture_on_commit_callbacks
):
    agent, invitee = stored_evil_links
    with django_capture_on_commit_callbacks(execute=True):
        services.invitee_resend(invitee=invitee, actor=agent)
    invitee.refresh_from_db()
    assert invitee.status == DeliveryStatus.FAILED
    assert "a 'javascript:' link" in invitee.last_error
    assert "nothing was sent to the customer" in invitee.last_error
    assert sms_outbox.outbox == []
