"""Outside development, SMS and e-mail the portal would only print are not reported as sent:
those channels are unavailable, the agent page says why, and sending is refused."""

import io

import pytest
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from invitations import services
from invitations.channels.email import ConsoleEmailBackend
from invitations.channels.sms import locmem as sms_outbox
from invitations.errors import NotConfigured
from invitations.models import DeliveryStatus, Invitee, Session

pytestmark = pytest.mark.django_db
HOME = reverse("invitations:home")
SMTP = "django.core.mail.backends.smtp.EmailBackend"


@pytest.fixture
def production_like(settings):
    """No printing backend counts as delivery; SMS still go to a printing (in-memory) backend,
    e-mail to a mail server."""
    settings.CONSOLE_DELIVERY_ALLOWED = False
    settings.SMS_BACKEND = "invitations.channels.sms.console.ConsoleSmsBackend"
    settings.EMAIL_BACKEND = SMTP
    return settings


@pytest.fixture
def pat(make_agent, portal_credential):
    return make_agent(username="pat", credential=portal_credential)


def test_agent_page_offers_only_what_can_be_delivered_and_says_why(
    client, pat, portal_credential, production_like
):
    client.force_login(pat)
    html = client.get(HOME).content.decode()
    assert "Send SMS" not in html
    assert "Send e-mail" in html
    assert "SMS cannot be sent with this credential: no SMS gateway is set up" in html
    assert "SMS_GATEWAY_URL" in html


def test_sending_an_sms_only_printed_is_refused_with_the_reason(
    client, pat, portal_credential, production_like, locmem_upstream, capsys
):
    client.force_login(pat)
    response = client.post(
        HOME,
        {"destination": "(415) 555-0134", "channel": "sms", "idempotency_key": "k1"},
    )
    assert response.status_code == 400
    assert "no SMS gateway is set up" in response.content.decode()
    assert not Session.objects.exists()
    assert locmem_upstream.outbox == []
    assert "SMS to" not in capsys.readouterr().out
    with pytest.raises(NotConfigured, match="no SMS gateway"):
        services.invitation_create(agent=pat, destination="(415) 555-0134", channel="sms")


def test_email_only_printed_is_refused_too(pat, portal_credential, production_like):
    production_like.EMAIL_BACKEND = "invitations.channels.email.ConsoleEmailBackend"
    with pytest.raises(NotConfigured, match=r"no mail server is set up.*EMAIL_URL"):
        services.invitation_create(agent=pat, destination="ann@example.com")
    assert not Invitee.objects.exists()


def test_queued_before_the_gateway_went_away_fails_without_calling_the_provider(
    pat, portal_credential, settings, locmem_upstream, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "invitations.channels.sms.http.HttpSmsBackend"
    settings.CONSOLE_DELIVERY_ALLOWED = False
    invitee = services.invitation_create(agent=pat, destination="(415) 555-0134", channel="sms")
    settings.SMS_BACKEND = "invitations.channels.sms.console.ConsoleSmsBackend"

    delivered = services.invitee_deliver(invitee_id=invitee.pk)

    assert delivered is not None
    assert delivered.status == DeliveryStatus.FAILED
    assert "no SMS gateway is set up" in delivered.last_error
    assert locmem_upstream.outbox == []
    with pytest.raises(NotConfigured, match="no SMS gateway"):
        services.invitee_resend(invitee=delivered, actor=pat)


def test_provider_sent_messages_do_not_depend_on_the_portals_backends(
    agent_client, production_like
):
    html = agent_client.get(HOME).content.decode()
    assert "Send SMS" in html  # Glance sends the SMS itself
    assert "cannot be sent" not in html


def test_development_prints_and_counts_as_sent(
    pat, portal_credential, settings, django_capture_on_commit_callbacks
):
    settings.CONSOLE_DELIVERY_ALLOWED = True
    settings.SMS_BACKEND = "invitations.channels.sms.locmem.LocmemSmsBackend"
    sms_outbox.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        invitee = services.invitation_create(agent=pat, destination="(415) 555-0134")
    invitee.refresh_from_db()
    assert invitee.status == DeliveryStatus.SENT
    assert len(sms_outbox.outbox) == 1


def test_console_email_never_prints_the_address():
    stream = io.StringIO()
    message = EmailMultiAlternatives(
        "Your session",
        "Hi Ann, join: https://example.test/j/1",
        "portal <noreply@localhost>",
        ["ann.lee@example.com"],
        cc=["Bo <bo@example.org>"],
    )
    message.attach_alternative("<p>Hi Ann</p>", "text/html")

    assert ConsoleEmailBackend(stream=stream).send_messages([message]) == 1

    out = stream.getvalue()
    assert "ann.lee@example.com" not in out and "bo@example.org" not in out
    assert out.startswith("E-mail to a•••@example.com, b•••@example.org\n")
    assert "join: https://example.test/j/1" in out
    assert message.to == ["ann.lee@example.com"]  # the message itself is untouched
