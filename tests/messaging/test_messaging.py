"""The messages the portal writes and sends itself: an OnSync personal link by SMS or e-mail."""

import smtplib
import socket
import threading
from collections.abc import Sequence
from typing import ClassVar

import pytest
import responses
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from invitations.channels.sms import SmsMessage, locmem
from invitations.messaging import render, send
from invitations.models import Channel, Invitee, Session
from invitations.providers.base import (
    UpstreamConnectionError,
    UpstreamConnectionLost,
    UpstreamError,
    UpstreamRejected,
    UpstreamUnavailable,
)

LINK = "https://join.onsync.invalid/join/s_8f3a2c/p/7d1e?lang=en&src=portal"
PLAIN_LINK = "https://join.onsync.invalid/join/s_8f3a2c/p/7d1e"
PHONE = "+14155550134"
ADDRESS = "ann.lee@example.com"


# --- e-mail backends that fail the way SMTP does --------------------------------------------


class FailingEmailBackend(BaseEmailBackend):
    error: ClassVar[BaseException]

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        raise self.error


class RecipientsRefusedBackend(FailingEmailBackend):
    error = smtplib.SMTPRecipientsRefused({ADDRESS: (550, b"5.1.1 no such user")})


class SenderRefusedBackend(FailingEmailBackend):
    error = smtplib.SMTPSenderRefused(553, b"sender not allowed", "noreply@localhost")


class ConnectionRefusedBackend(FailingEmailBackend):
    error = ConnectionRefusedError(111, "Connection refused")


class UnknownHostBackend(FailingEmailBackend):
    error = socket.gaierror(-2, "Name or service not known")


class ConnectErrorBackend(FailingEmailBackend):
    error = smtplib.SMTPConnectError(421, b"too busy")


class DisconnectedBackend(FailingEmailBackend):
    error = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class DataErrorBackend(FailingEmailBackend):
    error = smtplib.SMTPDataError(451, b"local error")


class TimeoutBackend(FailingEmailBackend):
    error = TimeoutError("timed out")


HERE = __name__


# --- rows -----------------------------------------------------------------------------------


@pytest.fixture
def session(make_credential, make_agent) -> Session:
    credential = make_credential(label="unit-onsync", base_url="https://onsync.invalid/v1")
    agent = make_agent(credential=credential, password=None)  # no hashing: faster
    agent.first_name = "Bea"
    agent.save()
    return Session.objects.create(
        credential=credential, created_by=agent, session_type=1, session_key="s_8f3a2c"
    )


@pytest.fixture
def make_invitee(session):
    def make(channel: str = Channel.SMS, destination: str = PHONE, name: str = "Ann") -> Invitee:
        return Invitee.objects.create(
            session=session, channel=channel, destination=destination, name=name
        )

    return make


@pytest.fixture(autouse=True)
def empty_sms_outbox():
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


# --- render_invitation ----------------------------------------------------------------------


def test_sms_is_one_text_with_greeting_agent_and_raw_link(make_invitee):
    message = render.render_invitation(invitee=make_invitee(name="Ann & Co"), link=LINK)
    assert message.subject == ""
    assert message.html == ""
    assert message.text.startswith("Hi Ann & Co, this is Bea from Customer Support. Tap to")
    assert message.text.endswith(LINK)
    assert "&amp;" not in message.text
    assert "\n" not in message.text
    SmsMessage(to=PHONE, body=message.text).validate()


def test_sms_without_a_name_greets_without_one(make_invitee):
    text = render.render_invitation(invitee=make_invitee(name=""), link=LINK).text
    assert text.startswith("Hello, this is Bea from Customer Support. Tap to")
    assert "Hi" not in text
    assert LINK in text


def test_the_display_name_introduces_the_agent_before_the_first_name(make_invitee, session):
    profile = session.created_by.agent_profile
    profile.display_name = "Maria"
    profile.save()
    invitee = Invitee.objects.get(pk=make_invitee().pk)  # fresh, so the agent is re-read
    text = render.render_invitation(invitee=invitee, link=LINK).text
    assert text.startswith("Hi Ann, this is Maria from Customer Support. ")
    assert "Bea" not in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Hi Ann, this is your support agent from Customer Support. "),
        ("de", "Hallo Ann, hier ist Ihre Ansprechperson von Customer Support. "),
    ],
)
def test_an_agent_without_a_name_is_never_named_by_username(
    make_invitee, session, language, expected
):
    session.created_by.first_name = ""
    session.created_by.save()
    invitee = make_invitee()
    invitee.language = language
    invitee.save()
    invitee = Invitee.objects.get(pk=invitee.pk)  # fresh, so the agent is re-read
    text = render.render_invitation(invitee=invitee, link=LINK).text
    assert text.startswith(expected)
    assert "ann " not in text.lower().replace("hi ann,", "").replace("hallo ann,", "")


def test_email_subject_text_and_html_all_carry_the_link(make_invitee):
    invitee = make_invitee(channel=Channel.EMAIL, destination=ADDRESS, name="Ann")
    message = render.render_invitation(invitee=invitee, link=PLAIN_LINK)
    assert message.subject == "Customer Support: share your screen"
    assert message.text.startswith("Hi Ann,")
    assert PLAIN_LINK in message.text
    assert f'href="{PLAIN_LINK}"' in message.html
    assert "Hi Ann," in message.html


def test_email_escapes_for_html_only(make_invitee):
    invitee = make_invitee(channel=Channel.EMAIL, destination=ADDRESS, name="<b>Ann</b>")
    message = render.render_invitation(invitee=invitee, link=LINK)
    assert "&lt;b&gt;Ann&lt;/b&gt;" in message.html
    assert "<b>Ann</b>" not in message.html
    # HTML needs `&` in an attribute written as `&amp;`; plain text keeps it as it is.
    assert f'href="{LINK.replace("&", "&amp;")}"' in message.html
    assert "Hi <b>Ann</b>," in message.text
    assert LINK in message.text
    assert "&amp;" not in message.text
    assert "\n" not in message.subject


def test_email_without_a_name_says_hello(make_invitee):
    invitee = make_invitee(channel=Channel.EMAIL, destination=ADDRESS, name="")
    message = render.render_invitation(invitee=invitee, link=PLAIN_LINK)
    assert message.text.startswith("Hello,")
    assert "<p>Hello,</p>" in message.html


# --- deliver_personal_link ------------------------------------------------------------------


def test_email_is_sent_with_text_and_html(make_invitee, settings):
    invitee = make_invitee(channel=Channel.EMAIL, destination=ADDRESS, name="Ann")
    delivered = send.deliver_personal_link(invitee=invitee, link=PLAIN_LINK)
    sent_text = delivered.text
    rendered = render.render_invitation(invitee=invitee, link=PLAIN_LINK)

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [ADDRESS]
    assert email.from_email == settings.DEFAULT_FROM_EMAIL
    assert email.subject == rendered.subject
    assert email.body == rendered.text
    assert isinstance(email, mail.EmailMultiAlternatives)
    assert [(content, mimetype) for content, mimetype in email.alternatives] == [
        (rendered.html, "text/html")
    ]
    assert sent_text == rendered.text
    assert PLAIN_LINK in sent_text
    assert locmem.outbox == []
    # Receipts are matched by the Message-ID the e-mail went out with.
    assert email.extra_headers["Message-ID"] == delivered.message_id
    assert delivered.message_id.startswith("<") and delivered.message_id.endswith(">")


def test_sms_goes_through_the_sms_backend(make_invitee, settings):
    settings.SMS_BACKEND = "invitations.channels.sms.locmem.LocmemSmsBackend"
    invitee = make_invitee(channel=Channel.SMS, destination=PHONE, name="Ann")
    delivered = send.deliver_personal_link(invitee=invitee, link=LINK)
    sent_text = delivered.text

    assert locmem.outbox == [
        SmsMessage(
            to=PHONE,
            body=sent_text,
            reference=f"inv-{invitee.pk}",
            status_callback=settings.SMS_STATUS_CALLBACK_URL,
            message_id=delivered.message_id,
        )
    ]
    assert delivered.message_id == "locmem-1"
    assert LINK in sent_text
    assert sent_text.startswith("Hi Ann,")
    assert mail.outbox == []


@responses.activate
def test_sms_gateway_failures_keep_their_type(make_invitee, settings):
    settings.SMS_BACKEND = "invitations.channels.sms.http.HttpSmsBackend"
    settings.SMS_GATEWAY_URL = "https://sms.invalid"
    settings.SMS_GATEWAY_TOKEN = "sms-unit-token"
    responses.post("https://sms.invalid/messages", status=503)
    with pytest.raises(UpstreamUnavailable):
        send.deliver_personal_link(invitee=make_invitee(), link=LINK)
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    ("backend", "error_type", "retryable", "ambiguous"),
    [
        ("RecipientsRefusedBackend", UpstreamRejected, False, False),
        ("SenderRefusedBackend", UpstreamRejected, False, False),
        ("ConnectionRefusedBackend", UpstreamConnectionError, True, False),
        ("UnknownHostBackend", UpstreamConnectionError, True, False),
        ("ConnectErrorBackend", UpstreamConnectionError, True, False),
        ("DisconnectedBackend", UpstreamConnectionLost, False, True),
        ("DataErrorBackend", UpstreamConnectionLost, False, True),
        ("TimeoutBackend", UpstreamConnectionLost, False, True),
    ],
)
def test_smtp_failures_map_to_typed_errors(
    make_invitee, settings, backend, error_type, retryable, ambiguous
):
    settings.EMAIL_BACKEND = f"{HERE}.{backend}"
    invitee = make_invitee(channel=Channel.EMAIL, destination=ADDRESS)
    with pytest.raises(error_type) as caught:
        send.deliver_personal_link(invitee=invitee, link=LINK)
    error = caught.value
    assert type(error) is error_type
    assert (error.retryable, error.ambiguous) == (retryable, ambiguous)
    assert error.provider == "email"
    assert error.__cause__ is globals()[backend].error
    assert mail.outbox == []


def test_recipient_refused_says_to_check_the_address(make_invitee, settings):
    settings.EMAIL_BACKEND = f"{HERE}.RecipientsRefusedBackend"
    invitee = make_invitee(channel=Channel.EMAIL, destination=ADDRESS)
    with pytest.raises(UpstreamRejected, match="Check the e-mail address"):
        send.deliver_personal_link(invitee=invitee, link=LINK)


def test_lost_connection_says_the_mail_may_have_been_sent(make_invitee, settings):
    settings.EMAIL_BACKEND = f"{HERE}.DisconnectedBackend"
    invitee = make_invitee(channel=Channel.EMAIL, destination=ADDRESS)
    with pytest.raises(UpstreamConnectionLost, match="may or may not have been sent"):
        send.deliver_personal_link(invitee=invitee, link=LINK)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _smtp_settings(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5


def test_real_smtp_backend_with_nothing_listening_is_retryable(make_invitee, settings):
    _smtp_settings(settings, _closed_port())
    invitee = make_invitee(channel=Channel.EMAIL, destination=ADDRESS)
    with pytest.raises(UpstreamConnectionError) as caught:
        send.deliver_personal_link(invitee=invitee, link=LINK)
    assert caught.value.retryable


def test_real_smtp_backend_whose_server_hangs_up_is_ambiguous(make_invitee, settings):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def hang_up() -> None:
        conn, _ = listener.accept()
        conn.close()
        listener.close()

    threading.Thread(target=hang_up, daemon=True).start()
    _smtp_settings(settings, listener.getsockname()[1])
    invitee = make_invitee(channel=Channel.EMAIL, destination=ADDRESS)
    with pytest.raises(UpstreamError) as caught:
        send.deliver_personal_link(invitee=invitee, link=LINK)
    assert type(caught.value) is UpstreamConnectionLost
    assert caught.value.ambiguous
