"""Write-side operations. Views, management commands, admin actions and tasks all call these."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from invitations import limits, states
from invitations.errors import InvalidInput, NotAllowed, NotConfigured
from invitations.messaging import render
from invitations.models import (
    SUPERVISORS_GROUP,
    AgentProfile,
    AttemptOutcome,
    AuditEvent,
    AuthType,
    Channel,
    DeliveryAttempt,
    Invitee,
    PartnerCredential,
    Provider,
    Session,
    Team,
    secret_reentry_error,
)
from invitations.phone import check_sms_destination, normalise_phone
from invitations.providers import registry
from invitations.providers.base import (
    InvitationRequest,
    UpstreamConfigurationError,
    UpstreamError,
)
from invitations.security import crypto, links
from invitations.security.redaction import destination_hash, redact
from invitations.selectors import sending_credential_for
from invitations.states import DeliveryStatus
from invitations.validators import ONE_LINE_MESSAGE, is_one_line

logger = logging.getLogger(__name__)

INTERRUPTED = (
    "Delivery was interrupted (the worker stopped mid-send). The message may or may not have "
    "been sent: check with the customer before resending."
)
GENERATED_KEY_AUTH = (AuthType.GKEY, AuthType.GKEY_ADDRESS)
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
    render.check_deliverable(credential=credential, channel=channel)
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
                session = Session.objects.create(
                    credential=credential,
                    created_by=agent,
                    session_type=credential.session_type if session_type is None else session_type,
                    ticket_reference=ticket_reference,
                )
            # The idempotency key's unique row first: a replay running at the same time waits
            # here for the first request, then fails on it and counts nothing (the limits are
            # counted after this, in this transaction, and roll back with it).
            invitee = Invitee.objects.create(
                session=session,
                name=name,
                channel=channel,
                destination=normalised,
                language=language,
                idempotency_key=idempotency_key or None,
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
            _enqueue_delivery(invitee)
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


class SessionEnded(Exception):
    """The session was ended while an invitation to it waited in the queue."""


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
    render.check_deliverable(credential=invitee.session.credential, channel=invitee.channel)
    with transaction.atomic():
        # A fresh message: receipts for the previous one no longer apply.
        queued = Invitee.objects.filter(pk=invitee.pk, status__in=states.RESENDABLE).update(
            status=DeliveryStatus.QUEUED,
            last_error="",
            provider_message_id="",
            receipt_at=None,
            updated_at=timezone.now(),
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
        _enqueue_delivery(invitee)
    invitee.refresh_from_db()
    return invitee


def invitee_deliver(*, invitee_id: int) -> Invitee | None:
    """Send one queued invitation through the provider and record the outcome.

    The invitee is claimed (queued -> sending, one conditional UPDATE) before the provider is
    called, so a second copy of the same task finds nothing to do and sends nothing.
    """
    # One transaction: the claim and its attempt row are there together or not at all.
    with transaction.atomic():
        claimed = Invitee.objects.filter(pk=invitee_id, status=DeliveryStatus.QUEUED).update(
            status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, updated_at=timezone.now()
        )
        invitee = (
            Invitee.objects.select_related(
                "session__credential", "session__created_by__agent_profile"
            )
            .filter(pk=invitee_id)
            .first()
        )
        if invitee is None or not claimed:
            logger.info("invitee %s: nothing to deliver", invitee_id)
            return invitee
        attempt = DeliveryAttempt.objects.create(invitee=invitee)
    started = time.monotonic()
    try:
        http_status = _send(invitee)
    except UpstreamError as err:
        if err.session_key:
            _remember_session(invitee.session, err.session_key, "")
        delay = _retry_delay(err, invitee)
        if delay is not None:
            message = (
                f"{err} Retrying automatically in {delay:.0f} s "
                f"(attempt {invitee.attempts} of {settings.DELIVERY_MAX_ATTEMPTS})."
            )
            _finish(
                invitee,
                attempt,
                started,
                DeliveryStatus.QUEUED,
                AttemptOutcome.RETRY,
                message,
                err.status_code,
            )
            _enqueue_delivery(invitee, countdown=delay)
            return invitee
        status = DeliveryStatus.NEEDS_ATTENTION if err.ambiguous else DeliveryStatus.FAILED
        outcome = AttemptOutcome.AMBIGUOUS if err.ambiguous else AttemptOutcome.FAILED
        _finish(invitee, attempt, started, status, outcome, str(err), err.status_code)
    except (
        UpstreamConfigurationError,
        NotConfigured,
        ImproperlyConfigured,
        crypto.SecretUnreadable,
        SessionEnded,
        # Raised before the message reached the e-mail or SMS backend: certainly not sent.
        render.MessageNotWritten,
    ) as err:
        if isinstance(err, render.MessageNotWritten):
            # Without the traceback: the cause's text may quote the customer's name.
            logger.warning("invitee %s: %s", invitee.pk, err)
        _finish(invitee, attempt, started, DeliveryStatus.FAILED, AttemptOutcome.FAILED, str(err))
    except Exception:
        # A bug, not an upstream answer: the request may have gone out, so a person decides.
        logger.exception("invitee %s: delivery crashed", invitee.pk)
        _finish(
            invitee,
            attempt,
            started,
            DeliveryStatus.NEEDS_ATTENTION,
            AttemptOutcome.AMBIGUOUS,
            "Delivery stopped on an internal error. The message may or may not have been sent: "
            "check with the customer before resending.",
        )
    else:
        invitee.sent_at = timezone.now()
        invitee.expires_at = invitee.sent_at + timedelta(
            minutes=invitee.session.credential.invitation_validity_minutes
        )
        _finish(
            invitee, attempt, started, DeliveryStatus.SENT, AttemptOutcome.SENT, "", http_status
        )
    return invitee


def _send(invitee: Invitee) -> int | None:
    """Invite through the provider; when it hands back a personal link instead of sending a
    message itself, deliver that link by the portal's own e-mail or SMS. Returns the
    provider's HTTP status (None when only the portal's delivery ran)."""
    session = invitee.session
    credential = session.credential
    if session.ended_at is not None:
        raise SessionEnded(
            _("The session was ended before this invitation was sent; nothing was sent.")
        )
    # Before the provider is asked for a link the portal could not deliver (a resend queued
    # before the gateway was removed, say).
    render.check_deliverable(credential=credential, channel=invitee.channel)
    http_status = None
    if not invitee.personal_link:
        profile = getattr(session.created_by, "agent_profile", None)  # selected with it
        if profile is None:
            raise UpstreamConfigurationError(
                f"User '{session.created_by.get_username()}' no longer has an agent profile."
            )
        request = InvitationRequest(
            channel=invitee.channel,
            destination=invitee.destination,
            agent_id=profile.partner_user_id,
            session_type=session.session_type,
            name=invitee.name,
            session_key=session.session_key if credential.can_add_to_session else "",
            reference=invitee.reference,
        )
        with registry.reused_client(credential) as client:
            result = client.send_invitation(request)
        http_status = result.http_status
        join_url = links.safe_link(result.join_url, base_url=credential.base_url) or ""
        _remember_session(session, result.session_key, join_url)
        # An answer with an unsafe link fails the delivery before anything is kept or
        # delivered (the session stays known, to end it). Where the provider sent its own
        # message, that message has gone out: the error says so.
        for link in filter(None, (result.join_url, result.personal_link)):
            links.require_safe_link(
                link,
                base_url=credential.base_url,
                provider=credential.provider,
                name=credential.get_provider_display(),
                session_key=result.session_key,
                provider_sent=result.sent_by_provider,
            )
        if result.sent_by_provider:
            invitee.message_text = result.message_text
            return http_status
        # Kept before delivering: if the portal's delivery fails, a resend reuses the link
        # instead of adding the invitee upstream again.
        invitee.personal_link = result.personal_link
        invitee.save(update_fields=["personal_link", "updated_at"])
    delivered = render.deliver_personal_link(invitee=invitee, link=invitee.personal_link)
    invitee.message_text = delivered.text
    invitee.provider_message_id = delivered.message_id
    return http_status


def _remember_session(session: Session, session_key: str, join_url: str) -> None:
    session.session_key = session_key
    fields = {"session_key": session_key, "updated_at": timezone.now()}
    if join_url:
        session.join_url = join_url
        fields["join_url"] = join_url
    Session.objects.filter(pk=session.pk).update(**fields)


def _finish(
    invitee: Invitee,
    attempt: DeliveryAttempt,
    started: float,
    status: str,
    outcome: str,
    error: str,
    http_status: int | None = None,
) -> None:
    error = redact(error)
    attempt.finished_at = timezone.now()
    attempt.outcome = outcome
    attempt.http_status = http_status
    attempt.latency_ms = round((time.monotonic() - started) * 1000)
    attempt.error = error
    attempt.provider_message_id = invitee.provider_message_id
    invitee.status = status
    invitee.last_error = error
    with transaction.atomic():
        attempt.save()
        invitee.save(
            update_fields=[
                "status",
                "last_error",
                "message_text",
                "provider_message_id",
                "sent_at",
                "expires_at",
                "updated_at",
            ]
        )
    logger.info("invitee %s: %s (http %s)", invitee.pk, status, http_status)


def _retry_delay(err: UpstreamError, invitee: Invitee) -> float | None:
    """Seconds until the next automatic attempt, or None to stop here.

    Only when the upstream certainly did not act: no connection, 429, 502/503/504, or a 401
    on the first try with a login key made for that request (a clock-skew victim; the next
    try makes a new key). Exponential backoff with jitter, at least Retry-After, and capped
    well below the broker's visibility timeout so that a countdown never runs twice.
    """
    if not settings.DELIVERY_AUTO_RETRY or invitee.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
        return None
    fresh_login_key = (
        err.status_code == 401
        and invitee.attempts == 1
        and invitee.session.credential.auth_type in GENERATED_KEY_AUTH
    )
    if not (err.retryable or fresh_login_key):
        return None
    backoff = settings.DELIVERY_RETRY_BASE_DELAY * 2 ** (invitee.attempts - 1)
    jittered = backoff * random.uniform(0.5, 1.0)  # noqa: S311  (jitter, not security)
    return min(max(jittered, err.retry_after or 0.0), settings.DELIVERY_RETRY_MAX_DELAY)


def _enqueue_delivery(invitee: Invitee, countdown: float | None = None) -> None:
    """Queue the delivery task once the current transaction commits. If the broker cannot
    take it, the invitee stays queued and `requeue_stuck` queues it again later."""
    from invitations.tasks import deliver_invitee

    invitee_id = invitee.pk

    def enqueue() -> None:
        try:
            deliver_invitee.apply_async((invitee_id,), countdown=countdown or 0)
        except Exception:
            if settings.CELERY_TASK_ALWAYS_EAGER:
                raise  # in-process: this is the delivery itself failing, not the broker
            logger.exception("invitee %s: could not queue the delivery task", invitee_id)

    transaction.on_commit(enqueue)


class DeliveryBound(NamedTuple):
    seconds: float
    # What sets it, for error messages.
    reason: str


def longest_delivery() -> DeliveryBound:
    """How long one delivery can legitimately stay `sending`: anything longer was interrupted.
    An age for `invitees_requeue_stuck` below it would mark deliveries under way."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        # The worker kills a task at its hard time limit.
        return DeliveryBound(float(settings.CELERY_TASK_TIME_LIMIT), "CELERY_TASK_TIME_LIMIT")
    # In-process nothing kills it: the provider's call, then the portal's own e-mail or SMS.
    # Calls through the portal's HTTP client end at UPSTREAM_TOTAL_TIMEOUT; an e-mail backend
    # of its own (SMTP, anymail) is bounded per read only, by the same timeouts.
    per_call = max(
        settings.UPSTREAM_TOTAL_TIMEOUT,
        settings.UPSTREAM_CONNECT_TIMEOUT + settings.UPSTREAM_READ_TIMEOUT,
    )
    return DeliveryBound(
        2 * per_call,
        "twice the longest call (UPSTREAM_TOTAL_TIMEOUT, or UPSTREAM_CONNECT_TIMEOUT + "
        "UPSTREAM_READ_TIMEOUT if longer): the provider's call, then the portal's own e-mail "
        "or SMS",
    )


def invitees_requeue_stuck(*, older_than: timedelta) -> dict[str, int]:
    """Bring invitees whose delivery was lost back to a state someone can act on.

    - `sending` for longer than `older_than`: the worker died mid-call (SIGKILL, OOM, a lost
      machine). The provider may have sent the message, so the invitee needs attention;
      it is never sent again automatically.
    - `queued` for longer than `older_than`: the task never ran (the broker lost it, or it
      could not be queued). It is queued again; the claim makes a duplicate task harmless.
    """
    cutoff = timezone.now() - older_than
    interrupted = list(
        Invitee.objects.filter(status=DeliveryStatus.SENDING, updated_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    for invitee_id in interrupted:
        with transaction.atomic():
            marked = Invitee.objects.filter(
                pk=invitee_id, status=DeliveryStatus.SENDING, updated_at__lt=cutoff
            ).update(
                status=DeliveryStatus.NEEDS_ATTENTION,
                last_error=INTERRUPTED,
                updated_at=timezone.now(),
            )
            if marked:
                DeliveryAttempt.objects.filter(
                    invitee_id=invitee_id, outcome=AttemptOutcome.IN_PROGRESS
                ).update(
                    outcome=AttemptOutcome.AMBIGUOUS, error=INTERRUPTED, finished_at=timezone.now()
                )
    requeued = 0
    for invitee in Invitee.objects.filter(status=DeliveryStatus.QUEUED, updated_at__lt=cutoff):
        # Touch it so the next reaper run waits a full period before queueing it again.
        Invitee.objects.filter(pk=invitee.pk).update(updated_at=timezone.now())
        _enqueue_delivery(invitee)
        requeued += 1
    if interrupted or requeued:
        logger.info("requeue_stuck: %s interrupted, %s requeued", len(interrupted), requeued)
    return {"interrupted": len(interrupted), "requeued": requeued}


def _invitee_for_key(*, agent: User, idempotency_key: str) -> Invitee | None:
    existing = (
        Invitee.objects.select_related("session").filter(idempotency_key=idempotency_key).first()
    )
    if existing is not None and existing.session.created_by_id != agent.pk:
        raise InvalidInput(_("This request was already used; reload the page and try again."))
    return existing


DEFAULT_AUTH_TYPE = {Provider.GLANCE: AuthType.GKEY, Provider.ONSYNC: AuthType.API_TOKEN}


def _editable_fields(
    model: type[Model], *, kept_by_portal: Collection[str] = ()
) -> tuple[str, ...]:
    """The fields of `model` that people set, in model order: its editable concrete and
    many-to-many fields, less the primary key and those the portal keeps itself."""
    meta = model._meta
    return tuple(
        field.name
        for field in (*meta.concrete_fields, *meta.many_to_many)
        if field.editable and not field.primary_key and field.name not in kept_by_portal
    )


# Every field of a credential an operator sets, as the admin form, add_credential and audit
# events name them; a new model field joins them by itself. The secret stands apart (it is only
# ever replaced, never read back), and Test connection keeps last_checked_at.
CREDENTIAL_FIELDS = _editable_fields(PartnerCredential, kept_by_portal={"last_checked_at"})


def credential_changes(*, credential: PartnerCredential, values: Mapping[str, Any]) -> list[str]:
    """The fields that `values` (field name -> new value) would change on `credential`, in
    CREDENTIAL_FIELDS order. A credential not saved yet is compared with the defaults."""
    unknown = set(values) - set(CREDENTIAL_FIELDS)
    if unknown:
        raise TypeError(f"Not fields of a credential: {', '.join(sorted(unknown))}")
    changed = []
    for name in CREDENTIAL_FIELDS:
        if name not in values:
            continue
        if credential._meta.get_field(name).many_to_many:
            stored = (
                set(getattr(credential, name).values_list("pk", flat=True))
                if credential.pk
                else set()
            )
            if {item.pk for item in values[name]} != stored:
                changed.append(name)
        elif getattr(credential, name) != values[name]:
            changed.append(name)
    return changed


def _secret_error(*, label: str, has_secret: bool, changed: list[str], secret: str | None) -> str:
    if secret is not None:
        return "" if secret.strip() else "The API key is empty."
    if not has_secret:
        return f"Credential '{label}' needs an API key or token."
    return secret_reentry_error(changed)


def credential_secret_error(
    *, credential: PartnerCredential, values: Mapping[str, Any], secret: str | None
) -> str:
    """Why credential_save would refuse these `values` and `secret` for `credential` (not
    saved yet: a new one) for want of the secret; "" when it would not. For forms, which
    show the reason next to the secret before anything is saved."""
    return _secret_error(
        label=values.get("label", credential.label),
        has_secret=credential.has_secret,
        changed=credential_changes(credential=credential, values=values),
        secret=secret,
    )


def credential_save(
    *,
    credential: PartnerCredential | None,
    values: Mapping[str, Any],
    secret: str | None = None,
    actor: User | None,
) -> PartnerCredential:
    """Create a credential (`credential=None`) or change one: the one place a credential is
    written, for the admin, add_credential and code alike.

    `values` maps any of CREDENTIAL_FIELDS to its new value ("teams": the only teams whose
    agents may use it; none: every agent); the fields left out keep theirs (a new credential:
    the default, and the provider's usual auth type). `secret=None` keeps the stored secret,
    except that a new base URL or group id needs it again (see SECRET_BOUND_FIELDS). The save
    is recorded as audit events by `actor` (None: an operator command) that name the fields
    changed, never their values; a save that changes nothing records nothing."""
    with transaction.atomic():
        # The stored row, not the caller's copy: a form has already put its values on its own.
        if credential is None or credential.pk is None:
            stored = PartnerCredential()
        else:
            stored = PartnerCredential.objects.select_for_update().get(pk=credential.pk)
        created = stored.pk is None
        if created and "auth_type" not in values and "provider" in values:
            usual = DEFAULT_AUTH_TYPE.get(values["provider"])
            values = {**values, **({"auth_type": usual} if usual else {})}
        changed = credential_changes(credential=stored, values=values)
        problem = _secret_error(
            label=values.get("label", stored.label),
            has_secret=stored.has_secret,
            changed=changed,
            secret=secret,
        )
        if problem:
            raise InvalidInput(problem, field="secret")
        related = {}
        for name, value in values.items():
            if stored._meta.get_field(name).many_to_many:
                related[name] = value
            else:
                setattr(stored, name, value)
        if secret is not None:
            stored.set_secret(secret.strip())
        _full_clean(stored)
        stored.save()
        for name, value in related.items():
            getattr(stored, name).set(value)
        target = f"credential {stored.label}"
        if created:
            audit_record(
                actor=actor,
                action=AuditEvent.Action.CREDENTIAL_CREATED,
                target=target,
                details=f"{stored.provider} credential, secret set",
            )
        elif changed or secret is not None:
            audit_record(
                actor=actor,
                action=AuditEvent.Action.CREDENTIAL_CHANGED,
                target=target,
                details=_credential_change_details(
                    fields=changed, secret_replaced=secret is not None
                ),
            )
            if secret is not None:
                audit_record(actor=actor, action=AuditEvent.Action.SECRET_CHANGED, target=target)
    return stored


def credential_upsert(
    *, label: str, api_key: str | None = None, actor: User | None = None, **values: Any
) -> tuple[PartnerCredential, bool]:
    """Create or change the credential called `label` (credential_save): the fields given in
    `values` are set, the others keep their stored value (a new credential: the default).
    Returns the credential and whether it was created."""
    credential = PartnerCredential.objects.filter(label=label).first()
    saved = credential_save(
        credential=credential, values={"label": label, **values}, secret=api_key, actor=actor
    )
    return saved, credential is None


def _credential_change_details(*, fields: Sequence[str], secret_replaced: bool) -> str:
    """An audit event's account of a credential change: the names of the fields changed and
    whether the secret was replaced; never a value."""
    parts = [f"changed: {', '.join(fields)}"] if fields else []
    if secret_replaced:
        parts.append("secret replaced")
    return "; ".join(parts)


# Every field of an agent's profile an administrator sets (the admin form, create_agent).
AGENT_PROFILE_FIELDS = _editable_fields(AgentProfile)


def agent_profile_save(*, profile: AgentProfile, values: Mapping[str, Any]) -> AgentProfile:
    """The one place an agent's profile is written (the admin, agent_upsert): `values` maps
    any of AGENT_PROFILE_FIELDS to its new value, the others keep theirs. Checked as a whole,
    e.g. a default credential must be open to the agent's team."""
    unknown = set(values) - set(AGENT_PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"Not fields of an agent profile: {', '.join(sorted(unknown))}")
    for name, value in values.items():
        setattr(profile, name, value)
    _full_clean(profile)
    profile.save()
    return profile


def agent_upsert(
    *,
    username: str,
    partner_user_id: str,
    credential: PartnerCredential | None = None,
    password: str | None = None,
    email: str = "",
    is_superuser: bool = False,
    team: Team | None = None,
    time_zone: str | None = None,
    supervisor: bool = False,
) -> tuple[User, bool]:
    """Create or update a user with an agent profile. Without a password a new user cannot
    log in until one is set; an existing user's password is kept. `credential` (the default
    credential), `team` and `time_zone`: None keeps the stored value. `supervisor` adds the
    user to the Supervisors group (never removes)."""
    user_model = get_user_model()
    with transaction.atomic():
        user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
        created = user is None
        if user is None:
            user = user_model(**{user_model.USERNAME_FIELD: username})
            user.set_unusable_password()
        if email:
            user.email = email
        if is_superuser:
            user.is_staff = user.is_superuser = True
        if password is not None:
            if not password:
                raise InvalidInput("The password is empty.")
            user.set_password(password)
        _full_clean(user, exclude=["password"])
        user.save()
        profile, _created = AgentProfile.objects.get_or_create(user=user)
        given = {"default_credential": credential, "team": team, "time_zone": time_zone}
        agent_profile_save(
            profile=profile,
            values={
                "partner_user_id": partner_user_id.strip(),
                **{name: value for name, value in given.items() if value is not None},
            },
        )
        if supervisor:
            user.groups.add(Group.objects.get(name=SUPERVISORS_GROUP))
    return user, created


def _full_clean(instance: Any, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as err:
        problems = "; ".join(
            f"{field}: {' '.join(msgs)}" for field, msgs in err.message_dict.items()
        )
        raise InvalidInput(problems) from err


def audit_record(
    *, actor: User | None, action: str, target: str = "", details: str = ""
) -> AuditEvent:
    """Write an audit event; `actor=None` means an operator command. Details are redacted."""
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "command",
        action=action,
        target=target[:200],
        details=redact(details),
    )
