"""Delivery receipts: the service's rules (idempotent, newest wins, only the current message,
unknown ids refused) and the SMS gateway's signed webhook (400 / 401 / 404 / 503 / replay)."""

import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from invitations.models import (
    Channel,
    DeliveryAttempt,
    DeliveryReceipt,
    DeliveryStatus,
    Invitee,
    Session,
)
from invitations.security.redaction import destination_hash
from invitations.services import receipts
from invitations.webhooks.sms_gateway import sms_signature

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "test-webhook-secret-4d2f"
URL = "/webhooks/sms-gateway/"
NUMBER = "+14155550134"


@pytest.fixture
def make_invitee(agent, credential):
    def make(
        message_id="m_1",
        status=DeliveryStatus.SENT,
        channel=Channel.SMS,
        destination=NUMBER,
        **extra,
    ):
        session = Session.objects.create(credential=credential, created_by=agent, session_type=1)
        invitee = Invitee.objects.create(
            session=session,
            channel=channel,
            destination=destination,
            status=status,
            provider_message_id=message_id,
            **extra,
        )
        DeliveryAttempt.objects.create(invitee=invitee, provider_message_id=message_id)
        return invitee

    return make


def record(event_id="evt-1", message_id="m_1", status="delivered", at=T0, detail=""):
    return receipts.receipt_record(
        source=DeliveryReceipt.Source.SMS_GATEWAY,
        event_id=event_id,
        message_id=message_id,
        status=status,
        occurred_at=at,
        detail=detail,
    )


def reloaded(invitee):
    invitee.refresh_from_db()
    return invitee


# --- The service -----------------------------------------------------------------------------


def test_delivered_receipt_moves_sent_to_delivered(make_invitee):
    invitee = make_invitee()
    receipt, created = record()
    assert created and receipt.applied and receipt.invitee == invitee
    invitee = reloaded(invitee)
    assert invitee.status == DeliveryStatus.DELIVERED
    assert invitee.receipt_at == T0 and invitee.last_error == ""


def test_repeated_event_returns_the_stored_receipt_and_changes_nothing(make_invitee):
    invitee = make_invitee()
    first, _ = record(status="delivered")
    # The same event id again, even claiming another status, is the same callback repeated.
    again, created = record(status="failed", at=T0 + timedelta(minutes=5))
    assert not created and again.pk == first.pk
    assert DeliveryReceipt.objects.count() == 1
    assert reloaded(invitee).status == DeliveryStatus.DELIVERED


def test_the_same_event_id_from_another_source_is_another_receipt(make_invitee):
    make_invitee(message_id="shared-id")
    record(message_id="shared-id")
    _, created = receipts.receipt_record(
        source=DeliveryReceipt.Source.EMAIL,
        event_id="evt-1",
        message_id="shared-id",
        status="delivered",
        occurred_at=T0,
    )
    assert created and DeliveryReceipt.objects.count() == 2


def test_an_older_receipt_arriving_late_is_stored_but_not_applied(make_invitee):
    invitee = make_invitee()
    record("evt-new", status="delivered", at=T0 + timedelta(seconds=30))
    late, created = record("evt-old", status="failed", at=T0, detail="30003 unreachable")
    assert created and not late.applied
    invitee = reloaded(invitee)
    assert invitee.status == DeliveryStatus.DELIVERED
    assert invitee.receipt_at == T0 + timedelta(seconds=30) and invitee.last_error == ""


def test_newest_wins_in_either_order(make_invitee):
    invitee = make_invitee()
    record("evt-1", status="failed", at=T0, detail="30003 Unreachable destination handset")
    assert reloaded(invitee).status == DeliveryStatus.FAILED
    assert invitee.last_error == (
        "The carrier reported the SMS undelivered (30003 Unreachable destination handset). "
        "Check the number with the customer before resending."
    )
    # A failure reported by a receipt can still be overturned by a newer receipt.
    receipt, _ = record("evt-2", status="delivered", at=T0 + timedelta(seconds=1))
    assert receipt.applied
    invitee = reloaded(invitee)
    assert invitee.status == DeliveryStatus.DELIVERED and invitee.last_error == ""


@pytest.mark.parametrize("status", ["queued", "sent", "opened"])
def test_statuses_on_the_way_are_recorded_and_change_nothing(make_invitee, status):
    invitee = make_invitee()
    receipt, created = record(status=status)
    assert created and not receipt.applied and receipt.status == status
    assert reloaded(invitee).status == DeliveryStatus.SENT
    assert invitee.receipt_at is None


def test_receipt_for_the_message_before_a_resend_does_not_apply(make_invitee):
    # Resent: the first message (m_old) is only in the attempt log, the invitee is on m_new.
    invitee = make_invitee(message_id="m_new")
    DeliveryAttempt.objects.create(invitee=invitee, provider_message_id="m_old")
    old, _ = record("evt-old", message_id="m_old", status="failed", at=T0 + timedelta(hours=1))
    assert old.invitee == invitee and not old.applied
    assert reloaded(invitee).status == DeliveryStatus.SENT
    new, _ = record("evt-new", message_id="m_new", status="delivered")
    assert new.applied and reloaded(invitee).status == DeliveryStatus.DELIVERED


@pytest.mark.parametrize("status", [DeliveryStatus.QUEUED, DeliveryStatus.NEEDS_ATTENTION])
def test_receipts_do_not_touch_an_invitee_that_is_not_with_the_sender(make_invitee, status):
    invitee = make_invitee(status=status)
    receipt, _ = record(status="delivered")
    assert not receipt.applied
    assert reloaded(invitee).status == status


def test_receipt_while_the_delivery_is_being_recorded_asks_to_try_again(make_invitee):
    """The attempt names the message a moment before the invitee does (and leaves `sending`):
    recording the receipt then would lose it, so nothing is stored and the sender retries."""
    invitee = make_invitee(message_id="", status=DeliveryStatus.SENDING)
    DeliveryAttempt.objects.create(invitee=invitee, provider_message_id="m_new")
    with pytest.raises(receipts.StillSending):
        record(message_id="m_new")
    assert not DeliveryReceipt.objects.exists()
    Invitee.objects.filter(pk=invitee.pk).update(
        status=DeliveryStatus.SENT, provider_message_id="m_new"
    )
    receipt, _ = record(message_id="m_new")
    assert receipt.applied and reloaded(invitee).status == DeliveryStatus.DELIVERED


def test_a_failure_while_sending_is_not_overturned_by_a_receipt(make_invitee):
    invitee = make_invitee(status=DeliveryStatus.FAILED, last_error="The gateway refused it.")
    receipt, _ = record(status="delivered")
    assert not receipt.applied
    invitee = reloaded(invitee)
    assert invitee.status == DeliveryStatus.FAILED
    assert invitee.last_error == "The gateway refused it."


def test_unknown_message_id_raises_and_stores_nothing(make_invitee):
    make_invitee()
    with pytest.raises(receipts.UnknownMessage):
        record(message_id="m_nobody")
    assert not DeliveryReceipt.objects.exists()


def test_empty_message_id_never_matches_invitees_without_one(make_invitee):
    make_invitee(message_id="")
    with pytest.raises(ValueError, match="must not be empty"):
        record(message_id="")
    assert not DeliveryReceipt.objects.exists()


def test_occurred_at_without_time_zone_is_refused(make_invitee):
    make_invitee()
    with pytest.raises(ValueError, match="time zone"):
        record(at=datetime(2026, 3, 1, 12, 0))


def test_email_bounce_and_failure_read_clearly(make_invitee):
    bounced = make_invitee(message_id="e1", channel=Channel.EMAIL, destination="ann@example.com")
    failed = make_invitee(message_id="e2", channel=Channel.EMAIL, destination="bo@example.com")
    for event_id, message_id, status in (("b", "e1", "bounced"), ("f", "e2", "failed")):
        receipts.receipt_record(
            source=DeliveryReceipt.Source.EMAIL,
            event_id=event_id,
            message_id=message_id,
            status=status,
            occurred_at=T0,
            detail="550 5.1.1 mailbox unknown",
        )
    assert reloaded(bounced).status == DeliveryStatus.BOUNCED
    assert bounced.last_error.startswith(
        "The customer's mail server bounced the e-mail (550 5.1.1 mailbox unknown)."
    )
    assert reloaded(failed).status == DeliveryStatus.FAILED
    assert failed.last_error.startswith("The e-mail provider could not deliver the e-mail (550")


def test_a_copy_that_lost_the_race_returns_the_winners_receipt(make_invitee, monkeypatch):
    """Two copies of one callback at once: the second one's checks ran before the first
    committed, so its insert hits the unique constraint; it rolls back whole and answers with
    the first one's receipt."""
    invitee = make_invitee()
    winner, _ = record(status="delivered")
    real_stored = receipts._stored
    checks = iter([None, None])  # both checks of the loser miss the winner's row
    monkeypatch.setattr(receipts, "_stored", lambda *a: next(checks, None) or real_stored(*a))
    loser, created = record(status="failed", at=T0 + timedelta(hours=1))
    assert not created and loser.pk == winner.pk
    invitee = reloaded(invitee)
    assert invitee.status == DeliveryStatus.DELIVERED and invitee.receipt_at == T0


def test_logs_name_the_invitee_never_the_destination(make_invitee, caplog):
    invitee = make_invitee()
    with caplog.at_level(logging.DEBUG):
        record(status="failed", detail=f"carrier says {NUMBER} unreachable")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert f"invitee {invitee.pk}" in text
    assert f"#{destination_hash(NUMBER)}" in text
    assert NUMBER not in text and NUMBER[-4:] not in text


# --- The SMS gateway webhook -----------------------------------------------------------------


@pytest.fixture
def signed_post(client, settings):
    settings.SMS_GATEWAY_WEBHOOK_SECRET = SECRET

    def post(body, *, secret=SECRET, timestamp=None, signature=None, headers=None):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256)
        sent = {
            "X-Gateway-Timestamp": stamp,
            "X-Gateway-Signature": signature or f"sha256={digest.hexdigest()}",
        }
        if headers is not None:
            sent = headers
        return client.post(URL, raw, content_type="application/json", headers=sent)

    return post


def callback(**fields):
    return {
        "event_id": "evt_1",
        "message_id": "m_1",
        "status": "delivered",
        "occurred_at": "2026-03-01T12:00:00Z",
        **fields,
    }


def test_url_is_the_documented_one():
    assert reverse("webhook-sms-gateway") == URL


def test_signed_callback_is_applied_then_recognised_as_a_repeat(make_invitee, signed_post):
    invitee = make_invitee()
    response = signed_post(callback())
    assert response.status_code == 200, response.content
    assert response.json() == {"result": "applied"}
    assert reloaded(invitee).status == DeliveryStatus.DELIVERED
    assert invitee.receipt_at == T0
    again = signed_post(callback())
    assert (again.status_code, again.json()) == (200, {"result": "duplicate"})
    assert DeliveryReceipt.objects.count() == 1


def test_undelivered_is_recorded_as_failed_with_the_gateways_error(make_invitee, signed_post):
    invitee = make_invitee()
    response = signed_post(callback(status="undelivered", error="30003 Unreachable handset"))
    assert response.json() == {"result": "applied"}
    assert reloaded(invitee).status == DeliveryStatus.FAILED
    assert "(30003 Unreachable handset)" in invitee.last_error
    assert DeliveryReceipt.objects.get().status == "failed"


def test_older_callback_is_acknowledged_but_not_applied(make_invitee, signed_post):
    invitee = make_invitee()
    signed_post(callback(event_id="e2", occurred_at="2026-03-01T12:00:05+00:00"))
    response = signed_post(callback(event_id="e1", status="undelivered"))
    assert (response.status_code, response.json()) == (200, {"result": "recorded"})
    assert reloaded(invitee).status == DeliveryStatus.DELIVERED


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"headers": {}}, "headers are required"),
        ({"secret": "another-secret"}, "does not match"),
        ({"signature": "sha1=abc"}, "does not match"),
        ({"timestamp": "12ab"}, "Unix time"),
        ({"timestamp": "1" * 5000}, "Unix time"),
        ({"timestamp": "²"}, "Unix time"),
        ({"timestamp": -301}, "replayed"),
        ({"timestamp": +400}, "replayed"),
    ],
)
def test_unverified_callbacks_get_401_and_change_nothing(make_invitee, signed_post, kwargs, reason):
    invitee = make_invitee()
    if isinstance(kwargs.get("timestamp"), int):  # seconds from now
        kwargs = {"timestamp": int(time.time()) + kwargs["timestamp"]}
    response = signed_post(callback(), **kwargs)
    assert response.status_code == 401
    assert reason in response.json()["error"]
    assert reloaded(invitee).status == DeliveryStatus.SENT
    assert not DeliveryReceipt.objects.exists()


def test_signature_covers_the_body(make_invitee, signed_post):
    make_invitee()
    stamp = str(int(time.time()))
    signature = sms_signature(SECRET, stamp, json.dumps(callback()).encode())
    tampered = json.dumps(callback(status="undelivered")).encode()
    response = signed_post(
        tampered, headers={"X-Gateway-Timestamp": stamp, "X-Gateway-Signature": signature}
    )
    assert response.status_code == 401


def test_a_replay_within_the_window_is_a_harmless_repeat(make_invitee, signed_post):
    make_invitee()
    stamp = int(time.time()) - 200
    first = signed_post(callback(), timestamp=stamp)
    replay = signed_post(callback(), timestamp=stamp)
    assert first.json() == {"result": "applied"} and replay.json() == {"result": "duplicate"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"status": ' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
        (callback(status="read"), "status must be one of queued, sent, delivered"),
        (callback(event_id=""), "event_id must be a non-empty string"),
        (callback(message_id=7), "message_id must be a non-empty string"),
        (callback(event_id="e" * 201), "at most 200"),
        (callback(occurred_at="yesterday"), "ISO 8601"),
        (callback(occurred_at="2026-03-01T12:00:00"), "time zone"),
        (callback(error=["x"]), "error must be a string"),
        ({k: v for k, v in callback().items() if k != "occurred_at"}, "occurred_at"),
    ],
)
def test_malformed_callbacks_get_400_with_the_reason(make_invitee, signed_post, body, reason):
    invitee = make_invitee()
    response = signed_post(body)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert reloaded(invitee).status == DeliveryStatus.SENT
    assert not DeliveryReceipt.objects.exists()


def test_unknown_message_id_gets_404_and_changes_nothing(make_invitee, signed_post):
    invitee = make_invitee()
    response = signed_post(callback(message_id="m_unknown"))
    assert response.status_code == 404
    assert "m_unknown" in response.json()["error"]
    assert not DeliveryReceipt.objects.exists()
    assert reloaded(invitee).status == DeliveryStatus.SENT


def test_callback_during_sending_gets_409_to_try_again(make_invitee, signed_post):
    invitee = make_invitee(status=DeliveryStatus.SENDING)
    response = signed_post(callback())
    assert response.status_code == 409 and response["Retry-After"] == "1"
    assert "still being sent" in response.json()["error"]
    assert not DeliveryReceipt.objects.exists()
    assert reloaded(invitee).status == DeliveryStatus.SENDING


def test_webhook_is_off_without_a_secret(make_invitee, signed_post, settings):
    make_invitee()
    settings.SMS_GATEWAY_WEBHOOK_SECRET = ""
    response = signed_post(callback(), secret="")
    assert response.status_code == 503
    assert "SMS_GATEWAY_WEBHOOK_SECRET" in response.json()["error"]
    assert not DeliveryReceipt.objects.exists()


def test_only_post(client):
    response = client.get(URL)
    assert response.status_code == 405 and response["Allow"] == "POST"


def test_no_login_and_no_csrf_token_needed(make_invitee, settings):
    """The gateway has neither; the signature is what authenticates it."""
    from django.test import Client

    make_invitee()
    settings.SMS_GATEWAY_WEBHOOK_SECRET = SECRET
    raw = json.dumps(callback()).encode()
    stamp = str(int(time.time()))
    response = Client(enforce_csrf_checks=True).post(
        URL,
        raw,
        content_type="application/json",
        headers={
            "X-Gateway-Timestamp": stamp,
            "X-Gateway-Signature": sms_signature(SECRET, stamp, raw),
        },
    )
    assert response.status_code == 200


def test_refused_callbacks_are_logged_without_the_destination(make_invitee, signed_post, caplog):
    make_invitee()
    with caplog.at_level(logging.INFO):
        signed_post(callback(), secret="wrong")
        signed_post(callback(status="undelivered", error=f"no route to {NUMBER}"))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "refused" in text and NUMBER not in text


# --- Settings --------------------------------------------------------------------------------

RECEIPT_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({
    "SMS_STATUS_CALLBACK_URL": settings.SMS_STATUS_CALLBACK_URL,
    "SMS_GATEWAY_WEBHOOK_SECRET": settings.SMS_GATEWAY_WEBHOOK_SECRET,
    "EMAIL_WEBHOOK_SECRET": settings.ANYMAIL["WEBHOOK_SECRET"],
}))
"""


def test_production_has_no_sandbox_webhook_secrets_and_needs_none():
    """DEBUG=true and SANDBOX_ENABLED=true make base.py default to the sandbox's secrets,
    which anyone can read; production must not take them, and starts without any."""
    from tests.support.fresh_settings import make_env, python_json

    dump = python_json(RECEIPT_SETTINGS, make_env(DEBUG="true", SANDBOX_ENABLED="true"))
    assert dump == {
        "SMS_STATUS_CALLBACK_URL": "",
        "SMS_GATEWAY_WEBHOOK_SECRET": "",
        "EMAIL_WEBHOOK_SECRET": "",
    }
    configured = python_json(
        RECEIPT_SETTINGS,
        make_env(
            SMS_STATUS_CALLBACK_URL="https://portal.example.com/webhooks/sms-gateway/",
            SMS_GATEWAY_WEBHOOK_SECRET="gw-secret",
            EMAIL_WEBHOOK_SECRET="postmark:pm-secret",
        ),
    )
    assert configured == {
        "SMS_STATUS_CALLBACK_URL": "https://portal.example.com/webhooks/sms-gateway/",
        "SMS_GATEWAY_WEBHOOK_SECRET": "gw-secret",
        "EMAIL_WEBHOOK_SECRET": "postmark:pm-secret",
    }


def test_sandbox_defaults_point_make_run_at_its_own_webhook():
    from tests.support.fresh_settings import make_env, python_json

    dump = python_json(RECEIPT_SETTINGS, make_env("base", DEBUG="true"))
    assert dump["SMS_STATUS_CALLBACK_URL"] == "http://127.0.0.1:8000/webhooks/sms-gateway/"
    assert dump["SMS_GATEWAY_WEBHOOK_SECRET"] == "sandbox-sms-webhook-secret-0001"
    assert dump["EMAIL_WEBHOOK_SECRET"] == "sandbox:sandbox-email-webhook-0001"
