"""The portal's SMS backends: the message checks, the test and console backends, the backend
setting, and the HTTP gateway backend's requests and errors."""

import json
import socket
from typing import Any

import pytest
import responses
from django.core.exceptions import ImproperlyConfigured

from invitations.channels.sms import BaseSmsBackend, SmsMessage, get_sms_backend, locmem
from invitations.channels.sms.console import ConsoleSmsBackend
from invitations.channels.sms.http import HttpSmsBackend
from invitations.channels.sms.locmem import LocmemSmsBackend
from invitations.providers.base import (
    UpstreamAuthError,
    UpstreamConnectionError,
    UpstreamRejected,
    UpstreamUnavailable,
)
from invitations.security.redaction import destination_hash

GATEWAY = "https://sms.invalid/gw"
GATEWAY_TOKEN = "sms-unit-token-93c1aa"
MESSAGE = SmsMessage(
    to="+14155550134", body="Tap to join: https://j.invalid/a?x=1&y=2", reference="inv-7"
)


def timeout_of(request: Any) -> object:
    """The timeout requests was given; responses records the call's keyword arguments."""
    return request.req_kwargs["timeout"]


@pytest.fixture(autouse=True)
def empty_outbox():
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


@pytest.fixture
def gateway_settings(settings):
    settings.SMS_GATEWAY_URL = GATEWAY + "/"
    settings.SMS_GATEWAY_TOKEN = GATEWAY_TOKEN
    return settings


# --- SmsMessage.validate --------------------------------------------------------------------


@pytest.mark.parametrize(
    "to",
    ["+14155550134", "+447911123456", "+4915123456789", "+1234567", "+123456789012345"],
)
def test_e164_numbers_are_valid(to):
    SmsMessage(to=to, body="hi").validate()


@pytest.mark.parametrize(
    "to",
    [
        "",
        "14155550134",
        "+04155550134",
        "+1 415 555 0134",
        "+1-415-555-0134",
        "(415) 555-0134",
        "+123456",  # 6 digits: too short
        "+1234567890123456",  # 16 digits: too long
        "+1415555013a",
        "tel:+14155550134",
        " +14155550134",
        "+14155550134 ",
        "ann@example.com",
    ],
)
def test_anything_but_e164_is_refused(to):
    with pytest.raises(ValueError, match=r"E\.164"):
        SmsMessage(to=to, body="hi").validate()


def test_a_trailing_newline_is_not_e164():
    with pytest.raises(ValueError, match=r"E\.164"):
        SmsMessage(to="+14155550134\n", body="hi").validate()


@pytest.mark.parametrize("length", [1, 160, 1600])
def test_bodies_of_1_to_1600_characters_are_valid(length):
    SmsMessage(to="+14155550134", body="x" * length).validate()


@pytest.mark.parametrize("length", [0, 1601, 5000])
def test_empty_or_too_long_bodies_are_refused(length):
    with pytest.raises(ValueError, match="1 to 1600"):
        SmsMessage(to="+14155550134", body="x" * length).validate()


def test_body_length_counts_characters_not_bytes():
    SmsMessage(to="+14155550134", body="é" * 1600).validate()


# --- LocmemSmsBackend -----------------------------------------------------------------------


def test_locmem_backend_appends_to_the_outbox():
    second = SmsMessage(to="+447911123456", body="second")
    assert LocmemSmsBackend().send_messages([MESSAGE, second]) == 2
    assert locmem.outbox == [MESSAGE, second]
    assert LocmemSmsBackend().send_messages([MESSAGE]) == 1
    assert locmem.outbox == [MESSAGE, second, MESSAGE]


def test_locmem_backend_validates_and_sends_nothing_from_a_bad_batch():
    bad = SmsMessage(to="4155550134", body="hi")
    with pytest.raises(ValueError, match=r"E\.164"):
        LocmemSmsBackend().send_messages([MESSAGE, bad])
    assert locmem.outbox == []


def test_locmem_backend_sends_nothing_for_an_empty_list():
    assert LocmemSmsBackend().send_messages([]) == 0
    assert locmem.outbox == []


# --- ConsoleSmsBackend ----------------------------------------------------------------------


def test_console_backend_writes_masked_recipient_and_body(capsys):
    assert ConsoleSmsBackend().send_messages([MESSAGE]) == 1
    out = capsys.readouterr().out
    # The console is a log: the number is masked, with the hash log lines use.
    assert "+14155550134" not in out and "4155550134" not in out
    assert f"SMS to ••• ••• 0134 (#{destination_hash('+14155550134')})" in out
    assert MESSAGE.body in out
    assert out.index("0134") < out.index(MESSAGE.body)


def test_console_backend_validates(capsys):
    with pytest.raises(ValueError, match="1 to 1600"):
        ConsoleSmsBackend().send_messages([SmsMessage(to="+14155550134", body="")])
    assert capsys.readouterr().out == ""


# --- get_sms_backend and options ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("invitations.channels.sms.locmem.LocmemSmsBackend", LocmemSmsBackend),
        ("invitations.channels.sms.console.ConsoleSmsBackend", ConsoleSmsBackend),
        ("invitations.channels.sms.http.HttpSmsBackend", HttpSmsBackend),
    ],
)
def test_get_sms_backend_follows_the_setting(gateway_settings, path, expected):
    gateway_settings.SMS_BACKEND = path
    backend = get_sms_backend()
    assert type(backend) is expected


def test_get_sms_backend_passes_options(gateway_settings):
    gateway_settings.SMS_BACKEND = "invitations.channels.sms.http.HttpSmsBackend"
    backend = get_sms_backend(url="https://other.invalid/", token="other-token")
    assert isinstance(backend, HttpSmsBackend)
    assert (backend.url, backend.token) == ("https://other.invalid", "other-token")


def test_get_sms_backend_with_an_unknown_class_fails(settings):
    settings.SMS_BACKEND = "invitations.channels.sms.locmem.NoSuchBackend"
    with pytest.raises(ImportError):
        get_sms_backend()


def test_unknown_options_are_refused_by_name(settings):
    settings.SMS_BACKEND = "invitations.channels.sms.locmem.LocmemSmsBackend"
    with pytest.raises(ImproperlyConfigured, match=r"LocmemSmsBackend.*colour"):
        get_sms_backend(colour="red")
    with pytest.raises(ImproperlyConfigured, match="sender, retries"):
        BaseSmsBackend(sender="x", retries=3)


def test_base_backend_must_be_subclassed():
    with pytest.raises(NotImplementedError):
        BaseSmsBackend().send_messages([MESSAGE])


def test_backend_context_manager_opens_and_closes():
    events: list[str] = []

    class Recording(LocmemSmsBackend):
        def open(self) -> None:
            events.append("open")

        def close(self) -> None:
            events.append("close")

    with Recording() as backend:
        backend.send_messages([MESSAGE])
        events.append("sent")
    assert events == ["open", "sent", "close"]
    assert locmem.outbox == [MESSAGE]


# --- HttpSmsBackend -------------------------------------------------------------------------


@responses.activate
def test_http_backend_posts_each_message_with_the_bearer_token(gateway_settings):
    responses.post(f"{GATEWAY}/messages", status=202, json={"id": "m_5b2e", "status": "accepted"})
    second = SmsMessage(to="+447911123456", body="second")
    with HttpSmsBackend() as backend:
        assert backend.send_messages([MESSAGE, second]) == 2

    assert len(responses.calls) == 2
    bodies = []
    for call in responses.calls:
        sent = call.request
        assert (sent.method, sent.url) == ("POST", f"{GATEWAY}/messages")
        assert sent.headers["Authorization"] == f"Bearer {GATEWAY_TOKEN}"
        assert sent.headers["Content-Type"] == "application/json"
        assert timeout_of(sent) == (
            gateway_settings.UPSTREAM_CONNECT_TIMEOUT,
            gateway_settings.UPSTREAM_READ_TIMEOUT,
        )
        assert sent.body is not None
        bodies.append(json.loads(sent.body))
    assert bodies == [
        {"to": "+14155550134", "body": MESSAGE.body, "reference": "inv-7"},
        {"to": "+447911123456", "body": "second", "reference": ""},
    ]


@responses.activate
def test_http_backend_options_override_the_settings(settings):
    settings.SMS_GATEWAY_URL = ""
    settings.SMS_GATEWAY_TOKEN = ""
    responses.post("https://other.invalid/v2/messages", status=202, json={"id": "m_1"})
    HttpSmsBackend(url="https://other.invalid/v2", token="opt-token").send_messages([MESSAGE])
    assert responses.calls[0].request.headers["Authorization"] == "Bearer opt-token"


@responses.activate
def test_http_backend_validates_before_sending(gateway_settings):
    with pytest.raises(ValueError, match=r"E\.164"):
        HttpSmsBackend().send_messages([SmsMessage(to="415 555 0134", body="hi")])
    assert len(responses.calls) == 0


@responses.activate
def test_http_backend_401_is_an_auth_error_without_the_token(gateway_settings):
    responses.post(
        f"{GATEWAY}/messages", status=401, json={"error": f"unknown token {GATEWAY_TOKEN}"}
    )
    with pytest.raises(UpstreamAuthError) as caught:
        HttpSmsBackend().send_messages([MESSAGE])
    error = caught.value
    assert error.status_code == 401
    assert "SMS_GATEWAY_TOKEN" in str(error)
    assert GATEWAY_TOKEN not in str(error)
    assert GATEWAY_TOKEN not in repr(error)
    assert (error.retryable, error.ambiguous) == (False, False)


@responses.activate
def test_http_backend_maps_other_statuses(gateway_settings):
    responses.post(f"{GATEWAY}/messages", status=400, json={"error": "to must be E.164"})
    with pytest.raises(UpstreamRejected, match=r"to must be E\.164"):
        HttpSmsBackend().send_messages([MESSAGE])
    responses.replace(responses.POST, f"{GATEWAY}/messages", status=503)
    with pytest.raises(UpstreamUnavailable) as caught:
        HttpSmsBackend().send_messages([MESSAGE])
    assert caught.value.retryable


def test_http_backend_connection_refused_is_retryable(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on `port` now.
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{port}"
    settings.SMS_GATEWAY_TOKEN = GATEWAY_TOKEN
    with pytest.raises(UpstreamConnectionError) as caught:
        HttpSmsBackend().send_messages([MESSAGE])
    error = caught.value
    assert (error.retryable, error.ambiguous) == (True, False)
    assert "nothing was sent" in str(error)
    assert error.provider == "sms-gateway"


@pytest.mark.parametrize(
    ("url", "token"), [("", GATEWAY_TOKEN), (GATEWAY, ""), ("", ""), ("/", GATEWAY_TOKEN)]
)
def test_http_backend_needs_url_and_token(settings, url, token):
    settings.SMS_GATEWAY_URL = url
    settings.SMS_GATEWAY_TOKEN = token
    with pytest.raises(ImproperlyConfigured, match="SMS_GATEWAY_URL and SMS_GATEWAY_TOKEN"):
        HttpSmsBackend()


def test_get_sms_backend_reports_a_missing_gateway(settings):
    settings.SMS_BACKEND = "invitations.channels.sms.http.HttpSmsBackend"
    settings.SMS_GATEWAY_URL = ""
    with pytest.raises(ImproperlyConfigured):
        get_sms_backend()


@responses.activate
def test_http_backend_close_releases_the_session(gateway_settings):
    responses.post(f"{GATEWAY}/messages", status=202, json={"id": "m_1"})
    backend = HttpSmsBackend()
    with backend:
        assert backend.api is not None
        backend.send_messages([MESSAGE])
    assert backend.api is None
    # It reopens on demand.
    backend.send_messages([MESSAGE])
    assert backend.api is not None
    assert len(responses.calls) == 2


def test_http_backend_rejects_unknown_options_by_name(settings):
    from django.core.exceptions import ImproperlyConfigured

    from invitations.channels.sms.http import HttpSmsBackend

    with pytest.raises(ImproperlyConfigured, match="sender_id"):
        HttpSmsBackend(url="https://gw.invalid", token="t", sender_id="X")
