"""OnSync's sessions API as the contract describes it, plus the join pages its links lead to."""

import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from sandbox.faults import upstream_api
from sandbox.models import OnSyncParticipant, OnSyncSession, OutboxMessage
from sandbox.wire import Invalid, error, is_integer, json_object, method_not_allowed, secret_matches

MAX_PARTICIPANTS = 50
# The column is a 32-bit integer; larger numbers would fail in the database, not here.
_INT32 = range(-(2**31), 2**31)


@dataclass(frozen=True)
class NewParticipant:
    name: str
    email: str
    reference: str | None
    send_email_invitation: bool


def _authorized(request: HttpRequest) -> bool:
    given = request.headers.get("X-API-Token", "")
    return secret_matches(given, settings.SANDBOX_ONSYNC_API_TOKEN)


def _title(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 200:
        raise Invalid("title must be a string of 1 to 200 characters")
    return value


def _session_type(body: dict[str, Any]) -> int | None:
    if "session_type" not in body:
        return None
    value = body["session_type"]
    if not is_integer(value):
        raise Invalid("session_type must be an integer")
    if value not in _INT32:
        raise Invalid("session_type is out of range")
    return int(value)


def _participants(body: dict[str, Any], *, required: bool) -> list[NewParticipant]:
    if "invited_participants" not in body:
        if required:
            raise Invalid("invited_participants is required")
        return []
    items = body["invited_participants"]
    if not isinstance(items, list):
        raise Invalid("invited_participants must be a list")
    if len(items) > MAX_PARTICIPANTS:
        raise Invalid(f"invited_participants may hold at most {MAX_PARTICIPANTS} participants")
    return [_participant(item, f"invited_participants[{i}]") for i, item in enumerate(items)]


def _participant(item: object, where: str) -> NewParticipant:
    if not isinstance(item, dict):
        raise Invalid(f"{where} must be an object")
    name = item.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        raise Invalid(f"{where}.name is required and must be a string of 1 to 100 characters")
    send = item.get("send_email_invitation", False)
    if not isinstance(send, bool):
        raise Invalid(f"{where}.send_email_invitation must be a boolean")
    email = ""
    if "email" in item:
        email = _email(item["email"], where)
    elif send:
        raise Invalid(f"{where}.email is required when send_email_invitation is true")
    reference = item.get("reference")
    if "reference" in item and (not isinstance(reference, str) or len(reference) > 64):
        raise Invalid(f"{where}.reference must be a string of at most 64 characters")
    return NewParticipant(name, email, reference, send)


def _email(value: object, where: str) -> str:
    if not isinstance(value, str) or len(value) > 254:
        raise Invalid(f"{where}.email must be an e-mail address")
    try:
        validate_email(value)
    except ValidationError as err:
        raise Invalid(f"{where}.email must be an e-mail address") from err
    return value


def _add_participants(
    request: HttpRequest, session: OnSyncSession, new: list[NewParticipant]
) -> None:
    for person in new:
        participant = OnSyncParticipant.objects.create(
            session=session,
            name=person.name,
            email=person.email,
            reference=person.reference,
            send_email_invitation=person.send_email_invitation,
            token=secrets.token_hex(16),
        )
        if person.send_email_invitation:
            _send_invitation_email(request, participant)


def _send_invitation_email(request: HttpRequest, participant: OnSyncParticipant) -> None:
    session = participant.session
    link = _personal_link(request, participant)
    OutboxMessage.objects.create(
        provider="onsync",
        channel="email",
        to=participant.email,
        body=(
            f"Hello {participant.name},\n\nYou are invited to the OnSync session "
            f'"{session.title}". Join with your personal link: {link}\n'
        ),
        session_key=session.session_id,
        reference=participant.reference or "",
    )
    participant.email_sent = True
    participant.save(update_fields=["email_sent"])


def _personal_link(request: HttpRequest, participant: OnSyncParticipant) -> str:
    path = reverse(
        "sandbox:onsync-join-personal", args=[participant.session.session_id, participant.token]
    )
    return request.build_absolute_uri(path)


def _find(session_id: str) -> OnSyncSession | None:
    return OnSyncSession.objects.filter(session_id=session_id).first()


@csrf_exempt
@upstream_api("onsync")
def session_create(request: HttpRequest) -> HttpResponse:
    """PUT {base}/session"""
    if request.method != "PUT":
        return method_not_allowed(["PUT"])
    if not _authorized(request):
        return error(401, "X-API-Token is missing or wrong")
    try:
        body = json_object(request, require_json_type=True)
        if "title" not in body:
            raise Invalid("title is required")
        title = _title(body["title"])
        session_type = _session_type(body)
        participants = _participants(body, required=False)
    except Invalid as err:
        return error(400, str(err))
    with transaction.atomic():
        session = OnSyncSession.objects.create(
            session_id="s_" + secrets.token_hex(6), title=title, session_type=session_type
        )
        _add_participants(request, session, participants)
    return JsonResponse({"session_id": session.session_id}, status=201)


@csrf_exempt
@upstream_api("onsync")
def session_detail(request: HttpRequest, session_id: str) -> HttpResponse:
    """POST {base}/session/{id} appends participants; GET reads the session; DELETE ends it
    (its links stop working)."""
    if request.method not in ("GET", "POST", "DELETE"):
        return method_not_allowed(["GET", "POST", "DELETE"])
    if not _authorized(request):
        return error(401, "X-API-Token is missing or wrong")
    session = _find(session_id)
    if session is None:
        return error(404, "unknown session")
    if request.method == "DELETE":
        session.delete()
        return HttpResponse(status=204)
    if request.method == "GET":
        link = reverse("sandbox:onsync-join", args=[session.session_id])
        return JsonResponse(
            {
                "session_id": session.session_id,
                "title": session.title,
                "session_type": session.session_type,
                "session_link": request.build_absolute_uri(link),
            }
        )
    try:
        body = json_object(request, require_json_type=True)
        title = _title(body["title"]) if "title" in body else None
        participants = _participants(body, required=True)
    except Invalid as err:
        return error(400, str(err))
    with transaction.atomic():
        if title is not None:
            session.title = title
            session.save(update_fields=["title"])
        _add_participants(request, session, participants)
    return JsonResponse({"session_id": session.session_id})


@csrf_exempt
@upstream_api("onsync")
def session_invitees(request: HttpRequest, session_id: str) -> HttpResponse:
    """GET {base}/session/{id}/invitees"""
    if request.method != "GET":
        return method_not_allowed(["GET"])
    if not _authorized(request):
        return error(401, "X-API-Token is missing or wrong")
    session = _find(session_id)
    if session is None:
        return error(404, "unknown session")
    invitees = [
        {
            "name": p.name,
            "email": p.email or None,
            "reference": p.reference,
            "personal_session_link": _personal_link(request, p),
            "email_sent": p.email_sent,
        }
        for p in session.participants.select_related("session")
    ]
    return JsonResponse({"invitees": invitees})


@require_GET
def join(request: HttpRequest, session_id: str) -> HttpResponse:
    """The generic session link: asks the visitor for a screen name."""
    session = _find(session_id)
    screen_name = request.GET.get("screen_name", "").strip()
    return render(
        request,
        "sandbox/onsync_join.html",
        {"session": session, "session_id": session_id, "screen_name": screen_name},
        status=404 if session is None else 200,
    )


@require_GET
def join_personal(request: HttpRequest, session_id: str, token: str) -> HttpResponse:
    """A participant's personal link: no questions, they are in."""
    participant = (
        OnSyncParticipant.objects.select_related("session")
        .filter(session__session_id=session_id, token=token)
        .first()
    )
    return render(
        request,
        "sandbox/onsync_join_personal.html",
        {"participant": participant, "session_id": session_id},
        status=404 if participant is None else 200,
    )
