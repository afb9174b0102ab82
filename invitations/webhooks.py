"""Delivery-receipt webhooks: the SMS gateway's signed status callbacks and the e-mail
provider's tracking webhooks (through django-anymail). Contracts: docs/upstream-contracts.md.

Every answer is JSON. 401: the callback is not verified; 400: it cannot be read; 404: the
message id is unknown; 409: its invitation is being sent right now (try again); 503: receipts
are not configured; 200: recorded (applied, not applied, or a repeat). Anything but 200
changes nothing (in a post of several e-mail events, the others are still recorded).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import time
from typing import Any

from anymail.exceptions import AnymailError, AnymailWebhookValidationFailure
from anymail.signals import AnymailTrackingEvent, EventType
from anymail.utils import get_anymail_setting
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt

from invitations import receipts

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
MAX_ERROR = 500


class Rejected(Exception):
    """A callback answered with `status` and {"error": message}; nothing is changed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _method_not_allowed() -> JsonResponse:
    response = _error(405, "Use POST.")
    response["Allow"] = "POST"
    return response


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
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as err:
        raise Rejected(400, "The body is not valid JSON.") from err
    except RecursionError as err:
        raise Rejected(400, "The body is nested too deeply to read.") from err
    if not isinstance(body, dict):
        raise Rejected(400, "The body must be a JSON object.")
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


def _still_sending(err: receipts.StillSending) -> JsonResponse:
    response = _error(409, str(err))
    response["Retry-After"] = "1"
    return response


def _result(recorded: receipts.Recorded) -> str:
    if not recorded.created:
        return "duplicate"
    return "applied" if recorded.receipt.applied else "recorded"


@csrf_exempt
def sms_gateway(request: HttpRequest) -> HttpResponse:
    """POST /webhooks/sms-gateway/: one signed status callback from the SMS gateway."""
    if request.method != "POST":
        return _method_not_allowed()
    try:
        recorded = _sms_receipt(request)
    except Rejected as err:
        if err.status == 401:
            logger.warning("SMS gateway callback refused: %s", err.message)
        return _error(err.status, err.message)
    except receipts.UnknownMessage as err:
        return _error(404, str(err))
    except receipts.StillSending as err:
        return _still_sending(err)
    return JsonResponse({"result": _result(recorded)})


# --- E-mail provider (django-anymail) -----------------------------------------------------------

# ESPs whose anymail tracking webhook checks basic auth (ANYMAIL["WEBHOOK_SECRET"]) and needs
# nothing else. Postmark is the documented and tested one.
EMAIL_TRACKING_VIEWS = {
    "postmark": "anymail.webhooks.postmark.PostmarkTrackingWebhookView",
    "brevo": "anymail.webhooks.brevo.BrevoTrackingWebhookView",
    "mailjet": "anymail.webhooks.mailjet.MailjetTrackingWebhookView",
    "sparkpost": "anymail.webhooks.sparkpost.SparkPostTrackingWebhookView",
}
# anymail's normalised event types that settle an e-mail; every other type is recorded as is.
EMAIL_STATUSES = {
    EventType.DELIVERED: "delivered",
    EventType.BOUNCED: "bounced",
    EventType.REJECTED: "failed",
    EventType.FAILED: "failed",
}


def _email_events(request: HttpRequest, esp: str) -> list[AnymailTrackingEvent]:
    """Verify the ESP's webhook with anymail's own view and parse it into tracking events."""
    configured = settings.EMAIL_TRACKING_ESP
    if esp != configured or esp not in EMAIL_TRACKING_VIEWS:
        raise Rejected(
            404,
            f"No e-mail tracking webhook for '{esp}': EMAIL_TRACKING_ESP is "
            f"'{configured}' (one of {', '.join(EMAIL_TRACKING_VIEWS)}).",
        )
    if not get_anymail_setting("webhook_secret", default=""):
        raise Rejected(
            503,
            "E-mail delivery receipts are off: set EMAIL_WEBHOOK_SECRET (user:password, the "
            "basic auth the e-mail provider's webhook sends).",
        )
    view = import_string(EMAIL_TRACKING_VIEWS[esp])()
    try:
        view.run_validators(request)
    except AnymailWebhookValidationFailure as err:
        raise Rejected(401, "Missing or wrong basic auth for the e-mail webhook.") from err
    try:
        events: list[AnymailTrackingEvent] = view.parse_events(request)
    except (
        AnymailError,
        ImproperlyConfigured,
        ValueError,
        KeyError,
        TypeError,
        # json.loads of a body nested thousands deep.
        RecursionError,
    ) as err:
        raise Rejected(
            400, f"Could not read the {view.esp_name} tracking event: {type(err).__name__}."
        ) from err
    return events


def _event_id(esp: str, event: AnymailTrackingEvent) -> str:
    """The ESP's event id, or (Postmark delivery events have none) a digest of the event as
    posted, which is the same for every repeat of it."""
    if event.event_id:
        return f"{esp}:{event.event_id}"
    raw = json.dumps(event.esp_event, sort_keys=True, default=str)
    return f"{esp}:sha256:{hashlib.sha256(raw.encode()).hexdigest()}"


def _email_receipt(esp: str, event: AnymailTrackingEvent) -> receipts.Recorded:
    if not event.message_id:
        raise receipts.UnknownMessage("")
    occurred_at = event.timestamp or timezone.now()
    if timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at, datetime.UTC)
    detail = " ".join(str(part) for part in (event.description, event.mta_response) if part)
    return receipts.receipt_record(
        source=receipts.Source.EMAIL,
        event_id=_event_id(esp, event),
        message_id=str(event.message_id),
        status=EMAIL_STATUSES.get(event.event_type, str(event.event_type))[:20],
        occurred_at=occurred_at,
        detail=detail,
    )


@csrf_exempt
def email(request: HttpRequest, esp: str) -> HttpResponse:
    """POST /webhooks/email/<esp>/: the e-mail provider's tracking webhook (basic auth).

    Every event of the post is recorded; if any names a message no invitation was sent with,
    the answer is 404 (the others are still recorded, and a repeat changes nothing).
    """
    if request.method == "HEAD":
        return HttpResponse()  # some providers check the URL with HEAD when it is set up
    if request.method != "POST":
        return _method_not_allowed()
    try:
        events = _email_events(request, esp)
    except Rejected as err:
        if err.status == 401:
            logger.warning("e-mail webhook (%s) refused: %s", esp, err.message)
        return _error(err.status, err.message)
    results: list[str] = []
    unknown: list[str] = []
    still_sending: receipts.StillSending | None = None
    for event in events:
        try:
            results.append(_result(_email_receipt(esp, event)))
        except receipts.UnknownMessage as err:
            unknown.append(err.message_id or "(none)")
        except receipts.StillSending as err:
            still_sending = err
    if still_sending is not None:
        return _still_sending(still_sending)
    if unknown:
        return _error(404, f"No invitation was sent with message id {', '.join(unknown)}.")
    return JsonResponse({"results": results})
