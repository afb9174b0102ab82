"""Digital Samba's webhook: keeping exactly one registered per credential, and turning its
deliveries into the invitees' presence (services.presence has the rules).

The webhook points at PORTAL_BASE_URL + /webhooks/digitalsamba/<credential label>/ and carries
a secret the portal generates per credential and keeps encrypted like the credential's own.
Credential checks register or repair it, and so does the first delivery with a credential
that has none yet, so that a new credential reports joins without a check first.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from collections.abc import Mapping
from typing import Any, Literal

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone

from invitations.models import Invitee, PartnerCredential
from invitations.providers import registry
from invitations.providers.base import UpstreamConfigurationError, UpstreamError
from invitations.providers.digitalsamba import DigitalSambaClient
from invitations.security import crypto
from invitations.services.presence import invitee_record_presence
from invitations.states import DeliveryStatus

logger = logging.getLogger(__name__)

# Digital Samba refuses longer webhook endpoints (facts.md §2.6).
MAX_ENDPOINT_LENGTH = 100
# Where a participant event might carry our `ud` itself; the documented payload has none, so
# the participant is usually looked up.
EXTERNAL_ID_KEYS = ("external_id", "externalId", "ud", "user_id", "userId", "external_user_id")
PRESENCE_EVENTS: dict[str, Literal["joined", "left"]] = {
    "participant_joined": "joined",
    "participant_left": "left",
}
SESSION_ENDED = "session_ended"
# Concurrent first deliveries register one webhook between them (a check tidies up the rest).
_REGISTERING_SECONDS = 60


def webhook_endpoint(credential: PartnerCredential) -> str:
    """Where Digital Samba posts this credential's events; UpstreamConfigurationError when
    PORTAL_BASE_URL is unset or the address is too long for Digital Samba."""
    base = settings.PORTAL_BASE_URL.strip().rstrip("/")
    if not base:
        raise UpstreamConfigurationError(
            "Set PORTAL_BASE_URL to the portal's public address (e.g. https://portal.example.com)"
            ": Digital Samba posts who joined to a webhook there."
        )
    endpoint = base + reverse("webhook-digitalsamba", args=[credential.label])
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise UpstreamConfigurationError(
            f"The webhook address {endpoint} is {len(endpoint)} characters; Digital Samba takes "
            f"at most {MAX_ENDPOINT_LENGTH}. Shorten PORTAL_BASE_URL or the credential's label."
        )
    return endpoint


def webhook_name(credential: PartnerCredential) -> str:
    """The name the webhook carries at Digital Samba, for people reading its dashboard."""
    return f"agentportal {credential.label}"


def _webhook_secret(credential: PartnerCredential) -> str:
    """The credential's webhook secret, generated and stored (encrypted) the first time. Of two
    racing first times, the one stored first wins and both use it."""
    secret = credential.reveal_webhook_secret()
    if secret:
        return secret
    credential.set_webhook_secret(secrets.token_urlsafe(32))
    PartnerCredential.objects.filter(pk=credential.pk, webhook_secret_ciphertext="").update(
        webhook_secret_ciphertext=credential.webhook_secret_ciphertext
    )
    credential.webhook_secret_ciphertext = (
        PartnerCredential.objects.filter(pk=credential.pk)
        .values_list("webhook_secret_ciphertext", flat=True)
        .get()
    )
    return credential.reveal_webhook_secret()


def _client(credential: PartnerCredential) -> DigitalSambaClient:
    client = registry.client_for(credential)
    if not isinstance(client, DigitalSambaClient):
        client.close()
        raise ImproperlyConfigured(
            f"UPSTREAM_CLIENTS['{credential.provider}'] is not a Digital Samba client."
        )
    return client


def credential_webhook_ensure(*, credential: PartnerCredential) -> str:
    """Register or repair the credential's webhook so that exactly one of ours exists, on the
    presence events, at webhook_endpoint, with our secret; returns its id (also stored).
    Raises UpstreamError and UpstreamConfigurationError."""
    endpoint = webhook_endpoint(credential)
    secret = _webhook_secret(credential)
    client = _client(credential)
    try:
        webhook_id = client.ensure_webhook(
            endpoint=endpoint,
            secret=secret,
            name=webhook_name(credential),
            known_id=credential.webhook_id,
        )
    finally:
        client.close()
    if webhook_id != credential.webhook_id:
        PartnerCredential.objects.filter(pk=credential.pk).update(webhook_id=webhook_id)
        credential.webhook_id = webhook_id
    logger.info("credential %s: Digital Samba webhook %s in place", credential.label, webhook_id)
    return webhook_id


def credential_webhook_ensure_once(*, credential: PartnerCredential) -> None:
    """Before the first delivery with a credential that has no webhook registered: register
    it, at most one process at a time. A failure is logged, never the delivery's: the
    invitation works without it, only joins go unreported until a credential check."""
    if credential.webhook_id or not cache.add(
        f"digitalsamba-webhook:{credential.pk}", True, _REGISTERING_SECONDS
    ):
        return
    try:
        credential_webhook_ensure(credential=credential)
    except (
        UpstreamError,
        UpstreamConfigurationError,
        ImproperlyConfigured,
        crypto.SecretUnreadable,
    ) as err:
        logger.warning(
            "credential %s: Digital Samba webhook not registered: %s", credential.label, err
        )


# --- Deliveries ------------------------------------------------------------------------------


def _text(value: object) -> str:
    return str(value).strip() if isinstance(value, str | int) and value != "" else ""


def _occurred_at(value: object) -> datetime.datetime:
    """The event's Unix time (seconds; milliseconds tolerated); now when absent or unreadable."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return timezone.now()
    if seconds > 1e11:
        seconds /= 1000
    try:
        return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return timezone.now()


def _external_id(credential: PartnerCredential, event: Mapping[str, Any], session_id: str) -> str:
    """Our `ud` for the event's participant: from the payload when it carries one, else from
    the session's participants at Digital Samba."""
    data = event.get("data")
    data = data if isinstance(data, Mapping) else {}
    for source in (data, event):
        for key in EXTERNAL_ID_KEYS:
            if carried := _text(source.get(key)):
                return carried
    participant_id = _text(data.get("participantId") or data.get("participant_id"))
    if not participant_id or not session_id:
        return ""
    client = _client(credential)
    try:
        looked_up = client.participant_external_id(
            session_id=session_id, participant_id=participant_id
        )
    finally:
        client.close()
    return looked_up or ""


def digitalsamba_event_record(*, credential: PartnerCredential, event: Mapping[str, Any]) -> int:
    """Apply one verified webhook delivery of `credential`; returns how many invitees changed.

    participant_joined / participant_left move the invitee whose id is the participant's
    external id, if it was invited into that room with this credential; session_ended moves
    the room's joined invitees to left. Anything else changes nothing. The event's own time
    decides (services.presence), so repeats and any order leave the same result. Raises
    UpstreamError when the participant cannot be looked up."""
    event_type = _text(event.get("eventType") or event.get("event"))
    room_id = _text(event.get("roomId") or event.get("room_id"))
    if not room_id or (event_type not in PRESENCE_EVENTS and event_type != SESSION_ENDED):
        return 0
    at = _occurred_at(event.get("timestamp"))
    invitees = Invitee.objects.filter(
        session__credential=credential, session__session_key=room_id
    ).select_related("session")
    if event_type == SESSION_ENDED:
        changed = 0
        for invitee in invitees.filter(status=DeliveryStatus.JOINED):
            changed += invitee_record_presence(invitee=invitee, event="left", at=at)
        return changed
    session_id = _text(event.get("sessionId") or event.get("session_id"))
    external_id = _external_id(credential, event, session_id)
    # Our ids are numbers; anything else (an agent's `agent-…`) is nobody we invited.
    if not (external_id.isascii() and external_id.isdigit() and len(external_id) <= 18):
        return 0
    invited = invitees.filter(pk=int(external_id)).first()
    if invited is None:
        return 0
    return int(invitee_record_presence(invitee=invited, event=PRESENCE_EVENTS[event_type], at=at))
