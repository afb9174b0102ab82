"""The SMS gateway's signed status callbacks (contract: docs/upstream-contracts.md)."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from invitations.services import receipts
from invitations.webhooks.responses import (
    MAX_ERROR,
    Rejected,
    error_response,
    json_object,
    method_not_allowed,
    result_response,
    still_sending_response,
)

logger = logging.getLogger(__name__)

# --- SMS gateway -----------------------------------------------------------------------------

TIMESTAMP_HEADER = "X-Gateway-Timestamp"
SIGNATURE_HEADER = "X-Gateway-Signature"
# The gateway's statuses and the receipt status each is recorded as. Only delivered and
# undelivered/failed are final; the others are recorded and change nothing.
SMS_STATUSES = {
    "queued": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "failed",
    "failed": "failed",
}


def sms_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Gateway-Signature value for a callback: HMAC-SHA256 over `timestamp.body`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def _verify_sms_signature(request: HttpRequest, secret: str) -> None:
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not timestamp or not signature:
        raise Rejected(401, f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers are required.")
    # A dozen digits reach past the year 30000; a longer "number" is no time (and int() of
    # thousands of digits raises).
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise Rejected(401, f"{TIMESTAMP_HEADER} must be Unix time in whole seconds.")
    max_age = settings.SMS_GATEWAY_WEBHOOK_MAX_AGE
    if abs(time.time() - int(timestamp)) > max_age:
        raise Rejected(
            401,
            f"{TIMESTAMP_HEADER} is more than {max_age} s away from now: a replayed or "
            "delayed callback (or a clock that is off) is refused.",
        )
    expected = sms_signature(secret, timestamp, request.body)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise Rejected(
            401,
            f"{SIGNATURE_HEADER} does not match: it must be sha256=<hex HMAC-SHA256 of "
            "'timestamp.body' keyed with the shared secret>.",
        )


def _text(body: dict[str, Any], name: str, *, required: bool = True, limit: int = 200) -> str:
    value = body.get(name, "")
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        need = "a non-empty string" if required else "a string"
        raise Rejected(400, f"{name} must be {need}.")
    if required and len(value) > limit:
        raise Rejected(400, f"{name} must be at most {limit} characters.")
    return value.strip()[:limit]


def _occurred_at(value: object) -> datetime.datetime:
    parsed = None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
    if parsed is None:
        raise Rejected(400, "occurred_at must be an ISO 8601 date and time.")
    if timezone.is_naive(parsed):
        raise Rejected(400, "occurred_at must include a time zone (Z or +hh:mm).")
    return parsed


def _sms_receipt(request: HttpRequest) -> receipts.Recorded:
    secret = settings.SMS_GATEWAY_WEBHOOK_SECRET
    if not secret:
        raise Rejected(
            503,
            "SMS delivery receipts are off: set SMS_GATEWAY_WEBHOOK_SECRET to the secret "
            "shared with the SMS gateway.",
        )
    _verify_sms_signature(request, secret)
    body = json_object(request)
    status = body.get("status")
    if not isinstance(status, str) or status not in SMS_STATUSES:
        raise Rejected(400, f"status must be one of {', '.join(SMS_STATUSES)}.")
    event_id = _text(body, "event_id")
    message_id = _text(body, "message_id")
    occurred_at = _occurred_at(body.get("occurred_at"))
    detail = _text(body, "error", required=False, limit=MAX_ERROR)
    return receipts.receipt_record(
        source=receipts.Source.SMS_GATEWAY,
        event_id=event_id,
        message_id=message_id,
        status=SMS_STATUSES[status],
        occurred_at=occurred_at,
        detail=detail,
    )


@csrf_exempt
def sms_gateway(request: HttpRequest) -> HttpResponse:
    """POST /webhooks/sms-gateway/: one signed status callback from the SMS gateway."""
    if request.method != "POST":
        return method_not_allowed()
    try:
        recorded = _sms_receipt(request)
    except Rejected as err:
        if err.status == 401:
            logger.warning("SMS gateway callback refused: %s", err.message)
        return error_response(err.status, err.message)
    except receipts.UnknownMessage as err:
        return error_response(404, str(err))
    except receipts.StillSending as err:
        return still_sending_response(err)
    return JsonResponse({"result": result_response(recorded)})
