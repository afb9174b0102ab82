"""GSSNID and GJWT tokens come from Glance's Authorization Service, minted per agent with a
fresh login key, cached until a minute before they expire, and replaced once when refused."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from invitations.providers.base import (
    InvitationRequest,
    ProviderAccount,
    UpstreamAuthError,
    UpstreamRejected,
    UpstreamServerError,
)
from invitations.providers.glance import GlanceClient, login_key, parse_expiry

API_KEY = "unit-test-api-key-abc"
BASE = "https://glance.invalid"
AUTHORIZE = f"{BASE}/services/AuthorizationService.svc/rest/Authorize"
INVITE = f"{BASE}/api/SessionInvitation/smsInvite/"
NOW = 1_773_340_000.0
INVITED = {"sessionKey": "123456", "invitationText": "Join: https://j.example/s/123456"}


def request(agent_id="ann-77"):
    return InvitationRequest(
        channel="sms", destination="+14155550134", agent_id=agent_id, session_type=1
    )


def client(auth_type="gjwt", auth_header="authorization", clock=lambda: NOW, **options):
    account = ProviderAccount(
        label="unit",
        base_url=BASE,
        group_id=72,
        auth_type=auth_type,
        auth_header=auth_header,
        secret=API_KEY,
    )
    return GlanceClient(account=account, clock=clock, **options)


def documented(
    token="jwt-1", gssn="935203.1773342715.abc.72", expires="2026-03-12T20:41:55.6484735Z"
):
    """The answer api.glance.cx documents, with the fields it leaves null/false/0."""
    return {
        "VServer": None,
        "applicationSettings": None,
        "authTokeExp": expires,
        "authToken": token,
        "coloSelectUrl": None,
        "glanceAddress": None,
        "groupId": 72,
        "gssnId": gssn,
        "isTrial": False,
        "message": None,
        "planTimeout": 0,
        "planTitle": None,
        "privilegeString": None,
        "service": 9,
    }


def authorize_calls():
    return [c for c in responses.calls if str(c.request.url).startswith(AUTHORIZE)]


def invite_calls():
    return [c for c in responses.calls if str(c.request.url).startswith(INVITE)]


@responses.activate
def test_authorize_call_url_query_and_body():
    responses.post(AUTHORIZE, json=documented())
    responses.post(INVITE, json=INVITED)
    client(token_minutes=45).send_invitation(request("ann & bo Ünal"))
    sent = authorize_calls()[0].request
    assert sent.method == "POST"
    assert parse_qs(urlsplit(sent.url).query) == {
        "groupid": ["72"],
        "service": ["webservices"],
        "duration": ["45"],
        "site": ["production"],
    }
    assert sent.headers["Content-Type"] == "application/json"
    assert "Authorization" not in sent.headers
    body = json.loads(sent.body)
    assert body["partnerid"] == 72  # a JSON number
    assert body["partneruserid"] == "ann & bo Ünal"  # as it is: JSON needs no URL-encoding
    expiration = int(NOW) + 300
    assert body["loginkey"] == login_key(
        partner_id=72, partner_user_id="ann & bo Ünal", api_key=API_KEY, expiration=expiration
    )


@pytest.mark.parametrize(
    ("auth_type", "auth_header", "header", "value"),
    [
        ("gjwt", "authorization", "Authorization", "Bearer GJWT jwt-1"),
        ("gssnid", "authorization", "Authorization", "Bearer GSSNID 935203.1773342715.abc.72"),
        ("gssnid", "x-gssnid", "X-GSSNID", "935203.1773342715.abc.72"),
    ],
)
@responses.activate
def test_the_documented_answer_is_used_on_sms_invite(auth_type, auth_header, header, value):
    responses.post(AUTHORIZE, json=documented())
    responses.post(INVITE, json=INVITED)
    result = client(auth_type, auth_header).send_invitation(request())
    assert result.session_key == "123456"
    assert invite_calls()[0].request.headers[header] == value


def test_expiry_with_seven_fractional_digits_and_z():
    assert parse_expiry("2026-03-12T20:41:55.6484735Z") == pytest.approx(1773348115.648473)
    assert parse_expiry("2026-03-12T20:41:55Z") == 1773348115.0
    assert parse_expiry("2026-03-12T20:41:55") == 1773348115.0  # no zone: UTC
    assert parse_expiry("soon") is None and parse_expiry(None) is None


@responses.activate
def test_a_bare_string_answer_is_the_jwt_for_the_requested_duration():
    responses.post(AUTHORIZE, json="bare-jwt")
    responses.post(INVITE, json=INVITED)
    now = [NOW]
    glance = client(clock=lambda: now[0], token_minutes=10)
    glance.send_invitation(request())
    assert invite_calls()[0].request.headers["Authorization"] == "Bearer GJWT bare-jwt"
    now[0] = NOW + 10 * 60 - 61
    glance.send_invitation(request())
    assert len(authorize_calls()) == 1
    now[0] = NOW + 10 * 60 - 59
    glance.send_invitation(request())
    assert len(authorize_calls()) == 2


@responses.activate
def test_a_bare_string_cannot_serve_gssnid():
    responses.post(AUTHORIZE, json="bare-jwt")
    with pytest.raises(UpstreamServerError, match="without the gssnId") as caught:
        client("gssnid").send_invitation(request())
    assert not caught.value.ambiguous  # nothing reached smsInvite
    assert invite_calls() == []


@responses.activate
def test_tokens_are_cached_per_agent_until_a_minute_before_expiry():
    expires = NOW + 3600
    stamp = "2026-03-12T19:26:40Z"  # NOW + 3600 s
    assert parse_expiry(stamp) == expires
    responses.post(AUTHORIZE, json=documented(expires=stamp))
    responses.post(INVITE, json=INVITED)
    now = [NOW]
    glance = client(clock=lambda: now[0])
    glance.send_invitation(request())
    now[0] = expires - 61
    client(clock=lambda: now[0]).send_invitation(request())  # another client, same process
    assert len(authorize_calls()) == 1
    now[0] = expires - 60
    glance.send_invitation(request())
    assert len(authorize_calls()) == 2


@responses.activate
def test_one_agents_token_never_serves_another():
    responses.post(AUTHORIZE, json=documented(token="jwt-ann"))
    responses.post(AUTHORIZE, json=documented(token="jwt-bo"))
    responses.post(INVITE, json=INVITED)
    glance = client()
    glance.send_invitation(request("ann-77"))
    glance.send_invitation(request("bo-12"))
    glance.send_invitation(request("ann-77"))
    puids = [json.loads(c.request.body)["partneruserid"] for c in authorize_calls()]
    assert puids == ["ann-77", "bo-12"]
    headers = [c.request.headers["Authorization"] for c in invite_calls()]
    assert headers == ["Bearer GJWT jwt-ann", "Bearer GJWT jwt-bo", "Bearer GJWT jwt-ann"]


@pytest.mark.parametrize("status", [401, 403])
@responses.activate
def test_a_refused_token_is_replaced_once(status):
    responses.post(AUTHORIZE, json=documented(token="old"))
    responses.post(AUTHORIZE, json=documented(token="new"))
    responses.post(INVITE, json={"message": "token expired"}, status=status)
    responses.post(INVITE, json=INVITED)
    assert client().send_invitation(request()).session_key == "123456"
    headers = [c.request.headers["Authorization"] for c in invite_calls()]
    assert headers == ["Bearer GJWT old", "Bearer GJWT new"]
    assert len(authorize_calls()) == 2


@pytest.mark.parametrize("status", [401, 403])
@responses.activate
def test_a_second_refusal_fails_without_a_third_try(status):
    responses.post(AUTHORIZE, json=documented(token="tok-abcdef123"))
    responses.post(INVITE, json={"message": "bad token tok-abcdef123"}, status=status)
    with pytest.raises(UpstreamAuthError) as caught:
        client().send_invitation(request())
    assert (len(authorize_calls()), len(invite_calls())) == (2, 2)
    assert caught.value.status_code == status
    assert "tok-abcdef123" not in str(caught.value)  # the token is scrubbed from the reason


@pytest.mark.parametrize("status", [401, 403])
@responses.activate
def test_a_refused_login_key_at_authorize_fails_at_once(status):
    responses.post(AUTHORIZE, json={"message": "login key signature does not match"}, status=status)
    with pytest.raises(UpstreamAuthError) as caught:
        client().send_invitation(request())
    assert len(authorize_calls()) == 1 and invite_calls() == []
    assert str(caught.value) == (
        f"Glance's Authorization Service did not accept the credential 'unit' ({status}: login "
        "key signature does not match). An administrator should check its API key and group "
        "id, and the agent's partner user id."
    )
    assert not caught.value.ambiguous


@responses.activate
def test_a_refused_login_key_with_a_skewed_clock_blames_the_clock():
    responses.post(
        AUTHORIZE,
        json={"message": "login key expired"},
        status=403,
        headers={"Date": "Thu, 12 Mar 2026 20:00:00 GMT"},
    )
    with pytest.raises(UpstreamAuthError, match="clock"):
        client(clock=lambda: parse_expiry("2026-03-12T19:50:00Z") or 0).send_invitation(request())


@responses.activate
def test_a_400_at_authorize_is_rejected_and_nothing_was_sent():
    responses.post(AUTHORIZE, json={"message": "duration out of range"}, status=400)
    with pytest.raises(UpstreamRejected, match="nothing was sent") as caught:
        client().send_invitation(request())
    assert not caught.value.ambiguous
    assert invite_calls() == []


@pytest.mark.parametrize("auth_type", ["gkey", "gssnid", "gjwt"])
@responses.activate
def test_the_check_always_authorizes_afresh_and_never_invites(auth_type):
    responses.post(AUTHORIZE, json=documented())
    glance = client(auth_type)
    glance.check(agent_id="ann & bo")
    glance.check(agent_id="ann & bo")
    assert len(authorize_calls()) == 2
    assert invite_calls() == []
    assert json.loads(authorize_calls()[0].request.body)["partneruserid"] == "ann & bo"


@responses.activate
def test_the_check_does_not_seed_or_use_the_cache():
    responses.post(AUTHORIZE, json=documented(token="from-send"))
    responses.post(AUTHORIZE, json=documented(token="from-check"))
    responses.post(INVITE, json=INVITED)
    glance = client()
    glance.send_invitation(request())
    glance.check(agent_id="ann-77")
    glance.send_invitation(request())
    assert len(authorize_calls()) == 2
    headers = [c.request.headers["Authorization"] for c in invite_calls()]
    assert headers == ["Bearer GJWT from-send", "Bearer GJWT from-send"]


@pytest.mark.parametrize("status", [401, 403])
@responses.activate
def test_the_check_fails_on_a_refusal(status):
    responses.post(AUTHORIZE, json={"message": "unknown partner"}, status=status)
    with pytest.raises(UpstreamAuthError, match=f"\\({status}: unknown partner\\)"):
        client("gkey").check(agent_id="ann-77")


@pytest.mark.parametrize("minutes", [0, 121])
def test_token_minutes_are_bounded(minutes):
    from invitations.providers.base import UpstreamConfigurationError

    with pytest.raises(UpstreamConfigurationError, match="GLANCE_TOKEN_MINUTES"):
        client(token_minutes=minutes)


def test_an_authorization_never_shows_its_tokens_in_a_repr():
    from invitations.providers.glance import Authorization

    assert "secret-jwt" not in repr(Authorization("secret-jwt", "secret-gssn", NOW))
