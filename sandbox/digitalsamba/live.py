"""What happens in rooms: people join and leave, sessions start and end, rooms are deleted.

Each change is one transaction, and its webhook deliveries go out once it is committed
(`sandbox.digitalsamba.delivery`).
"""

from django.db import transaction
from django.utils import timezone

from sandbox.digitalsamba import delivery
from sandbox.digitalsamba.wire import NotFound
from sandbox.models import DigitalSambaParticipant, DigitalSambaRoom, DigitalSambaSession


def join(
    *, room: DigitalSambaRoom, external_id: str, name: str, role: str
) -> DigitalSambaParticipant:
    """A new participant in the room's live session, which starts if there is none.

    Raises NotFound when the room was deleted meanwhile.
    """
    now = timezone.now()
    with transaction.atomic():
        _lock(room)
        session = room.sessions.filter(end_time__isnull=True).first()
        if session is None:
            session = DigitalSambaSession.objects.create(room=room, start_time=now)
            delivery.notify(delivery.SESSION_STARTED, session, {})
        participant = DigitalSambaParticipant.objects.create(
            session=session, external_id=external_id, name=name, role=role, join_time=now
        )
        present = session.participants.filter(leave_time__isnull=True).count()
        if present > session.participants_max:
            session.participants_max = present
            session.save(update_fields=["participants_max"])
        delivery.participant_event(delivery.PARTICIPANT_JOINED, participant)
    return participant


def leave(*, participant: DigitalSambaParticipant) -> None:
    """The participant leaves; the session ends when nobody is left. Leaving twice is once."""
    with transaction.atomic():
        left = DigitalSambaParticipant.objects.filter(
            pk=participant.pk, leave_time__isnull=True
        ).update(leave_time=timezone.now())
        if not left:
            return
        participant.refresh_from_db()
        delivery.participant_event(delivery.PARTICIPANT_LEFT, participant)
        session = participant.session
        if not session.participants.filter(leave_time__isnull=True).exists():
            _end(session)


def end_session(*, session: DigitalSambaSession) -> None:
    """Everyone still in the session leaves, then it ends; an ended session stays as it is."""
    with transaction.atomic():
        session.refresh_from_db()
        if session.end_time is None:
            for participant in session.participants.filter(leave_time__isnull=True):
                participant.leave_time = timezone.now()
                participant.save(update_fields=["leave_time"])
                delivery.participant_event(delivery.PARTICIPANT_LEFT, participant)
            _end(session)


def delete_room(*, room: DigitalSambaRoom) -> None:
    """End its live session; keep the room, marked deleted, if it has had sessions."""
    with transaction.atomic():
        _lock(room)
        for session in room.sessions.filter(end_time__isnull=True):
            end_session(session=session)
        if room.sessions.exists():
            room.deleted_at = timezone.now()
            room.save(update_fields=["deleted_at"])
        else:
            room.delete()


def _lock(room: DigitalSambaRoom) -> None:
    """One change per room at a time (two first joins start one session, and nobody joins a
    room being deleted); raises NotFound for a deleted room."""
    locked = DigitalSambaRoom.objects.select_for_update().filter(pk=room.pk)
    if not [found.pk for found in locked if found.deleted_at is None]:
        raise NotFound


def _end(session: DigitalSambaSession) -> None:
    ended = DigitalSambaSession.objects.filter(pk=session.pk, end_time__isnull=True).update(
        end_time=timezone.now()
    )
    if ended:
        session.refresh_from_db()
        delivery.notify(delivery.SESSION_ENDED, session, {})
