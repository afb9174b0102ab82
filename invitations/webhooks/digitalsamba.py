"""Digital Samba's webhook: who joined and left the rooms of one credential (contract:
docs/upstream-contracts.md; the work is services.digitalsamba's)."""

from __future__ import annotations

import hmac
import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from invitations.models import PartnerCredential, Provider
from invitations.providers.base import UpstreamConfigurationError, UpstreamError
from invitations.security import crypto
from invitations.services import digitalsamba
from invitations.webhooks.responses import (
    Rejected,
    error_response,
    json_object,
    method_not_allowed,
)

logger = logging.getLogger(__name__)

# An event is a few hundred bytes; anything much larger is not one.
MAX_BODY_BYTES = 64 * 1024
UNAUTHORIZED = "Missing or wrong Authorization for this webhook."


def _verified_credential(request: HttpRequest, label: str) -> PartnerCredential:
    """The credential whose webhook secret the request carries, as `Bearer <secret>` (as the
    docs say) or bare (as some of Digital Samba's own examples read it). An unknown label
    gets the same 401 as a wrong secret, so labels cannot be probed."""
    credential = PartnerCredential.objects.filter(
        label=label, provider=Provider.DIGITALSAMBA
    ).first()
    try:
        secret = credential.reveal_webhook_secret() if credential is not None else ""
    except crypto.SecretUnreadable:
        secret = ""
    given = request.headers.get("Authorization", "").strip()
    if given[:7].lower() == "bearer ":
        given = given[7:].strip()
    # Compared even without a secret, so that timing tells nothing either.
    matches = hmac.compare_digest(given.encode(), (secret or "\0").encode())
    if credential is None or not secret or not matches:
        raise Rejected(401, UNAUTHORIZED)
    return credential


@csrf_exempt
def digitalsamba_events(request: HttpRequest, label: str) -> HttpResponse:
    """POST /webhooks/digitalsamba/<label>/: one event of credential `label`'s rooms.

    401: not verified; 413: too large; 400: not a JSON object; 503: the participant could not
    be looked up at Digital Samba (nothing changed; a repeat may succeed). 200 `{"ok": true}`
    otherwise, also for events and people the portal does not track."""
    if request.method != "POST":
        return method_not_allowed()
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    try:
        if length > MAX_BODY_BYTES:
            raise Rejected(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
        credential = _verified_credential(request, label)
        if len(request.body) > MAX_BODY_BYTES:
            raise Rejected(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
        event = json_object(request)
    except Rejected as err:
        if err.status == 401:
            logger.warning("Digital Samba webhook for %r refused: %s", label[:64], err.message)
        return error_response(err.status, err.message)
    try:
        changed = digitalsamba.digitalsamba_event_record(credential=credential, event=event)
    except (UpstreamError, UpstreamConfigurationError) as err:
        logger.warning("Digital Samba webhook for %s: lookup failed: %s", credential.label, err)
        return error_response(503, "The participant could not be looked up; try again.")
    logger.info(
        "Digital Samba webhook for %s: %s, %s invitees changed",
        credential.label,
        str(event.get("eventType"))[:40],
        changed,
    )
    return JsonResponse({"ok": True})
