"""The real Glance client talking to the real sandbox over HTTP on a live test server."""

import re

import pytest
from django.urls import reverse

from invitations import services
from invitations.models import DeliveryStatus, Invitee, Session
from invitations.providers.base import InvitationRequest, ProviderAccount, UpstreamAuthError
from invitations.providers.glance import GlanceClient
from sandbox.models import OutboxMessage

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_client_sends_an_sms_invitation_the_sandbox_accepts(sandbox_url, settings):
    account = ProviderAccount(
        label="it",
        base_url=sandbox_url,
        group_id=settings.SANDBOX_GLANCE_GROUP_ID,
        auth_type="gkey",
        secret=settings.SANDBOX_GLANCE_API_KEY,
    )
    request = InvitationRequest(
        channel="sms", destination="+14155550134", agent_id="jo & co/1", session_type=3
    )
    with GlanceClient(account=account) as client:
        first = client.send_invitation(request)
        second = client.send_invitation(request)
    assert first.http_status == 200 and first.session_key != second.session_key
    assert first.join_url.endswith(f"/sandbox/glance/join/{first.session_key}/")
    messages = OutboxMessage.objects.order_by("id")
    assert [m.session_key for m in messages] == [first.session_key, second.session_key]
    assert {(m.to, m.partner_user_id, m.session_type) for m in messages} == {
        ("+14155550134", "jo & co/1", 3)
    }


def test_wrong_api_key_is_refused_by_the_sandbox(sandbox_url, settings):
    account = ProviderAccount(
        label="it", base_url=sandbox_url, group_id=72, auth_type="gkey", secret="wrong-key"
    )
    request = InvitationRequest(
        channel="sms", destination="+14155550134", agent_id="a", session_type=1
    )
    with pytest.raises(UpstreamAuthError) as caught, GlanceClient(account=account) as client:
        client.send_invitation(request)
    assert caught.value.status_code == 401
    assert "signature does not match" in str(caught.value)
    assert not OutboxMessage.objects.exists()


def test_one_click_in_the_agent_page_reaches_the_sandbox_outbox(
    client, make_agent, sandbox_credential
):
    agent = make_agent(credential=sandbox_credential)
    client.force_login(agent)
    page = client.get(reverse("invitations:home")).content.decode()
    key = re.search(r'name="idempotency_key" value="(\w+)"', page)
    assert key
    response = client.post(
        reverse("invitations:home"),
        {"destination": "+44 20 7946 0958", "name": "Sam", "idempotency_key": key.group(1)},
    )
    session = Session.objects.get()
    assert response.url == session.get_absolute_url()
    invitee = Invitee.objects.get()
    assert invitee.status == DeliveryStatus.SENT
    message = OutboxMessage.objects.get()
    assert message.to == "+442079460958"
    assert message.session_key == session.session_key
    assert message.partner_user_id == "ann-77"
    detail = client.get(response.url).content.decode()
    assert session.session_key in detail
    assert message.body in detail
    assert "status-sent" in detail


def test_refused_credential_is_failed_with_an_actionable_message(
    make_agent, make_credential, sandbox_url
):
    bad = make_credential(label="bad-key", base_url=sandbox_url, api_key="not-the-sandbox-key")
    agent = make_agent(credential=bad)
    invitee = services.invitation_create(agent=agent, destination="(415) 555-0134")
    invitee.refresh_from_db()
    assert invitee.status == DeliveryStatus.FAILED
    assert "did not accept the credential 'bad-key' (401" in invitee.last_error
    assert "check its API key" in invitee.last_error
    assert Session.objects.filter(pk=invitee.session_id).exists()
    assert not OutboxMessage.objects.exists()


def test_unreachable_provider_fails_and_keeps_rows(make_agent, make_credential):
    dead = make_credential(label="dead", base_url="http://127.0.0.1:9")
    agent = make_agent(credential=dead)
    invitee = services.invitation_create(agent=agent, destination="(415) 555-0134")
    invitee.refresh_from_db()
    assert invitee.status == DeliveryStatus.FAILED
    assert "Could not connect to Glance; nothing was sent" in invitee.last_error
