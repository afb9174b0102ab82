"""The delivery state machine: an invitee's delivery states, the moves between them, and the
groups the rest of the code asks about. Everything that reads or changes `Invitee.status`
asks this module; a new state is declared here, with its transitions, groups and dashboard
outcome (tests/test_states.py fails until it is in each).

Imports nothing of the portal, so that models, services, receipts, views, templates, the API
and the commands can all ask it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # The provider may or may not have sent it; a person decides whether to resend.
    NEEDS_ATTENTION = "needs_attention", _("Needs attention")
    # From delivery receipts (the SMS gateway's or the e-mail provider's webhook).
    DELIVERED = "delivered", _("Delivered")
    BOUNCED = "bounced", _("Bounced")
    # From the provider (a session lookup or a webhook): the customer opened the session, and
    # left it again. Proof the message arrived, so these outrank any delivery receipt.
    JOINED = "joined", _("Joined")
    LEFT = "left", _("Left")


S = DeliveryStatus  # short, for the tables below

# Every allowed move, from -> to, and what makes it (services/delivery.py, services/receipts.py):
# - queued -> sending: `invitee_deliver` claims it (one conditional UPDATE) before calling the
#   provider; queued -> queued: `invitees_requeue_stuck` queues a lost task again.
# - sending -> sent | failed | needs_attention: the delivery's outcome (`_finish`);
#   sending -> queued: an automatic retry, when the provider certainly did not act;
#   sending -> needs_attention also: `invitees_requeue_stuck` for an interrupted delivery.
# - sent, delivered, bounced, failed -> delivered | bounced | failed: a delivery receipt for
#   the current message (`receipt_record`; failed only when a receipt set it); a newer
#   receipt may repeat or correct the one before.
# - every resendable state -> queued: `invitee_resend`, a fresh message to the same person.
# - sent, delivered -> joined; joined -> left; left -> joined (the customer came back): the
#   provider reports the customer's presence (`invitee_record_presence`). sent, delivered ->
#   left too: a leave that overtook its join (a leave proves the join; the late join then only
#   fills in its time). A delivery receipt that comes after a join is kept but changes nothing.
TRANSITIONS: dict[str, frozenset[DeliveryStatus]] = {
    S.QUEUED: frozenset({S.SENDING, S.QUEUED}),
    S.SENDING: frozenset({S.SENT, S.FAILED, S.NEEDS_ATTENTION, S.QUEUED}),
    S.SENT: frozenset({S.DELIVERED, S.BOUNCED, S.FAILED, S.QUEUED, S.JOINED, S.LEFT}),
    S.DELIVERED: frozenset({S.DELIVERED, S.BOUNCED, S.FAILED, S.QUEUED, S.JOINED, S.LEFT}),
    S.BOUNCED: frozenset({S.DELIVERED, S.BOUNCED, S.FAILED, S.QUEUED}),
    S.FAILED: frozenset({S.DELIVERED, S.BOUNCED, S.FAILED, S.QUEUED}),
    S.NEEDS_ATTENTION: frozenset({S.QUEUED}),
    S.JOINED: frozenset({S.LEFT}),
    S.LEFT: frozenset({S.JOINED}),
}

# The portal is still delivering it: the delivery reads its destination and writes its
# outcome, so it may not be resent, erased or purged now, and the session page keeps polling.
IN_FLIGHT = frozenset({S.QUEUED, S.SENDING})
# The portal's work on it is done: nothing more happens without a person (a delivery receipt
# may still settle a sent one). `send_invitation --wait` waits for one of these.
FINAL = frozenset(S) - IN_FLIGHT
# The customer has been in the session: the link reached them, and the provider reports when
# they come and go. The dashboard's "Joined" figure counts these.
PRESENT_ONCE = frozenset({S.JOINED, S.LEFT})
# A person may send it again (a fresh message to the same row); see `can_resend` for the rest
# of the rule. Not once the customer has joined: they have the link, and a new message would
# only replace it.
RESENDABLE = FINAL - PRESENT_ONCE
# Handed to the sender and not reported lost: counts as sent (or joined) on the dashboard, and
# its link is valid until `expires_at`.
SUCCESSFUL = frozenset({S.SENT, S.DELIVERED}) | PRESENT_ONCE
# What the provider may report the customer's presence for: `invitee_record_presence` moves
# these to joined or left, and between the two. The session page keeps polling while one of
# these is valid, so that a join shows up live.
PRESENCE_APPLICABLE = frozenset({S.SENT, S.DELIVERED}) | PRESENT_ONCE
# Finished without success: `send_invitation` exits non-zero, the dashboard lists the reasons.
UNSUCCESSFUL = FINAL - SUCCESSFUL
# Handed to a sender that may still report what became of it: the session page polls a while.
AWAITING_RECEIPT = frozenset({S.SENT})
# What a delivery receipt may set; the receipt statuses of the same names settle an invitation
# (webhooks translate each sender's words into these).
RECEIPT_OUTCOMES = frozenset({S.DELIVERED, S.BOUNCED, S.FAILED})
# What a receipt for the current message may change: handed to the sender, or settled by an
# earlier receipt (`failed` only when a receipt set it: receipt_at is set then).
RECEIPT_APPLICABLE = frozenset({S.SENT, S.DELIVERED, S.BOUNCED, S.FAILED})
# A receipt_at on these is when a receipt said the message was delivered: delivered, or
# present since (a join follows only sent or delivered, and a later receipt changes neither).
# The dashboard's time to delivery counts these.
DELIVERY_CONFIRMED = frozenset({S.DELIVERED}) | PRESENT_ONCE


class Outcome(models.TextChoices):
    """What the dashboard counts an invitation as, in the order of its table and chart."""

    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    NEEDS_ATTENTION = "needs_attention", _("Needs attention")
    PENDING = "pending", _("Pending")


OUTCOME: dict[str, Outcome] = {
    S.QUEUED: Outcome.PENDING,
    S.SENDING: Outcome.PENDING,
    S.SENT: Outcome.SENT,
    # A delivery receipt settled it: delivered counts as sent, bounced as failed.
    S.DELIVERED: Outcome.SENT,
    S.FAILED: Outcome.FAILED,
    S.BOUNCED: Outcome.FAILED,
    S.NEEDS_ATTENTION: Outcome.NEEDS_ATTENTION,
    # The customer joined: counted as sent, and once more among the joined (PRESENT_ONCE).
    S.JOINED: Outcome.SENT,
    S.LEFT: Outcome.SENT,
}


def allowed(current: str, new: str) -> bool:
    """Whether an invitee may move from `current` to `new`."""
    return new in TRANSITIONS.get(current, frozenset())


def can_resend(*, status: str, purged: bool, session_ended: bool) -> bool:
    """The one rule for offering and accepting Resend: a final state, personal data still
    there to send to, and a session nobody has ended."""
    return status in RESENDABLE and not purged and not session_ended
