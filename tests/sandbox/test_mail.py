"""The embedded default's e-mail backend keeps what the portal sends itself in the outbox, then
hands it on (to the console by default), and counts as a backend that reaches nobody."""

import io

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives, get_connection

from invitations.choices import Channel
from invitations.messaging.send import backend_only_prints
from sandbox.models import OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox_backend(settings):
    settings.EMAIL_BACKEND = "sandbox.mail.OutboxEmailBackend"
    settings.SANDBOX_EMAIL_FORWARD_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings


def invitation_email() -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject="Your support session",
        body="Hi Ann, tap to join: http://127.0.0.1:8123/sandbox/onsync/join/abc/",
        from_email="agentportal <noreply@localhost>",
        to=["Ann Lee <ann@example.com>"],
    )
    email.attach_alternative("<p>Hi Ann</p>", "text/html")
    return email


def test_portal_email_is_kept_in_the_outbox_and_handed_on(outbox_backend):
    assert invitation_email().send() == 1

    kept = OutboxMessage.objects.get()
    assert (kept.provider, kept.channel, kept.to) == ("portal", "email", "ann@example.com")
    assert kept.body == invitation_email().body
    assert [m.subject for m in mail.outbox] == ["Your support session"]


def test_staff_find_it_in_the_outbox_json(outbox_backend, signed_in_staff):
    invitation_email().send()

    listed = signed_in_staff.get("/sandbox/outbox/?format=json&channel=email").json()
    (message,) = listed["messages"]
    assert message["to"] == "ann@example.com"
    assert "tap to join: http://127.0.0.1:8123/sandbox/onsync/join/abc/" in message["body"]


def test_it_hands_on_to_the_console_with_addresses_masked(settings):
    settings.SANDBOX_EMAIL_FORWARD_BACKEND = "invitations.channels.email.ConsoleEmailBackend"
    stream = io.StringIO()
    connection = get_connection("sandbox.mail.OutboxEmailBackend", stream=stream)

    assert connection.send_messages([invitation_email()]) == 1
    assert "E-mail to a•••@example.com" in stream.getvalue()
    assert "ann@example.com" not in stream.getvalue()
    assert OutboxMessage.objects.get().to == "ann@example.com"


def test_nothing_to_send_keeps_nothing(outbox_backend):
    assert get_connection().send_messages([]) == 0
    assert not OutboxMessage.objects.exists()


def test_the_portal_counts_it_as_reaching_nobody(outbox_backend):
    """Outside development the portal then refuses to e-mail itself, as with the console."""
    assert backend_only_prints(Channel.EMAIL)
