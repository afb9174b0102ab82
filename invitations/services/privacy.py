"""Removing what identifies the people invited: the purge of old sessions (`personal_data_purge`)
and the erasure of one person (`person_erase`), which share `invitees_blank`.

What stays is what statistics need: every row, its status, channel, counts and timestamps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from invitations import states
from invitations.errors import InvalidInput, NotAllowed
from invitations.models import (
    PURGED_DESTINATIONS,
    AuditEvent,
    Channel,
    DeliveryAttempt,
    DeliveryReceipt,
    Invitee,
    Session,
)
from invitations.phone import normalise_phone
from invitations.security.redaction import destination_hash
from invitations.services.audit import audit_record
from invitations.services.invitations import normalise_destination
from invitations.services.mentions import Mentions, audit_events_scrub, texts_scrub

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Blanked:
    invitees: int
    attempts: int
    receipts: int


def invitees_blank(invitees: QuerySet[Invitee]) -> Blanked:
    """Remove every personal field of `invitees` and of their delivery attempts and receipts:
    names, destinations (a placeholder per channel), links, message texts, errors, receipt
    details, message ids and idempotency keys (a bulk key is a hash of the destination, and a
    phone number is easily found again from one). Status, counts and timestamps stay.

    `invitees` must leave out the ones already blanked (their destination is a placeholder):
    it is read again after each step, as a subquery.
    """
    selected = invitees.values("pk")
    # Attempts and receipts first: once the invitees carry the placeholder, they drop out.
    attempts = DeliveryAttempt.objects.filter(invitee__in=selected).update(
        error="", provider_message_id=""
    )
    receipts = DeliveryReceipt.objects.filter(invitee__in=selected).update(detail="", message_id="")
    blanked = 0
    for channel, placeholder in PURGED_DESTINATIONS.items():
        blanked += invitees.filter(channel=channel).update(
            name="",
            destination=placeholder,
            personal_link="",
            message_text="",
            last_error="",
            provider_message_id="",
            idempotency_key=None,
            # The dashboard counts a day again when an invitation of it changed.
            updated_at=timezone.now(),
        )
    return Blanked(invitees=blanked, attempts=attempts, receipts=receipts)


# --- Erasing one person ---------------------------------------------------------------------


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure removed, by kind."""

    invitations: int
    delivery_attempts: int
    delivery_receipts: int
    # Sessions the person was invited into whose ticket reference was cleared.
    ticket_references: int
    # Rows of other people, and audit events, whose text mentioned the person.
    other_texts: dict[str, int]

    def lines(self) -> list[str]:
        return [
            f"invitations blanked: {self.invitations}",
            f"their delivery attempts blanked: {self.delivery_attempts}",
            f"their delivery receipts blanked: {self.delivery_receipts}",
            f"ticket references cleared: {self.ticket_references}",
            *(f"{kind} mentioning them scrubbed: {n}" for kind, n in self.other_texts.items()),
        ]


def person_erase(*, destination: str, actor: User | None = None) -> ErasureReport:
    """Remove every trace of the person with this phone number or e-mail address, in every
    session whatever its age: their invitations are blanked as the purge does, the ticket
    references of their sessions cleared, and their number (in any common format) and address
    (in any case) scrubbed from every other text that keeps them, their names from audit
    events and ticket references. Statistics stay.

    The audit event names the person by a keyed hash only. Raises InvalidInput for something
    that is neither a number nor an address, and NotAllowed while an invitation to them is
    still being delivered (its delivery would write its message text back).
    """
    if "@" in destination:
        normalised = normalise_destination(Channel.EMAIL, destination).lower()
        invitees = Invitee.objects.filter(channel=Channel.EMAIL, destination__iexact=normalised)
    else:
        normalised = normalise_phone(destination)
        invitees = Invitee.objects.filter(channel=Channel.SMS, destination=normalised)
    with transaction.atomic():
        # A delivery under way reads the destination and writes its message text at the end.
        under_way = invitees.filter(status__in=states.IN_FLIGHT).count()
        if under_way:
            raise NotAllowed(
                f"{under_way} invitation(s) to this person are still being delivered; erase "
                "again once they have finished (a few minutes at most)."
            )
        names = [name for name in invitees.values_list("name", flat=True).distinct() if name]
        mentions = Mentions.of(destinations=[normalised], names=names)
        others = texts_scrub(mentions, exclude_invitees=invitees)
        ticket_references = (
            Session.objects.filter(pk__in=invitees.values("session_id"))
            .exclude(ticket_reference="")
            .update(ticket_reference="", updated_at=timezone.now())
        )
        blanked = invitees_blank(invitees)
        report = ErasureReport(
            invitations=blanked.invitees,
            delivery_attempts=blanked.attempts,
            delivery_receipts=blanked.receipts,
            ticket_references=ticket_references,
            other_texts={
                "other invitations": others[Invitee],
                "other delivery attempts": others[DeliveryAttempt],
                "other delivery receipts": others[DeliveryReceipt],
                "other sessions": others[Session],
                "audit events": others[AuditEvent],
            },
        )
        audit_record(
            actor=actor,
            action=AuditEvent.Action.PERSONAL_DATA_ERASED,
            target=f"destination #{destination_hash(normalised)}",
            details="; ".join(report.lines()),
        )
    logger.info("erased destination #%s", destination_hash(normalised))
    return report


# --- Personal data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeReport:
    invitees: int
    sessions: int


def personal_data_purge(
    *, older_than_days: int, dry_run: bool = False, actor: User | None = None
) -> PurgeReport:
    """Remove what identifies the people invited in sessions created more than
    `older_than_days` days ago, keeping the rows, statuses, counts and timestamps that
    statistics need. Running it again purges nothing more.

    Cleared: everything `invitees_blank` clears (names, destinations, links, message
    texts, errors, receipt details, message ids, idempotency keys, of the invitees and of
    their delivery attempts and receipts), the sessions' join URLs and ticket references, and
    the purged people's numbers, addresses and names wherever an audit event mentions them.
    Invitations still being delivered are left for the next run.
    """
    if older_than_days < 1:
        raise InvalidInput("Purge only data older than at least one day.")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    invitees = (
        Invitee.objects.filter(session__created_at__lt=cutoff)
        .exclude(status__in=states.IN_FLIGHT)
        .exclude(destination__in=PURGED_DESTINATIONS.values())
    )
    sessions = (
        Session.objects.filter(created_at__lt=cutoff)
        .exclude(invitees__status__in=states.IN_FLIGHT)
        .exclude(join_url="", ticket_reference="")
    )
    with transaction.atomic():
        report = PurgeReport(invitees=invitees.count(), sessions=sessions.count())
        if dry_run:
            return report
        people = list(invitees.values_list("destination", "name"))
        mentions = Mentions.of(
            destinations={destination for destination, _name in people},
            names={name for _destination, name in people if name},
        )
        Session.objects.filter(pk__in=sessions.values("pk")).update(
            join_url="", ticket_reference=""
        )
        invitees_blank(invitees)
        audit_events_scrub(mentions)
        audit_record(
            actor=actor,
            action=AuditEvent.Action.PERSONAL_DATA_PURGED,
            target=f"sessions older than {older_than_days} days",
            details=f"{report.invitees} invitees, {report.sessions} sessions",
        )
    logger.info("purged %s invitees and %s sessions", report.invitees, report.sessions)
    return report
