"""The JSON API over real HTTP on a live test server, with the real Glance client delivering
through the sandbox: what a CRM calling the portal would see, end to end."""

import pytest
import requests

from invitations.models import AuditEvent, Invitee
from invitations.services import tokens
from sandbox.models import OutboxMessage

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_create_read_and_resend_over_http(live_server, sandbox_credential, make_agent):
    agent = make_agent(credential=sandbox_credential)
    _token, raw = tokens.api_token_create(user=agent, name="crm", actor=None)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {raw}"
    base = f"{live_server.url}/api/v1"

    created = api.post(
        f"{base}/sessions/",
        json={"destination": "(415) 555-0134", "name": "Ann", "ticket_reference": "CASE-1"},
        headers={"Idempotency-Key": "case-1-first-invite"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    session = created.json()
    assert created.headers["Location"] == session["url"]
    # Served without a broker, delivery runs in-process before the answer: already sent.
    [invitee] = session["invitees"]
    assert invitee["status"] == "sent", invitee["last_error"]
    assert invitee["masked_destination"] == "••• ••• 0134"
    message = OutboxMessage.objects.get()
    assert (message.provider, message.to) == ("glance", "+14155550134")
    assert session["session_key"] == message.session_key
    assert invitee["message_text"] == message.body

    repeated = api.post(
        f"{base}/sessions/",
        json={"destination": "(415) 555-0134", "name": "Ann", "ticket_reference": "CASE-1"},
        headers={"Idempotency-Key": "case-1-first-invite"},
        timeout=30,
    )
    assert (repeated.status_code, repeated.json()["id"]) == (200, session["id"])
    assert OutboxMessage.objects.count() == 1

    read = api.get(f"{live_server.url}{invitee['url']}", timeout=30)
    assert read.json()["status"] == "sent"
    resent = api.post(f"{live_server.url}{invitee['url']}resend/", timeout=30)
    assert resent.status_code == 200, resent.text
    assert resent.json()["status"] == "sent"
    assert OutboxMessage.objects.count() == 2
    assert AuditEvent.objects.filter(action=AuditEvent.Action.INVITEE_RESENT).count() == 1

    anonymous = requests.post(f"{base}/sessions/", json={"destination": "+14155550199"}, timeout=30)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    assert Invitee.objects.count() == 1
