"""Digital Samba in the services: sending (the portal delivers the signed link), Resend making a
fresh token, the webhook kept registered by checks and by the first delivery, and its secret
at rest. Digital Samba itself is the in-memory stand-in of tests/support (over `responses`)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from invitations import services
from invitations.channels.sms import locmem as sms_outbox
from invitations.channels.sms.locmem import LocmemSmsBackend
from invitations.models import DeliveryStatus, Invitee, PartnerCredential
from invitations.providers.base import UpstreamConnectionError
from invitations.providers.digitalsamba import WEBHOOK_EVENTS
from tests.support.digitalsamba import (
    BASE,
    DEVELOPER_KEY,
    TEAM_ID,
    FakeDigitalSamba,
    decode_hs256,
    token_of,
)

pytestmark = pytest.mark.django_db
PORTAL = "https://portal.example.com"


@pytest.fixture
def samba(settings):
    settings.PORTAL_BASE_URL = PORTAL
    settings.SMS_BACKEND = "invitations.channels.sms.locmem.LocmemSmsBackend"
    sms_outbox.outbox.clear()
    credential, _ = services.credential_upsert(
        label="acme-ds",
        provider="digitalsamba",
        base_url=BASE,
        account=TEAM_ID,
        api_key=DEVELOPER_KEY,
    )
    return credential


@pytest.fixture
def fake():
    responses.start()
    try:
        yield FakeDigitalSamba().install()
    finally:
        responses.stop()
        responses.reset()


@pytest.fixture
def send(django_capture_on_commit_callbacks, samba, make_agent):
    agent = make_agent(credential=samba)

    def send(destination="(415) 555-0134", **kwargs) -> Invitee:
        with django_capture_on_commit_callbacks(execute=True):
            invitee = services.invitation_create(agent=agent, destination=destination, **kwargs)
        invitee.refresh_from_db()
        return invitee

    return send


def methods() -> list[str]:
    return [f"{call.request.method} {call.request.url}" for call in responses.calls]


# --- sending -----------------------------------------------------------------------------------


def test_the_portal_texts_a_personal_link_into_a_private_room(fake, send, samba):
    invitee = send(name="Ann Lee")

    assert invitee.status == DeliveryStatus.SENT, invitee.last_error
    [room] = fake.rooms.values()
    assert invitee.session.session_key == room["id"]
    [sms] = sms_outbox.outbox
    assert invitee.personal_link in sms.body
    assert invitee.message_text == sms.body
    _, claims = decode_hs256(token_of(invitee.personal_link), DEVELOPER_KEY)
    assert claims["ud"] == str(invitee.pk)
    assert claims["u"] == "Ann Lee"
    assert claims["exp"] <= invitee.expires_at.timestamp()


def test_invite_another_person_into_the_same_room(fake, send):
    first = send(name="Ann")
    second = send(destination="bo@example.com", name="Bo", session=first.session)

    assert second.status == DeliveryStatus.SENT, second.last_error
    assert len(fake.rooms) == 1
    _, claims = decode_hs256(token_of(second.personal_link), DEVELOPER_KEY)
    assert claims["rd"] == first.session.session_key
    assert claims["ud"] == str(second.pk)


def test_the_first_delivery_registers_the_webhook_and_later_ones_do_not(fake, send, samba):
    send()
    samba.refresh_from_db()
    assert samba.webhook_id
    [hook] = fake.webhooks.values()
    assert hook["endpoint"] == f"{PORTAL}/webhooks/digitalsamba/acme-ds/"
    send(destination="bo@example.com")
    assert len(fake.webhooks) == 1
    assert sum("/webhooks" in call for call in methods()) == 2  # one list, one create


def test_a_failed_webhook_registration_does_not_fail_the_invitation(fake, send, samba, settings):
    settings.PORTAL_BASE_URL = ""
    invitee = send()
    assert invitee.status == DeliveryStatus.SENT
    samba.refresh_from_db()
    assert not samba.webhook_id


def test_resend_makes_a_fresh_token_in_the_same_room(
    fake, send, samba, django_capture_on_commit_callbacks
):
    invitee = send()
    # As if the first link had expired (its validity is over).
    stale = invitee.personal_link.replace("token=", "token=expired.")
    Invitee.objects.filter(pk=invitee.pk).update(personal_link=stale)

    with django_capture_on_commit_callbacks(execute=True):
        services.invitee_resend(invitee=invitee)
    invitee.refresh_from_db()

    assert invitee.status == DeliveryStatus.SENT, invitee.last_error
    assert invitee.personal_link != stale
    assert len(fake.rooms) == 1
    assert methods()[-1] == f"GET {BASE}/rooms/{invitee.session.session_key}"
    _, claims = decode_hs256(token_of(invitee.personal_link), DEVELOPER_KEY)
    assert claims["exp"] > time.time() + 60
    assert sms_outbox.outbox[-1].body.count(invitee.personal_link) == 1


def test_a_failed_portal_delivery_retries_with_the_same_link(fake, send, monkeypatch):
    def gateway_down(self, messages):
        raise UpstreamConnectionError("Could not connect to the SMS gateway.", provider="sms")

    with monkeypatch.context() as patched:
        patched.setattr(LocmemSmsBackend, "send_messages", gateway_down)
        invitee = send()
    assert invitee.status == DeliveryStatus.FAILED
    link, calls_before = invitee.personal_link, len(responses.calls)

    # What an automatic retry does: the invitee queued again, delivered again.
    Invitee.objects.filter(pk=invitee.pk).update(status=DeliveryStatus.QUEUED)
    services.invitee_deliver(invitee_id=invitee.pk)
    invitee.refresh_from_db()

    assert invitee.status == DeliveryStatus.SENT
    assert invitee.personal_link == link
    assert len(responses.calls) == calls_before  # Digital Samba was not asked again
    assert link in sms_outbox.outbox[-1].body


def test_end_session_deletes_the_room(fake, send):
    invitee = send()
    assert services.session_end(session=invitee.session, actor=None) is True
    assert fake.rooms == {}


# --- the webhook -------------------------------------------------------------------------------


def test_check_registers_one_webhook_with_an_encrypted_secret(fake, samba):
    for _ in range(3):
        result = services.credential_check(credential=samba, actor=None)
        assert result.ok, result.message

    endpoint = f"{PORTAL}/webhooks/digitalsamba/acme-ds/"
    assert endpoint in result.message
    [hook] = fake.webhooks.values()
    assert hook["endpoint"] == endpoint
    assert sorted(hook["events"]) == sorted(WEBHOOK_EVENTS)
    samba.refresh_from_db()
    secret = samba.reveal_webhook_secret()
    assert len(secret) >= 32
    assert hook["authorization_header"] == secret
    assert secret not in samba.webhook_secret_ciphertext
    assert samba.webhook_id == hook["id"]
    assert samba.last_checked_at is not None


def test_check_repairs_a_webhook_changed_upstream(fake, samba):
    services.credential_check(credential=samba, actor=None)
    [hook] = fake.webhooks.values()
    hook.update(endpoint="https://elsewhere.example.com/x", events=["session_started"])

    assert services.credential_check(credential=samba, actor=None).ok

    [repaired] = fake.webhooks.values()
    assert repaired["endpoint"] == f"{PORTAL}/webhooks/digitalsamba/acme-ds/"
    assert sorted(repaired["events"]) == sorted(WEBHOOK_EVENTS)


def test_check_follows_a_new_portal_address(fake, samba, settings):
    services.credential_check(credential=samba, actor=None)
    settings.PORTAL_BASE_URL = "https://new-portal.example.com"

    assert services.credential_check(credential=samba, actor=None).ok

    [hook] = fake.webhooks.values()
    assert hook["endpoint"] == "https://new-portal.example.com/webhooks/digitalsamba/acme-ds/"


@pytest.mark.parametrize(
    ("portal", "words"),
    [
        ("", "Set PORTAL_BASE_URL"),
        ("https://" + "p" * 70 + ".example.com", "Digital Samba takes at most 100"),
    ],
)
def test_check_fails_clearly_without_a_usable_webhook_address(fake, samba, settings, portal, words):
    settings.PORTAL_BASE_URL = portal
    result = services.credential_check(credential=samba, actor=None)
    assert not result.ok
    assert words in result.message
    assert fake.webhooks == {}


def test_reencrypting_covers_the_webhook_secret(fake, samba, settings):
    services.credential_check(credential=samba, actor=None)
    samba.refresh_from_db()
    secret, old = samba.reveal_webhook_secret(), samba.webhook_secret_ciphertext
    new_key = "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE="
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]

    assert services.credentials_reencrypt() == 2  # the developer key and the webhook secret

    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    samba.refresh_from_db()
    assert samba.webhook_secret_ciphertext != old
    assert samba.reveal_webhook_secret() == secret


def test_the_webhook_secret_is_never_an_editable_field():
    assert "webhook_secret_ciphertext" not in services.CREDENTIAL_FIELDS
    assert "webhook_id" not in services.CREDENTIAL_FIELDS


def test_digital_samba_needs_the_team_id(db):
    with pytest.raises(Exception, match="need the Digital Samba team id"):
        services.credential_upsert(
            label="no-team", provider="digitalsamba", base_url=BASE, api_key=DEVELOPER_KEY
        )
    assert not PartnerCredential.objects.filter(label="no-team").exists()


def test_expiry_of_the_link_never_passes_the_invitations_validity(fake, send):
    invitee = send()
    _, claims = decode_hs256(token_of(invitee.personal_link), DEVELOPER_KEY)
    assert claims["exp"] <= (invitee.sent_at + timedelta(minutes=30)).timestamp()
    assert claims["exp"] >= (timezone.now() + timedelta(minutes=29)).timestamp()
