"""Join session: the session page's button, and the page it opens in a new tab that posts the
provider's fields (Glance's agent viewer, a login key made at the click) to the provider."""

import logging
import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from invitations import services
from invitations.models import AuditEvent, Channel, Invitee, Session
from invitations.providers.glance import login_key
from invitations.states import DeliveryStatus

pytestmark = pytest.mark.django_db

API_KEY = "test-api-key-7f3a9c1e5b"  # the `credential` fixture's
VIEWER = "https://glance.invalid/agentjoin/AgentView.aspx"


@pytest.fixture
def make_session(agent, credential):
    def make(*, session_key="123456", ended=False, cred=None, by=None):
        session = Session.objects.create(
            credential=cred or credential,
            created_by=by or agent,
            session_type=1,
            session_key=session_key,
            ended_at=timezone.now() if ended else None,
        )
        Invitee.objects.create(
            session=session,
            channel=Channel.SMS,
            destination="+14155550134",
            status=DeliveryStatus.SENT,
        )
        return session

    return make


def join_url(session):
    return reverse("invitations:session-join", args=[session.pk])


def the_button(page):
    found = re.search(r'<form[^>]*action="/sessions/\d+/join/"[^>]*>', page)
    return found.group(0) if found else None


def test_the_session_page_offers_the_button_without_any_key(agent_client, make_session):
    session = make_session()
    page = agent_client.get(session.get_absolute_url()).content.decode()
    button = the_button(page)
    assert button is not None
    assert 'method="post"' in button and 'target="_blank"' in button
    assert "Join session" in page
    # Nothing of the viewer's fields is in the page before the click.
    for absent in ("LOGINKEY", "$1$", "AgentView", "agentjoin"):
        assert absent not in page


@pytest.mark.parametrize("case", ["ended", "no key", "other provider"])
def test_no_button_where_there_is_no_way_in(case, agent_client, make_session, portal_credential):
    session = {
        "ended": lambda: make_session(ended=True),
        "no key": lambda: make_session(session_key=""),
        "other provider": lambda: make_session(cred=portal_credential),
    }[case]()
    page = agent_client.get(session.get_absolute_url()).content.decode()
    assert the_button(page) is None and "Join session" not in page


def test_the_click_answers_a_form_posting_to_the_viewer(agent_client, agent, make_session, caplog):
    session = make_session()
    with caplog.at_level(logging.DEBUG):
        response = agent_client.post(join_url(session))
    assert response.status_code == 200
    page = response.content.decode()
    form = re.search(r'<form method="post" action="([^"]+)" data-autosubmit.*?</form>', page, re.S)
    assert form is not None and unescape(form.group(1)) == VIEWER
    fields = {
        name: unescape(value)
        for name, value in re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form.group(0))
    }
    assert set(fields) == {"SESSIONKEY", "PARTNERID", "PARTNERUSERID", "LOGINKEY", "WAIT"}
    assert (fields["SESSIONKEY"], fields["PARTNERID"], fields["WAIT"]) == ("123456", "72", "1")
    assert fields["PARTNERUSERID"] == "ann-77"  # the agent who clicked, as themselves
    # A key made now for that agent, valid a few minutes.
    expiration = int(fields["LOGINKEY"].split("$")[2])
    assert 0 < expiration - timezone.now().timestamp() <= 300
    assert fields["LOGINKEY"] == login_key(
        partner_id=72, partner_user_id="ann-77", api_key=API_KEY, expiration=expiration
    )
    # Our CSRF token is not sent to the provider; a button for a browser without scripts.
    assert "csrfmiddlewaretoken" not in form.group(0)
    assert '<button type="submit"' in form.group(0) and "Continue" in form.group(0)
    assert "portal/autosubmit.js" in page
    # The page may post forms to the viewer's origin, and to nothing else but this site.
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
    )
    assert policy["form-action"].split() == ["'self'", "https://glance.invalid"]
    assert policy["script-src"] == "'self'"
    assert "no-store" in response["Cache-Control"]
    assert fields["LOGINKEY"] not in caplog.text
    event = AuditEvent.objects.get(action=AuditEvent.Action.SESSION_JOINED)
    assert (event.actor, event.target) == (agent, f"session {session.pk}")
    assert fields["LOGINKEY"] not in event.details


def test_only_the_page_of_the_click_allows_the_viewer(agent_client, make_session):
    session = make_session()
    response = agent_client.get(session.get_absolute_url())
    assert "glance.invalid" not in response["Content-Security-Policy"]


def test_a_get_is_refused(agent_client, make_session):
    assert agent_client.get(join_url(make_session())).status_code == 405


def test_someone_elses_session_is_not_found(client, make_agent, make_session, credential):
    other = make_agent(username="cy", puid="cy-1", credential=credential)
    session = make_session(by=other)
    client.force_login(make_agent(username="bo", puid="bo-1", credential=credential))
    assert client.post(join_url(session)).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SESSION_JOINED).exists()


def test_an_ended_session_is_refused_with_the_reason(agent_client, make_session):
    session = make_session(ended=True)
    response = agent_client.post(join_url(session), follow=True)
    assert response.redirect_chain[-1][0] == session.get_absolute_url()
    assert "This session has ended" in response.content.decode()
    assert "LOGINKEY" not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SESSION_JOINED).exists()


def test_a_user_without_a_partner_user_id_is_told(client, make_session, django_user_model):
    session = make_session()
    root = django_user_model.objects.create_superuser("root", "r@example.com", "pw-x-1")
    client.force_login(root)
    response = client.post(join_url(session), follow=True)
    assert "no partner user id" in response.content.decode()


def test_the_csrf_token_is_required(make_session, agent):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agent)
    assert browser.post(join_url(make_session())).status_code == 403


def test_a_way_in_without_fields_is_a_link_page_not_a_redirect(
    agent_client, make_session, settings
):
    settings.UPSTREAM_CLIENTS = {"glance": {"CLASS": "tests.support.agent_entry.LinkEntryClient"}}
    session = make_session()
    page = agent_client.get(session.get_absolute_url()).content.decode()
    assert the_button(page) is not None
    response = agent_client.post(join_url(session))
    # A redirect answering a form post is checked against the session page's form-action
    # ('self') in Chromium, so the hand-off is a page whose script follows the link.
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="https://glance.invalid/rooms/123456?moderator=ann-77" data-autofollow' in html
    assert "<form" not in html.split('id="content-main"')[1]
    assert "no-store" in response["Cache-Control"]
    assert "glance.invalid" not in response["Content-Security-Policy"]


def test_the_offer_is_the_client_class_attribute(make_session, settings):
    session = make_session()
    assert services.session_join_offered(session=session)
    settings.UPSTREAM_CLIENTS = {"glance": {"CLASS": "invitations.providers.locmem.LocmemClient"}}
    assert not services.session_join_offered(session=session)
