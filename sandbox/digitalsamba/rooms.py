"""Rooms: `POST/GET /rooms`, `GET/PATCH/DELETE /rooms/{room}`, `POST /rooms/{room}/token`
(facts.md §2.2, §2.3)."""

import datetime
import re
import secrets
import string
import time
import uuid
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse

from sandbox.digitalsamba import live, tokens
from sandbox.digitalsamba.wire import (
    Errors,
    NotFound,
    Unprocessable,
    body,
    developer_key,
    endpoint,
    iso_time,
    listing,
    page_of,
    team_id,
    text_field,
    uuid_or_none,
)
from sandbox.models import DigitalSambaRoom, DigitalSambaWebhook

# The team's roles: name -> display name (facts.md §2.2: the team defaults).
ROLES = {"moderator": "Moderator", "speaker": "Speaker", "attendee": "Attendee"}
# A room created without `roles` has all of them, and this one unless `default_role` says.
DEFAULT_ROLE = "speaker"
FRIENDLY_URL = re.compile(r"[A-Za-z0-9_-]{3,32}")
GENERATED_FRIENDLY_URL_LENGTH = 15
# A larger `exp` is a Unix time, a smaller one minutes from now (facts.md §2.3).
UNIX_TIME_FROM = 1_000_000_000
_ROLE_IDS = uuid.UUID("0c6a3f5e-58f3-4d55-9d43-7e9b1d2a6f00")
_TOKEN_TEXT_CLAIMS = ("ud", "u", "initials", "breakoutId", "avatar")
_PURGE_FIELDS = ("delete_resources", "delete_history", "delete_library")


def role_id(name: str) -> str:
    """A role's id: a UUID, the same for the team's role every time."""
    return str(uuid.uuid5(_ROLE_IDS, f"{team_id()}/{name}"))


def role_named(value: object) -> str | None:
    """The team role a name or id stands for."""
    for name in ROLES:
        if value in (name, role_id(name)):
            return name
    return None


def find(room: str) -> DigitalSambaRoom:
    """A room that is not deleted, by UUID or friendly_url; raises NotFound."""
    pk = uuid_or_none(room)
    match = Q(pk=pk) if pk is not None else Q(friendly_url=room)
    found = DigitalSambaRoom.objects.filter(match, deleted_at__isnull=True).first()
    if found is None:
        raise NotFound
    return found


def room_url(request: HttpRequest, room: DigitalSambaRoom) -> str:
    """Stands for `https://{team}.digitalsamba.com/{friendly_url}`, on this server."""
    path = reverse("sandbox:digitalsamba-room", args=[room.friendly_url])
    return request.build_absolute_uri(path)


def _role(name: str) -> dict[str, Any]:
    return {"id": role_id(name), "name": name, "display_name": ROLES[name]}


def as_json(request: HttpRequest, room: DigitalSambaRoom) -> dict[str, Any]:
    return {
        "id": str(room.pk),
        "description": room.description or None,
        "friendly_url": room.friendly_url,
        "privacy": room.privacy,
        "external_id": room.external_id or None,
        "room_url": room_url(request, room),
        "default_role": _role(room.default_role),
        "roles": [{**_role(name), "allow_private_group_chat": True} for name in room.roles],
        "webhooks": [
            str(pk) for pk in room.webhooks.order_by("created_at").values_list("pk", flat=True)
        ],
        "created_at": iso_time(room.created_at),
        "updated_at": iso_time(room.updated_at),
    }


@endpoint("GET", "POST")
def rooms(request: HttpRequest) -> HttpResponse:
    """GET lists the team's rooms; POST creates one (200 with the room)."""
    if request.method == "POST":
        return JsonResponse(
            as_json(request, _save(DigitalSambaRoom(), body(request), creating=True))
        )
    errors = Errors()
    page = page_of(request, errors)
    errors.raise_any()
    found = list(DigitalSambaRoom.objects.filter(deleted_at__isnull=True).order_by("created_at"))
    return listing(
        found,
        page,
        lambda room: as_json(request, room),
        lambda room: (str(room.pk), room.friendly_url),
    )


@endpoint("GET", "PATCH", "DELETE")
def room(request: HttpRequest, room: str) -> HttpResponse:
    found = find(room)
    if request.method == "GET":
        return JsonResponse(as_json(request, found))
    if request.method == "PATCH":
        return JsonResponse(as_json(request, _save(found, body(request), creating=False)))
    fields = body(request)
    if (
        any(fields.get(name) for name in _PURGE_FIELDS)
        and found.sessions.filter(end_time__isnull=True).exists()
    ):
        raise Unprocessable("Cannot delete resources of a live room.")
    live.delete_room(room=found)
    return HttpResponse(status=204)


def _save(room: DigitalSambaRoom, fields: dict[str, Any], *, creating: bool) -> DigitalSambaRoom:
    """Create (unsaved `room`) or edit a room from a request's fields; raises Invalid."""
    errors = Errors()
    if "privacy" in fields or creating:
        if fields.get("privacy") is None:
            errors.add("privacy", "The :field field is required.")
        elif fields["privacy"] not in DigitalSambaRoom.Privacy.values:
            errors.add("privacy", "The selected :field is invalid.")
        else:
            room.privacy = fields["privacy"]
    if "friendly_url" in fields:
        value = fields["friendly_url"]
        if not isinstance(value, str) or not FRIENDLY_URL.fullmatch(value):
            errors.add(
                "friendly_url",
                "The :field field must be 3 to 32 letters, digits, dashes and underscores.",
            )
        elif (
            DigitalSambaRoom.objects.filter(friendly_url=value, deleted_at__isnull=True)
            .exclude(pk=room.pk)
            .exists()
        ):
            errors.add("friendly_url", "The :field has already been taken.")
        else:
            room.friendly_url = value
    for name, shortest, longest in (("description", 3, 500), ("external_id", 0, 255)):
        if name in fields:
            value = text_field(fields, name, errors, shortest=shortest, longest=longest)
            if name not in errors:
                setattr(room, name, value or "")
    _set_roles(room, fields, errors, creating=creating)
    hooks = _webhooks(fields, errors)
    errors.raise_any()
    if creating and not room.friendly_url:
        room.friendly_url = _new_friendly_url()
    with transaction.atomic():
        room.save()
        if hooks is not None:
            room.webhooks.set(hooks)
    return room


def _set_roles(
    room: DigitalSambaRoom, fields: dict[str, Any], errors: Errors, *, creating: bool
) -> None:
    roles = list(room.roles) if not creating else list(ROLES)
    if "roles" in fields:
        given = fields["roles"]
        named = [role_named(v) for v in given] if isinstance(given, list) else []
        if not named or None in named:
            errors.add("roles", "The :field field must be a list of the team's role ids or names.")
            return
        roles = list(dict.fromkeys(name for name in named if name))
    default = room.default_role if not creating else DEFAULT_ROLE
    if fields.get("default_role") is not None:
        default = role_named(fields["default_role"]) or ""
        if not default:
            errors.add("default_role", "The selected :field is invalid.")
            return
    elif "roles" in fields and (creating or default not in roles):
        if len(roles) > 1:
            errors.add("default_role", "The :field field is required when roles is present.")
            return
        default = roles[0]
    if default not in roles:
        errors.add("default_role", "The :field must be one of the room's roles.")
        return
    room.roles, room.default_role = roles, default


def _webhooks(fields: dict[str, Any], errors: Errors) -> list[DigitalSambaWebhook] | None:
    if fields.get("webhooks") is None:
        return None
    given = fields["webhooks"]
    if not isinstance(given, list):
        errors.add("webhooks", "The :field field must be an array.")
        return None
    ids = [uuid_or_none(v) if isinstance(v, str) else None for v in given]
    found = {hook.pk: hook for hook in DigitalSambaWebhook.objects.filter(pk__in=ids)}
    for i, pk in enumerate(ids):
        if pk not in found:
            errors.add(f"webhooks.{i}", "The selected :field is invalid.")
    return [found[pk] for pk in ids if pk in found]


def _new_friendly_url() -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(GENERATED_FRIENDLY_URL_LENGTH))
        if not DigitalSambaRoom.objects.filter(friendly_url=value).exists():
            return value


@endpoint("POST")
def token(request: HttpRequest, room: str) -> HttpResponse:
    """A signed token for the room, and the room's link with it (facts.md §2.3)."""
    found = find(room)
    fields = body(request)
    errors = Errors()
    now = int(time.time())
    claims: dict[str, Any] = {}
    for name in _TOKEN_TEXT_CLAIMS:
        value = text_field(fields, name, errors, longest=255)
        if value is not None:
            claims[name] = value
    claims.update(rd=str(found.pk), td=team_id())
    if fields.get("role") is not None:
        role = role_named(fields["role"])
        if role is None or role not in found.roles:
            errors.add("role", "The selected :field is invalid.")
        else:
            claims["role"] = role
    claims["iat"] = now
    for name in ("nbf", "exp"):
        if fields.get(name) is not None:
            moment = _moment(fields[name], now, minutes_allowed=name == "exp")
            if moment is None:
                errors.add(name, "The :field field must be a Unix time or a date and time.")
            else:
                claims[name] = moment
    errors.raise_any()
    signed = tokens.sign(claims, developer_key())
    return JsonResponse({"token": signed, "link": f"{room_url(request, found)}?token={signed}"})


def _moment(value: object, now: int, *, minutes_allowed: bool) -> int | None:
    """Unix seconds from a Unix time, minutes from now (`exp` only) or a date-time (UTC)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        if value >= UNIX_TIME_FROM or not minutes_allowed:
            return value
        return now + 60 * value
    if isinstance(value, str):
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.UTC)
        return int(moment.timestamp())
    return None
