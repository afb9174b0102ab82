"""Inviting people: create a session and its invitees, resend to one or many, end the session."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from invitations import states
from invitations.errors import InvalidInput, InvitationError, NotAllowed
from invitations.messaging import render, send
from invitations.models import (
    AuditEvent,
    Channel,
    Invitee,
    PartnerCredential,
    Session,
)
from invitations.phone import check_sms_destination, normalise_phone
from invitations.prepared import PreparedInsert, PreparedSelect
from invitations.providers import registry
from invitations.providers.base import (
    UpstreamError,
)
from invitations.security.redaction import destination_hash
from invitations.selectors import sending_credential_for
from invitations.services import limits
from invitations.services.audit import audit_record
from invitations.services.delivery import enqueue_delivery
from invitations.states import DeliveryStatus
from invitations.validators import ONE_LINE_MESSAGE, is_one_line

logger = logging.getLogger(__name__)


MAX_SESSION_TYPE = 32767


def invitation_create(
    *,
    agent: User,
    destination: str,
    channel: str = "auto",
    name: str = "",
    ticket_reference: str = "",
    credential: PartnerCredential | None = None,
    session: Session | None = None,
    language: str = "",
    session_type: int | None = None,
    idempotency_key: str | None = None,
    skip_agent_limit: bool = False,
) -> Invitee:
    """Invite one person, into a new session or into `session`; delivery runs after commit.

    `channel` is "sms", "email", or "auto" (an address with @ is e-mail, anything else a
    phone number). `language` is the customer's (one of CUSTOMER_LANGUAGES); empty: guessed
    from the number's country, else the agent's own language. Everything is checked before
    any row is written, so bad input leaves nothing behind. A repeated `idempotency_key`
    returns the invitee it created the first time. Rate limits apply per agent (unless
    `skip_agent_limit`, for operator bulk runs), per destination and per number prefix.
    """
    if idempotency_key:
        existing = _invitee_for_key(agent=agent, idempotency_key=idempotency_key)
        if existing is not None:
            return existing

    if session is not None:
        credential = session.credential
        if session.ended_at is not None:
            raise _session_has_ended()
        if not credential.can_add_to_session:
            raise NotAllowed(
                _(
                    "%(provider)s starts a new session with every invitation; send a new "
                    "invitation instead."
                )
                % {"provider": credential.get_provider_display()}
            )
    credential = sending_credential_for(agent, credential=credential)
    channel = _resolve_channel(channel, destination, credential)
    send.check_deliverable(credential=credential, channel=channel)
    normalised = normalise_destination(channel, destination)
    if channel == Channel.SMS:
        check_sms_destination(
            normalised,
            allowed_countries=credential.country_list,
            mobile_only=credential.mobile_only,
        )
    if session is not None:
        already = session.invitees.filter(channel=channel, destination=normalised).first()
        if already is not None:
            # The same person again: a fresh message to the same row, never a second row.
            if already.status in states.RESENDABLE:
                return invitee_resend(invitee=already, actor=agent)
            return already  # still on its way: sending it again now would send it twice
    language = render.customer_language(chosen=language, channel=channel, destination=normalised)
    name = clean_name(name)
    ticket_reference = clean_ticket_reference(ticket_reference)
    if channel == Channel.SMS and credential.writes_messages:
        render.check_sms_size(
            render.render(
                channel=channel,
                language=language,
                name=name,
                agent=agent,
                credential=credential,
                link=render.sample_link(credential),
                session_key=session.session_key if session else render.SAMPLE_SESSION_KEY,
            )
        )
    if session_type is not None and not 0 <= session_type <= MAX_SESSION_TYPE:
        raise InvalidInput(
            _("The session type must be 0 to %(max)d.") % {"max": MAX_SESSION_TYPE},
            field="session_type",
        )

    try:
        with transaction.atomic():
            if session is None:
                session = _NEW_SESSION.insert(
                    Session(
                        credential=credential,
                        created_by=agent,
                        session_type=credential.session_type
                        if session_type is None
                        else session_type,
                        ticket_reference=ticket_reference,
                    )
                )
            # The idempotency key's unique row first: a replay running at the same time waits
            # here for the first request, then fails on it and counts nothing (the limits are
            # counted after this, in this transaction, and roll back with it).
            invitee = _NEW_INVITEE.insert(
                Invitee(
                    session=session,
                    name=name,
                    channel=channel,
                    destination=normalised,
                    language=language,
                    idempotency_key=idempotency_key or None,
                )
            )
            limits.check_and_count(
                agent_id=None if skip_agent_limit else agent.pk,
                destination=normalised,
                channel=channel,
            )
            logger.info(
                "invitee %s queued in session %s by %s (destination #%s)",
                invitee.pk,
                session.pk,
                agent.pk,
                destination_hash(normalised),
            )
            enqueue_delivery(invitee)
    except IntegrityError:
        # A concurrent submission with the same key won the race; return its invitee.
        if idempotency_key:
            existing = _invitee_for_key(agent=agent, idempotency_key=idempotency_key)
            if existing is not None:
                return existing
        raise
    return invitee


def clean_name(name: str) -> str:
    """The customer's name as stored and put into messages; InvalidInput for the name field."""
    name = name.strip()
    if len(name) > Invitee._meta.get_field("name").max_length:  # type: ignore[operator]
        raise InvalidInput(_("The name is too long (100 characters at most)."), field="name")
    if not is_one_line(name):
        raise InvalidInput(ONE_LINE_MESSAGE % {"field": _("The name")}, field="name")
    return name


def clean_ticket_reference(ticket_reference: str) -> str:
    """The ticket reference as stored; InvalidInput for the ticket_reference field."""
    ticket_reference = ticket_reference.strip()
    if len(ticket_reference) > Session._meta.get_field("ticket_reference").max_length:  # type: ignore[operator]
        raise InvalidInput(
            _("The ticket reference is too long (100 characters at most)."),
            field="ticket_reference",
        )
    if not is_one_line(ticket_reference):
        raise InvalidInput(
            ONE_LINE_MESSAGE % {"field": _("The ticket reference")}, field="ticket_reference"
        )
    return ticket_reference


def normalise_destination(channel: str, destination: str) -> str:
    """E.164 for SMS, a validated address (domain lower-cased) for e-mail."""
    if channel == Channel.SMS:
        return normalise_phone(destination)
    address = destination.strip()
    if not address:
        raise InvalidInput(_("Enter the customer's e-mail address."), field="destination")
    try:
        validate_email(address)
    except ValidationError as err:
        raise InvalidInput(
            _("'%(address)s' is not a valid e-mail address.") % {"address": address},
            field="destination",
        ) from err
    local, _at, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def _resolve_channel(channel: str, destination: str, credential: PartnerCredential) -> str:
    looks_like_email = "@" in destination
    if channel == "auto":
        channel = Channel.EMAIL if looks_like_email else Channel.SMS
    elif channel not in Channel.values:
        raise InvalidInput(_("Unknown channel '%(channel)s'.") % {"channel": channel})
    elif channel == Channel.SMS and looks_like_email:
        raise InvalidInput(
            _("That is an e-mail address: use Send e-mail, or type a mobile number."),
            field="destination",
        )
    if channel not in credential.channels:
        raise InvalidInput(
            _(
                "Credential '%(credential)s' cannot send %(channel)s invitations; "
                "it sends %(sends)s."
            )
            % {
                "credential": credential.label,
                "channel": Channel(channel).label,
                "sends": _(" and ").join(str(Channel(c).label) for c in credential.channels),
            },
            field="destination",
        )
    return channel


def _session_has_ended() -> NotAllowed:
    return NotAllowed(_("This session has ended; start a new session to invite this customer."))


def session_end(*, session: Session, actor: User | None) -> bool:
    """End the session: at the provider where its API allows, then here, so that nobody more
    is invited or resent into it. Returns whether the provider ended it too. If the provider
    refuses, nothing changes here and the error says why."""
    if session.ended_at is not None:
        raise NotAllowed(_("This session has already ended."))
    ended_upstream = False
    if session.session_key:
        try:
            with registry.client_for(session.credential) as client:
                ended_upstream = client.end_session(session.session_key)
        except UpstreamError as err:
            raise NotAllowed(
                _("The session could not be ended at %(provider)s: %(error)s")
                % {"provider": session.credential.get_provider_display(), "error": err}
            ) from err
    with transaction.atomic():
        ended = Session.objects.filter(pk=session.pk, ended_at__isnull=True).update(
            ended_at=timezone.now(), ended_by=actor, updated_at=timezone.now()
        )
        if not ended:
            raise NotAllowed(_("This session has already ended."))
        audit_record(
            actor=actor,
            action=AuditEvent.Action.SESSION_ENDED,
            target=f"session {session.pk}",
            details="ended at the provider too" if ended_upstream else "ended in the portal",
        )
    session.refresh_from_db()
    logger.info("session %s ended (upstream: %s)", session.pk, ended_upstream)
    return ended_upstream


def _not_resendable(invitee: Invitee) -> NotAllowed:
    return NotAllowed(
        _("This invitation is %(status)s; wait for it to finish before resending.")
        % {"status": invitee.get_status_display().lower()}
    )


def invitee_resend(*, invitee: Invitee, actor: User | None = None) -> Invitee:
    """Queue a finished invitation to be sent again (a new message to the same person).
    Counts against the destination's limits, and the resending agent's."""
    if not invitee.can_resend:
        if invitee.is_purged:
            raise NotAllowed(_("Its personal data was purged, so it cannot be sent again."))
        if invitee.session.ended_at is not None:
            raise _session_has_ended()
        raise _not_resendable(invitee)
    send.check_deliverable(credential=invitee.session.credential, channel=invitee.channel)
    with transaction.atomic():
        # A fresh message: receipts for the previous one no longer apply. A link that expires
        # with the previous validity is made again; another is kept, so that the provider is
        # not asked to add the invitee twice.
        fresh_link = {"personal_link": ""} if invitee.session.credential.links_expire else {}
        queued = Invitee.objects.filter(pk=invitee.pk, status__in=states.RESENDABLE).update(
            status=DeliveryStatus.QUEUED,
            last_error="",
            provider_message_id="",
            receipt_at=None,
            updated_at=timezone.now(),
            **fresh_link,
        )
        if not queued:
            invitee.refresh_from_db()
            raise _not_resendable(invitee)
        # Counted after the claim above, in its transaction: a second click that lost the
        # claim counts nothing, and a refusal puts the status back.
        limits.check_and_count(
            agent_id=actor.pk if actor is not None else None,
            destination=invitee.destination,
            channel=invitee.channel,
        )
        audit_record(
            actor=actor,
            action=AuditEvent.Action.INVITEE_RESENT,
            target=f"invitee #{invitee.pk}",
            details=f"session #{invitee.session_id}",
        )
        enqueue_delivery(invitee)
    invitee.refresh_from_db()
    return invitee


# Every one-click invitation makes these; compiled once (invitations.prepared).
_NEW_SESSION = PreparedInsert(Session)
_NEW_INVITEE = PreparedInsert(Invitee)
_INVITEE_FOR_KEY = PreparedSelect(
    lambda key: Invitee.objects.select_related("session").filter(idempotency_key=key)[:1],
    key=str,
)


def _invitee_for_key(*, agent: User, idempotency_key: str) -> Invitee | None:
    existing = _INVITEE_FOR_KEY.first(key=idempotency_key)
    if existing is not None and existing.session.created_by_id != agent.pk:
        raise InvalidInput(_("This request was already used; reload the page and try again."))
    return existing


@dataclass(frozen=True)
class ResendReport:
    queued: int
    refused: int
    # Why, each reason once, in the order first met.
    reasons: list[str]


def invitees_resend(*, invitees: Iterable[Invitee], actor: User | None) -> ResendReport:
    """Queue each finished invitation to be sent again, auditing each one queued. Refused: those
    still being delivered, those over a rate limit, and those whose personal data was purged."""
    queued = refused = 0
    reasons: list[str] = []
    for invitee in invitees:
        try:
            invitee_resend(invitee=invitee, actor=actor)
        except InvitationError as err:
            refused += 1
            if err.message not in reasons:
                reasons.append(err.message)
            continue
        queued += 1
    return ResendReport(queued=queued, refused=refused, reasons=reasons)
