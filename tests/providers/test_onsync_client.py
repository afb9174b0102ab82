"""The OnSync client: the requests it sends (OnSync's real wire format, facts.md §1) and how it
maps each failure to a typed error."""

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses

from invitations.providers.base import (
    InvitationRequest,
    ProviderAccount,
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamConfigurationError,
    UpstreamError,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)
from invitations.providers.onsync import OnSyncClient, UpstreamIncomplete

PASSWORD = "onsync-unit-password-5e1d9b"
ACCOUNT = "acme-support"
BASE = "https://onsync.invalid/api/1"
SESSION = f"{BASE}/{ACCOUNT}/session/format/json"
READ = f"{BASE}/{ACCOUNT}/session/id/123/format/json"
INVITEES = f"{BASE}/{ACCOUNT}/invitees/id/123/format/json"
JOIN_URL = "https://onsync.invalid/go/acme-support/support-123"
PERSONAL = "https://onsync.invalid/join/7d1e9c"
BASIC = "Basic " + base64.b64encode(f"{ACCOUNT}:{PASSWORD}".encode()).decode()
SMS_ADDRESS = "invitee-inv-7@sms.invalid"

EMAIL = InvitationRequest(
    channel="email",
    destination="ann@example.com",
    agent_id="ann-77",
    session_type=3,
    name="Ann Lee",
    reference="inv-7",
)
SMS = InvitationRequest(
    channel="sms", destination="+14155550134", agent_id="ann-77", session_type=1, reference="inv-7"
)


def make_client(
    *,
    link_delivery: str = "portal",
    secret: str = PASSWORD,
    account: str = ACCOUNT,
    auth_type: str = "basic",
    connect_timeout: float = 3.05,
    read_timeout: float = 15.0,
    **options: Any,
) -> OnSyncClient:
    onsync = ProviderAccount(
        label="unit-onsync",
        base_url=BASE + "/",  # the trailing slash must not double up in paths
        auth_type=auth_type,
        secret=secret,
        account=account,
        link_delivery=link_delivery,
    )
    return OnSyncClient(
        account=onsync, connect_timeout=connect_timeout, read_timeout=read_timeout, **options
    )


def form_of(call_index: int) -> dict[str, Any]:
    """The body of a PUT, POST or DELETE: exactly `input_type=json&rest_data=<JSON>`, the JSON
    not URL-encoded; returns the JSON decoded."""
    request = responses.calls[call_index].request
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    body = request.body
    body = body.decode() if isinstance(body, bytes) else body
    assert isinstance(body, str)
    prefix = "input_type=json&rest_data="
    assert body.startswith(prefix), body
    # What a server that reads the body as a query string sees is the same JSON.
    assert parse_qs(body)["input_type"] == ["json"]
    data = json.loads(body[len(prefix) :])
    assert isinstance(data, dict)
    return data


def timeout_of(request: Any) -> object:
    """The timeout requests was given; responses records the call's keyword arguments."""
    return request.req_kwargs["timeout"]


def calls() -> list[tuple[str | None, str | None]]:
    return [(call.request.method, call.request.url) for call in responses.calls]


def invitee(email: str, link: object = PERSONAL, **fields: Any) -> dict[str, Any]:
    return {
        "id": 9,
        "email": email,
        "first_name": "Ann",
        "last_name": "Lee",
        "role": 2,
        "personal_session_link": link,
        **fields,
    }


def fake_created_session(invitees: object = None, *, status: int = 201) -> None:
    """PUT creates session 123; GET session and GET invitees answer as OnSync does."""
    responses.put(SESSION, json={"message": "Session added", "id": 123}, status=status)
    responses.get(READ, json={"id": 123, "topic": "Support session", "session_link": JOIN_URL})
    if invitees is None:
        invitees = {"participants": [invitee("ann@example.com"), invitee(SMS_ADDRESS)]}
    responses.get(INVITEES, json=invitees)


# --- portal mode: the portal reads the personal link and delivers it ------------------------


@responses.activate
def test_new_session_in_portal_mode_creates_reads_and_returns_the_personal_link():
    fake_created_session(
        {
            "moderators": [invitee("host@example.com", "https://j.invalid/host")],
            "participants": [
                invitee("ann@example.com", "https://j.invalid/old"),
                invitee("ANN@Example.com", PERSONAL),
                invitee("bob@example.com", "https://j.invalid/someone-else"),
            ],
            "observers": [],
        }
    )
    before = datetime.now(UTC).replace(microsecond=0)
    result = make_client().send_invitation(EMAIL)
    after = datetime.now(UTC)

    assert calls() == [("PUT", SESSION), ("GET", READ), ("GET", INVITEES)]
    body = form_of(0)
    assert set(body) == {"topic", "duration", "start_time", "timezone", "invited_participants"}
    assert body["topic"] == "Support session"
    assert body["duration"] == 60 and isinstance(body["duration"], int)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", body["start_time"])
    start = datetime.strptime(body["start_time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert before <= start <= after
    assert body["timezone"] == "UTC"
    assert body["invited_participants"] == [
        {
            "email": "ann@example.com",
            "first_name": "Ann",
            "last_name": "Lee",
            "role": 2,
            "send_email_invitation": False,
        }
    ]
    assert result.session_key == "123"
    assert result.http_status == 201
    assert result.join_url == JOIN_URL
    # The newest participant with our address (case aside), not the first one nor the last.
    assert result.personal_link == PERSONAL
    assert not result.sent_by_provider
    assert result.message_text == ""


@responses.activate
def test_create_answered_200_is_accepted_too():
    fake_created_session(status=200)
    result = make_client().send_invitation(EMAIL)
    assert (result.session_key, result.http_status) == ("123", 200)


@responses.activate
def test_sms_invitee_gets_an_address_nobody_receives_and_single_space_names():
    fake_created_session()
    result = make_client().send_invitation(SMS)
    assert form_of(0)["invited_participants"] == [
        {
            "email": SMS_ADDRESS,
            "first_name": " ",
            "last_name": " ",
            "role": 2,
            "send_email_invitation": False,
        }
    ]
    assert result.personal_link == PERSONAL


@responses.activate
def test_sms_invitee_domain_is_configurable():
    fake_created_session({"participants": invitee("invitee-inv-7@texts.example.invalid")})
    result = make_client(sms_invitee_domain="texts.example.invalid").send_invitation(SMS)
    assert form_of(0)["invited_participants"][0]["email"] == "invitee-inv-7@texts.example.invalid"
    assert result.personal_link == PERSONAL


@pytest.mark.parametrize("domain", ["", "  ", "a@b.invalid"])
def test_an_unusable_sms_invitee_domain_is_a_configuration_error(domain):
    with pytest.raises(UpstreamConfigurationError, match="ONSYNC_SMS_INVITEE_DOMAIN"):
        make_client(sms_invitee_domain=domain)


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("Ann", "Ann", " "),
        ("Ann Marie Lee", "Ann", "Marie Lee"),
        ("  Ann   Lee ", "Ann", "Lee"),
        ("Zoë Ångström", "Zoë", "Ångström"),
    ],
)
@responses.activate
def test_names_are_split_on_the_first_space(name, first, last):
    fake_created_session()
    make_client().send_invitation(
        InvitationRequest(
            channel="email",
            destination="ann@example.com",
            agent_id="a",
            session_type=1,
            name=name,
            reference="inv-7",
        )
    )
    participant = form_of(0)["invited_participants"][0]
    assert (participant["first_name"], participant["last_name"]) == (first, last)
    # Non-ASCII letters travel as JSON escapes: the body is plain ASCII.
    assert (responses.calls[0].request.body or b"").isascii()


@responses.activate
def test_session_title_and_minutes_are_configurable():
    fake_created_session()
    make_client(session_title="Help desk", session_minutes=30).send_invitation(EMAIL)
    body = form_of(0)
    assert (body["topic"], body["duration"]) == ("Help desk", 30)


@responses.activate
def test_every_request_carries_http_basic_for_the_account_and_nothing_else_secret():
    fake_created_session()
    make_client().send_invitation(EMAIL)
    assert len(responses.calls) == 3
    for call in responses.calls:
        sent = call.request
        assert sent.headers["Authorization"] == BASIC
        assert "X-API-Token" not in sent.headers
        assert sent.headers["Accept"] == "application/json"
        assert PASSWORD not in (sent.url or "")
        body = sent.body or b""
        assert PASSWORD.encode() not in (body if isinstance(body, bytes) else body.encode())
        others = {k: v for k, v in sent.headers.items() if k.lower() != "authorization"}
        assert all(PASSWORD not in str(value) for value in others.values())
    # Reads carry no body.
    assert [call.request.body for call in responses.calls[1:]] == [None, None]


@responses.activate
def test_the_account_is_one_path_segment():
    account = "team/a b?c"
    quoted = "team%2Fa%20b%3Fc"
    responses.put(f"{BASE}/{quoted}/session/format/json", json={"id": 5}, status=201)
    responses.get(f"{BASE}/{quoted}/session/id/5/format/json", json={"session_link": JOIN_URL})
    result = make_client(account=account, link_delivery="provider").send_invitation(EMAIL)
    assert result.session_key == "5"
    expected = base64.b64encode(f"{account}:{PASSWORD}".encode()).decode()
    assert responses.calls[0].request.headers["Authorization"] == f"Basic {expected}"


@responses.activate
def test_every_request_has_the_configured_timeouts():
    fake_created_session()
    make_client(connect_timeout=1.5, read_timeout=4.0).send_invitation(EMAIL)
    assert [timeout_of(call.request) for call in responses.calls] == [(1.5, 4.0)] * 3


# --- the invitees answer, as loosely as OnSync renders it -----------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        {"participants": invitee("ann@example.com")},
        {"participants": [invitee("ann@example.com")]},
        {"moderators": invitee("ann@example.com")},
        {"observers": [invitee("bob@example.com"), invitee("ann@example.com")]},
        {"moderators": [], "participants": invitee("ann@example.com"), "observers": None},
    ],
    ids=["one-as-object", "list", "moderator-only", "observer", "empty-and-null-groups"],
)
@responses.activate
def test_invitees_are_found_in_any_group_in_any_shape(answer):
    fake_created_session(answer)
    assert make_client().send_invitation(EMAIL).personal_link == PERSONAL


@responses.activate
def test_participants_come_before_other_roles():
    fake_created_session(
        {
            "moderators": invitee("ann@example.com", "https://j.invalid/moderator"),
            "participants": invitee("ann@example.com", PERSONAL),
        }
    )
    assert make_client().send_invitation(EMAIL).personal_link == PERSONAL


# --- provider mode: OnSync e-mails the invitee itself ---------------------------------------


@responses.activate
def test_provider_mode_asks_onsync_to_send_and_reads_no_personal_link():
    responses.put(SESSION, json={"message": "Session added", "id": 123}, status=201)
    responses.get(READ, json={"id": 123, "session_link": JOIN_URL})
    result = make_client(link_delivery="provider").send_invitation(EMAIL)

    assert calls() == [("PUT", SESSION), ("GET", READ)]
    assert form_of(0)["invited_participants"] == [
        {
            "email": "ann@example.com",
            "first_name": "Ann",
            "last_name": "Lee",
            "role": 2,
            "send_email_invitation": True,
        }
    ]
    assert result.personal_link == ""
    assert result.sent_by_provider
    assert result.join_url == JOIN_URL
    assert result.session_key == "123"
    assert "e-mailed" in result.message_text


@responses.activate
def test_provider_mode_refuses_sms_before_any_http_call():
    with pytest.raises(UpstreamConfigurationError, match="only sends e-mail"):
        make_client(link_delivery="provider").send_invitation(SMS)
    assert len(responses.calls) == 0


# --- an existing session: add the invitee to it ---------------------------------------------


def into_session(key: str, channel: str = "email") -> InvitationRequest:
    return InvitationRequest(
        channel=channel,
        destination="ann@example.com" if channel == "email" else "+14155550134",
        agent_id="ann-77",
        session_type=1,
        name="Ann Lee",
        reference="inv-7",
        session_key=key,
    )


@responses.activate
def test_existing_session_posts_the_participant_and_creates_nothing():
    responses.post(SESSION, json={"message": "Session updated", "id": 123})
    responses.get(READ, json={"session_link": JOIN_URL})
    responses.get(INVITEES, json={"participants": [invitee("ann@example.com")]})
    result = make_client().send_invitation(into_session("123"))

    assert calls() == [("POST", SESSION), ("GET", READ), ("GET", INVITEES)]
    assert form_of(0) == {
        "id": 123,
        "invited_participants": [
            {
                "email": "ann@example.com",
                "first_name": "Ann",
                "last_name": "Lee",
                "role": 2,
                "send_email_invitation": False,
            }
        ],
    }
    assert result.session_key == "123"
    assert result.http_status == 200
    assert result.personal_link == PERSONAL


@responses.activate
def test_existing_session_that_is_gone_raises_not_found():
    responses.post(SESSION, status=404, json={"status": False, "error": "Session not found"})
    with pytest.raises(UpstreamNotFound) as caught:
        make_client().send_invitation(into_session("123", "sms"))
    error = caught.value
    assert "Session 123 no longer exists at OnSync" in str(error)
    assert error.status_code == 404
    assert (error.retryable, error.ambiguous) == (False, False)
    assert calls() == [("POST", SESSION)]


@pytest.mark.parametrize("key", ["s_8f3a2c", "0", "-4", "12a", "١٢"])
@responses.activate
def test_a_key_that_is_no_onsync_id_is_a_session_gone_without_a_call(key):
    with pytest.raises(UpstreamNotFound, match="no longer exists at OnSync"):
        make_client().send_invitation(into_session(key))
    assert len(responses.calls) == 0


@responses.activate
def test_existing_session_other_rejections_are_not_not_found():
    responses.post(SESSION, status=400, json={"status": False, "error": "email is required"})
    with pytest.raises(UpstreamRejected) as caught:
        make_client().send_invitation(into_session("123", "sms"))
    assert not isinstance(caught.value, UpstreamNotFound)
    assert "email is required" in str(caught.value)
    assert (caught.value.retryable, caught.value.ambiguous) == (False, False)


@responses.activate
def test_404_when_creating_points_at_the_base_url_not_a_session():
    responses.put(SESSION, status=404, body="Not Found", content_type="text/plain")
    with pytest.raises(UpstreamRejected) as caught:
        make_client().send_invitation(EMAIL)
    assert not isinstance(caught.value, UpstreamNotFound)
    assert "base URL" in str(caught.value)


@responses.activate
def test_400_when_creating_is_a_rejection_with_onsyncs_reason():
    responses.put(SESSION, status=400, json={"status": False, "error": "start_time is invalid"})
    with pytest.raises(UpstreamRejected) as caught:
        make_client().send_invitation(EMAIL)
    error = caught.value
    assert "OnSync rejected the invitation (400: start_time is invalid)" in str(error)
    assert (error.retryable, error.ambiguous, error.session_key) == (False, False, "")


# --- failures after the session exists ------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 500, "json": {"status": False, "error": "boom"}},
        {"status": 404, "json": {"status": False, "error": "Session not found"}},
        {"body": requests.exceptions.ReadTimeout("slow")},
        {"body": requests.exceptions.ConnectionError("reset")},
        {"status": 200, "body": "<xml><session_link>x</session_link></xml>"},
        {"status": 200, "json": {"id": 123, "session_link": 17}},
    ],
    ids=["500", "404", "timeout", "connection", "xml", "link-not-text"],
)
@responses.activate
def test_reading_the_session_failing_costs_only_the_join_url(answer):
    responses.put(SESSION, json={"message": "Session added", "id": 123}, status=201)
    responses.get(READ, **answer)
    responses.get(INVITEES, json={"participants": [invitee("ann@example.com")]})
    result = make_client().send_invitation(EMAIL)
    assert result.join_url == ""
    assert result.session_key == "123"
    assert result.personal_link == PERSONAL
    assert len(responses.calls) == 3


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 500, "json": {"status": False, "error": "boom"}},
        {"status": 503},
        {"status": 404, "json": {"status": False, "error": "Session not found"}},
        {"body": requests.exceptions.ReadTimeout("slow")},
        {"status": 200, "body": "<xml></xml>", "content_type": "application/xml"},
        {"status": 200, "json": ["participants"]},
        {"status": 200, "json": {}},
        {"status": 200, "json": {"participants": []}},
        {"status": 200, "json": {"participants": "ann@example.com"}},
        {"status": 200, "json": {"participants": [invitee("bob@example.com")]}},
        {"status": 200, "json": {"participants": [{"email": "ann@example.com"}]}},
        {"status": 200, "json": {"participants": [invitee("ann@example.com", "")]}},
        {"status": 200, "json": {"participants": [invitee("ann@example.com", 5)]}},
        {"status": 200, "json": {"participants": [{"email": None}, "ann@example.com"]}},
    ],
    ids=[
        "500",
        "503",
        "404",
        "timeout",
        "xml",
        "not-an-object",
        "no-groups",
        "empty",
        "group-not-a-list",
        "other-address",
        "no-link",
        "empty-link",
        "link-not-text",
        "not-objects",
    ],
)
@responses.activate
def test_personal_link_missing_keeps_the_session_and_is_retryable(answer):
    responses.put(SESSION, json={"message": "Session added", "id": 123}, status=201)
    responses.get(READ, json={"session_link": JOIN_URL})
    responses.get(INVITEES, **answer)
    with pytest.raises(UpstreamIncomplete) as caught:
        make_client().send_invitation(EMAIL)
    error = caught.value
    assert isinstance(error, UpstreamError)
    assert error.session_key == "123"
    assert (error.retryable, error.ambiguous) == (True, False)
    assert error.provider == "onsync"
    assert "Nothing was sent to the customer" in str(error)
    assert isinstance(error.__cause__, UpstreamError)


@responses.activate
def test_personal_link_missing_in_an_existing_session_keeps_that_session():
    responses.post(SESSION, json={"message": "Session updated", "id": 123})
    responses.get(READ, json={"session_link": JOIN_URL})
    responses.get(INVITEES, status=502)
    with pytest.raises(UpstreamIncomplete) as caught:
        make_client().send_invitation(into_session("123", "sms"))
    assert caught.value.session_key == "123"
    assert caught.value.status_code == 502


# --- failures creating the session ----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{}", "application/json"),
        ('{"message": "Session added"}', "application/json"),
        ('{"message": "Session added", "id": "s_8f3a2c"}', "application/json"),
        ('{"message": "Session added", "id": 0}', "application/json"),
        ('{"message": "Session added", "id": true}', "application/json"),
        ('{"message": "Session added", "id": null}', "application/json"),
        ('{"message": "Session added", "id": 1.5}', "application/json"),
        ("[123]", "application/json"),
        ("<xml><id>123</id></xml>", "application/xml"),
    ],
)
@responses.activate
def test_create_answered_without_a_session_id_is_ambiguous(body, content_type):
    responses.put(SESSION, body=body, status=201, content_type=content_type)
    with pytest.raises(UpstreamBadResponse) as caught:
        make_client().send_invitation(EMAIL)
    error = caught.value
    assert (error.ambiguous, error.retryable) == (True, False)
    assert error.status_code == 201
    assert error.session_key == ""
    assert "may or may not have been sent" in str(error)
    assert calls() == [("PUT", SESSION)]


@pytest.mark.parametrize(
    "failure",
    [requests.exceptions.ReadTimeout("slow"), requests.exceptions.ConnectionError("reset")],
    ids=["timeout", "connection-lost"],
)
@responses.activate
def test_create_without_an_answer_is_ambiguous(failure):
    responses.put(SESSION, body=failure)
    with pytest.raises(UpstreamError) as caught:
        make_client().send_invitation(EMAIL)
    assert (caught.value.ambiguous, caught.value.retryable) == (True, False)
    assert caught.value.session_key == ""


@responses.activate
def test_401_names_the_account_and_password_and_never_contains_the_password():
    responses.put(
        SESSION,
        status=401,
        headers={"WWW-Authenticate": 'Basic realm="OnSync"'},
        json={
            "status": False,
            "error": f"password {PASSWORD} is wrong for {BASIC[6:]} on v1",
        },
    )
    with pytest.raises(UpstreamAuthError) as caught:
        make_client().send_invitation(EMAIL)
    error = caught.value
    assert "account and password" in str(error)
    assert "unit-onsync" in str(error)
    assert "is wrong for" in str(error)  # the provider's reason, scrubbed
    for secret in (PASSWORD, BASIC[6:]):
        assert secret not in str(error)
        assert secret not in repr(error)
        assert all(secret not in str(arg) for arg in error.args)
    assert error.status_code == 401
    assert (error.retryable, error.ambiguous) == (False, False)
    assert len(responses.calls) == 1


@responses.activate
def test_429_is_retryable_and_carries_retry_after():
    responses.put(SESSION, status=429, headers={"Retry-After": "30"})
    with pytest.raises(UpstreamUnavailable) as caught:
        make_client().send_invitation(EMAIL)
    error = caught.value
    assert (error.retryable, error.ambiguous) == (True, False)
    assert error.retry_after == 30.0
    assert error.status_code == 429
    assert "Try again in 30 s" in str(error)
    assert len(responses.calls) == 1


@pytest.mark.parametrize("status", [502, 503, 504])
@responses.activate
def test_gateway_failures_are_retryable(status):
    responses.put(SESSION, status=status, body="")
    with pytest.raises(UpstreamUnavailable) as caught:
        make_client().send_invitation(EMAIL)
    assert (caught.value.retryable, caught.value.ambiguous) == (True, False)
    assert caught.value.status_code == status
    assert f"OnSync is unavailable ({status})" in str(caught.value)
    assert len(responses.calls) == 1


@responses.activate
def test_500_is_a_server_error_that_is_not_retried():
    responses.put(SESSION, status=500, json={"status": False, "error": "boom"})
    with pytest.raises(UpstreamError) as caught:
        make_client().send_invitation(EMAIL)
    assert "OnSync had an internal error (500: boom)" in str(caught.value)
    assert (caught.value.retryable, caught.value.ambiguous) == (False, False)


@responses.activate
def test_a_redirect_is_not_followed():
    responses.put(SESSION, status=302, headers={"Location": "https://elsewhere.invalid/x"})
    with pytest.raises(UpstreamError, match=r"elsewhere\.invalid"):
        make_client().send_invitation(EMAIL)
    assert calls() == [("PUT", SESSION)]


# --- ending a session -----------------------------------------------------------------------


@responses.activate
def test_end_session_deletes_it_with_its_id_in_the_body():
    responses.delete(SESSION, json={"message": "Session was deleted"})
    assert make_client().end_session("123") is True
    assert calls() == [("DELETE", SESSION)]
    assert form_of(0) == {"id": 123}
    assert responses.calls[0].request.headers["Authorization"] == BASIC


@responses.activate
def test_end_session_that_is_gone_counts_as_ended():
    responses.delete(SESSION, status=404, json={"status": False, "error": "Session not found"})
    assert make_client().end_session("123") is True


def test_end_session_with_a_key_that_is_no_onsync_id_needs_no_call():
    with responses.RequestsMock():  # any request would fail the test
        assert make_client().end_session("s_8f3a2c") is True


@responses.activate
def test_end_session_refused_raises():
    responses.delete(SESSION, status=401, json={"status": False, "error": "Unauthorized"})
    with pytest.raises(UpstreamAuthError):
        make_client().end_session("123")


# --- credential check -----------------------------------------------------------------------

CHECK = f"{BASE}/{ACCOUNT}/session/id/0/format/json"


@responses.activate
def test_check_reads_session_0_and_takes_onsyncs_404_as_accepted():
    responses.get(CHECK, status=404, json={"status": False, "error": "Session not found"})
    make_client().check(agent_id="")
    sent = responses.calls[0].request
    assert (sent.method, sent.url, sent.headers["Authorization"]) == ("GET", CHECK, BASIC)


@responses.activate
def test_check_refused_and_wrong_base_url_fail():
    responses.get(CHECK, status=401, json={"status": False, "error": "Unauthorized"})
    with pytest.raises(UpstreamAuthError, match="did not accept the credential 'unit-onsync'"):
        make_client().check(agent_id="")
    # A 404 page that is not OnSync's JSON error: something else lives at the base URL.
    responses.replace(responses.GET, CHECK, status=404, body="<h1>Not Found</h1>")
    with pytest.raises(UpstreamRejected, match="base URL"):
        make_client().check(agent_id="")


# --- configuration --------------------------------------------------------------------------


@pytest.mark.parametrize("auth_type", ["gkey", "gkey_address", "gssnid", "gjwt", "api_token", ""])
def test_another_auth_type_is_refused_at_construction(auth_type):
    with pytest.raises(UpstreamConfigurationError, match="OnSync takes the account password"):
        make_client(auth_type=auth_type)


def test_configuration_errors_are_not_upstream_errors():
    assert not issubclass(UpstreamConfigurationError, UpstreamError)


@pytest.mark.parametrize("request_", [EMAIL, SMS], ids=["email", "sms"])
@responses.activate
def test_empty_password_is_refused_before_any_http_call(request_):
    client = make_client(secret="")
    with pytest.raises(UpstreamConfigurationError, match="has no account password"):
        client.send_invitation(request_)
    assert len(responses.calls) == 0


@responses.activate
def test_missing_account_is_refused_before_any_http_call():
    client = make_client(account=" ")
    with pytest.raises(UpstreamConfigurationError, match="has no OnSync account"):
        client.send_invitation(EMAIL)
    with pytest.raises(UpstreamConfigurationError, match="has no OnSync account"):
        client.check(agent_id="")
    assert len(responses.calls) == 0


def test_the_start_time_is_now_in_utc():
    """start_time is read as `timezone` says: UTC now, not the server's local time."""
    with responses.RequestsMock() as mock:
        mock.put(SESSION, json={"id": 1}, status=201)
        mock.get(f"{BASE}/{ACCOUNT}/session/id/1/format/json", json={"session_link": JOIN_URL})
        make_client(link_delivery="provider").send_invitation(EMAIL)
        body = mock.calls[0].request.body
    assert isinstance(body, str)
    sent = json.loads(body.split("rest_data=", 1)[1])["start_time"]
    start = datetime.strptime(sent, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - start) < timedelta(seconds=5)
