"""The OnSync client: the requests it sends and how it maps each failure to a typed error."""

import json
from typing import Any

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

TOKEN = "onsync-unit-token-5e1d9b"
BASE = "https://onsync.invalid/v1"
SESSION = f"{BASE}/session/s_8f3a2c"
JOIN_URL = "https://join.onsync.invalid/join/s_8f3a2c"
PERSONAL = "https://join.onsync.invalid/join/s_8f3a2c/p/new-7d1e"

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
    secret: str = TOKEN,
    auth_type: str = "api_token",
    connect_timeout: float = 3.05,
    read_timeout: float = 15.0,
) -> OnSyncClient:
    account = ProviderAccount(
        label="unit-onsync",
        base_url=BASE + "/",  # the trailing slash must not double up in paths
        auth_type=auth_type,
        secret=secret,
        link_delivery=link_delivery,
    )
    return OnSyncClient(account=account, connect_timeout=connect_timeout, read_timeout=read_timeout)


def body_of(call_index: int) -> object:
    body = responses.calls[call_index].request.body
    assert body is not None
    return json.loads(body)


def timeout_of(request: Any) -> object:
    """The timeout requests was given; responses records the call's keyword arguments."""
    return request.req_kwargs["timeout"]


def calls() -> list[tuple[str | None, str | None]]:
    return [(call.request.method, call.request.url) for call in responses.calls]


def fake_created_session(invitees: object = None) -> None:
    """PUT creates s_8f3a2c; GET session and GET invitees answer as the contract says."""
    responses.put(f"{BASE}/session", json={"session_id": "s_8f3a2c"}, status=201)
    responses.get(SESSION, json={"session_id": "s_8f3a2c", "session_link": JOIN_URL})
    if invitees is None:
        invitees = [{"reference": "inv-7", "personal_session_link": PERSONAL}]
    responses.get(f"{SESSION}/invitees", json={"invitees": invitees})


# --- portal mode: the portal reads the personal link and delivers it ------------------------


@responses.activate
def test_new_session_in_portal_mode_creates_reads_and_returns_the_personal_link():
    fake_created_session(
        invitees=[
            {"reference": "inv-7", "personal_session_link": "https://j.invalid/old"},
            {"reference": "inv-7", "personal_session_link": PERSONAL},
            {"reference": "inv-9", "personal_session_link": "https://j.invalid/someone-else"},
        ]
    )
    result = make_client().send_invitation(EMAIL)

    assert calls() == [
        ("PUT", f"{BASE}/session"),
        ("GET", SESSION),
        ("GET", f"{SESSION}/invitees"),
    ]
    assert body_of(0) == {
        "title": "Support session",
        "session_type": 3,
        "invited_participants": [
            {
                "name": "Ann Lee",
                "reference": "inv-7",
                "send_email_invitation": False,
                "email": "ann@example.com",
            }
        ],
    }
    assert result.session_key == "s_8f3a2c"
    assert result.http_status == 201
    assert result.join_url == JOIN_URL
    # The newest participant with our reference, not the first one nor the last in the list.
    assert result.personal_link == PERSONAL
    assert not result.sent_by_provider
    assert result.message_text == ""


@responses.activate
def test_sms_invitee_in_portal_mode_has_no_email_and_a_default_name():
    fake_created_session()
    result = make_client().send_invitation(SMS)
    assert body_of(0) == {
        "title": "Support session",
        "session_type": 1,
        "invited_participants": [
            {"name": "Customer", "reference": "inv-7", "send_email_invitation": False}
        ],
    }
    assert result.personal_link == PERSONAL


@responses.activate
def test_session_title_is_configurable():
    fake_created_session()
    account = ProviderAccount(
        label="unit-onsync", base_url=BASE, auth_type="api_token", secret=TOKEN
    )
    OnSyncClient(account=account, session_title="Help desk").send_invitation(EMAIL)
    body = body_of(0)
    assert isinstance(body, dict) and body["title"] == "Help desk"


@responses.activate
def test_every_request_carries_the_api_token_and_no_other_secret():
    fake_created_session()
    make_client().send_invitation(EMAIL)
    assert len(responses.calls) == 3
    for call in responses.calls:
        sent = call.request
        assert sent.headers["X-API-Token"] == TOKEN
        assert "Authorization" not in sent.headers
        assert sent.headers["Accept"] == "application/json"
        assert TOKEN not in (sent.url or "")
        assert TOKEN.encode() not in (sent.body or b"")
        others = {k: v for k, v in sent.headers.items() if k.lower() != "x-api-token"}
        assert all(TOKEN not in str(value) for value in others.values())


@responses.activate
def test_every_request_has_the_configured_timeouts():
    fake_created_session()
    make_client(connect_timeout=1.5, read_timeout=4.0).send_invitation(EMAIL)
    assert [timeout_of(call.request) for call in responses.calls] == [(1.5, 4.0)] * 3


# --- provider mode: OnSync e-mails the invitee itself ---------------------------------------


@responses.activate
def test_provider_mode_asks_onsync_to_send_and_reads_no_personal_link():
    responses.put(f"{BASE}/session", json={"session_id": "s_8f3a2c"}, status=201)
    responses.get(SESSION, json={"session_id": "s_8f3a2c", "session_link": JOIN_URL})
    result = make_client(link_delivery="provider").send_invitation(EMAIL)

    assert calls() == [("PUT", f"{BASE}/session"), ("GET", SESSION)]
    body = body_of(0)
    assert isinstance(body, dict)
    assert body["invited_participants"] == [
        {
            "name": "Ann Lee",
            "reference": "inv-7",
            "send_email_invitation": True,
            "email": "ann@example.com",
        }
    ]
    assert result.personal_link == ""
    assert result.sent_by_provider
    assert result.join_url == JOIN_URL
    assert result.session_key == "s_8f3a2c"
    assert "e-mailed" in result.message_text


@responses.activate
def test_provider_mode_refuses_sms_before_any_http_call():
    with pytest.raises(UpstreamConfigurationError, match="only sends e-mail"):
        make_client(link_delivery="provider").send_invitation(SMS)
    assert len(responses.calls) == 0


# --- an existing session: add the invitee to it ---------------------------------------------


@responses.activate
def test_existing_session_posts_the_participant_and_creates_nothing():
    quoted = f"{BASE}/session/s%2F1%20x%3Fy"
    responses.post(quoted, json={"session_id": "s/1 x?y"})
    responses.get(quoted, json={"session_link": JOIN_URL})
    responses.get(
        f"{quoted}/invitees",
        json={"invitees": [{"reference": "inv-7", "personal_session_link": PERSONAL}]},
    )
    request = InvitationRequest(
        channel="email",
        destination="ann@example.com",
        agent_id="ann-77",
        session_type=1,
        name="Ann Lee",
        reference="inv-7",
        session_key="s/1 x?y",
    )
    result = make_client().send_invitation(request)

    # The id is quoted as one path segment: its "/", " " and "?" cannot change the URL.
    assert calls() == [("POST", quoted), ("GET", quoted), ("GET", f"{quoted}/invitees")]
    assert body_of(0) == {
        "invited_participants": [
            {
                "name": "Ann Lee",
                "reference": "inv-7",
                "send_email_invitation": False,
                "email": "ann@example.com",
            }
        ]
    }
    assert result.session_key == "s/1 x?y"
    assert result.http_status == 200
    assert result.personal_link == PERSONAL


@responses.activate
def test_existing_session_that_is_gone_raises_not_found():
    responses.post(SESSION, status=404, json={"error": "unknown session"})
    request = InvitationRequest(
        channel="sms",
        destination="+14155550134",
        agent_id="a",
        session_type=1,
        session_key="s_8f3a2c",
        reference="inv-7",
    )
    with pytest.raises(UpstreamNotFound) as caught:
        make_client().send_invitation(request)
    error = caught.value
    assert "no longer exists" in str(error)
    assert "s_8f3a2c" in str(error)
    assert error.status_code == 404
    assert (error.retryable, error.ambiguous) == (False, False)
    assert calls() == [("POST", SESSION)]


@responses.activate
def test_existing_session_other_rejections_are_not_not_found():
    responses.post(SESSION, status=400, json={"error": "name is too long"})
    request = InvitationRequest(
        channel="sms",
        destination="+14155550134",
        agent_id="a",
        session_type=1,
        session_key="s_8f3a2c",
    )
    with pytest.raises(UpstreamRejected) as caught:
        make_client().send_invitation(request)
    assert not isinstance(caught.value, UpstreamNotFound)
    assert "name is too long" in str(caught.value)


@responses.activate
def test_404_when_creating_points_at_the_base_url_not_a_session():
    responses.put(f"{BASE}/session", status=404, body="Not Found", content_type="text/plain")
    with pytest.raises(UpstreamRejected) as caught:
        make_client().send_invitation(EMAIL)
    assert not isinstance(caught.value, UpstreamNotFound)
    assert "base URL" in str(caught.value)


# --- failures after the session exists ------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 500, "json": {"error": "boom"}},
        {"status": 404, "json": {"error": "unknown session"}},
        {"body": requests.exceptions.ReadTimeout("slow")},
        {"body": requests.exceptions.ConnectionError("reset")},
        {"status": 200, "body": "<html>", "content_type": "text/html"},
        {"status": 200, "json": {"session_id": "s_8f3a2c", "session_link": 17}},
    ],
    ids=["500", "404", "timeout", "connection", "not-json", "link-not-text"],
)
@responses.activate
def test_reading_the_session_failing_costs_only_the_join_url(answer):
    responses.put(f"{BASE}/session", json={"session_id": "s_8f3a2c"}, status=201)
    responses.get(SESSION, **answer)
    responses.get(
        f"{SESSION}/invitees",
        json={"invitees": [{"reference": "inv-7", "personal_session_link": PERSONAL}]},
    )
    result = make_client().send_invitation(EMAIL)
    assert result.join_url == ""
    assert result.session_key == "s_8f3a2c"
    assert result.personal_link == PERSONAL
    assert len(responses.calls) == 3


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 500, "json": {"error": "boom"}},
        {"status": 503},
        {"status": 404, "json": {"error": "unknown session"}},
        {"body": requests.exceptions.ReadTimeout("slow")},
        {"status": 200, "body": "<html>", "content_type": "text/html"},
        {"status": 200, "json": {"invitees": "none"}},
        {"status": 200, "json": {}},
        {"status": 200, "json": {"invitees": []}},
        {
            "status": 200,
            "json": {"invitees": [{"reference": "inv-9", "personal_session_link": PERSONAL}]},
        },
        {"status": 200, "json": {"invitees": [{"reference": "inv-7"}]}},
        {
            "status": 200,
            "json": {"invitees": [{"reference": "inv-7", "personal_session_link": ""}]},
        },
        {"status": 200, "json": {"invitees": ["inv-7"]}},
    ],
    ids=[
        "500",
        "503",
        "404",
        "timeout",
        "not-json",
        "not-a-list",
        "no-invitees",
        "empty",
        "other-reference",
        "no-link",
        "empty-link",
        "not-objects",
    ],
)
@responses.activate
def test_personal_link_missing_keeps_the_session_and_is_retryable(answer):
    responses.put(f"{BASE}/session", json={"session_id": "s_8f3a2c"}, status=201)
    responses.get(SESSION, json={"session_link": JOIN_URL})
    responses.get(f"{SESSION}/invitees", **answer)
    with pytest.raises(UpstreamIncomplete) as caught:
        make_client().send_invitation(SMS)
    error = caught.value
    assert isinstance(error, UpstreamError)
    assert error.session_key == "s_8f3a2c"
    assert (error.retryable, error.ambiguous) == (True, False)
    assert error.provider == "onsync"
    assert "Nothing was sent to the customer" in str(error)
    assert isinstance(error.__cause__, UpstreamError)


@responses.activate
def test_personal_link_missing_in_an_existing_session_keeps_that_session():
    responses.post(SESSION, json={"session_id": "s_8f3a2c"})
    responses.get(SESSION, json={"session_link": JOIN_URL})
    responses.get(f"{SESSION}/invitees", status=502)
    request = InvitationRequest(
        channel="sms",
        destination="+14155550134",
        agent_id="a",
        session_type=1,
        session_key="s_8f3a2c",
        reference="inv-7",
    )
    with pytest.raises(UpstreamIncomplete) as caught:
        make_client().send_invitation(request)
    assert caught.value.session_key == "s_8f3a2c"
    assert caught.value.status_code == 502


# --- failures creating the session ----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{}", "application/json"),
        ('{"session_id": ""}', "application/json"),
        ('{"session_id": 42}', "application/json"),
        ('{"session_id": null}', "application/json"),
        ('["s_8f3a2c"]', "application/json"),
        ("<html>ok</html>", "text/html"),
    ],
)
@responses.activate
def test_create_answered_without_a_session_id_is_ambiguous(body, content_type):
    responses.put(f"{BASE}/session", body=body, status=200, content_type=content_type)
    with pytest.raises(UpstreamBadResponse) as caught:
        make_client().send_invitation(EMAIL)
    error = caught.value
    assert (error.ambiguous, error.retryable) == (True, False)
    assert error.status_code == 200
    assert error.session_key == ""
    assert "may or may not have been sent" in str(error)
    assert calls() == [("PUT", f"{BASE}/session")]


@responses.activate
def test_401_names_the_api_token_and_never_contains_it():
    responses.put(
        f"{BASE}/session", status=401, json={"error": f"token {TOKEN} is not valid for v1"}
    )
    with pytest.raises(UpstreamAuthError) as caught:
        make_client().send_invitation(EMAIL)
    error = caught.value
    assert "API token" in str(error)
    assert "unit-onsync" in str(error)
    assert "is not valid for v1" in str(error)  # the provider's reason, scrubbed
    assert TOKEN not in str(error)
    assert TOKEN not in repr(error)
    assert all(TOKEN not in str(arg) for arg in error.args)
    assert error.status_code == 401
    assert (error.retryable, error.ambiguous) == (False, False)
    assert len(responses.calls) == 1


@responses.activate
def test_429_is_retryable_and_carries_retry_after():
    responses.put(f"{BASE}/session", status=429, headers={"Retry-After": "30"})
    with pytest.raises(UpstreamUnavailable) as caught:
        make_client().send_invitation(EMAIL)
    error = caught.value
    assert (error.retryable, error.ambiguous) == (True, False)
    assert error.retry_after == 30.0
    assert error.status_code == 429
    assert "Try again in 30 s" in str(error)
    assert len(responses.calls) == 1


@responses.activate
def test_503_is_retryable():
    responses.put(f"{BASE}/session", status=503, body="")
    with pytest.raises(UpstreamUnavailable) as caught:
        make_client().send_invitation(EMAIL)
    assert (caught.value.retryable, caught.value.ambiguous) == (True, False)
    assert caught.value.status_code == 503
    assert "OnSync is unavailable (503)" in str(caught.value)
    assert len(responses.calls) == 1


# --- configuration --------------------------------------------------------------------------


@pytest.mark.parametrize("auth_type", ["gkey", "gkey_address", "gssnid", "gjwt", ""])
def test_a_glance_auth_type_is_refused_at_construction(auth_type):
    with pytest.raises(UpstreamConfigurationError, match="OnSync takes an API token"):
        make_client(auth_type=auth_type)


def test_configuration_errors_are_not_upstream_errors():
    assert not issubclass(UpstreamConfigurationError, UpstreamError)


@pytest.mark.parametrize("request_", [EMAIL, SMS], ids=["email", "sms"])
@responses.activate
def test_empty_secret_is_refused_before_any_http_call(request_):
    client = make_client(secret="")
    with pytest.raises(UpstreamConfigurationError, match="has no API token"):
        client.send_invitation(request_)
    assert len(responses.calls) == 0
