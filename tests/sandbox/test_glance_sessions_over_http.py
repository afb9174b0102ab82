"""Glance's session lookup and agent viewer in the sandbox, over real HTTP.

The requests are built by hand from docs/upstream-contracts.md (facts.md §3.2 and §3.3), and the
XML is read with minidom, not the ElementTree the sandbox writes it with.
"""

import re
import time
from html import unescape
from urllib.parse import quote, urljoin
from xml.dom import minidom

import pytest
import requests

from sandbox import faults
from sandbox.models import GlanceSession, SandboxRequest
from tests.support.sandbox import glance_gkey, glance_partner_form, staff_session

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
INVITE = "/sandbox/glance/api/SessionInvitation/smsInvite/?groupid=72"
LOOKUP = "/sandbox/glance/services/SessionService.asmx/LookupPartnerSession2"
IN_SESSION = "/sandbox/glance/services/SessionService.asmx/AgentInSession"
VIEWER = "/sandbox/glance/agentjoin/AgentView.aspx"
GLANCE_NS = "http://www.glance.net/"
SESSION_INFO_FIELDS = [
    "id",
    "ssnid",
    "serverip",
    "servername",
    "personid",
    "groupid",
    "passcode",
    "agentjoinurl",
    "clientjoinurl",
    "calltype",
    "visitorversion",
]


def invite(base, settings, puid="ann-77"):
    """smsInvite as the portal sends it; returns the answer's JSON."""
    answer = requests.post(
        base + INVITE,
        json={"sessiontype": 1, "smsPhone": "+14155550134"},
        headers={"Authorization": glance_gkey(settings, puid)},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def found(pattern, text, group=0):
    match = re.search(pattern, text)
    assert match is not None, f"{pattern} not in {text}"
    return match[group]


def visitor_link(invitation):
    return found(r"https?://\S+", invitation["invitationText"])


def lookup(base, form):
    return requests.post(base + LOOKUP, data=form, timeout=5)


def session_info(answer):
    """{element name: text} of a lookup's answer, checking its envelope."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert answer.content.startswith(b"<?xml ")
    root = xml_root(answer.content)
    assert (root.localName, root.namespaceURI) == ("SessionInfo", GLANCE_NS)
    return child_texts(root)


def xml_root(content):
    root = minidom.parseString(content).documentElement  # noqa: S318 (our own server's answer)
    assert root is not None
    return root


def child_texts(element):
    """{local name: text} of an element's child elements, all in Glance's namespace."""
    fields = {}
    for child in element.childNodes:
        if isinstance(child, minidom.Element):
            assert child.namespaceURI == GLANCE_NS
            fields[child.localName] = "".join(
                t.data for t in child.childNodes if isinstance(t, minidom.Text)
            )
    return fields


def session_of(invitation):
    return GlanceSession.objects.get(session_key=invitation["sessionKey"])


def test_the_sms_holds_the_visitor_link_and_lookup_finds_nothing_before_it_is_opened(
    live_server, settings
):
    invitation = invite(live_server.url, settings)
    key = invitation["sessionKey"]
    assert visitor_link(invitation) == f"{live_server.url}/sandbox/glance/join/{key}/"
    assert session_info(lookup(live_server.url, glance_partner_form(settings, "ann-77", key))) == {
        "id": "0"
    }
    session = session_of(invitation)
    assert (session.group_id, session.partner_user_id, session.status) == (72, "ann-77", "")
    assert session.glance_id is None


def test_opening_the_visitor_link_starts_the_session_once(live_server, settings):
    invitation = invite(live_server.url, settings)
    key = invitation["sessionKey"]
    opened = requests.get(visitor_link(invitation), timeout=5)
    assert opened.status_code == 200
    assert "Waiting for the agent" in opened.text

    answer = lookup(live_server.url, glance_partner_form(settings, "ann-77", key))
    info = session_info(answer)
    assert list(info) == SESSION_INFO_FIELDS
    assert int(info["id"]) > 0
    assert info["groupid"] == "72"
    assert answer.content.startswith(
        b'<?xml version="1.0" encoding="utf-8"?>\n<SessionInfo xmlns="http://www.glance.net/">'
    )
    assert info["passcode"] == key
    assert info["calltype"] == "C"
    assert info["clientjoinurl"] == visitor_link(invitation)
    assert info["agentjoinurl"] == f"{live_server.url}{VIEWER}?SessionKey={key}"
    assert int(info["personid"]) > 0
    session = session_of(invitation)
    assert (session.status, session.glance_id) == ("W", int(info["id"]))

    # Reloading the visitor's page changes nothing.
    assert requests.get(visitor_link(invitation), timeout=5).status_code == 200
    again = session_info(lookup(live_server.url, glance_partner_form(settings, "ann-77", key)))
    assert again["id"] == info["id"]
    assert session_of(invitation).started_at == session.started_at


def test_each_session_gets_its_own_id(live_server, settings):
    ids = set()
    for _ in range(2):
        invitation = invite(live_server.url, settings)
        requests.get(visitor_link(invitation), timeout=5)
        form = glance_partner_form(settings, "ann-77", invitation["sessionKey"])
        ids.add(session_info(lookup(live_server.url, form))["id"])
    assert len(ids) == 2 and "0" not in ids


def test_another_agent_of_the_group_finds_the_session_too(live_server, settings):
    invitation = invite(live_server.url, settings, puid="ann-77")
    requests.get(visitor_link(invitation), timeout=5)
    puid = "Zoë & Bo Ünal"
    info = session_info(
        lookup(live_server.url, glance_partner_form(settings, puid, invitation["sessionKey"]))
    )
    assert int(info["id"]) > 0


def test_unknown_keys_and_another_groups_keys_are_id_0(live_server, settings):
    invitation = invite(live_server.url, settings)
    requests.get(visitor_link(invitation), timeout=5)
    for key in ("999999x", ""):
        form = glance_partner_form(settings, "ann-77", key)
        assert session_info(lookup(live_server.url, form)) == {"id": "0"}
    # The sandbox's partner becomes group 73: group 72's session is none of its business.
    settings.SANDBOX_GLANCE_GROUP_ID = 73
    form = glance_partner_form(settings, "ann-77", invitation["sessionKey"])
    assert form["partnerid"] == "73"
    assert session_info(lookup(live_server.url, form)) == {"id": "0"}


MISSING = object()
BAD_AUTH = {
    # case: (field, value or MISSING, status, words of the reason)
    "other-api-key": ("loginkey", {"api_key": "not-the-partner-key"}, 403, "signature"),
    "expired": ("loginkey", {"expires": int(time.time()) - 5}, 403, "expired"),
    "malformed": ("loginkey", "$1$notakey", 403, "malformed"),
    "empty": ("loginkey", "", 403, "malformed"),
    "other-puid": ("partneruserid", "bo-12", 403, "signature"),
    "other-partner": ("partnerid", "73", 403, "unknown partner"),
    "partnerid-not-a-number": ("partnerid", "x", 403, "partnerid"),
    "no-partnerid": ("partnerid", MISSING, 403, "partnerid"),
    "no-partneruserid": ("partneruserid", MISSING, 403, "partneruserid"),
    "no-loginkey": ("loginkey", MISSING, 401, "loginkey is missing"),
}


@pytest.mark.parametrize("case", list(BAD_AUTH))
def test_bad_authentication_is_refused(live_server, settings, case):
    field, value, status, reason = BAD_AUTH[case]
    invitation = invite(live_server.url, settings)
    requests.get(visitor_link(invitation), timeout=5)
    form = glance_partner_form(settings, "ann-77", invitation["sessionKey"])
    if value is MISSING:
        del form[field]
    elif isinstance(value, dict):
        form[field] = glance_partner_form(settings, "ann-77", "", **value)[field]
    else:
        assert isinstance(value, str)
        form[field] = value
    answer = lookup(live_server.url, form)
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert answer.text.startswith("Authentication failed")
    assert reason in answer.text
    assert invitation["sessionKey"] not in answer.text


def test_malformed_requests(live_server, settings):
    form = glance_partner_form(settings, "ann-77", "123456")
    del form["ssnkey"]
    missing = lookup(live_server.url, form)
    assert (missing.status_code, missing.text) == (400, "Missing parameter: ssnkey.")
    as_json = requests.post(
        live_server.url + LOOKUP, json=glance_partner_form(settings, "ann-77", "1"), timeout=5
    )
    assert as_json.status_code == 415
    assert requests.get(live_server.url + LOOKUP, timeout=5).status_code == 405


def test_lookups_are_logged_and_faulted_as_glance_calls(live_server, settings):
    invitation = invite(live_server.url, settings)
    requests.get(visitor_link(invitation), timeout=5)
    form = glance_partner_form(settings, "ann-77", invitation["sessionKey"])
    faults.inject("glance", "status", status=503, count=1)
    faults.inject("glance", "link", url="javascript:alert(1)", count=1)
    assert lookup(live_server.url, form).status_code == 503
    linked = session_info(lookup(live_server.url, form))
    assert linked["agentjoinurl"] == linked["clientjoinurl"] == "javascript:alert(1)"
    assert int(linked["id"]) > 0
    assert session_info(lookup(live_server.url, form))["clientjoinurl"] == visitor_link(invitation)
    logged = [
        (r.method, r.path, r.status, r.fault)
        for r in SandboxRequest.objects.filter(path=LOOKUP).order_by("id")
    ]
    assert logged == [
        ("POST", LOOKUP, 503, "status"),
        ("POST", LOOKUP, 200, "link"),
        ("POST", LOOKUP, 200, ""),
    ]


# --- the agent viewer -------------------------------------------------------------------------


def viewer_form(settings, key, puid="ann-77", wait=True, **login):
    form = glance_partner_form(settings, puid, key, **login)
    return {
        "SESSIONKEY": key,
        "PARTNERID": form["partnerid"],
        "PARTNERUSERID": form["partneruserid"],
        "LOGINKEY": form["loginkey"],
        **({"WAIT": "1"} if wait else {}),
    }


def assert_no_login_key(page, form):
    login_key = form.get("LOGINKEY") or form.get("loginkey")
    assert login_key.rsplit("$", 1)[1] not in page.text
    assert "$1$" not in page.text


def viewer_status(page):
    return unescape(found(r'id="viewer-status">([^<]*)<', page.text, 1))


def test_viewer_waits_for_the_visitor_then_connects(live_server, settings):
    invitation = invite(live_server.url, settings)
    key = invitation["sessionKey"]
    form = viewer_form(settings, key)
    waiting = requests.post(live_server.url + VIEWER, data=form, timeout=5)
    assert waiting.status_code == 200
    assert f"<title>Glance agent viewer — session {key}</title>" in waiting.text
    assert viewer_status(waiting) == "Waiting for the visitor"
    assert_no_login_key(waiting, form)
    assert session_of(invitation).status == ""

    requests.get(visitor_link(invitation), timeout=5)
    assert session_of(invitation).status == "W"
    connected = requests.post(live_server.url + VIEWER, data=viewer_form(settings, key), timeout=5)
    assert connected.status_code == 200
    assert viewer_status(connected) == "Connected to the visitor"
    assert_no_login_key(connected, form)
    session = session_of(invitation)
    assert (session.status, session.agent_partner_user_id) == ("A", "ann-77")
    # The visitor sees the agent, and the session keeps its id.
    assert "The agent is connected" in requests.get(visitor_link(invitation), timeout=5).text
    info = session_info(lookup(live_server.url, glance_partner_form(settings, "ann-77", key)))
    assert int(info["id"]) == session.glance_id


def test_waiting_viewer_reloads_without_the_login_key(live_server, settings):
    invitation = invite(live_server.url, settings)
    form = viewer_form(settings, invitation["sessionKey"])
    waiting = requests.post(live_server.url + VIEWER, data=form, timeout=5)
    refresh = re.search(r'<meta http-equiv="refresh" content="(\d+);url=([^"]+)">', waiting.text)
    assert refresh is not None
    again_url = urljoin(waiting.url, unescape(refresh[2]))
    assert "loginkey" not in again_url.lower()
    assert viewer_status(requests.get(again_url, timeout=5)) == "Waiting for the visitor"

    requests.get(visitor_link(invitation), timeout=5)
    connected = requests.get(again_url, timeout=5)
    assert viewer_status(connected) == "Connected to the visitor"
    assert session_of(invitation).status == "A"

    forged = requests.get(live_server.url + VIEWER + "?viewerpass=" + quote("x:y:z"), timeout=5)
    assert forged.status_code == 403


def test_viewer_documented_get_form_with_names_in_any_case(live_server, settings):
    invitation = invite(live_server.url, settings)
    key = invitation["sessionKey"]
    form = glance_partner_form(settings, "ann-77", key)
    query = (
        f"?SessionKey={key}&partnerid={form['partnerid']}&partneruserid=ann-77"
        f"&loginkey={quote(form['loginkey'])}&Wait=1"
    )
    waiting = requests.get(live_server.url + VIEWER + query, timeout=5)
    assert viewer_status(waiting) == "Waiting for the visitor"
    assert_no_login_key(waiting, form)
    requests.get(visitor_link(invitation), timeout=5)
    connected = requests.get(live_server.url + VIEWER + query.replace("&Wait=1", ""), timeout=5)
    assert viewer_status(connected) == "Connected to the visitor"
    assert_no_login_key(connected, form)
    assert session_of(invitation).status == "A"


def test_viewer_without_wait_before_the_visitor_is_not_found(live_server, settings):
    invitation = invite(live_server.url, settings)
    form = viewer_form(settings, invitation["sessionKey"], wait=False)
    page = requests.post(live_server.url + VIEWER, data=form, timeout=5)
    assert page.status_code == 404
    assert viewer_status(page) == "Session not found"
    assert_no_login_key(page, form)
    assert session_of(invitation).status == ""


@pytest.mark.parametrize(
    "login",
    [{"api_key": "not-the-partner-key"}, {"expires": int(time.time()) - 5}],
    ids=["other-api-key", "expired"],
)
def test_viewer_refuses_a_bad_login_key(live_server, settings, login):
    invitation = invite(live_server.url, settings)
    requests.get(visitor_link(invitation), timeout=5)
    form = viewer_form(settings, invitation["sessionKey"], **login)
    page = requests.post(live_server.url + VIEWER, data=form, timeout=5)
    assert page.status_code == 403
    assert "<h1>Login failed</h1>" in page.text
    assert_no_login_key(page, form)
    assert session_of(invitation).status == "W"
    # A login key for another agent does not sign in this one either.
    form["PARTNERUSERID"] = "bo-12"
    assert requests.post(live_server.url + VIEWER, data=form, timeout=5).status_code == 403


def test_viewer_of_another_group_does_not_connect(live_server, settings):
    invitation = invite(live_server.url, settings)
    requests.get(visitor_link(invitation), timeout=5)
    settings.SANDBOX_GLANCE_GROUP_ID = 73
    form = viewer_form(settings, invitation["sessionKey"], wait=False)
    page = requests.post(live_server.url + VIEWER, data=form, timeout=5)
    assert page.status_code == 404
    assert session_of(invitation).status == "W"


def test_viewer_page_runs_under_the_content_security_policy(live_server, settings):
    invitation = invite(live_server.url, settings)
    page = requests.post(
        live_server.url + VIEWER, data=viewer_form(settings, invitation["sessionKey"]), timeout=5
    )
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "<script" not in page.text and "style=" not in page.text and "<style" not in page.text
    assert "no-store" in page.headers["Cache-Control"]


# --- AgentInSession -----------------------------------------------------------------------------


def sessions_of_agent(base, form):
    answer = requests.post(base + IN_SESSION, data=form, timeout=5)
    assert answer.status_code == 200, answer.text
    root = xml_root(answer.content)
    assert (root.localName, root.namespaceURI) == ("ArrayOfSession2", GLANCE_NS)
    return [child_texts(item) for item in root.getElementsByTagNameNS(GLANCE_NS, "session2")]


def test_agent_in_session_lists_the_sessions_the_agents_viewer_is_in(live_server, settings):
    invitation = invite(live_server.url, settings)
    key = invitation["sessionKey"]
    requests.get(visitor_link(invitation), timeout=5)
    assert sessions_of_agent(live_server.url, glance_partner_form(settings, "ann-77", "")) == []
    requests.post(live_server.url + VIEWER, data=viewer_form(settings, key), timeout=5)
    [entry] = sessions_of_agent(live_server.url, glance_partner_form(settings, "ann-77", ""))
    assert (entry["passcode"], int(entry["id"])) == (key, session_of(invitation).glance_id)
    assert set(entry) == {"id", "passcode", "num", "disambiguateId", "servername"}
    assert sessions_of_agent(live_server.url, glance_partner_form(settings, "ann-77", "1")) == []
    assert sessions_of_agent(live_server.url, glance_partner_form(settings, "bo-12", "")) == []
    form = glance_partner_form(settings, "ann-77", "", api_key="x")
    assert requests.post(live_server.url + IN_SESSION, data=form, timeout=5).status_code == 403


# --- the outbox -------------------------------------------------------------------------------


@pytest.mark.usefixtures("staff_user")
def test_opening_the_link_in_the_outbox_plays_the_customer(live_server, settings):
    invitation = invite(live_server.url, settings)
    key = invitation["sessionKey"]
    staff = staff_session(live_server.url)
    outbox = staff.get(live_server.url + "/sandbox/outbox/", timeout=5)
    assert "To play the customer, open the link in a message" in outbox.text
    assert "not started" in outbox.text
    links = re.findall(r'<a href="([^"]+/sandbox/glance/join/[^"]+)"', outbox.text)
    assert links == [visitor_link(invitation)]

    assert requests.get(unescape(links[0]), timeout=5).status_code == 200
    info = session_info(lookup(live_server.url, glance_partner_form(settings, "ann-77", key)))
    assert int(info["id"]) > 0
    outbox = staff.get(live_server.url + "/sandbox/outbox/", timeout=5)
    assert "customer joined, waiting for the agent" in outbox.text
