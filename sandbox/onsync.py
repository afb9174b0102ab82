"""OnSync's legacy sessions API as its clients use it (facts.md §1), and the pages its links
lead to.

Routes (under `/sandbox/onsync/`; `api/1` and `api/2` behave the same; `{fmt}` is an optional
`/format/json` or `/format/xml`, and a trailing slash is accepted):

- `PUT api/1/<account>/session{fmt}`: create; 201 `{"message": "Session added", "id": N}`.
- `POST api/1/<account>/session{fmt}`: edit, `id` in the body; adds the given
  `invited_participants` to those already invited; 200 `{"message": "Session updated", "id": N}`.
- `DELETE api/1/<account>/session{fmt}`: `id` in the body; 200 `{"message": "Session was
  deleted"}`; its links stop working.
- `GET api/1/<account>/session/id/<id>{fmt}`: the session, with `session_link`.
- `GET api/1/<account>/invitees/id/<id>{fmt}`: invitees grouped by role.
- `go/<account>/<friendly_url>/`: where `session_link` leads (asks for a screen name, and the
  session password if it has one); `join/<token>/`: where a `personal_session_link` leads.

Every API call needs HTTP Basic with `SANDBOX_ONSYNC_ACCOUNT` and `SANDBOX_ONSYNC_PASSWORD`,
and the path's account must be that login (401 with `WWW-Authenticate: Basic realm="OnSync"`
otherwise). Errors are `{"status": false, "error": "..."}` (in XML too): 400 for an invalid
body, 404 for an unknown session (`GET .../session/id/0` is one: clients check credentials
with it), 405 for another method.

Where facts.md is silent, this emulator chooses:

- Credentials are checked before the method, so a caller without them learns nothing.
- JSON only with `/format/json`; the `Accept` header and `?format=` are not read.
- With `rest_data`, only its JSON counts (`input_type` and other fields are ignored); plain form
  fields nest PHP-style (`invited_participants[0][email]=...`).
- Create: `topic` is required (1 to 255 characters). `duration` defaults to 60 (1 to 525600
  minutes), `start_time` to now in UTC, `timezone` to `UTC`; a timezone is a CodeIgniter code
  (`UTC`, `UP1`, `UM5`, `UP55`, ...) or `UTC+2`, `UTC-05:30`. `friendly_url` is generated
  when absent and unique per account; `password` may be empty. Numbers may come as JSON
  numbers or digit strings (plain form fields are strings).
- An edit changes only the fields it carries.
- A participant needs `email`, `first_name` and `last_name` (a single space counts as a name;
  an empty one is refused, as clients' habit of sending a space suggests); `role` defaults to
  2; `send_email_invitation` takes true/false/1/0 ("true"/"false"/"1"/"0" as strings) and
  defaults to true (the service mails invitees unless told not to). At most 50 per request.
- An e-mail already invited to the session (compared without case) is not added again; its
  invitee, link and name stay as they are, and with `send_email_invitation` true it is mailed
  again.
- The invitation e-mail (with the personal link) goes to the sandbox outbox; an address under
  the `.invalid` top-level domain is never mailed.
- Invitees: `moderators`, `participants` and `observers`, each entry `id`, `email`,
  `first_name`, `last_name`, `role`, `personal_session_link`, in the order invited. A group
  of one is a single object (in JSON as in XML, where it is one `<item>`), an empty group is
  left out, so a session without invitees answers `{}`.
- The session answer: `id`, `topic`, `duration`, `start_time`, `timezone`, `friendly_url`,
  `session_link`.
"""

import base64
import binascii
import datetime
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from sandbox.faults import upstream_api
from sandbox.models import OnSyncParticipant, OnSyncSession, OutboxMessage
from sandbox.onsync_wire import JSON, XML, answer, failure, request_fields
from sandbox.wire import Invalid, is_integer, secret_matches

MAX_PARTICIPANTS = 50
DEFAULT_DURATION = 60
# A year, what clients send for an "all day" session (facts.md §1.6).
LONGEST_DURATION = 525_600
GROUPS = {
    OnSyncParticipant.Role.MODERATOR: "moderators",
    OnSyncParticipant.Role.PARTICIPANT: "participants",
    OnSyncParticipant.Role.OBSERVER: "observers",
}
# CodeIgniter's date-helper codes, as OnSync's clients send them (facts.md §1.6).
_CODEIGNITER_TIMEZONES = """
UM12 UM11 UM10 UM95 UM9 UM8 UM7 UM6 UM5 UM45 UM4 UM35 UM3 UM2 UM1 UTC
UP1 UP2 UP3 UP35 UP4 UP45 UP5 UP55 UP575 UP6 UP65 UP7 UP8 UP875 UP9 UP95
UP10 UP105 UP11 UP115 UP12 UP1275 UP13 UP14
"""
TIMEZONE_CODES = frozenset(_CODEIGNITER_TIMEZONES.split())
_UTC_OFFSET = re.compile(r"UTC[+-](?:1[0-4]|0?[0-9])(?::?[0-5][0-9])?")
_START_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_FRIENDLY_URL = re.compile(r"[A-Za-z0-9_-]{1,100}")
_DIGITS = re.compile(r"[0-9]{1,18}")
_BOOLEAN_STRINGS = {"true": True, "1": True, "false": False, "0": False}
# The fields a create or an edit may carry, besides `id` and `invited_participants`.
_TEXT_FIELDS = {"topic": 255, "password": 100}


@dataclass(frozen=True)
class NewInvitee:
    email: str
    first_name: str
    last_name: str
    role: int
    send_email_invitation: bool


def _authorized(request: HttpRequest, account: str) -> bool:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, colon, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return (
        bool(colon)
        and user == account
        and secret_matches(user, settings.SANDBOX_ONSYNC_ACCOUNT)
        and secret_matches(password, settings.SANDBOX_ONSYNC_PASSWORD)
    )


def _refused(request: HttpRequest, account: str, fmt: str, allowed: str) -> HttpResponse | None:
    """The answer to a request without credentials or with another method, if it is one."""
    if not _authorized(request, account):
        response = failure(401, "Not authorized", fmt=fmt)
        response["WWW-Authenticate"] = 'Basic realm="OnSync"'
        return response
    if request.method not in allowed.split(", "):
        response = failure(405, f"Unknown method; use {allowed}", fmt=fmt)
        response["Allow"] = allowed
        return response
    return None


def _integer(value: object, name: str) -> int:
    if is_integer(value) and 0 <= value < 2**63:
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    raise Invalid(f"{name} must be an integer")


def _session_fields(fields: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The session columns a create or edit body sets, checked; raises Invalid."""
    if creating and "topic" not in fields:
        raise Invalid("topic is required")
    changes: dict[str, Any] = {}
    for name, longest in _TEXT_FIELDS.items():
        if name in fields:
            value = fields[name]
            shortest = 1 if name == "topic" else 0
            if not isinstance(value, str) or not shortest <= len(value) <= longest:
                raise Invalid(f"{name} must be a string of {shortest} to {longest} characters")
            changes[name] = value
    if "duration" in fields:
        changes["duration"] = _integer(fields["duration"], "duration")
        if not 1 <= changes["duration"] <= LONGEST_DURATION:
            raise Invalid(f"duration must be 1 to {LONGEST_DURATION} minutes")
    if "start_time" in fields:
        changes["start_time"] = _start_time(fields["start_time"])
    if "timezone" in fields:
        value = fields["timezone"]
        if not isinstance(value, str) or not (
            value in TIMEZONE_CODES or _UTC_OFFSET.fullmatch(value)
        ):
            raise Invalid("timezone must be a timezone code such as UTC, UP1 or UM5, or UTC+2")
        changes["timezone"] = value
    if "friendly_url" in fields:
        value = fields["friendly_url"]
        if not isinstance(value, str) or not _FRIENDLY_URL.fullmatch(value):
            raise Invalid("friendly_url must be 1 to 100 letters, digits, '-' or '_'")
        changes["friendly_url"] = value
    return changes


def _start_time(value: object) -> str:
    reason = "start_time must be a date and time as YYYY-MM-DD HH:MM:SS"
    if not isinstance(value, str) or not _START_TIME.fullmatch(value):
        raise Invalid(reason)
    try:
        datetime.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError as err:
        raise Invalid(reason) from err
    return value


def _invitees(fields: dict[str, Any]) -> list[NewInvitee]:
    items = fields.get("invited_participants", [])
    if not isinstance(items, list):
        raise Invalid("invited_participants must be a list")
    if len(items) > MAX_PARTICIPANTS:
        raise Invalid(f"invited_participants may hold at most {MAX_PARTICIPANTS} participants")
    return [_invitee(item, f"invited_participants[{i}]") for i, item in enumerate(items)]


def _invitee(item: object, where: str) -> NewInvitee:
    if not isinstance(item, dict):
        raise Invalid(f"{where} must be an object")
    email = item.get("email")
    if not isinstance(email, str) or len(email) > 254:
        raise Invalid(f"{where}.email is required and must be an e-mail address")
    try:
        validate_email(email)
    except ValidationError as err:
        raise Invalid(f"{where}.email is required and must be an e-mail address") from err
    names = []
    for name in ("first_name", "last_name"):
        value = item.get(name)
        if not isinstance(value, str) or not 1 <= len(value) <= 100:
            raise Invalid(f"{where}.{name} is required and must be 1 to 100 characters")
        names.append(value)
    role = _integer(item.get("role", OnSyncParticipant.Role.PARTICIPANT), f"{where}.role")
    if role not in GROUPS:
        raise Invalid(f"{where}.role must be 1 (moderator), 2 (participant) or 3 (observer)")
    send = _boolean(item.get("send_email_invitation", True), f"{where}.send_email_invitation")
    return NewInvitee(email, names[0], names[1], role, send)


def _boolean(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if is_integer(value) and value in (0, 1):
        return value == 1
    if isinstance(value, str) and value in _BOOLEAN_STRINGS:
        return _BOOLEAN_STRINGS[value]
    raise Invalid(f"{name} must be true, false, 1 or 0")


def _body_id(fields: dict[str, Any]) -> int:
    if "id" not in fields:
        raise Invalid("id is required")
    return _integer(fields["id"], "id")


def _find(account: str, session_id: object) -> OnSyncSession | None:
    try:
        pk = _integer(session_id, "id")
    except Invalid:
        return None
    return OnSyncSession.objects.filter(account=account, pk=pk).first()


def _invite(request: HttpRequest, session: OnSyncSession, new: list[NewInvitee]) -> None:
    for person in new:
        invitee = session.participants.filter(email__iexact=person.email).first()
        if invitee is None:
            invitee = OnSyncParticipant.objects.create(
                session=session,
                email=person.email,
                first_name=person.first_name,
                last_name=person.last_name,
                role=person.role,
                send_email_invitation=person.send_email_invitation,
                token=secrets.token_urlsafe(24),
            )
        if person.send_email_invitation and not _undeliverable(invitee.email):
            _send_invitation_email(request, invitee)


def _undeliverable(email: str) -> bool:
    """Under the `.invalid` top-level domain (RFC 2606): an address that is never mailed."""
    domain = email.rpartition("@")[2].rstrip(".").lower()
    return domain == "invalid" or domain.endswith(".invalid")


def _send_invitation_email(request: HttpRequest, invitee: OnSyncParticipant) -> None:
    session = invitee.session
    OutboxMessage.objects.create(
        provider="onsync",
        channel="email",
        to=invitee.email,
        body=(
            f"Hello {invitee.name},\n\nYou are invited to the OnSync session "
            f'"{session.topic}" ({session.start_time} {session.timezone}, '
            f"{session.duration} minutes). Join with your personal link: "
            f"{_personal_link(request, invitee)}\n"
        ),
        session_key=str(session.pk),
    )
    invitee.email_sent = True
    invitee.save(update_fields=["email_sent"])


def _personal_link(request: HttpRequest, invitee: OnSyncParticipant) -> str:
    return request.build_absolute_uri(reverse("sandbox:onsync-join-personal", args=[invitee.token]))


def _session_link(request: HttpRequest, session: OnSyncSession) -> str:
    path = reverse("sandbox:onsync-join", args=[session.account, session.friendly_url])
    return request.build_absolute_uri(path)


@csrf_exempt
@upstream_api("onsync")
def session(request: HttpRequest, version: str, account: str, fmt: str = XML) -> HttpResponse:
    """PUT creates a session, POST edits one, DELETE ends one (`id` in the body)."""
    refused = _refused(request, account, fmt, "PUT, POST, DELETE")
    if refused is not None:
        return refused
    try:
        fields = request_fields(request.body)
        if request.method == "PUT":
            return _create(request, account, fields, fmt)
        found = _find(account, _body_id(fields))
        if found is None:
            return failure(404, "Session not found", fmt=fmt)
        if request.method == "DELETE":
            found.delete()
            return answer({"message": "Session was deleted"}, fmt=fmt)
        return _edit(request, found, fields, fmt)
    except Invalid as err:
        return failure(400, str(err), fmt=fmt)


def _create(request: HttpRequest, account: str, fields: dict[str, Any], fmt: str) -> HttpResponse:
    changes = _session_fields(fields, creating=True)
    invitees = _invitees(fields)
    friendly_url = changes.setdefault("friendly_url", secrets.token_hex(6))
    if OnSyncSession.objects.filter(account=account, friendly_url=friendly_url).exists():
        raise Invalid("friendly_url is already in use")
    changes.setdefault("duration", DEFAULT_DURATION)
    changes.setdefault("timezone", "UTC")
    changes.setdefault("start_time", f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M:%S}")
    with transaction.atomic():
        created = OnSyncSession.objects.create(account=account, **changes)
        _invite(request, created, invitees)
    return answer({"message": "Session added", "id": created.pk}, status=201, fmt=fmt)


def _edit(
    request: HttpRequest, found: OnSyncSession, fields: dict[str, Any], fmt: str
) -> HttpResponse:
    changes = _session_fields(fields, creating=False)
    invitees = _invitees(fields)
    friendly_url = changes.get("friendly_url", found.friendly_url)
    taken = OnSyncSession.objects.filter(account=found.account, friendly_url=friendly_url)
    if taken.exclude(pk=found.pk).exists():
        raise Invalid("friendly_url is already in use")
    with transaction.atomic():
        for name, value in changes.items():
            setattr(found, name, value)
        found.save()
        _invite(request, found, invitees)
    return answer({"message": "Session updated", "id": found.pk}, fmt=fmt)


@csrf_exempt
@upstream_api("onsync")
def session_read(
    request: HttpRequest, version: str, account: str, session_id: str, fmt: str = XML
) -> HttpResponse:
    """GET the session, with its generic `session_link`."""
    refused = _refused(request, account, fmt, "GET")
    if refused is not None:
        return refused
    found = _find(account, session_id)
    if found is None:
        return failure(404, "Session not found", fmt=fmt)
    data = {
        "id": found.pk,
        "topic": found.topic,
        "duration": found.duration,
        "start_time": found.start_time,
        "timezone": found.timezone,
        "friendly_url": found.friendly_url,
        "session_link": _session_link(request, found),
    }
    return answer(data, fmt=fmt)


@csrf_exempt
@upstream_api("onsync")
def invitees(
    request: HttpRequest, version: str, account: str, session_id: str, fmt: str = XML
) -> HttpResponse:
    """GET the session's invitees, grouped by role, each with their `personal_session_link`."""
    refused = _refused(request, account, fmt, "GET")
    if refused is not None:
        return refused
    found = _find(account, session_id)
    if found is None:
        return failure(404, "Session not found", fmt=fmt)
    groups: dict[str, list[dict[str, Any]]] = {}
    for invitee in found.participants.select_related("session"):
        groups.setdefault(GROUPS[OnSyncParticipant.Role(invitee.role)], []).append(
            {
                "id": invitee.pk,
                "email": invitee.email,
                "first_name": invitee.first_name,
                "last_name": invitee.last_name,
                "role": invitee.role,
                "personal_session_link": _personal_link(request, invitee),
            }
        )
    ordered = {name: groups[name] for name in GROUPS.values() if name in groups}
    if fmt == JSON:
        # As a JSON rendering of the XML reads: a group of one is that one object.
        return answer({k: v[0] if len(v) == 1 else v for k, v in ordered.items()}, fmt=fmt)
    return answer(ordered, fmt=fmt)


@require_GET
def join(request: HttpRequest, account: str, friendly_url: str) -> HttpResponse:
    """The generic session link: asks for a screen name, and the password if there is one."""
    found = OnSyncSession.objects.filter(account=account, friendly_url=friendly_url).first()
    screen_name = request.GET.get("screen_name", "").strip()
    wrong_password = bool(
        found
        and found.password
        and screen_name
        and not secret_matches(request.GET.get("password", ""), found.password)
    )
    return render(
        request,
        "sandbox/onsync_join.html",
        {
            "session": found,
            "friendly_url": friendly_url,
            "screen_name": "" if wrong_password else screen_name,
            "wrong_password": wrong_password,
        },
        status=404 if found is None else 200,
    )


@require_GET
def join_personal(request: HttpRequest, token: str) -> HttpResponse:
    """A personal session link: no questions, the invitee is in."""
    invitee = OnSyncParticipant.objects.select_related("session").filter(token=token).first()
    return render(
        request,
        "sandbox/onsync_join_personal.html",
        {"participant": invitee},
        status=404 if invitee is None else 200,
    )
