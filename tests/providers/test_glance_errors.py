"""How the Glance client maps each way a call can go wrong to a typed error."""

import socket
import threading

import pytest
import responses

from invitations.providers.base import (
    InvitationRequest,
    ProviderAccount,
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamConfigurationError,
    UpstreamConnectionError,
    UpstreamConnectionLost,
    UpstreamRejected,
    UpstreamServerError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from invitations.providers.glance import GlanceClient

API_KEY = "unit-test-api-key-abc"
BASE = "https://glance.invalid"
URL = f"{BASE}/api/SessionInvitation/smsInvite/"
REQUEST = InvitationRequest(
    channel="sms", destination="+14155550134", agent_id="a 1", session_type=1
)


def client(base_url=BASE, **options):
    account = ProviderAccount(
        label="unit", base_url=base_url, group_id=72, auth_type="gkey", secret=API_KEY
    )
    return GlanceClient(account=account, **options)


@responses.activate
def test_success_returns_key_text_and_join_link():
    responses.post(
        URL,
        json={"sessionKey": "123456", "invitationText": "Join: https://j.example/s/123456 now"},
    )
    result = client().send_invitation(REQUEST)
    assert (result.session_key, result.join_url) == ("123456", "https://j.example/s/123456")
    sent = responses.calls[0].request
    assert sent.url == f"{URL}?groupid=72"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["Authorization"].startswith("Bearer GKEY 72&a%201&$1$")
    assert sent.body == b'{"sessiontype": 1, "smsPhone": "+14155550134"}'


@responses.activate
def test_numeric_session_key_is_accepted_as_text():
    responses.post(URL, json={"sessionKey": 654321, "invitationText": "no link"})
    result = client().send_invitation(REQUEST)
    assert (result.session_key, result.join_url) == ("654321", "")


@pytest.mark.parametrize(
    ("status", "body", "error_type", "retryable", "ambiguous", "words"),
    [
        (
            400,
            {"error": "smsPhone is invalid"},
            UpstreamRejected,
            False,
            False,
            "smsPhone is invalid",
        ),
        (401, {"error": "login key has expired"}, UpstreamAuthError, False, False, "API key"),
        (403, {"message": "forbidden"}, UpstreamAuthError, False, False, "partner user id"),
        (404, "Not Found", UpstreamRejected, False, False, "base URL"),
        (409, {"Message": "conflict"}, UpstreamRejected, False, False, "conflict"),
        (500, {"error": "boom"}, UpstreamServerError, False, False, "internal error (500: boom)"),
        (502, "", UpstreamUnavailable, True, False, "unavailable (502)"),
        (503, "", UpstreamUnavailable, True, False, "unavailable (503)"),
        (504, "", UpstreamUnavailable, True, False, "unavailable (504)"),
    ],
)
@responses.activate
def test_error_statuses_map_to_typed_errors(status, body, error_type, retryable, ambiguous, words):
    if isinstance(body, dict):
        responses.post(URL, json=body, status=status)
    else:
        responses.post(URL, body=body, status=status, content_type="text/plain")
    with pytest.raises(error_type) as caught:
        client().send_invitation(REQUEST)
    error = caught.value
    assert error.status_code == status
    assert (error.retryable, error.ambiguous) == (retryable, ambiguous)
    assert words in str(error)


@responses.activate
def test_429_carries_retry_after():
    responses.post(URL, status=429, headers={"Retry-After": "17"})
    with pytest.raises(UpstreamUnavailable) as caught:
        client().send_invitation(REQUEST)
    assert caught.value.retry_after == 17.0
    assert "Try again in 17 s" in str(caught.value)


@responses.activate
def test_error_reason_from_the_provider_is_redacted():
    responses.post(URL, status=400, json={"error": f"bad key {API_KEY} $1$123$abcdefgh"})
    with pytest.raises(UpstreamRejected) as caught:
        client().send_invitation(REQUEST)
    assert API_KEY not in str(caught.value)
    assert "$1$123$" not in str(caught.value)


@pytest.mark.parametrize(
    "body", ["<html>oops</html>", "[1, 2]", '{"invitationText": "x"}', '{"sessionKey": ""}']
)
@responses.activate
def test_unreadable_success_is_ambiguous(body):
    responses.post(URL, body=body, status=200, content_type="application/json")
    with pytest.raises(UpstreamBadResponse) as caught:
        client().send_invitation(REQUEST)
    assert caught.value.ambiguous and not caught.value.retryable
    assert "may or may not have been sent" in str(caught.value)


def test_connection_refused_is_certain_and_retryable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on `port` now.
    with pytest.raises(UpstreamConnectionError) as caught:
        client(base_url=f"http://127.0.0.1:{port}").send_invitation(REQUEST)
    assert caught.value.retryable and not caught.value.ambiguous
    assert "nothing was sent" in str(caught.value)


def _server(handle):
    """A one-connection TCP server on loopback running `handle(conn)`; returns its URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve():
        conn, _ = listener.accept()
        with conn:
            handle(conn)
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_read_timeout_after_sending_is_ambiguous():
    done = threading.Event()
    url = _server(lambda conn: (conn.recv(65536), done.wait(5)))
    try:
        with pytest.raises(UpstreamTimeout) as caught:
            client(base_url=url, read_timeout=0.3).send_invitation(REQUEST)
    finally:
        done.set()
    assert caught.value.ambiguous and not caught.value.retryable
    assert "may or may not have been sent" in str(caught.value)


def test_connection_dropped_after_sending_is_ambiguous():
    url = _server(lambda conn: conn.recv(65536))
    with pytest.raises(UpstreamConnectionLost) as caught:
        client(base_url=url).send_invitation(REQUEST)
    assert caught.value.ambiguous


def test_unusable_base_url_is_a_configuration_error():
    with pytest.raises(UpstreamConfigurationError, match="base URL"):
        client(base_url="not a url").send_invitation(REQUEST)


def test_email_is_not_a_glance_channel():
    email = InvitationRequest(channel="email", destination="a@b.c", agent_id="a", session_type=1)
    with pytest.raises(UpstreamConfigurationError, match="only send SMS"):
        client().send_invitation(email)
