"""The portal's own SMS gateway as the contract describes it: accepts and records messages."""

import re
import secrets
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox.faults import upstream_api
from sandbox.models import OutboxMessage
from sandbox.wire import Invalid, error, json_object, method_not_allowed, secret_matches

# E.164; ASCII digits only, which `\d` would not guarantee.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _authorized(request: HttpRequest) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme == "Bearer" and secret_matches(token, settings.SANDBOX_SMS_GATEWAY_TOKEN)


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
        to, text, reference = _validate(json_object(request, require_json_type=False))
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
    return JsonResponse({"id": message_id, "status": "accepted"}, status=202)
