"""Upstream calls never follow a redirect: the sandbox answers 307 to another local server,
and neither the secret headers nor the body (the customer's number) reach it. The invitation
fails, once, with a message that names the redirect."""

import pytest
from django.core import mail

from invitations import services
from invitations.models import DeliveryAttempt, DeliveryStatus
from sandbox import faults
from sandbox.models import OutboxMessage, SandboxRequest
from tests.support.stub_servers import capture_server, redirect_server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

NUMBER = "+14155550134"


def invite(agent, destination):
    invitee = services.invitation_create(agent=agent, destination=destination, name="Ann")
    invitee.refresh_from_db()
    return invitee


def assert_failed_on_the_redirect(invitee, target):
    assert invitee.status == DeliveryStatus.FAILED, (invitee.status, invitee.last_error)
    assert "redirect" in invitee.last_error
    host = target.url.removeprefix("http://")
    assert f"redirect to {host} (307)" in invitee.last_error
    assert "/stolen" not in invitee.last_error and "q=" not in invitee.last_error
    # Not retried: one attempt, and the base URL is what needs fixing.
    assert invitee.attempts == 1 and DeliveryAttempt.objects.filter(invitee=invitee).count() == 1
    assert target.received == []


@pytest.mark.parametrize("auth_header", ["x-gssnid", "authorization"])
def test_glance_redirect_is_not_followed_and_the_token_stays_home(
    make_credential, make_agent, sandbox_url, settings, auth_header
):
    credential = make_credential(
        label=f"glance-{auth_header}",
        base_url=sandbox_url,
        api_key=settings.SANDBOX_GLANCE_API_KEY,
        auth_type="gssnid",
        auth_header=auth_header,
    )
    with capture_server() as target:
        faults.inject("glance", "redirect", url=f"{target.url}/stolen?q=1")
        invitee = invite(make_agent(credential=credential), NUMBER)
    assert_failed_on_the_redirect(invitee, target)
    assert invitee.session.session_key == ""  # nothing from the other host was kept
    assert not OutboxMessage.objects.exists()


def test_onsync_redirect_is_not_followed(make_onsync_credential, make_agent):
    agent = make_agent(credential=make_onsync_credential(link_delivery="provider"))
    with capture_server() as target:
        faults.inject("onsync", "redirect", url=f"{target.url}/stolen?q=1")
        invitee = invite(agent, "ann@example.com")
    assert_failed_on_the_redirect(invitee, target)
    # OnSync answered only with the redirect: no session was made.
    assert list(
        SandboxRequest.objects.filter(target="onsync").values_list("status", flat=True)
    ) == [307]


def test_sms_gateway_redirect_is_not_followed(
    make_onsync_credential, make_agent, sandbox_sms_gateway
):
    agent = make_agent(credential=make_onsync_credential())
    with capture_server() as target:
        faults.inject("sms-gateway", "redirect", url=f"{target.url}/stolen?q=1")
        invitee = invite(agent, NUMBER)
    assert_failed_on_the_redirect(invitee, target)
    assert "SMS_GATEWAY_URL" in invitee.last_error
    assert not OutboxMessage.objects.exists()


def test_credential_check_refuses_a_redirect(sandbox_credential):
    with capture_server() as target:
        faults.inject("glance", "redirect", url=f"{target.url}/stolen")
        result = services.credential_check(credential=sandbox_credential, actor=None)
    assert not result.ok
    assert "redirect" in result.message
    assert target.received == []


def test_postmark_redirect_is_not_followed(
    live_server, settings, make_onsync_credential, make_agent
):
    """anymail's own backends follow redirects; the portal's Postmark backend does not. The
    redirect points at the sandbox's Postmark, which would otherwise accept the e-mail."""
    settings.EMAIL_BACKEND = "invitations.channels.email.PostmarkEmailBackend"
    postmark = f"{live_server.url}/sandbox/postmark/email"
    with redirect_server(postmark) as redirector:
        settings.ANYMAIL = {
            **settings.ANYMAIL,
            "POSTMARK_SERVER_TOKEN": settings.SANDBOX_POSTMARK_SERVER_TOKEN,
            "POSTMARK_API_URL": f"{redirector.url}/",
        }
        invitee = invite(make_agent(credential=make_onsync_credential()), "ann@example.com")
    assert invitee.status == DeliveryStatus.FAILED, (invitee.status, invitee.last_error)
    host = live_server.url.removeprefix("http://")
    assert f"redirect to {host} (307)" in invitee.last_error
    assert [r.path for r in redirector.received] == ["/email"]
    assert not OutboxMessage.objects.filter(provider="postmark").exists()
    assert mail.outbox == []
