"""The customer joined, and Join session, end to end over real HTTP: the portal on a live test
server, the real Glance client, and the sandbox's Glance (LookupPartnerSession2, its visitor
page, its agent viewer) on the same server, as /work/glance-presence-decisions.md describes
them. Without a broker, reading the session is what asks Glance."""

import re
import time
from html import unescape

import pytest
import requests

from bench.stack import logged_in
from invitations.services import tokens

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"  # make_agent's default
# The goal from a customer opening the link to "joined" on the agent's open page.
JOINED_WITHIN = 10.0


@pytest.fixture
def agent(make_agent, sandbox_credential):
    return make_agent(credential=sandbox_credential)


@pytest.fixture
def api(agent, live_server):
    _token, raw = tokens.api_token_create(user=agent, name="crm", actor=None)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {raw}"
    return session


def invite(api, base):
    created = api.post(
        f"{base}/api/v1/sessions/", json={"destination": "(415) 555-0134"}, timeout=30
    )
    assert created.status_code == 201, created.text
    session = created.json()
    assert session["invitees"][0]["status"] == "sent", session["invitees"][0]["last_error"]
    return session


def status_read_through_the_api(api, base, session_id):
    answer = api.get(f"{base}/api/v1/sessions/{session_id}/", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["invitees"][0]


def open_the_invitation(base, session_key):
    """The customer opens the link from the SMS: the sandbox's visitor page starts the
    session."""
    visitor = requests.get(f"{base}/sandbox/glance/join/{session_key}/", timeout=30)
    assert visitor.status_code == 200, visitor.text


def test_reading_the_session_through_the_api_is_enough_to_see_joined(live_server, api):
    base = live_server.url
    session = invite(api, base)
    # Asked once: the visitor has not opened the link yet.
    assert status_read_through_the_api(api, base, session["id"])["status"] == "sent"

    open_the_invitation(base, session["session_key"])
    opened = time.monotonic()
    while True:
        invitee = status_read_through_the_api(api, base, session["id"])
        if invitee["status"] == "joined" or time.monotonic() - opened > JOINED_WITHIN:
            break
        time.sleep(0.5)
    assert invitee["status"] == "joined"
    assert invitee["can_resend"] is False


def test_the_agents_open_page_shows_joined_live(live_server, api, agent):
    base = live_server.url
    session = invite(api, base)
    browser = logged_in(base, agent.get_username(), PASSWORD)
    page = browser.get(f"{base}/sessions/{session['id']}/", timeout=30).text
    assert "status-sent" in page and 'hx-trigger="every 500ms"' in page

    open_the_invitation(base, session["session_key"])
    opened = time.monotonic()
    rows = ""
    while time.monotonic() - opened < JOINED_WITHIN:
        # What htmx fetches every 3 s on the open page.
        rows = browser.get(f"{base}/sessions/{session['id']}/invitees/", timeout=30).text
        if "status-joined" in rows:
            break
        time.sleep(3)
    assert "status-joined" in rows and re.search(r"Joined \d\d:\d\d", rows)
    assert "/resend/" not in rows


def join_as_agent(base, browser, session_id):
    """Join session as the browser does it: the button's POST, then the form the answer
    holds, posted to where it points (autosubmit.js does this in a browser)."""
    page = browser.get(f"{base}/sessions/{session_id}/", timeout=30).text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf and "LOGINKEY" not in page
    handed_on = browser.post(
        f"{base}/sessions/{session_id}/join/",
        data={"csrfmiddlewaretoken": csrf.group(1)},
        headers={"Referer": f"{base}/sessions/{session_id}/"},
        timeout=30,
    )
    assert handed_on.status_code == 200, handed_on.text
    form = re.search(
        r'<form method="post" action="([^"]+)" data-autosubmit.*?</form>', handed_on.text, re.S
    )
    assert form
    fields = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form.group(0)))
    action = unescape(form.group(1))
    assert action == f"{base}/sandbox/glance/agentjoin/AgentView.aspx"
    assert "form-action 'self' " + base in handed_on.headers["Content-Security-Policy"]
    # A new browser context: the viewer is another site, which gets none of our cookies.
    return requests.post(action, data={k: unescape(v) for k, v in fields.items()}, timeout=30)


def test_join_session_waits_for_the_visitor_then_connects(live_server, api, agent):
    base = live_server.url
    session = invite(api, base)
    browser = logged_in(base, agent.get_username(), PASSWORD)

    waiting = join_as_agent(base, browser, session["id"])
    assert waiting.status_code == 200, waiting.text
    assert f"session {session['session_key']}" in waiting.text
    assert "Waiting for the visitor" in waiting.text

    open_the_invitation(base, session["session_key"])
    connected = join_as_agent(base, browser, session["id"])
    assert connected.status_code == 200, connected.text
    assert "Connected to the visitor" in connected.text
