"""Webhook deliveries: what the sandbox Digital Samba posts when something happens in a room.

Body and header as documented (facts.md §2.6): `{"eventType", "sessionId", "roomId",
"timestamp", "data"}`, JSON, `Authorization: Bearer <authorization_header>` when the webhook
has one. Where the documentation is silent, as /work/ds-decisions.md settles it: `data` is
`{"participantId", "name", "role"}` for participant events (no external id) and `{}` for
session events; each delivery is posted once, after the change is committed, from the thread
that made the change, with a 5 s timeout and without following redirects; a failure is
logged, never retried.
"""

import functools
import json
import logging
import time

import requests
from django.db import transaction

from sandbox.models import (
    DigitalSambaParticipant,
    DigitalSambaRoom,
    DigitalSambaSession,
    DigitalSambaWebhook,
)

logger = logging.getLogger(__name__)

PARTICIPANT_JOINED = "participant_joined"
PARTICIPANT_LEFT = "participant_left"
SESSION_STARTED = "session_started"
SESSION_ENDED = "session_ended"
# What `GET /events` lists: the documented names (facts.md §2.6). The recording events can be
# subscribed to; the sandbox records nothing, so they never fire.
EVENTS = (
    PARTICIPANT_JOINED,
    PARTICIPANT_LEFT,
    SESSION_STARTED,
    SESSION_ENDED,
    "recording_started",
    "recording_stopped",
    "recording_ready",
)
TIMEOUT = 5.0


def participant_event(event: str, participant: DigitalSambaParticipant) -> None:
    data = {
        "participantId": str(participant.pk),
        "name": participant.name,
        "role": participant.role,
    }
    notify(event, participant.session, data)


def notify(event: str, session: DigitalSambaSession, data: dict[str, str]) -> None:
    """Post `event` to each webhook subscribed to it once the current transaction commits.

    The room's own `webhooks`, when it has any, narrow the team's webhooks down to those.
    """
    room: DigitalSambaRoom = session.room
    hooks = list(DigitalSambaWebhook.objects.order_by("created_at", "id"))
    restricted = {hook.pk for hook in room.webhooks.all()}
    body = json.dumps(
        {
            "eventType": event,
            "sessionId": str(session.pk),
            "roomId": str(room.pk),
            "timestamp": int(time.time()),
            "data": data,
        }
    ).encode()
    for hook in hooks:
        if event in hook.events and (not restricted or hook.pk in restricted):
            post = functools.partial(_post, event, hook.endpoint, hook.authorization_header, body)
            transaction.on_commit(post)


def _post(event: str, endpoint: str, secret: str, body: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    try:
        response = requests.post(
            endpoint, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
        )
    except requests.RequestException as err:
        logger.warning("Webhook %s to %s failed: %s", event, endpoint, type(err).__name__)
        return
    if not 200 <= response.status_code < 300:
        logger.warning("Webhook %s to %s answered %s", event, endpoint, response.status_code)
