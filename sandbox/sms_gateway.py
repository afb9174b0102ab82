"""The portal's own SMS gateway as the contract describes it: accepts and records messages,
then posts a signed delivery receipt to the message's `status_callback` (sandbox.receipts).

Numbers ending in 0000 are reported undelivered; every other number delivered.
"""

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.csrf import csrf_exempt

from sandbox import receipts
from sandbox.faults import upstream_api
from sandbox.models import OutboxMessage
from sandbox.wire import Invalid, error, json_object, method_not_allowed, secret_matches

# E.164; ASCII digits only, which `\d` would not guarantee.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _authorized(request: HttpRequest) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme == "Bearer" and secret_matches(token, settings.SANDBOX_SMS_GATEWAY_TOKEN)


def _callback_url(value: object) -> str:
    if not isinstance(value, str) or len(value) > 500:
        raise Invalid("status_callback must be an http(s) URL of at most 500 characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid("status_callback must be an http(s) URL of at most 500 characters")
    return value


def _validate(body: dict[str, Any]) -> tuple[str, str, str]:
    to = body.get("to")
    if not isinstance(to, str) or not _E164.fullmatch(to):
        raise Invalid("to is required and must be an E.164 number such as +14155550134")
    text = body.get("body")
    if not isinstance(text, str) or not 1 <= len(text) <= 1600:
        raise Invalid("body is required and must be a string of 1 to 1600 characters")
    reference = body.get("reference", "")
    if not isinstance(reference, str) or len(reference) > 64:
        raise Invalid("reference must be a string of at most 64 characters")
    return to, text, reference


@csrf_exempt
@upstream_api("sms-gateway")
def messages(request: HttpRequest) -> HttpResponse:
    """POST {gateway}/messages"""
    if request.method != "POST":
        return method_not_allowed(["POST"])
    if not _authorized(request):
        return error(401, "Authorization must be 'Bearer <gateway token>' with a valid token")
    try:
        body = json_object(request, require_json_type=False)
        to, text, reference = _validate(body)
        callback = _callback_url(body["status_callback"]) if "status_callback" in body else ""
    except Invalid as err:
        return error(400, str(err))
    message_id = "m_" + secrets.token_hex(8)
    OutboxMessage.objects.create(
        provider="sms-gateway",
        channel="sms",
        to=to,
        body=text,
        session_key="",
        reference=reference,
        message_id=message_id,
    )
    if callback:
        receipts.remember_callback(message_id, callback)
        status, reason = receipts.sms_outcome(to)
        # One event, tried again as it is: the receiver tells a repeat by its event id.
        event_id = receipts.new_event_id()
        occurred_at = receipts.now_iso()
        receipts.later(
            lambda: receipts.post_sms_receipt(
                callback,
                message_id=message_id,
                status=status,
                error=reason,
                event_id=event_id,
                occurred_at=occurred_at,
            )
        )
    return JsonResponse({"id": message_id, "status": "accepted"}, status=202)


RECEIPT_FIELDS = ("status", "error", "event_id", "occurred_at", "status_callback")


def _receipt_request(request: HttpRequest) -> dict[str, str]:
    """The fields of a manual receipt, from JSON or from the outbox page's form."""
    if request.content_type == "application/json":
        body = json_object(request, require_json_type=True)
    else:
        body = {name: request.POST[name] for name in RECEIPT_FIELDS if request.POST.get(name)}
    unknown = sorted(set(body) - set(RECEIPT_FIELDS))
    if unknown:
        raise Invalid(f"unknown field {unknown[0]}; fields are {', '.join(RECEIPT_FIELDS)}")
    for name, value in body.items():
        if not isinstance(value, str):
            raise Invalid(f"{name} must be a string")
    if body.get("status") not in receipts.SMS_STATUSES:
        raise Invalid(f"status is required, one of {', '.join(receipts.SMS_STATUSES)}")
    if "status_callback" in body:
        _callback_url(body["status_callback"])
    return body


@csrf_exempt
@staff_member_required
def receipt(request: HttpRequest, message_id: str) -> HttpResponse:
    """POST {gateway}/messages/<id>/receipt: post a status callback for a message now.

    Body (JSON or form): {"status": "delivered", "error": "", "event_id": "", "occurred_at": "",
    "status_callback": ""}; only status is required. Empty event_id and occurred_at: new and
    now; repeat an event_id to replay a callback. Empty status_callback: the one the message
    was sent with. JSON answers 200 {"callback_status": ..., "callback_answer": ...}; the form
    goes back to the outbox.
    """
    if request.method != "POST":
        return method_not_allowed(["POST"])
    if not OutboxMessage.objects.filter(provider="sms-gateway", message_id=message_id).exists():
        return error(404, "no message with this id")
    try:
        fields = _receipt_request(request)
    except Invalid as err:
        return error(400, str(err))
    callback = fields.get("status_callback") or receipts.callback_for(message_id)
    if not callback:
        return error(
            409,
            "this message was sent without status_callback (or before the sandbox restarted); "
            "give status_callback",
        )
    posted = receipts.post_sms_receipt(
        callback,
        message_id=message_id,
        status=fields["status"],
        error=fields.get("error", ""),
        event_id=fields.get("event_id", ""),
        occurred_at=fields.get("occurred_at", ""),
    )
    if request.content_type != "application/json":
        return redirect("sandbox:outbox")
    return JsonResponse(
        {
            "event_id": posted.event_id,
            "callback_status": posted.http_status,
            "callback_answer": posted.answer,
        }
    )
