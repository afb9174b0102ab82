"""Postmark's send API, as much of it as the portal uses through django-anymail, and its
tracking webhooks posted back (Delivery, or a HardBounce for addresses whose local part starts
with "bounce"), so that e-mail receipts run end to end over real HTTP.

Point the portal at it with EMAIL_BACKEND=invitations.channels.email.PostmarkEmailBackend,
POSTMARK_API_URL={sandbox}/postmark/ and POSTMARK_SERVER_TOKEN=SANDBOX_POSTMARK_SERVER_TOKEN.
"""

import datetime
import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox import receipts
from sandbox.models import OutboxMessage
from sandbox.wire import Invalid, json_object, method_not_allowed, secret_matches

BOUNCE_PREFIX = "bounce"


def _error(status: int, code: int, message: str) -> JsonResponse:
    """Postmark's error shape: {"ErrorCode": n, "Message": "..."}."""
    return JsonResponse({"ErrorCode": code, "Message": message}, status=status)


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    return value


def tracking_event(message_id: str, to: str) -> dict[str, object]:
    """The webhook Postmark posts for a message to `to`, as its documentation shows it."""
    now = datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")
    if to.split("@")[0].lower().startswith(BOUNCE_PREFIX):
        return {
            "RecordType": "Bounce",
            "MessageStream": "outbound",
            "ID": uuid.uuid4().int >> 66,
            "Type": "HardBounce",
            "TypeCode": 1,
            "Name": "Hard bounce",
            "MessageID": message_id,
            "Metadata": {},
            "ServerID": 1,
            "Description": "The server was unable to deliver your message (ex: unknown user, "
            "mailbox not found).",
            "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
            "Email": to,
            "BouncedAt": now,
            "Inactive": True,
            "CanActivate": True,
        }
    return {
        "RecordType": "Delivery",
        "ServerID": 1,
        "MessageStream": "outbound",
        "MessageID": message_id,
        "Recipient": to,
        "DeliveredAt": now,
        "Details": "smtp;250 2.0.0 OK",
        "Metadata": {},
    }


@csrf_exempt
def email(request: HttpRequest) -> HttpResponse:
    """POST {api}/email with X-Postmark-Server-Token: accept one e-mail, as Postmark does."""
    if request.method != "POST":
        return method_not_allowed(["POST"])
    token = request.headers.get("X-Postmark-Server-Token", "")
    if not secret_matches(token, settings.SANDBOX_POSTMARK_SERVER_TOKEN):
        return _error(401, 10, "The Server Token you provided in the request is not valid.")
    try:
        body = json_object(request, require_json_type=False)
        sender, to = _text(body, "From"), _text(body, "To")
        text, html = _text(body, "TextBody"), _text(body, "HtmlBody")
    except Invalid as err:
        return _error(422, 300, f"Invalid email request: {err}")
    if not sender or "@" not in to:
        return _error(422, 300, "Invalid email request: From and To are required")
    if not (text or html):
        return _error(422, 300, "Provide either email TextBody or HtmlBody or both.")
    message_id = str(uuid.uuid4())
    OutboxMessage.objects.create(
        provider="postmark",
        channel="email",
        to=to,
        body=text or html,
        session_key="",
        message_id=message_id,
    )
    url = settings.SANDBOX_POSTMARK_WEBHOOK_URL
    if url:
        event = tracking_event(message_id, to)
        receipts.later(
            lambda: receipts.post_postmark_webhook(url, message_id=message_id, event=event)
        )
    submitted = datetime.datetime.now(datetime.UTC).isoformat()
    return JsonResponse(
        {
            "To": to,
            "SubmittedAt": submitted,
            "MessageID": message_id,
            "ErrorCode": 0,
            "Message": "OK",
        }
    )
