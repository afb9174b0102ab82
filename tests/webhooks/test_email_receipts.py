"""E-mail delivery receipts: Postmark's tracking webhooks, as Postmark documents them, posted
with basic auth to /webhooks/email/postmark/ and read through django-anymail."""

import base64
import json

import pytest

from invitations.models import Channel, DeliveryReceipt, DeliveryStatus, Invitee, Session
from invitations.webhooks.email import EMAIL_TRACKING_VIEWS

pytestmark = pytest.mark.django_db

AUTH = "postmark:webhook-secret-8c1e"
URL = "/webhooks/email/postmark/"
MESSAGE_ID = "883953f4-6105-42a2-a16a-77a8eac79483"

# From Postmark's webhook documentation (Delivery, Bounce, Open), with our message id.
DELIVERY = {
    "RecordType": "Delivery",
    "ServerID": 23,
    "MessageStream": "outbound",
    "MessageID": MESSAGE_ID,
    "Recipient": "ann@example.com",
    "Tag": "invitation",
    "DeliveredAt": "2026-03-01T12:00:01.9070259Z",
    "Details": "smtp;250 2.0.0 OK",
    "Metadata": {},
}
BOUNCE = {
    "RecordType": "Bounce",
    "MessageStream": "outbound",
    "ID": 4323372036854775807,
    "Type": "HardBounce",
    "TypeCode": 1,
    "Name": "Hard bounce",
    "Tag": "invitation",
    "MessageID": MESSAGE_ID,
    "Metadata": {},
    "ServerID": 23,
    "Description": "The server was unable to deliver your message (ex: unknown user, "
    "mailbox not found).",
    "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist",
    "Email": "ann@example.com",
    "From": "noreply@portal.example.com",
    "BouncedAt": "2026-03-01T12:00:05.1230000Z",
    "DumpAvailable": True,
    "Inactive": True,
    "CanActivate": True,
    "Subject": "Your support session",
}
OPEN = {
    "RecordType": "Open",
    "MessageStream": "outbound",
    "FirstOpen": True,
    "Platform": "WebMail",
    "UserAgent": "Mozilla/5.0",
    "ReadSeconds": 5,
    "MessageID": MESSAGE_ID,
    "Metadata": {},
    "ReceivedAt": "2026-03-01T12:01:00.0000000Z",
    "Tag": "invitation",
    "Recipient": "ann@example.com",
}


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": AUTH}
    settings.EMAIL_TRACKING_ESP = "postmark"


@pytest.fixture
def invitee(agent, credential):
    session = Session.objects.create(credential=credential, created_by=agent, session_type=1)
    return Invitee.objects.create(
        session=session,
        channel=Channel.EMAIL,
        destination="ann@example.com",
        status=DeliveryStatus.SENT,
        provider_message_id=MESSAGE_ID,
    )


def post(client, event, *, auth=AUTH, url=URL):
    headers = {}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    raw = event if isinstance(event, bytes) else json.dumps(event).encode()
    return client.post(url, raw, content_type="application/json", headers=headers)


def reloaded(invitee):
    invitee.refresh_from_db()
    return invitee


def test_delivery_event_marks_the_email_delivered(client, invitee):
    response = post(client, DELIVERY)
    assert (response.status_code, response.json()) == (200, {"results": ["applied"]})
    invitee = reloaded(invitee)
    assert invitee.status == DeliveryStatus.DELIVERED
    receipt = DeliveryReceipt.objects.get()
    assert (receipt.source, receipt.status, receipt.applied) == ("email", "delivered", True)
    assert receipt.event_id.startswith("postmark:sha256:")  # Postmark gives delivery no id


def test_repeated_delivery_event_is_a_duplicate(client, invitee):
    post(client, DELIVERY)
    again = post(client, DELIVERY)
    assert again.json() == {"results": ["duplicate"]}
    assert DeliveryReceipt.objects.count() == 1


def test_hard_bounce_marks_it_bounced_with_postmarks_reason(client, invitee):
    response = post(client, BOUNCE)
    assert response.json() == {"results": ["applied"]}
    invitee = reloaded(invitee)
    assert invitee.status == DeliveryStatus.BOUNCED
    assert invitee.last_error.startswith(
        "The customer's mail server bounced the e-mail (The server was unable to deliver your "
        "message"
    )
    assert DeliveryReceipt.objects.get().event_id == "postmark:4323372036854775807"
    assert post(client, BOUNCE).json() == {"results": ["duplicate"]}


def test_bounce_after_a_later_delivery_does_not_apply(client, invitee):
    post(client, {**DELIVERY, "DeliveredAt": "2026-03-01T12:10:00Z"})
    assert post(client, BOUNCE).json() == {"results": ["recorded"]}
    assert reloaded(invitee).status == DeliveryStatus.DELIVERED


def test_blocked_address_is_failed(client, invitee):
    blocked = {**BOUNCE, "ID": 42, "Type": "Blocked", "TypeCode": 100001, "Name": "Blocked"}
    post(client, blocked)
    invitee = reloaded(invitee)
    assert invitee.status == DeliveryStatus.FAILED
    assert invitee.last_error.startswith("The e-mail provider could not deliver the e-mail (")


def test_open_is_recorded_and_changes_nothing(client, invitee):
    assert post(client, OPEN).json() == {"results": ["recorded"]}
    assert reloaded(invitee).status == DeliveryStatus.SENT
    assert DeliveryReceipt.objects.get().status == "opened"


@pytest.mark.parametrize("auth", [None, "postmark:wrong", "other:webhook-secret-8c1e"])
def test_missing_or_wrong_basic_auth_is_401(client, invitee, auth):
    response = post(client, DELIVERY, auth=auth)
    assert response.status_code == 401
    assert "basic auth" in response.json()["error"]
    assert reloaded(invitee).status == DeliveryStatus.SENT
    assert not DeliveryReceipt.objects.exists()


def test_unknown_message_id_is_404(client, invitee):
    response = post(client, {**DELIVERY, "MessageID": "00000000-0000-0000-0000-000000000000"})
    assert response.status_code == 404
    assert "00000000-0000-0000-0000-000000000000" in response.json()["error"]
    assert not DeliveryReceipt.objects.exists()


@pytest.mark.parametrize(
    "body", [b"{not json", b"[]", b'"Delivery"', b"[" * 100_000 + b"]" * 100_000]
)
def test_unreadable_event_is_400(client, invitee, body):
    response = post(client, body)
    assert response.status_code == 400
    assert "Could not read the Postmark tracking event" in response.json()["error"]
    assert not DeliveryReceipt.objects.exists()


def test_inbound_posted_to_the_tracking_webhook_is_400(client, invitee):
    response = post(client, {"FromFull": {"Email": "x@example.com"}, "MessageID": MESSAGE_ID})
    assert response.status_code == 400


def test_other_esp_than_configured_is_404(client, invitee):
    response = post(client, DELIVERY, url="/webhooks/email/mailjet/")
    assert response.status_code == 404
    assert "EMAIL_TRACKING_ESP is 'postmark'" in response.json()["error"]
    assert post(client, DELIVERY, url="/webhooks/email/nonsense/").status_code == 404


def test_off_without_a_webhook_secret(client, invitee, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": ""}
    response = post(client, DELIVERY)
    assert response.status_code == 503
    assert "EMAIL_WEBHOOK_SECRET" in response.json()["error"]
    assert not DeliveryReceipt.objects.exists()


def test_head_answers_for_setup_checks_and_get_is_refused(client):
    assert client.head(URL).status_code == 200
    assert client.get(URL).status_code == 405


@pytest.mark.parametrize("esp", sorted(EMAIL_TRACKING_VIEWS))
def test_every_offered_esp_checks_basic_auth(client, invitee, settings, esp):
    settings.EMAIL_TRACKING_ESP = esp
    response = post(client, [DELIVERY], auth="wrong:auth", url=f"/webhooks/email/{esp}/")
    assert response.status_code == 401
