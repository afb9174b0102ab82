"""Delivering an invitation through the provider: the task's work, retries, and requeueing
deliveries a stopped worker left behind."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from invitations.errors import NotConfigured
from invitations.messaging import send
from invitations.models import (
    AttemptOutcome,
    AuthType,
    DeliveryAttempt,
    Invitee,
    Session,
    SessionKey,
)
from invitations.prepared import PreparedInsert, PreparedSelect, PreparedUpdate
from invitations.providers import registry
from invitations.providers.base import (
    InvitationRequest,
    UpstreamConfigurationError,
    UpstreamError,
)
from invitations.security import crypto, links
from invitations.security.redaction import redact
from invitations.services import presence_lookups
from invitations.services.digitalsamba import credential_webhook_ensure_once
from invitations.states import DeliveryStatus

logger = logging.getLogger(__name__)


INTERRUPTED = (
    "Delivery was interrupted (the worker stopped mid-send). The message may or may not have "
    "been sent: check with the customer before resending."
)
GENERATED_KEY_AUTH = (AuthType.GKEY, AuthType.GKEY_ADDRESS)

# Every delivery makes these; compiled once (invitations.prepared).
_CLAIM = PreparedUpdate(
    lambda pk, now: (
        Invitee.objects.filter(pk=pk, status=DeliveryStatus.QUEUED),
        {"status": DeliveryStatus.SENDING, "attempts": F("attempts") + 1, "updated_at": now},
    ),
    pk=int,
    now=datetime,
)
_NEW_ATTEMPT = PreparedInsert(DeliveryAttempt)
_FOR_DELIVERY = PreparedSelect(
    lambda pk: Invitee.objects.select_related(
        "session__credential", "session__created_by__agent_profile"
    ).filter(pk=pk)[:1],
    pk=int,
)
_SESSION_LEARNED = PreparedUpdate(
    lambda pk, session_key, join_url, now: (
        Session.objects.filter(pk=pk),
        {"session_key": session_key, "join_url": join_url, "updated_at": now},
    ),
    pk=int,
    session_key=str,
    join_url=str,
    now=datetime,
)
_ATTEMPT_FINISHED = PreparedUpdate(
    lambda pk, finished_at, outcome, http_status, latency_ms, error, provider_message_id: (
        DeliveryAttempt.objects.filter(pk=pk),
        {
            "finished_at": finished_at,
            "outcome": outcome,
            "http_status": http_status,
            "latency_ms": latency_ms,
            "error": error,
            "provider_message_id": provider_message_id,
        },
    ),
    pk=int,
    finished_at=datetime,
    outcome=str,
    http_status=int,
    latency_ms=int,
    error=str,
    provider_message_id=str,
)
_INVITEE_FINISHED = PreparedUpdate(
    lambda pk, status, last_error, message_text, provider_message_id, sent_at, expires_at, now: (
        Invitee.objects.filter(pk=pk),
        {
            "status": status,
            "last_error": last_error,
            "message_text": message_text,
            "provider_message_id": provider_message_id,
            "sent_at": sent_at,
            "expires_at": expires_at,
            "updated_at": now,
        },
    ),
    pk=int,
    status=str,
    last_error=str,
    message_text=str,
    provider_message_id=str,
    sent_at=datetime,
    expires_at=datetime,
    now=datetime,
)


class SessionEnded(Exception):
    """The session was ended while an invitation to it waited in the queue."""


def invitee_deliver(*, invitee_id: int) -> Invitee | None:
    """Send one queued invitation through the provider and record the outcome.

    The invitee is claimed (queued -> sending, one conditional UPDATE) before the provider is
    called, so a second copy of the same task finds nothing to do and sends nothing.
    """
    # One transaction: the claim and its attempt row are there together or not at all.
    with transaction.atomic():
        claimed = _CLAIM.run(pk=invitee_id, now=timezone.now())
        invitee = _FOR_DELIVERY.first(pk=invitee_id)
        if invitee is None or not claimed:
            logger.info("invitee %s: nothing to deliver", invitee_id)
            return invitee
        attempt = _NEW_ATTEMPT.insert(DeliveryAttempt(invitee=invitee))
    started = time.monotonic()
    learned = _Learned()
    try:
        http_status = _send(invitee, learned)
    except UpstreamError as err:
        learned.session_key = err.session_key or learned.session_key
        delay = _retry_delay(err, invitee)
        if delay is not None:
            message = (
                f"{err} Retrying automatically in {delay:.0f} s "
                f"(attempt {invitee.attempts} of {settings.DELIVERY_MAX_ATTEMPTS})."
            )
            _finish(
                invitee,
                attempt,
                learned,
                started,
                DeliveryStatus.QUEUED,
                AttemptOutcome.RETRY,
                message,
                err.status_code,
            )
            enqueue_delivery(invitee, countdown=delay)
            return invitee
        status = DeliveryStatus.NEEDS_ATTENTION if err.ambiguous else DeliveryStatus.FAILED
        outcome = AttemptOutcome.AMBIGUOUS if err.ambiguous else AttemptOutcome.FAILED
        _finish(invitee, attempt, learned, started, status, outcome, str(err), err.status_code)
    except (
        UpstreamConfigurationError,
        NotConfigured,
        ImproperlyConfigured,
        crypto.SecretUnreadable,
        SessionEnded,
        # Raised before the message reached the e-mail or SMS backend: certainly not sent.
        send.MessageNotWritten,
    ) as err:
        if isinstance(err, send.MessageNotWritten):
            # Without the traceback: the cause's text may quote the customer's name.
            logger.warning("invitee %s: %s", invitee.pk, err)
        _finish(
            invitee,
            attempt,
            learned,
            started,
            DeliveryStatus.FAILED,
            AttemptOutcome.FAILED,
            str(err),
        )
    except Exception:
        # A bug, not an upstream answer: the request may have gone out, so a person decides.
        logger.exception("invitee %s: delivery crashed", invitee.pk)
        _finish(
            invitee,
            attempt,
            learned,
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
            invitee,
            attempt,
            learned,
            started,
            DeliveryStatus.SENT,
            AttemptOutcome.SENT,
            "",
            http_status,
        )
        # With a broker a worker asks the provider whether the customer joined.
        presence_lookups.presence_watch(invitee=invitee)
    return invitee


def _send(invitee: Invitee, learned: _Learned) -> int | None:
    """Invite through the provider; when it hands back a personal link instead of sending a
    message itself, deliver that link by the portal's own e-mail or SMS. Returns the
    provider's HTTP status (None when only the portal's delivery ran); what it learned of the
    session is in `learned`, stored with the outcome however it ends."""
    session = invitee.session
    credential = session.credential
    if session.ended_at is not None:
        raise SessionEnded(
            _("The session was ended before this invitation was sent; nothing was sent.")
        )
    # Before the provider is asked for a link the portal could not deliver (a resend queued
    # before the gateway was removed, say).
    send.check_deliverable(credential=credential, channel=invitee.channel)
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
            participant_id=str(invitee.pk),
            valid_until=timezone.now() + timedelta(minutes=credential.invitation_validity_minutes),
        )
        with registry.client_for(credential) as client:
            result = client.send_invitation(request)
        if credential.reports_presence_by_webhook:
            # Before the customer can open the link, so that their join is reported.
            credential_webhook_ensure_once(credential=credential)
        http_status = result.http_status
        learned.session_key = result.session_key
        learned.join_url = links.safe_link(result.join_url, base_url=credential.base_url) or ""
        if learned.session_key:
            # Here at once, for the portal's message; stored with the outcome (`_finish`).
            session.session_key = learned.session_key
            session.join_url = learned.join_url or session.join_url
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
    delivered = send.deliver_personal_link(invitee=invitee, link=invitee.personal_link)
    invitee.message_text = delivered.text
    invitee.provider_message_id = delivered.message_id
    return http_status


@dataclass
class _Learned:
    """What the provider's answer told of the session: kept with the outcome, whatever it is,
    so that the session can be found and ended."""

    session_key: str = ""
    join_url: str = ""


def _remember_session(session: Session, learned: _Learned) -> None:
    if not learned.session_key:
        return
    # Kept for good: a new key (a Glance resend) leaves the earlier ones findable.
    SessionKey.objects.bulk_create(
        [SessionKey(session=session, key=learned.session_key)], ignore_conflicts=True
    )
    session.session_key = learned.session_key
    session.join_url = learned.join_url or session.join_url
    _SESSION_LEARNED.run(
        pk=session.pk,
        session_key=session.session_key,
        join_url=session.join_url,
        now=timezone.now(),
    )


def _finish(
    invitee: Invitee,
    attempt: DeliveryAttempt,
    learned: _Learned,
    started: float,
    status: str,
    outcome: str,
    error: str,
    http_status: int | None = None,
) -> None:
    """Store the outcome: the session learned, the attempt, the invitee; one transaction."""
    error = redact(error)
    now = timezone.now()
    attempt.finished_at = now
    attempt.outcome = outcome
    attempt.http_status = http_status
    attempt.latency_ms = round((time.monotonic() - started) * 1000)
    attempt.error = error
    attempt.provider_message_id = invitee.provider_message_id
    invitee.status = status
    invitee.last_error = error
    invitee.updated_at = now
    with transaction.atomic():
        _remember_session(invitee.session, learned)
        _ATTEMPT_FINISHED.run(
            pk=attempt.pk,
            finished_at=now,
            outcome=outcome,
            http_status=http_status,
            latency_ms=attempt.latency_ms,
            error=error,
            provider_message_id=attempt.provider_message_id,
        )
        _INVITEE_FINISHED.run(
            pk=invitee.pk,
            status=status,
            last_error=error,
            message_text=invitee.message_text,
            provider_message_id=invitee.provider_message_id,
            sent_at=invitee.sent_at,
            expires_at=invitee.expires_at,
            now=now,
        )
    logger.info("invitee %s: %s (http %s)", invitee.pk, status, http_status)


def _retry_delay(err: UpstreamError, invitee: Invitee) -> float | None:
    """Seconds until the next automatic attempt, or None to stop here.

    Only when the upstream certainly did not act: no connection, 429, 502/503/504, or a 401
    or 403 (Glance answers either for a refused key) on the first try with a login key made
    for that request (a clock-skew victim; the next try makes a new key). GSSNID and GJWT
    clients already replaced a refused token once within the try, so they are not retried.
    Exponential backoff with jitter, at least Retry-After, and capped well below the broker's
    visibility timeout so that a countdown never runs twice.
    """
    if not settings.DELIVERY_AUTO_RETRY or invitee.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
        return None
    fresh_login_key = (
        err.status_code in (401, 403)
        and invitee.attempts == 1
        and invitee.session.credential.auth_type in GENERATED_KEY_AUTH
    )
    if not (err.retryable or fresh_login_key):
        return None
    backoff = settings.DELIVERY_RETRY_BASE_DELAY * 2 ** (invitee.attempts - 1)
    jittered = backoff * random.uniform(0.5, 1.0)  # noqa: S311  (jitter, not security)
    return min(max(jittered, err.retry_after or 0.0), settings.DELIVERY_RETRY_MAX_DELAY)


def enqueue_delivery(invitee: Invitee, countdown: float | None = None) -> None:
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
        enqueue_delivery(invitee)
        requeued += 1
    if interrupted or requeued:
        logger.info("requeue_stuck: %s interrupted, %s requeued", len(interrupted), requeued)
    return {"interrupted": len(interrupted), "requeued": requeued}
