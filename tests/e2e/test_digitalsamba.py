"""Digital Samba end to end over HTTP: the real client against the sandbox's Digital Samba
(/sandbox/digitalsamba/, written from facts.md §2 and the shared decisions), and the sandbox's
webhook deliveries into the portal's live server.

The flow an agent sees: invite -> the portal texts the personal link -> the customer opens it
(the sandbox's join page checks the token and posts participant_joined to the portal) -> the
invitee is joined, on the API too; Leave -> left; End session -> the room is gone.
"""

from __future__ import annotations

import base64
import io
import re
import time
from typing import Any

import pytest
import requests
from django.core import mail
from django.core.management import call_command

from invitations import services
from invitations.models import DeliveryStatus, Invitee, PartnerCredential
from invitations.providers.digitalsamba import WEBHOOK_EVENTS
from invitations.services import tokens
from sandbox.models import OutboxMessage
from tests.support.digitalsamba import decode_hs256, token_of

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# The goal from a customer opening the link to "joined" at the portal.
JOIN_REPORTED_WITHIN = 3.0


@pytest.fixture
def samba(digitalsamba_credential) -> PartnerCredential:
    return digitalsamba_credential


def upstream(credential: PartnerCredential, method: str, path: str) -> requests.Response:
    """The sandbox's Digital Samba API, called as any client of it would."""
    pair = f"{credential.account}:{credential.reveal_secret()}".encode()
    return requests.request(
        method,
        f"{credential.base_url}/{path}",
        headers={"Authorization": "Basic " + base64.b64encode(pair).decode()},
        timeout=10,
    )


def our_webhooks(credential: PartnerCredential, endpoint: str) -> list[dict[str, Any]]:
    """Our webhooks at the sandbox, each read in full (the list omits the events)."""
    listed = upstream(credential, "GET", "webhooks?limit=100")
    assert listed.status_code == 200, listed.text
    return [
        upstream(credential, "GET", f"webhooks/{hook['id']}").json()
        for hook in listed.json()["data"]
        if hook["endpoint"] == endpoint
    ]


def wait_for(invitee: Invitee, status: str, within: float) -> float:
    """Seconds until `invitee` reached `status`; fails after `within`."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        invitee.refresh_from_db()
        if invitee.status == status:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"still {invitee.status} after {within} s, not {status}")


def invite(credential: PartnerCredential, make_agent, destination: str, **kwargs) -> Invitee:
    agent = make_agent(credential=credential)
    invitee = services.invitation_create(agent=agent, destination=destination, **kwargs)
    invitee.refresh_from_db()
    return invitee


def test_check_credentials_leaves_exactly_one_webhook(samba, live_server):
    for _ in range(2):
        out = io.StringIO()
        call_command("check_credentials", "--label", samba.label, stdout=out)
        assert out.getvalue().startswith("sandbox-ds: OK"), out.getvalue()

    endpoint = f"{live_server.url}/webhooks/digitalsamba/sandbox-ds/"
    [hook] = our_webhooks(samba, endpoint)
    assert set(WEBHOOK_EVENTS) <= set(hook["events"])
    samba.refresh_from_db()
    assert hook["id"] == samba.webhook_id
    assert hook["authorization_header"] == samba.reveal_webhook_secret()


def test_invite_open_the_link_joined_then_left(samba, make_agent, live_server, settings):
    invitee = invite(samba, make_agent, "(415) 555-0134", name="Ann Lee")

    assert invitee.status == DeliveryStatus.SENT, invitee.last_error
    sms = OutboxMessage.objects.get(channel="sms")
    assert sms.to == "+14155550134"
    assert invitee.personal_link in sms.body
    _, claims = decode_hs256(
        token_of(invitee.personal_link), settings.SANDBOX_DIGITALSAMBA_DEVELOPER_KEY
    )
    assert claims["ud"] == str(invitee.pk)
    assert invitee.expires_at is not None
    assert claims["exp"] <= invitee.expires_at.timestamp()
    # The first send registered the webhook (no check_credentials before it).
    [_hook] = our_webhooks(samba, f"{live_server.url}/webhooks/digitalsamba/sandbox-ds/")

    opened = time.monotonic()
    page = requests.get(invitee.personal_link, timeout=10)
    assert page.status_code == 200, page.text
    assert "Ann Lee" in page.text
    took = wait_for(invitee, DeliveryStatus.JOINED, JOIN_REPORTED_WITHIN)
    print(f"joined reported {time.monotonic() - opened:.2f} s after opening the link ({took:.2f})")

    # What a CRM reading the API sees.
    _token, raw = tokens.api_token_create(user=invitee.session.created_by, name="crm", actor=None)
    listed = requests.get(
        f"{live_server.url}/api/v1/sessions/",
        headers={"Authorization": f"Bearer {raw}"},
        timeout=10,
    )
    [row] = [i for s in listed.json()["results"] for i in s["invitees"] if i["id"] == invitee.pk]
    assert row["status"] == "joined"
    assert row["personal_link"] == invitee.personal_link

    # The room page's Leave button: a form naming this stay in the room.
    [stay] = re.findall(r'name="participant" value="([^"]+)"', page.text)
    left = requests.post(invitee.personal_link, data={"participant": stay}, timeout=10)
    assert left.status_code in (200, 302, 303), left.text
    wait_for(invitee, DeliveryStatus.LEFT, JOIN_REPORTED_WITHIN)


def test_an_email_invitee_joins_the_same_room(samba, make_agent, settings):
    first = invite(samba, make_agent, "(415) 555-0134", name="Ann")
    second = services.invitation_create(
        agent=first.session.created_by,
        destination="bo@example.com",
        name="Bo",
        session=first.session,
    )
    second.refresh_from_db()

    assert second.status == DeliveryStatus.SENT, second.last_error
    [email] = mail.outbox
    assert second.personal_link in email.body
    assert requests.get(second.personal_link, timeout=10).status_code == 200
    wait_for(second, DeliveryStatus.JOINED, JOIN_REPORTED_WITHIN)
    first.refresh_from_db()
    assert first.status == DeliveryStatus.SENT  # only the one who opened their link


def test_a_forged_link_is_refused_and_reports_nobody(samba, make_agent):
    invitee = invite(samba, make_agent, "(415) 555-0134")
    forged = invitee.personal_link[:-3] + (
        "aaa" if not invitee.personal_link.endswith("aaa") else "bbb"
    )

    assert requests.get(forged, timeout=10).status_code == 403
    time.sleep(0.5)
    invitee.refresh_from_db()
    assert invitee.status == DeliveryStatus.SENT


def test_end_session_deletes_the_room(samba, make_agent):
    invitee = invite(samba, make_agent, "(415) 555-0134")
    room = invitee.session.session_key

    assert services.session_end(session=invitee.session, actor=None) is True

    assert upstream(samba, "GET", f"rooms/{room}").status_code == 404
    assert requests.get(invitee.personal_link, timeout=10).status_code != 200
