"""Sessions: `GET /sessions`, `GET /sessions/{session}`, `GET /sessions/{session}/participants`,
`POST /sessions/{session}/end` (facts.md §2.5)."""

from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from sandbox.digitalsamba import live
from sandbox.digitalsamba.wire import (
    Errors,
    NotFound,
    endpoint,
    listing,
    page_of,
    plain_time,
    query_boolean,
    query_date,
    uuid_or_none,
)
from sandbox.models import DigitalSambaParticipant, DigitalSambaSession


def _find(session_id: str) -> DigitalSambaSession:
    pk = uuid_or_none(session_id)
    found = DigitalSambaSession.objects.select_related("room").filter(pk=pk).first() if pk else None
    if found is None:
        raise NotFound
    return found


def _session(session: DigitalSambaSession) -> dict[str, Any]:
    room = session.room
    people = list(session.participants.all())
    return {
        "id": str(session.pk),
        "start_time": plain_time(session.start_time),
        "end_time": plain_time(session.end_time),
        "room_id": str(room.pk),
        "room_external_id": room.external_id or None,
        "description": room.description or None,
        "friendly_url": room.friendly_url,
        "room_is_deleted": room.deleted_at is not None,
        "participants_live": sum(1 for p in people if p.leave_time is None),
        "participants_total": len(people),
        "participants_max": session.participants_max,
        "live": session.end_time is None,
    }


def _participant(participant: DigitalSambaParticipant) -> dict[str, Any]:
    session = participant.session
    room = session.room
    return {
        "id": str(participant.pk),
        "external_id": participant.external_id or None,
        "session_id": str(session.pk),
        "room_id": str(room.pk),
        "room_external_id": room.external_id or None,
        "room_is_deleted": room.deleted_at is not None,
        "name": participant.name,
        "role": participant.role,
        "friendly_url": room.friendly_url,
        "join_time": plain_time(participant.join_time),
        "leave_time": plain_time(participant.leave_time),
        "live": participant.leave_time is None,
    }


@endpoint("GET")
def sessions(request: HttpRequest) -> HttpResponse:
    """The team's sessions; filters `room_id` (UUID or friendly_url), `live`, `date_start`,
    `date_end` (`Y-m-d`, on the start time in UTC)."""
    errors = Errors()
    page = page_of(request, errors)
    is_live = query_boolean(request, "live", errors)
    first_day = query_date(request, "date_start", errors)
    last_day = query_date(request, "date_end", errors)
    errors.raise_any()
    found = DigitalSambaSession.objects.select_related("room").order_by("start_time")
    if "room_id" in request.GET:
        room = request.GET["room_id"]
        pk = uuid_or_none(room)
        found = found.filter(Q(room__pk=pk) if pk else Q(room__friendly_url=room))
    if is_live is not None:
        found = found.filter(end_time__isnull=is_live)
    if first_day is not None:
        found = found.filter(start_time__date__gte=first_day)
    if last_day is not None:
        found = found.filter(start_time__date__lte=last_day)
    return listing(list(found), page, _session, lambda s: (str(s.pk),))


@endpoint("GET")
def session(request: HttpRequest, session_id: str) -> HttpResponse:
    """The session's statistics (a few of the documented fields)."""
    found = _find(session_id)
    room = found.room
    people = list(found.participants.all())
    end = found.end_time or timezone.now()
    return JsonResponse(
        {
            "room_id": str(room.pk),
            "room_external_id": room.external_id or None,
            "room_description": room.description or None,
            "room_friendly_url": room.friendly_url,
            "room_privacy": room.privacy,
            "room_is_deleted": room.deleted_at is not None,
            "session_id": str(found.pk),
            "session_duration": int((end - found.start_time).total_seconds()),
            "session_live": found.end_time is None,
            "session_start_time": plain_time(found.start_time),
            "session_end_time": plain_time(found.end_time),
            "participation_minutes": int(
                sum(((p.leave_time or end) - p.join_time).total_seconds() for p in people) // 60
            ),
            "live_participants": sum(1 for p in people if p.leave_time is None),
            "active_participants": len({p.external_id or str(p.pk) for p in people}),
            "max_concurrent_participants": found.participants_max,
        }
    )


@endpoint("GET")
def participants(request: HttpRequest, session_id: str) -> HttpResponse:
    """Everyone who was in the session, one record per stay; filter `live`."""
    errors = Errors()
    page = page_of(request, errors)
    is_live = query_boolean(request, "live", errors)
    errors.raise_any()
    found = _find(session_id)
    people = found.participants.select_related("session__room").order_by("join_time")
    if is_live is not None:
        people = people.filter(leave_time__isnull=is_live)
    return listing(list(people), page, _participant, lambda p: (str(p.pk),))


@endpoint("POST")
def end(request: HttpRequest, session_id: str) -> HttpResponse:
    """Everyone leaves and the session ends: 200 with an empty body."""
    live.end_session(session=_find(session_id))
    return HttpResponse(status=200, content_type="text/plain")
