"""Anti-abuse limits: invitations per agent, per destination and per number prefix.

SMS pumping (toll fraud) sends many messages to numbers a fraudster is paid for, often a
range of neighbouring numbers. These fixed-window counters stop an agent account, a
destination, or a number range from being used that way, whatever the entry point and however
many processes on however many machines serve it.

The counters are rows in the database (RateCounter), not cache entries, for two reasons:
- The database is the one store every process shares in every configuration (the embedded
  default's SQLite file, production's PostgreSQL), and it increments atomically: one
  `INSERT ... ON CONFLICT DO UPDATE SET count = count + 1`, where a cache's get-then-set
  (Django's database and file caches) lets concurrent requests read the same count.
- The counts belong to the transaction that records the invitation. A refused invitation, a
  replay of an idempotency key that finds the first one's row, or any failure before the
  commit rolls them back, so only invitations that were recorded are counted, exactly once.
While a transaction holds a counter's row (PostgreSQL) or the database (SQLite, whose
transactions begin IMMEDIATE), the next request for the same counter waits for it, then sees
its count: of concurrent requests at limit - 1, exactly one passes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from invitations.errors import InvitationError
from invitations.models import RateCounter


class RateLimited(InvitationError):
    """Too many invitations; the message says what to wait for."""

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        # Seconds until every limit that was reached starts a new window (None: unknown).
        self.retry_after = retry_after


# The same words for the per-destination and per-prefix limits, which count every agent's
# invitations: an agent must not learn from them that someone else invited this person.
NOT_NOW = gettext_lazy(
    "Sending limits stop this invitation right now. Try again later, or ask the customer for "
    "another number or address."
)

# Mail providers that deliver `first.last@` to `firstlast@`, and the domain each is known by.
DOTS_IGNORED = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    @classmethod
    def parse(cls, setting: str, value: str) -> Limit:
        try:
            count, seconds = (int(part) for part in value.split("/"))
        except ValueError as err:
            raise ImproperlyConfigured(f"{setting} must look like 30/600, not {value!r}.") from err
        if count < 1 or seconds < 1:
            raise ImproperlyConfigured(f"{setting}: count and seconds must be positive.")
        return cls(count, seconds)

    def describe(self) -> str:
        minutes = self.seconds / 60
        if minutes < 120:
            span = ngettext("%(n)g minute", "%(n)g minutes", int(minutes)) % {"n": minutes}
        else:
            hours = minutes / 60
            span = ngettext("%(n)g hour", "%(n)g hours", int(hours)) % {"n": hours}
        return _("%(count)d in %(span)s") % {"count": self.count, "span": span}


@dataclass(frozen=True)
class _Check:
    key: str
    limit: Limit
    window_ends: int
    message: str


def _check(kind: str, value: str, limit: Limit, message: str, now: int) -> _Check:
    # A keyed hash: the table must not hold numbers or addresses, and a plain hash of a phone
    # number is easy to reverse (there are few numbers).
    digest = salted_hmac("invitations.services.limits", f"{kind}:{value}").hexdigest()[:32]
    window = now // limit.seconds
    return _Check(
        key=f"{kind}:{digest}:{limit.seconds}:{window}",
        limit=limit,
        window_ends=(window + 1) * limit.seconds,
        message=message,
    )


def number_prefix(e164: str) -> str:
    """The number range an E.164 number is counted in: without its last 4 digits, or its last
    2 for numbers of 8 characters or fewer (e.g. Niue's +683 4001), which would otherwise
    leave only the country code."""
    return e164[:-4] if len(e164) > 8 else e164[:-2]


def email_identity(address: str) -> str:
    """One address however it is written, for counting: lower case, without a `+tag`, and
    without dots where the provider ignores them (gmail.com, googlemail.com). Only the limits
    use it; the invitation goes to the address as typed."""
    local, _at, domain = address.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in DOTS_IGNORED:
        local, domain = local.replace(".", ""), DOTS_IGNORED[domain]
    return f"{local}@{domain}"


def _checks(*, agent_id: int | None, destination: str, channel: str, now: int) -> list[_Check]:
    checks = []
    if agent_id is not None:
        limit = Limit.parse("RATE_LIMIT_PER_AGENT", settings.RATE_LIMIT_PER_AGENT)
        message = _(
            "You have sent %(limit)s, the most allowed. Wait a few minutes and try again."
        ) % {"limit": limit.describe()}
        checks.append(_check("agent", str(agent_id), limit, message, now))
    limit = Limit.parse("RATE_LIMIT_PER_DESTINATION", settings.RATE_LIMIT_PER_DESTINATION)
    identity = email_identity(destination) if channel == "email" else destination
    checks.append(_check("destination", identity, limit, str(NOT_NOW), now))
    if channel == "sms":
        limit = Limit.parse("RATE_LIMIT_PER_PREFIX", settings.RATE_LIMIT_PER_PREFIX)
        checks.append(_check("prefix", number_prefix(destination), limit, str(NOT_NOW), now))
    return checks


def _increment(keys: list[tuple[str, int]]) -> dict[str, int]:
    """Add one to each counter (creating it at 1) and return the new counts. In key order,
    so that two transactions always lock shared counters in the same order (no deadlock)."""
    table, key, count, window_ends = (
        connection.ops.quote_name(name)
        for name in (RateCounter._meta.db_table, "key", "count", "window_ends")
    )
    # The same statement on SQLite (3.24 and later) and PostgreSQL.
    upsert = (
        f"INSERT INTO {table} ({key}, {count}, {window_ends}) VALUES (%s, 1, %s) "  # noqa: S608
        f"ON CONFLICT ({key}) DO UPDATE SET {count} = {table}.{count} + 1"
    )
    with connection.cursor() as cursor:
        for item in sorted(keys):
            cursor.execute(upsert, list(item))
    return dict(
        RateCounter.objects.filter(key__in=[k for k, _ in keys]).values_list("key", "count")
    )


# Rows of ended windows are never read again (a key names its window), so deleting them is
# housekeeping: at most once a minute per process, not a DELETE after every invitation.
FORGET_EVERY_SECONDS = 60.0
_next_forget = 0.0


def _forget_ended_windows() -> None:
    global _next_forget
    now = time.monotonic()
    if now < _next_forget:
        return
    _next_forget = now + FORGET_EVERY_SECONDS
    RateCounter.objects.filter(window_ends__lte=int(time.time())).delete()


def check_and_count(*, agent_id: int | None, destination: str, channel: str) -> None:
    """Count this invitation in each limit, or raise RateLimited and count nothing.

    Call it in the transaction that records the invitation, after the row that a replay of
    the same request would collide with: the counts are committed with the invitation, and
    rolled back with it. `agent_id=None` leaves out the per-agent limit (operator bulk runs),
    never the others. `destination` is normalised (E.164, or the address as stored).
    """
    now = int(time.time())
    checks = _checks(agent_id=agent_id, destination=destination, channel=channel, now=now)
    with transaction.atomic():
        # Count first, then compare: a count read before its increment could be stale.
        counts = _increment([(check.key, check.window_ends) for check in checks])
        reached = [check for check in checks if counts[check.key] > check.limit.count]
        if reached:
            # Leaving the block rolls the increments back: a refusal counts nothing. Counters
            # are per fixed window: retry once every window that is full has ended.
            retry_after = max(check.window_ends - now for check in reached)
            raise RateLimited(reached[0].message, retry_after=retry_after)
    # After the commit and outside it, so that no transaction holds rows of ended windows.
    transaction.on_commit(_forget_ended_windows, robust=True)
