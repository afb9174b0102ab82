"""The customer's presence in the session: the provider reports that the customer joined it
(a Glance session lookup, a Digital Samba webhook) or left it again.

`invitee_record_presence` is the one write path. The rules (states.py has the transitions):

- joined moves a sent or delivered invitee to joined, and a left one back to joined when the
  join is newer than the leave (the customer came back). A repeated join changes nothing.
- left moves a joined invitee to left when the leave is not older than the join. A leave that
  overtook its join (sent or delivered) moves to left too: a leave proves the join; the late
  join then only records its time.
- Each is one conditional UPDATE from the states it may change, so two reports racing each
  other or a delivery receipt (which locks the row) cannot undo one another, and the order
  they arrive in does not matter: the times decide.
- Anything else (an invitee that is queued, failed, resent meanwhile, ...) changes nothing.
"""

from __future__ import annotations

import datetime
import logging
from typing import Literal

from django.db.models import Q
from django.utils import timezone

from invitations.models import Invitee
from invitations.states import DeliveryStatus

logger = logging.getLogger(__name__)

S = DeliveryStatus
# Handed to the sender, and no presence reported yet.
_NOT_YET_PRESENT = frozenset({S.SENT, S.DELIVERED})
PRESENCE_EVENTS = (S.JOINED, S.LEFT)


def invitee_record_presence(
    *, invitee: Invitee, event: Literal["joined", "left"], at: datetime.datetime
) -> bool:
    """Record that the customer joined or left `invitee`'s session at `at` (the provider's
    time), when the rules above allow; True when it changed the invitee (which is then
    refreshed). Raises ValueError for another event or a naive `at`."""
    if event not in PRESENCE_EVENTS:
        raise ValueError(f"event must be one of {', '.join(PRESENCE_EVENTS)}")
    if timezone.is_naive(at):
        raise ValueError("at must carry a time zone")
    rows = Invitee.objects.filter(pk=invitee.pk)
    # updated_at by hand: update() skips auto_now, and the dashboard notices changes by it.
    now = timezone.now()
    if event == S.JOINED:
        changed = rows.filter(
            Q(status__in=_NOT_YET_PRESENT) | Q(status=S.LEFT, left_at__lt=at)
        ).update(status=S.JOINED, joined_at=at, updated_at=now)
        if not changed:
            # The join a leave overtook: the customer is gone, but the join's time is known now.
            changed = rows.filter(status=S.LEFT, joined_at__isnull=True, left_at__gte=at).update(
                joined_at=at, updated_at=now
            )
    else:
        changed = rows.filter(
            Q(status__in=_NOT_YET_PRESENT) | Q(status=S.JOINED, joined_at__lte=at)
        ).update(status=S.LEFT, left_at=at, updated_at=now)
    if changed:
        invitee.refresh_from_db(fields=["status", "joined_at", "left_at", "updated_at"])
    logger.info(
        "presence %s for invitee %s: %s",
        event,
        invitee.pk,
        f"applied, now {invitee.status}" if changed else "not applied",
    )
    return bool(changed)
