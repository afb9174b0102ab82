"""Delivery receipts: what the SMS gateway or the e-mail provider says became of a message.

`receipt_record` is the one write path; the webhooks (`invitations.webhooks`) call it after
they verified and parsed a callback. The rules:

- A callback is recorded once per (source, event id); a repeat changes nothing and returns the
  stored receipt, also when two copies race (the unique constraint decides).
- A message id that no invitee and no delivery attempt knows raises `UnknownMessage`, and
  nothing is stored; so does `StillSending` while the invitee is being sent (its attempt may
  already name the message before the invitee does).
- Only final statuses (delivered, bounced, failed) change the invitee, and only when the
  receipt is for the invitee's current message, the invitee was handed to the sender (sent,
  delivered, bounced, or failed by an earlier receipt), and the receipt is not older than the
  one applied before (newest wins). Anything else is stored with `applied=False`.
"""

from __future__ import annotations

import datetime
import logging
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.utils import timezone

from invitations import states
from invitations.models import Channel, DeliveryAttempt, DeliveryReceipt, Invitee
from invitations.security.redaction import destination_hash, redact
from invitations.states import DeliveryStatus

logger = logging.getLogger(__name__)

Source = DeliveryReceipt.Source

MAX_FIELD = 200
MAX_DETAIL = 500


class UnknownMessage(Exception):
    """No invitation was sent with this message id (the webhooks answer 404)."""

    def __init__(self, message_id: str) -> None:
        super().__init__(f"No invitation was sent with message id {message_id!r}.")
        self.message_id = message_id


class StillSending(Exception):
    """The invitee's delivery is being recorded right now (it is `sending`): the receipt may
    be for the message being recorded, so the sender should try again shortly (409)."""

    def __init__(self, message_id: str) -> None:
        super().__init__(
            f"The invitation of message id {message_id!r} is still being sent; try again."
        )
        self.message_id = message_id


class Recorded(NamedTuple):
    receipt: DeliveryReceipt
    # False: the same (source, event id) was recorded before and nothing changed now.
    created: bool


def receipt_record(
    *,
    source: str,
    event_id: str,
    message_id: str,
    status: str,
    occurred_at: datetime.datetime,
    detail: str = "",
) -> Recorded:
    """Store one delivery receipt and apply it to its invitee when the rules allow (above).

    `status` is a receipt status: one of `states.RECEIPT_OUTCOMES`, or anything else the
    sender reports on the way (queued, sent, opened, ...), which is stored but changes nothing.
    Raises UnknownMessage when the message id is unknown, StillSending while its invitee's
    delivery is being recorded, ValueError for an empty id or a naive `occurred_at`.
    """
    if source not in Source.values:
        raise ValueError(f"source must be one of {', '.join(Source.values)}")
    if not event_id or not message_id:
        raise ValueError("event_id and message_id must not be empty")
    if timezone.is_naive(occurred_at):
        raise ValueError("occurred_at must carry a time zone")
    event_id, message_id = event_id[:MAX_FIELD], message_id[:MAX_FIELD]
    stored = _stored(source, event_id)
    if stored is not None:
        return Recorded(stored, created=False)
    try:
        with transaction.atomic():
            invitee = _invitee_for(message_id)
            if invitee is None:
                raise UnknownMessage(message_id)
            if invitee.status == DeliveryStatus.SENDING:
                raise StillSending(message_id)
            # A concurrent copy that took the lock first has stored it by now.
            stored = _stored(source, event_id)
            if stored is not None:
                return Recorded(stored, created=False)
            detail = redact(detail.strip())[:MAX_DETAIL]
            applied = _apply(invitee, message_id, status, occurred_at, detail)
            receipt = DeliveryReceipt.objects.create(
                source=source,
                event_id=event_id,
                message_id=message_id,
                status=status[:20],
                occurred_at=occurred_at,
                invitee=invitee,
                applied=applied,
                detail=detail,
            )
    except IntegrityError:
        # Two copies of one callback at once: the other one stored it (and applied it).
        stored = _stored(source, event_id)
        if stored is None:
            raise
        return Recorded(stored, created=False)
    logger.info(
        "receipt %s %s for invitee %s (destination #%s): %s%s",
        source,
        status,
        invitee.pk,
        destination_hash(invitee.destination),
        "applied" if applied else "recorded, not applied",
        f", now {invitee.status}" if applied else "",
    )
    return Recorded(receipt, created=True)


def _stored(source: str, event_id: str) -> DeliveryReceipt | None:
    return DeliveryReceipt.objects.filter(source=source, event_id=event_id).first()


def _invitee_for(message_id: str) -> Invitee | None:
    """The invitee whose current or earlier message this is, locked for the update."""
    invitees = Invitee.objects.select_for_update()
    invitee = invitees.filter(provider_message_id=message_id).order_by("-pk").first()
    if invitee is not None:
        return invitee
    invitee_id = (
        DeliveryAttempt.objects.filter(provider_message_id=message_id)
        .order_by("-pk")
        .values_list("invitee_id", flat=True)
        .first()
    )
    return None if invitee_id is None else invitees.filter(pk=invitee_id).first()


def _apply(
    invitee: Invitee,
    message_id: str,
    status: str,
    occurred_at: datetime.datetime,
    detail: str,
) -> bool:
    """Move `invitee` to the receipt's status if the rules allow; True when it did."""
    if status not in states.RECEIPT_OUTCOMES or message_id != invitee.provider_message_id:
        return False
    if invitee.status not in states.RECEIPT_APPLICABLE:
        return False
    if invitee.status == DeliveryStatus.FAILED and invitee.receipt_at is None:
        return False  # failed while sending: no message went out for a receipt to settle
    if invitee.receipt_at is not None and occurred_at < invitee.receipt_at:
        return False  # an older receipt arriving late: the newer one stands
    invitee.status = status
    invitee.receipt_at = occurred_at
    invitee.last_error = failure_text(invitee.channel, status, detail)
    invitee.save(update_fields=["status", "receipt_at", "last_error", "updated_at"])
    return True


def failure_text(channel: str, status: str, detail: str) -> str:
    """What the agent reads about a failed or bounced message; empty for a delivered one."""
    if status == DeliveryStatus.DELIVERED:
        return ""
    reason = f" ({detail})" if detail else ""
    if channel == Channel.SMS:
        return (
            f"The carrier reported the SMS undelivered{reason}. Check the number with the "
            "customer before resending."
        )
    if status == DeliveryStatus.BOUNCED:
        return (
            f"The customer's mail server bounced the e-mail{reason}. Check the address with "
            "the customer before resending."
        )
    return (
        f"The e-mail provider could not deliver the e-mail{reason}. Check the address with "
        "the customer before resending."
    )
