"""Glance's LookupPartnerSession2 ("has the visitor started the session?") and the agent viewer
entry: the form-encoded request, tolerant and defused XML reading, a refused key asked again
once, and the bounds every upstream call has (no redirects, a size cap)."""

import time
from urllib.parse import parse_qs

import pytest
import responses

from invitations.providers.base import (
    ProviderAccount,
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamRedirected,
    UpstreamServerError,
)
from invitations.providers.glance import GlanceClient, login_key, visitor_session_id

API_KEY = "unit-test-api-key-abc"
BASE = "https://glance.invalid"
LOOKUP = f"{BASE}/services/SessionService.asmx/LookupPartnerSession2"
NOW = 1_773_340_000.0
XML = "text/xml; charset=utf-8"


def client(auth_type="gkey", **options):
    account = ProviderAccount(
        label="unit", base_url=BASE, group_id=72, auth_type=auth_type, secret=API_KEY
    )
    return GlanceClient(account=account, clock=lambda: NOW, **options)


def session_info(session_id="4711", root="SessionInfo", ns=' xmlns="http://www.glance.net/"'):
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<{root}{ns}><id>{session_id}</id>'
        "<ssnid>abc</ssnid><serverip>10.0.0.1</serverip><servername>s1</servername>"
        "<personid>935203</personid><groupid>72</groupid><passcode>123456</passcode>"
        "<agentjoinurl>https://x/a</agentjoinurl><clientjoinurl>https://x/c</clientjoinurl>"
        f"<calltype>C</calltype><visitorversion>6</visitorversion></{root}>"
    )


def sent_fields(call):
    return parse_qs(call.request.body, keep_blank_values=True, strict_parsing=True)


@responses.activate
def test_the_lookup_is_a_form_post_with_a_fresh_key_for_the_agent():
    responses.post(LOOKUP, body=session_info(), content_type=XML)
    agent = "ann & bo Ünal/1"
    assert client().visitor_joined(session_key="123456", agent_id=agent) is True
    [call] = responses.calls
    request = call.request
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in request.headers
    # `&`, the space, `/` and `Ü` are escaped; nothing is left to be misread as a separator.
    assert "partneruserid=ann+%26+bo+%C3%9Cnal%2F1" in str(request.body)
    expected_key = login_key(
        partner_id=72, partner_user_id=agent, api_key=API_KEY, expiration=int(NOW) + 300
    )
    assert sent_fields(call) == {
        "partnerid": ["72"],
        "partneruserid": [agent],
        "loginkey": [expected_key],
        "ssnkey": ["123456"],
    }


@pytest.mark.parametrize(
    ("body", "joined"),
    [
        (session_info("4711"), True),
        (session_info("0"), False),
        # Any root element, any namespace or none.
        (session_info("12", root="LookupResult", ns=""), True),
        (session_info("12", root="g:SessionInfo", ns=' xmlns:g="urn:other"'), True),
        ('<SessionInfo xmlns="http://www.glance.net/"><id>0</id><ssnid/></SessionInfo>', False),
        ("<SessionInfo><ID> 9 </ID></SessionInfo>", True),
        # Missing, empty or non-numeric: not found.
        ("<SessionInfo><ssnid>abc</ssnid></SessionInfo>", False),
        ("<SessionInfo><id></id></SessionInfo>", False),
        ("<SessionInfo><id/></SessionInfo>", False),
        ("<SessionInfo><id>n/a</id></SessionInfo>", False),
        ("<SessionInfo><id>1.5</id></SessionInfo>", False),
        # Only `id` itself counts, not ssnid, personid or groupid.
        ("<SessionInfo><personid>935203</personid><groupid>72</groupid></SessionInfo>", False),
        # The first `id` decides, wherever it is.
        ("<r><session2><id>31</id></session2><id>0</id></r>", True),
        # A DOCTYPE without declarations is harmless.
        ("<!DOCTYPE SessionInfo><SessionInfo><id>5</id></SessionInfo>", True),
    ],
)
@responses.activate
def test_session_info_variants(body, joined):
    responses.post(LOOKUP, body=body, content_type=XML)
    assert client().visitor_joined(session_key="123456", agent_id="ann-77") is joined


def test_only_the_elements_own_text_counts():
    assert visitor_session_id(b"<r><id>1<b>2</b>3</id></r>") == 13
    assert visitor_session_id(b"<r><id><b>7</b></id></r>") == 0


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    "]><r><id>&c;</id></r>"
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r><id>&x;</id></r>'
)


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL, "not xml", "<r><id>1</r>"])
@responses.activate
def test_unsafe_or_unreadable_xml_is_an_error_and_nothing_is_expanded(body):
    responses.post(LOOKUP, body=body, content_type=XML)
    started = time.monotonic()
    with pytest.raises(UpstreamBadResponse) as caught:
        client().visitor_joined(session_key="123456", agent_id="ann-77")
    assert time.monotonic() - started < 1
    assert "unreadable session lookup" in str(caught.value)
    assert "root:" not in str(caught.value)


@pytest.mark.parametrize("first", [401, 403])
@responses.activate
def test_a_refused_key_is_replaced_once(first):
    responses.post(LOOKUP, status=first, body="Authentication failed", content_type="text/plain")
    responses.post(LOOKUP, body=session_info(), content_type=XML)
    assert client().visitor_joined(session_key="123456", agent_id="ann-77") is True
    assert len(responses.calls) == 2
    assert all("loginkey" in sent_fields(call) for call in responses.calls)


@pytest.mark.parametrize("statuses", [(401, 401), (403, 403), (401, 403)])
@responses.activate
def test_a_second_refusal_is_an_auth_error_without_the_key(statuses):
    for status in statuses:
        responses.post(
            LOOKUP, status=status, body="Authentication failed", content_type="text/plain"
        )
    with pytest.raises(UpstreamAuthError) as caught:
        client().visitor_joined(session_key="123456", agent_id="ann-77")
    assert len(responses.calls) == 2
    assert caught.value.status_code == statuses[1]
    assert "Glance's Session Service" in str(caught.value)
    for call in responses.calls:
        assert sent_fields(call)["loginkey"][0] not in str(caught.value)
    assert API_KEY not in str(caught.value)


@responses.activate
def test_a_server_error_is_not_asked_again():
    responses.post(LOOKUP, status=500, body="boom", content_type="text/plain")
    with pytest.raises(UpstreamServerError):
        client().visitor_joined(session_key="123456", agent_id="ann-77")
    assert len(responses.calls) == 1


@responses.activate
def test_a_redirect_is_refused_and_not_followed():
    responses.post(LOOKUP, status=302, headers={"Location": "https://elsewhere.invalid/steal?x=1"})
    with pytest.raises(UpstreamRedirected) as caught:
        client().visitor_joined(session_key="123456", agent_id="ann-77")
    assert len(responses.calls) == 1
    assert "elsewhere.invalid" in str(caught.value) and "steal" not in str(caught.value)


@responses.activate
def test_an_answer_over_the_size_cap_is_unreadable():
    padding = "<pad>" + "x" * 2_000 + "</pad>"
    body = f"<SessionInfo><id>4711</id>{padding}</SessionInfo>"
    responses.post(LOOKUP, body=body, content_type=XML)
    with pytest.raises(UpstreamBadResponse) as caught:
        client(max_response_bytes=1_000).visitor_joined(session_key="123456", agent_id="a")
    assert "larger than 1,000 bytes" in str(caught.value)


def test_the_agent_entry_is_a_form_for_the_viewer_with_a_key_made_now():
    entry = client(login_key_lifetime=300).agent_entry(
        session_key="123456", agent_id="ann & bo", agent_name="Ann Bo"
    )
    assert entry.url == f"{BASE}/agentjoin/AgentView.aspx"
    assert entry.fields == {
        "SESSIONKEY": "123456",
        "PARTNERID": "72",
        "PARTNERUSERID": "ann & bo",
        "LOGINKEY": login_key(
            partner_id=72, partner_user_id="ann & bo", api_key=API_KEY, expiration=int(NOW) + 300
        ),
        "WAIT": "1",
    }
    # Neither the URL nor the key shows in a repr (a log line, a traceback).
    assert "LOGINKEY" not in repr(entry) and "agentjoin" not in repr(entry)


def test_glance_offers_both_without_a_call():
    assert GlanceClient.offers_agent_entry and GlanceClient.looks_up_visitors
