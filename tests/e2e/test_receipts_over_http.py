"""Delivery receipts end to end over real HTTP: the portal sends an SMS through the sandbox's
SMS gateway on a live server, and the sandbox posts its signed status callback back to the
portal's webhook on the same server, from a thread of its own, as a real gateway would."""

import pytest

from invitations import services
from invitations.models import DeliveryReceipt, DeliveryStatus, Invitee
from sandbox import receipts as sandbox_receipts
from sandbox.models import OutboxMessage
from tests.support.sandbox import staff_session

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def receipts_on(live_server, settings, sandbox_sms_gateway):
    """SMS ask for receipts at this live server's webhook. The delay keeps the callback from
    overlapping the test's own writes: the live server shares the test's SQLite connection."""
    settings.SMS_STATUS_CALLBACK_URL = f"{live_server.url}/webhooks/sms-gateway/"
    settings.SMS_GATEWAY_WEBHOOK_SECRET = settings.SANDBOX_SMS_GATEWAY_WEBHOOK_SECRET
    settings.SANDBOX_RECEIPT_DELAY = 0.3
    yield live_server
    # Nothing may arrive after the test, in the next test's database.
    assert sandbox_receipts.wait_for_receipts(timeout=20)


@pytest.fixture
def portal_agent(make_onsync_credential, make_agent):
    return make_agent(credential=make_onsync_credential(link_delivery="portal"))


def send(agent, destination):
    invitee = services.invitation_create(agent=agent, destination=destination)
    invitee.refresh_from_db()
    assert invitee.status in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED), invitee.last_error
    return invitee


def settled(invitee):
    assert sandbox_receipts.wait_for_receipts(timeout=20)
    return Invitee.objects.get(pk=invitee.pk)


def test_gateway_callback_marks_the_sms_delivered(receipts_on, portal_agent):
    invitee = send(portal_agent, "(415) 555-0134")
    message = OutboxMessage.objects.get(channel="sms")
    assert invitee.provider_message_id == message.message_id

    invitee = settled(invitee)
    assert invitee.status == DeliveryStatus.DELIVERED
    receipt = DeliveryReceipt.objects.get()
    assert (receipt.source, receipt.status, receipt.applied) == ("sms_gateway", "delivered", True)
    assert receipt.invitee_id == invitee.pk and receipt.message_id == message.message_id
    assert invitee.receipt_at == receipt.occurred_at
    [posted] = sandbox_receipts.posted(message.message_id)
    assert (posted.status, posted.http_status) == ("delivered", 200)


def test_number_ending_0000_is_reported_undelivered(receipts_on, portal_agent):
    invitee = settled(send(portal_agent, "+1 415 555 0000"))
    assert invitee.status == DeliveryStatus.FAILED
    assert invitee.last_error.startswith(
        "The carrier reported the SMS undelivered (30003 Unreachable destination handset)."
    )
    assert DeliveryReceipt.objects.get().status == "failed"


def test_manual_receipts_from_the_sandbox_control(receipts_on, portal_agent, staff_user):
    staff = staff_session(receipts_on.url)
    invitee = settled(send(portal_agent, "(415) 555-0134"))
    message_id = invitee.provider_message_id
    control = f"{receipts_on.url}/sandbox/sms-gateway/messages/{message_id}/receipt"

    # Older than the delivered receipt already applied: acknowledged, not applied.
    older = staff.post(
        control,
        json={"status": "undelivered", "occurred_at": "2020-01-01T00:00:00Z", "event_id": "e-1"},
        timeout=10,
    )
    assert older.status_code == 200, older.text
    assert older.json()["callback_status"] == 200
    assert '"recorded"' in older.json()["callback_answer"]
    assert Invitee.objects.get(pk=invitee.pk).status == DeliveryStatus.DELIVERED

    # The same event again is a repeat; a newer failure applies.
    replay = staff.post(control, json={"status": "delivered", "event_id": "e-1"}, timeout=10)
    assert '"duplicate"' in replay.json()["callback_answer"]
    newer = staff.post(
        control, json={"status": "failed", "error": "carrier down"}, timeout=10
    ).json()
    assert '"applied"' in newer["callback_answer"]
    invitee = Invitee.objects.get(pk=invitee.pk)
    assert invitee.status == DeliveryStatus.FAILED and "(carrier down)" in invitee.last_error
    assert DeliveryReceipt.objects.filter(invitee=invitee).count() == 3


def test_outbox_form_sends_a_receipt(receipts_on, portal_agent, staff_user):
    staff = staff_session(receipts_on.url)
    invitee = settled(send(portal_agent, "(415) 555-0134"))
    outbox = staff.get(f"{receipts_on.url}/sandbox/outbox/", timeout=10).text
    form_action = f"/sandbox/sms-gateway/messages/{invitee.provider_message_id}/receipt"
    assert f'action="{form_action}"' in outbox and "delivered → 200" in outbox
    response = staff.post(
        f"{receipts_on.url}{form_action}", data={"status": "undelivered"}, timeout=10
    )
    assert response.status_code == 200 and response.url.endswith("/sandbox/outbox/")
    assert Invitee.objects.get(pk=invitee.pk).status == DeliveryStatus.FAILED


def test_receipt_for_the_message_before_a_resend_is_not_applied(
    receipts_on, portal_agent, staff_user
):
    staff = staff_session(receipts_on.url)
    first = settled(send(portal_agent, "(415) 555-0134"))
    old_message = first.provider_message_id
    services.invitee_resend(invitee=first)
    resent = settled(first)
    assert resent.provider_message_id != old_message
    assert resent.status == DeliveryStatus.DELIVERED

    control = f"{receipts_on.url}/sandbox/sms-gateway/messages/{old_message}/receipt"
    late = staff.post(control, json={"status": "undelivered"}, timeout=10).json()
    assert late["callback_status"] == 200 and '"recorded"' in late["callback_answer"]
    assert Invitee.objects.get(pk=first.pk).status == DeliveryStatus.DELIVERED


def test_callback_signed_with_another_secret_is_refused(receipts_on, portal_agent, settings):
    settings.SANDBOX_SMS_GATEWAY_WEBHOOK_SECRET = "not-the-shared-secret"
    invitee = settled(send(portal_agent, "(415) 555-0134"))
    assert invitee.status == DeliveryStatus.SENT
    assert not DeliveryReceipt.objects.exists()
    [posted] = sandbox_receipts.posted(invitee.provider_message_id)
    assert posted.http_status == 401


# --- E-mail: the portal sends through django-anymail's Postmark backend to the sandbox's
# --- Postmark, which posts Postmark's tracking webhook back with basic auth.


@pytest.fixture
def postmark_on(live_server, settings):
    settings.EMAIL_BACKEND = "invitations.channels.email.PostmarkEmailBackend"
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "POSTMARK_SERVER_TOKEN": settings.SANDBOX_POSTMARK_SERVER_TOKEN,
        "POSTMARK_API_URL": f"{live_server.url}/sandbox/postmark/",
        "WEBHOOK_SECRET": settings.SANDBOX_EMAIL_WEBHOOK_SECRET,
    }
    settings.EMAIL_TRACKING_ESP = "postmark"
    settings.SANDBOX_POSTMARK_WEBHOOK_URL = f"{live_server.url}/webhooks/email/postmark/"
    settings.SANDBOX_RECEIPT_DELAY = 0.3
    yield live_server
    assert sandbox_receipts.wait_for_receipts(timeout=20)


def test_postmark_delivery_webhook_marks_the_email_delivered(postmark_on, portal_agent):
    invitee = send(portal_agent, "ann@example.com")
    message = OutboxMessage.objects.get(provider="postmark")
    assert message.to == "ann@example.com" and invitee.personal_link in message.body
    assert invitee.provider_message_id == message.message_id  # Postmark's id, via anymail

    invitee = settled(invitee)
    assert invitee.status == DeliveryStatus.DELIVERED
    receipt = DeliveryReceipt.objects.get()
    assert (receipt.source, receipt.status, receipt.applied) == ("email", "delivered", True)
    [posted] = sandbox_receipts.posted(message.message_id)
    assert (posted.status, posted.http_status) == ("Delivery", 200)


def test_postmark_hard_bounce_marks_the_email_bounced(postmark_on, portal_agent):
    invitee = settled(send(portal_agent, "bounce.ann@example.com"))
    assert invitee.status == DeliveryStatus.BOUNCED
    assert invitee.last_error.startswith("The customer's mail server bounced the e-mail (")


def test_postmark_webhook_with_the_wrong_basic_auth_changes_nothing(
    postmark_on, portal_agent, settings
):
    settings.SANDBOX_EMAIL_WEBHOOK_SECRET = "sandbox:not-the-secret"
    invitee = settled(send(portal_agent, "ann@example.com"))
    assert invitee.status == DeliveryStatus.SENT
    assert not DeliveryReceipt.objects.exists()
    [posted] = sandbox_receipts.posted(invitee.provider_message_id)
    assert posted.http_status == 401
