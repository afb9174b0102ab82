"""Glance's smsInvite endpoint, its join page, and the outbox page."""

import re
import time

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from sandbox import glance, glance_authorization, glance_sessions, receipts
from sandbox.faults import upstream_api
from sandbox.models import GlanceSession, OutboxMessage
from sandbox.wire import Invalid, error, is_integer, json_object

CHANNELS = ("sms", "email")
_DIGITS = re.compile(r"[0-9]+")


@csrf_exempt
@upstream_api("glance")
@require_POST
def glance_sms_invite(request: HttpRequest) -> HttpResponse:
    """POST /api/SessionInvitation/smsInvite/?groupid=G, as Glance documents it."""
    group = request.GET.get("groupid", "")
    if not _DIGITS.fullmatch(group):
        return error(400, "groupid query parameter is required and must be a number")

    try:
        agent = glance.authenticate(
            request.headers.get("Authorization", ""),
            request.headers.get("X-GSSNID", ""),
            partner=glance_authorization.demo_partner(),
            now=int(time.time()),
            tokens=glance_authorization.token_holder,
        )
    except glance.Unauthorized as err:
        return error(401, str(err))
    if agent.partner_id != int(group):
        return error(403, "credential belongs to another group")

    try:
        body = json_object(request, require_json_type=True)
    except Invalid as err:
        return error(400, str(err))
    session_type = body.get("sessiontype")
    if not is_integer(session_type) or session_type < 0:
        return error(400, "sessiontype is required and must be a non-negative integer")
    phone = body.get("smsPhone")
    if not isinstance(phone, str) or len(re.sub(r"\D", "", phone)) < 7:
        return error(400, "smsPhone is required and must contain a phone number")
    params = body.get("sessionParams", {})
    if not isinstance(params, dict):
        return error(400, "sessionParams must be an object")

    with transaction.atomic():
        session = glance_sessions.open_session(
            group_id=agent.partner_id,
            partner_user_id=agent.partner_user_id,
            session_type=session_type,
        )
        session_key = session.session_key
        # The visitor's link: opening it starts the session (see glance_join).
        join_url = request.build_absolute_uri(reverse("sandbox:glance-join", args=[session_key]))
        text = (
            f"Your support agent invites you to a screen-sharing session. Tap to join: {join_url}"
        )
        OutboxMessage.objects.create(
            provider="glance",
            channel="sms",
            to=phone,
            body=text,
            session_key=session_key,
            session_type=session_type,
            partner_user_id=agent.partner_user_id,
            session_params=params,
        )
    return JsonResponse({"sessionKey": session_key, "invitationText": text})


@never_cache
@require_GET
def glance_join(request: HttpRequest, session_key: str) -> HttpResponse:
    """Where the link in the SMS leads: the visitor starts the session (once; reloads keep it).

    A stand-in for Glance's visitor side: from here on Glance's session lookup finds the
    session, and the agent's viewer connects to it.
    """
    session = glance_sessions.visitor_starts(session_key=session_key)
    return render(
        request,
        "sandbox/join.html",
        {
            "session_key": session_key,
            "session": session,
            "refresh_seconds": glance_sessions.REFRESH_SECONDS,
        },
        status=200 if session is not None else 404,
    )


@staff_member_required
@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    """What the sandbox "sent": customers' numbers, addresses and links, so staff only."""
    channel = request.GET.get("channel", "")
    as_json = request.GET.get("format") == "json"
    if channel and channel not in CHANNELS:
        reason = f"channel must be one of {', '.join(CHANNELS)}"
        return error(400, reason) if as_json else HttpResponse(reason, status=400)
    messages = OutboxMessage.objects.all()
    if channel:
        messages = messages.filter(channel=channel)
    messages = messages[:200]
    if as_json:
        return JsonResponse(
            {
                "messages": [
                    {
                        "provider": m.provider,
                        "channel": m.channel,
                        "to": m.to,
                        "body": m.body,
                        "session_key": m.session_key,
                        "session_type": m.session_type,
                        "session_params": m.session_params,
                        "partner_user_id": m.partner_user_id,
                        "reference": m.reference,
                        "message_id": m.message_id,
                        "created_at": m.created_at.isoformat(),
                        "receipts": [
                            {"status": p.status, "event_id": p.event_id, "answer": p.http_status}
                            for p in receipts.posted(m.message_id)
                        ]
                        if m.message_id
                        else [],
                    }
                    for m in messages
                ]
            }
        )
    glance_sessions_by_key = {
        s.session_key: s
        for s in GlanceSession.objects.filter(
            session_key__in=[m.session_key for m in messages if m.provider == "glance"]
        )
    }
    rows = [
        {
            "message": m,
            "glance_session": glance_sessions_by_key.get(m.session_key)
            if m.provider == "glance"
            else None,
            "receipts": receipts.posted(m.message_id) if m.message_id else [],
            "can_receipt": m.provider == "sms-gateway"
            and bool(receipts.callback_for(m.message_id)),
        }
        for m in messages
    ]
    return render(
        request,
        "sandbox/outbox.html",
        {
            # The admin's header, user links and theme, without its app sidebar.
            **admin.site.each_context(request),
            "is_nav_sidebar_enabled": False,
            "title": "Sandbox outbox",
            "outbox": rows,
            "channel": channel,
            "channels": CHANNELS,
            "sms_statuses": receipts.SMS_STATUSES,
            "receipt_delay": settings.SANDBOX_RECEIPT_DELAY,
        },
    )
