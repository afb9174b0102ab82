"""The sandbox's OnSync hands back `javascript:` links (fault "link"): the invitation fails
with a clear message, nothing reaches the customer, and the link is kept nowhere."""

import pytest
from django.core import mail
from django.urls import reverse

from invitations import services
from invitations.models import DeliveryStatus
from sandbox import faults
from sandbox.models import OutboxMessage
from tests.support import onsync_wire

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

EVIL = "javascript:alert(document.cookie)//"


@pytest.mark.parametrize("destination", ["+14155550134", "ann@example.com"])
def test_an_unsafe_link_from_onsync_fails_the_delivery_and_sends_nothing(
    client, make_onsync_credential, make_agent, sandbox_sms_gateway, destination
):
    credential = make_onsync_credential()
    agent = make_agent(credential=credential)
    faults.inject("onsync", "link", url=EVIL)
    invitee = services.invitation_create(agent=agent, destination=destination, name="Ann")
    invitee.refresh_from_db()

    assert invitee.status == DeliveryStatus.FAILED, invitee.last_error
    assert "OnSync returned a 'javascript:' link" in invitee.last_error
    assert "nothing was sent to the customer" in invitee.last_error
    assert EVIL not in invitee.last_error
    # OnSync did add the invitee.
    assert len(onsync_wire.invitees(credential, invitee.session.session_key)) == 1
    assert not OutboxMessage.objects.exists()  # no SMS through the gateway
    assert mail.outbox == []
    assert invitee.personal_link == "" and invitee.session.join_url == ""
    assert invitee.session.session_key  # the session is still known, to end it later

    client.force_login(agent)
    page = client.get(reverse("invitations:session-detail", args=[invitee.session_id]))
    html = page.content.decode()
    assert EVIL not in html and 'href="javascript' not in html


def test_an_unsafe_link_when_onsync_sent_its_own_email_fails_the_delivery_and_says_so(
    client, make_onsync_credential, make_agent
):
    """OnSync e-mails the invitation itself here, so the portal cannot say nothing was sent;
    it still does not take the answer: the delivery fails and the agent learns why."""
    agent = make_agent(credential=make_onsync_credential(link_delivery="provider"))
    faults.inject("onsync", "link", url=EVIL)
    invitee = services.invitation_create(agent=agent, destination="ann@example.com")
    invitee.refresh_from_db()

    assert invitee.status == DeliveryStatus.FAILED, invitee.last_error
    assert "OnSync returned a 'javascript:' link" in invitee.last_error
    assert "OnSync may have sent its own invitation" in invitee.last_error
    assert EVIL not in invitee.last_error
    assert invitee.session.join_url == "" and invitee.session.session_key
    assert mail.outbox == []

    client.force_login(agent)
    page = client.get(reverse("invitations:session-detail", args=[invitee.session_id]))
    assert EVIL not in page.content.decode()


def test_sandbox_link_fault_puts_the_link_in_every_answer(make_onsync_credential):
    """Without the portal's check, this is what would be delivered."""
    credential = make_onsync_credential()
    faults.inject("onsync", "link", url=EVIL)
    participant = {
        "email": "ann@example.com",
        "first_name": "Ann",
        "last_name": " ",
        "role": 2,
        "send_email_invitation": False,
    }
    created = onsync_wire.write(
        credential,
        "PUT",
        {
            "topic": "t",
            "duration": 60,
            "start_time": "2030-01-01 12:00:00",
            "timezone": "UTC",
            "invited_participants": [participant],
        },
    )
    assert created.status_code == 201, created.text
    session_key = str(created.json()["id"])
    session = onsync_wire.read(credential, "session", session_key).json()
    assert session["session_link"] == EVIL
    invitees = onsync_wire.invitees(credential, session_key)
    assert [i["personal_session_link"] for i in invitees] == [EVIL]
