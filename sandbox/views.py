"""HTTP endpoints that behave like the upstream providers, plus the outbox page."""

import json
import re
import secrets
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from sandbox import glance
from sandbox.models import OutboxMessage


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _glance_api_keys() -> dict[int, str]:
    return {settings.SANDBOX_GLANCE_GROUP_ID: settings.SANDBOX_GLANCE_API_KEY}


@csrf_exempt
@require_POST
def glance_sms_invite(request: HttpRequest) -> HttpResponse:
    """POST /api/SessionInvitation/smsInvite/?groupid=G, as Glance documents it."""
    group = request.GET.get("groupid", "")
    if not group.isdigit():
        return _error(400, "groupid query parameter is required and must be a number")

    header = request.headers.get("Authorization", "")
    if not header:
        return _error(401, "Authorization header is missing")
    try:
        token_type, token = glance.parse_authorization(header)
        if token_type != "GKEY":  # noqa: S105  (a token type name, not a password)
            raise glance.Unauthorized(f"token type {token_type} is not accepted")
        agent = glance.authenticate_gkey(token, api_keys=_glance_api_keys(), now=int(time.time()))
    except glance.Unauthorized as err:
        return _error(401, str(err))
    if agent.partner_id != int(group):
        return _error(403, "login key belongs to another group")

    if request.content_type != "application/json":
        return _error(400, "Content-Type must be application/json")
    try:
        body: Any = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "body is not valid JSON")
    if not isinstance(body, dict):
        return _error(400, "body must be a JSON object")
    session_type = body.get("sessiontype")
    if not isinstance(session_type, int) or isinstance(session_type, bool) or session_type < 0:
        return _error(400, "sessiontype is required and must be a non-negative integer")
    phone = body.get("smsPhone")
    if not isinstance(phone, str) or len(re.sub(r"\D", "", phone)) < 7:
        return _error(400, "smsPhone is required and must contain a phone number")
    params = body.get("sessionParams", {})
    if not isinstance(params, dict):
        return _error(400, "sessionParams must be an object")

    session_key = f"{secrets.randbelow(1_000_000):06d}"
    join_url = request.build_absolute_uri(reverse("sandbox:glance-join", args=[session_key]))
    text = f"Your support agent invites you to a screen-sharing session. Tap to join: {join_url}"
    OutboxMessage.objects.create(
        provider="glance",
        channel="sms",
        to=phone,
        body=text,
        session_key=session_key,
        session_type=session_type,
        partner_user_id=agent.partner_user_id,
    )
    return JsonResponse({"sessionKey": session_key, "invitationText": text})


@require_GET
def glance_join(request: HttpRequest, session_key: str) -> HttpResponse:
    """Where the link in the SMS leads: a stand-in for joining the session."""
    known = OutboxMessage.objects.filter(provider="glance", session_key=session_key).exists()
    return render(
        request,
        "sandbox/join.html",
        {"session_key": session_key, "known": known},
        status=200 if known else 404,
    )


@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    messages = OutboxMessage.objects.all()[:200]
    if request.GET.get("format") == "json":
        return JsonResponse(
            {
                "messages": [
                    {
                        "provider": m.provider,
                        "channel": m.channel,
                        "to": m.to,
                        "body": m.body,
                        "session_key": m.session_key,
                        "created_at": m.created_at.isoformat(),
                    }
                    for m in messages
                ]
            }
        )
    return render(request, "sandbox/outbox.html", {"outbox": messages})
