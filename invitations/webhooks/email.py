"""The e-mail provider's tracking webhooks, through django-anymail."""

from __future__ import annotations

import datetime
import hashlib
import json
import logging

from anymail.exceptions import AnymailError, AnymailWebhookValidationFailure
from anymail.signals import AnymailTrackingEvent, EventType
from anymail.utils import get_anymail_setting
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt

from invitations.services import receipts
from invitations.webhooks.responses import (
    Rejected,
    error_response,
    method_not_allowed,
    result_response,
    still_sending_response,
)

logger = logging.getLogger(__name__)


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
        return method_not_allowed()
    try:
        events = _email_events(request, esp)
    except Rejected as err:
        if err.status == 401:
            logger.warning("e-mail webhook (%s) refused: %s", esp, err.message)
        return error_response(err.status, err.message)
    results: list[str] = []
    unknown: list[str] = []
    still_sending: receipts.StillSending | None = None
    for event in events:
        try:
            results.append(result_response(_email_receipt(esp, event)))
        except receipts.UnknownMessage as err:
            unknown.append(err.message_id or "(none)")
        except receipts.StillSending as err:
            still_sending = err
    if still_sending is not None:
        return still_sending_response(still_sending)
    if unknown:
        return error_response(404, f"No invitation was sent with message id {', '.join(unknown)}.")
    return JsonResponse({"results": results})
