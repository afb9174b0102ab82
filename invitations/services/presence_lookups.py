"""Asking the provider whether the customer joined (Glance's session lookup), within a bound.

**The bound.** At most one lookup per invitation per GLANCE_LOOKUP_INTERVAL_SECONDS, whatever
number of processes ask: each lookup first claims its invitee with one conditional UPDATE that
sets `presence_checked_at` only when it is empty or an interval old and the invitee is still
watched. Whoever changed the row asks; everyone else does not.

**Watched.** Sent or delivered (nobody reported the customer yet), its invitation valid
(`expires_at` ahead), its session not ended and holding a session key, and the credential's
provider client able to look up (`looks_up_visitors`; other providers are never called).

**Who asks.**
- With a broker: a Celery task per invitee (`poll_invitee_presence`), queued when it becomes
  sent, asks once an interval and queues itself again until the customer joined, the
  invitation expired or the session ended. Each round carries the claim time its chain set;
  a round that finds another time there stops, so a duplicate chain dies out. Reads never
  ask then.
- Without one (the embedded default): the reads that show the invitee (the session page, its
  live rows, the API's session list and detail) run the lookups that are due for the rows
  they show, in a small thread pool, and wait at most GLANCE_LOOKUP_TIMEOUT_SECONDS for them:
  reading the session is enough to see it joined.

A join found is recorded with `invitee_record_presence`, the one write path. A failed lookup
is logged (redacted, never the login key) and changes nothing; the next is due an interval
later. Nothing here raises into a page or an API answer.
"""

from __future__ import annotations

import datetime
import logging
import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from invitations import states
from invitations.models import Invitee
from invitations.providers import http, registry
from invitations.providers.base import (
    UpstreamClient,
    UpstreamConfigurationError,
    UpstreamError,
)
from invitations.security import crypto
from invitations.security.redaction import redact
from invitations.services.presence import invitee_record_presence

logger = logging.getLogger(__name__)

# Sent or delivered: handed to the customer, and not yet reported in the session.
NOT_YET_PRESENT = states.PRESENCE_APPLICABLE - states.PRESENT_ONCE
# Lookups one process runs at once for reads; a read finding them all busy asks nothing and
# leaves its invitees due for the next read.
READ_LOOKUP_THREADS = 4


def _interval() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.GLANCE_LOOKUP_INTERVAL_SECONDS)


def _watched(now: datetime.datetime) -> Q:
    """The invitees a lookup may be claimed for at `now` (see the module's "Watched")."""
    return Q(
        status__in=NOT_YET_PRESENT,
        expires_at__gt=now,
        session__ended_at__isnull=True,
        session__credential__provider__in=registry.providers_looking_up_visitors(),
    ) & ~Q(session__session_key="")


def _is_watched(invitee: Invitee, now: datetime.datetime) -> bool:
    """`_watched` for a row already loaded with its session and credential, so that a read
    with nothing to ask costs no query. The claim's UPDATE decides; this only narrows."""
    session = invitee.session
    return (
        invitee.status in NOT_YET_PRESENT
        and invitee.expires_at is not None
        and invitee.expires_at > now
        and session.ended_at is None
        and bool(session.session_key)
        and session.credential.provider in registry.providers_looking_up_visitors()
    )


def _due_in(invitee: Invitee, now: datetime.datetime) -> float:
    """Seconds until a lookup for `invitee` may be claimed; 0 or less: now."""
    if invitee.presence_checked_at is None:
        return 0.0
    return (invitee.presence_checked_at + _interval() - now).total_seconds()


def _claim(
    invitee_id: int,
    now: datetime.datetime,
    *,
    chain: bool = False,
    previous: datetime.datetime | None = None,
) -> bool:
    """Claim one lookup for the invitee at `now` (one conditional UPDATE); True when this
    caller may ask. `chain`: a worker's round, which also needs the claim time it saw
    (`previous`, None for none yet) still there."""
    due = Q(presence_checked_at__isnull=True) | Q(presence_checked_at__lte=now - _interval())
    rows = Invitee.objects.filter(_watched(now), due, pk=invitee_id)
    if chain:
        rows = rows.filter(presence_checked_at=previous)
    # updated_at stays: asking changes nothing the dashboard or the agent sees.
    return bool(rows.update(presence_checked_at=now))


@dataclass(frozen=True)
class _Lookup:
    invitee: Invitee
    client: UpstreamClient
    session_key: str
    agent_id: str


def _prepare(invitee: Invitee, *, total_timeout: float | None = None) -> _Lookup | None:
    """What one lookup needs, read from the database here so that asking needs none. Asked as
    the agent who sent the invitation (the session's creator, whose partner user id the
    provider knows the session by)."""
    session = invitee.session
    profile = getattr(session.created_by, "agent_profile", None)
    agent_id = profile.partner_user_id if profile is not None else ""
    if not agent_id:
        logger.warning(
            "presence lookup for invitee %s skipped: its sender has no partner user id",
            invitee.pk,
        )
        return None
    try:
        client = registry.client_for(session.credential, total_timeout=total_timeout)
    except (UpstreamConfigurationError, ImproperlyConfigured, crypto.SecretUnreadable) as err:
        logger.warning("presence lookup for invitee %s skipped: %s", invitee.pk, redact(str(err)))
        return None
    return _Lookup(invitee, client, session.session_key, agent_id)


def _ask(lookup: _Lookup) -> bool | None:
    """Ask the provider (no database here: it may run in a pool thread). None when it could
    not be asked; the failure is logged without secrets."""
    try:
        with lookup.client as client:
            return client.visitor_joined(session_key=lookup.session_key, agent_id=lookup.agent_id)
    except (UpstreamError, UpstreamConfigurationError) as err:
        logger.warning(
            "presence lookup for invitee %s failed: %s", lookup.invitee.pk, redact(str(err))
        )
        return None


def _record_join(invitee: Invitee) -> bool:
    return invitee_record_presence(invitee=invitee, event="joined", at=timezone.now())


# --- With a broker: one task chain per sent invitee ------------------------------------------


def _stamp(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def presence_watch(*, invitee: Invitee) -> None:
    """Start the worker's lookups for an invitee that has just become sent: the first round
    an interval from now (after the current transaction commits). Only with a broker, and
    only for a provider that can be asked; without a broker reads ask."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    try:
        session = invitee.session
        if not session.session_key or session.credential.provider not in (
            registry.providers_looking_up_visitors()
        ):
            return
        _enqueue_poll(
            invitee.pk,
            _stamp(invitee.presence_checked_at),
            countdown=settings.GLANCE_LOOKUP_INTERVAL_SECONDS,
        )
    except Exception:
        # The invitation is sent and recorded; not watching it only costs the live "joined".
        logger.exception("invitee %s: could not start the presence lookups", invitee.pk)


def _enqueue_poll(invitee_id: int, last_checked: str | None, *, countdown: float) -> None:
    from invitations.tasks import poll_invitee_presence

    def enqueue() -> None:
        try:
            poll_invitee_presence.apply_async((invitee_id, last_checked), countdown=countdown)
        except Exception:
            # The broker is down: the invitee stays sent; the agent still sees every other
            # change. Nothing to undo.
            logger.exception("invitee %s: could not queue the presence lookup", invitee_id)

    transaction.on_commit(enqueue)


def invitee_presence_poll(*, invitee_id: int, last_checked: str | None) -> bool | None:
    """One round of the worker's lookups for an invitee; queues the next round while it is
    watched. `last_checked`: the claim time this chain set last (None before its first).
    Returns whether the customer was found joined (None: nobody was asked this round)."""
    now = timezone.now()
    invitee = (
        Invitee.objects.select_related("session__credential", "session__created_by__agent_profile")
        .filter(pk=invitee_id)
        .first()
    )
    if invitee is None or not _is_watched(invitee, now):
        return None  # joined, expired, ended, resent meanwhile (its new chain takes over)
    if _stamp(invitee.presence_checked_at) != last_checked:
        return None  # another chain claimed since: it carries on, this one stops
    wait_for = _due_in(invitee, now)
    if wait_for > 0:  # a countdown that fired early
        _enqueue_poll(invitee_id, last_checked, countdown=wait_for)
        return None
    if not _claim(invitee_id, now, chain=True, previous=invitee.presence_checked_at):
        return None
    lookup = _prepare(invitee)
    joined = _ask(lookup) if lookup is not None else None
    if joined:
        _record_join(invitee)
        return True
    _enqueue_poll(invitee_id, _stamp(now), countdown=settings.GLANCE_LOOKUP_INTERVAL_SECONDS)
    return joined


# --- Without a broker: the reads ask ---------------------------------------------------------

_pool_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None
# One slot per lookup running in this process for a read: a provider that hangs ties up at
# most this many threads, and later reads do not queue behind them.
_read_slots = threading.BoundedSemaphore(READ_LOOKUP_THREADS)


def _read_pool() -> ThreadPoolExecutor:
    """This process's pool (made after a server forks its workers, never shared across)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            executor = ThreadPoolExecutor(READ_LOOKUP_THREADS, thread_name_prefix="presence")
            _pool = (os.getpid(), executor)
        return _pool[1]


def _ask_for_read(lookup: _Lookup) -> bool | None:
    try:
        return _ask(lookup)
    finally:
        # A pool thread may then idle for long: it keeps no connection open meanwhile.
        http.close_kept_connections()
        _read_slots.release()


def presence_refresh(*, invitees: Iterable[Invitee]) -> None:
    """Without a broker: run the lookups due for `invitees` (rows a page or an API answer is
    about to show, each with its session and credential loaded), and record the joins found
    on those rows in place. Waits at most GLANCE_LOOKUP_TIMEOUT_SECONDS; an answer later than
    that is dropped (the next read asks again). Never raises."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return  # a worker asks (presence_watch)
    try:
        _refresh(list(invitees))
    except Exception:
        logger.exception("presence lookups for a read failed")


def _refresh(invitees: list[Invitee]) -> None:
    now = timezone.now()
    due = [i for i in invitees if _is_watched(i, now) and _due_in(i, now) <= 0]
    budget = settings.GLANCE_LOOKUP_TIMEOUT_SECONDS
    asked = {}
    for invitee in due:
        if not _read_slots.acquire(blocking=False):
            break
        try:
            lookup = _prepare(invitee, total_timeout=budget) if _claim(invitee.pk, now) else None
            if lookup is not None:
                asked[_read_pool().submit(_ask_for_read, lookup)] = invitee
        except BaseException:
            _read_slots.release()
            raise
        if lookup is None:
            _read_slots.release()
    if not asked:
        return
    done, late = wait(asked, timeout=budget)
    for future in done:
        error = future.exception()
        if error is not None:
            logger.error(
                "presence lookup for invitee %s crashed: %s", asked[future].pk, redact(repr(error))
            )
        elif future.result():
            _record_join(asked[future])
    for future in late:
        logger.info(
            "presence lookup for invitee %s took longer than %s s; asked again later",
            asked[future].pk,
            budget,
        )
