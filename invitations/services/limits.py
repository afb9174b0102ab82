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

import datetime
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from invitations.errors import InvitationError
from invitations.models import RateCounter


class RateLimited(InvitationError):
    """Too many invitations; the message says what to wait for."""

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        # Seconds until every limit that was reached starts a new window (None: unknown).
        self.retry_after = retry_after


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

    def window(self) -> str:
        """The window as a sentence puts it after "in": "the last hour", "the last 10 minutes"."""
        if self.seconds % 3600 == 0:
            hours = self.seconds // 3600
            return ngettext("the last hour", "the last %(n)d hours", hours) % {"n": hours}
        if self.seconds % 60 == 0:
            minutes = self.seconds // 60
            return ngettext("the last minute", "the last %(n)d minutes", minutes) % {"n": minutes}
        return ngettext("the last second", "the last %(n)d seconds", self.seconds) % {
            "n": self.seconds
        }


# Which counter a limit keeps: the agent's own invitations, one destination's, or a number
# range's. The destination and range counters count every agent's invitations, so their
# words say how often the person was invited, never by whom.
AGENT, DESTINATION, PREFIX = "agent", "destination", "prefix"


@dataclass(frozen=True)
class _Check:
    kind: str
    channel: str
    key: str
    limit: Limit
    window_ends: int

    def refusal(self, *, retry_after: int) -> str:
        """What the agent reads: which limit, and when it clears (`retry_after` seconds from
        now, the Retry-After the API sends)."""
        count = self.limit.count
        if self.kind == AGENT:
            text = ngettext(
                "You have sent %(count)d invitation in %(window)s, the most allowed; try again "
                "after %(time)s.",
                "You have sent %(count)d invitations in %(window)s, the most allowed; try "
                "again after %(time)s.",
                count,
            )
        elif self.kind == PREFIX:
            text = _(
                "Numbers in this range were invited too often in %(window)s (a guard against "
                "SMS fraud); try again after %(time)s or ask the customer for another number."
            )
        elif self.channel == "email":
            text = ngettext(
                "This address was invited %(count)d time in %(window)s; try again after "
                "%(time)s or ask the customer for another address.",
                "This address was invited %(count)d times in %(window)s; try again after "
                "%(time)s or ask the customer for another address.",
                count,
            )
        else:
            text = ngettext(
                "This number was invited %(count)d time in %(window)s; try again after "
                "%(time)s or ask the customer for another number.",
                "This number was invited %(count)d times in %(window)s; try again after "
                "%(time)s or ask the customer for another number.",
                count,
            )
        return text % {
            "count": count,
            "window": self.limit.window(),
            "time": clears_at(retry_after),
        }


def clears_at(seconds: int) -> str:
    """The local time `seconds` from now, as an agent reads it: "15:40", with the date when
    it is not today."""
    moment = timezone.localtime(timezone.now() + datetime.timedelta(seconds=seconds))
    if moment.date() == timezone.localdate():
        return date_format(moment, "H:i")
    return date_format(moment, "Y-m-d H:i")


def _check(kind: str, value: str, limit: Limit, channel: str, now: int) -> _Check:
    # A keyed hash: the table must not hold numbers or addresses, and a plain hash of a phone
    # number is easy to reverse (there are few numbers).
    digest = salted_hmac("invitations.services.limits", f"{kind}:{value}").hexdigest()[:32]
    window = now // limit.seconds
    return _Check(
        kind=kind,
        channel=channel,
        key=f"{kind}:{digest}:{limit.seconds}:{window}",
        limit=limit,
        window_ends=(window + 1) * limit.seconds,
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
        checks.append(_check(AGENT, str(agent_id), limit, channel, now))
    limit = Limit.parse("RATE_LIMIT_PER_DESTINATION", settings.RATE_LIMIT_PER_DESTINATION)
    identity = email_identity(destination) if channel == "email" else destination
    checks.append(_check(DESTINATION, identity, limit, channel, now))
    if channel == "sms":
        limit = Limit.parse("RATE_LIMIT_PER_PREFIX", settings.RATE_LIMIT_PER_PREFIX)
        checks.append(_check(PREFIX, number_prefix(destination), limit, channel, now))
    return checks


def _increment(keys: list[tuple[str, int]]) -> dict[str, int]:
    """Add one to each counter (creating it at 1) and return the new counts, in one statement.
    Its rows in key order, so that two transactions always lock shared counters in the same
    order (no deadlock)."""
    table, key, count, window_ends = (
        connection.ops.quote_name(name)
        for name in (RateCounter._meta.db_table, "key", "count", "window_ends")
    )
    rows = sorted(keys)
    # The same statement on SQLite (3.35 and later, for RETURNING) and PostgreSQL.
    upsert = (
        f"INSERT INTO {table} ({key}, {count}, {window_ends}) "  # noqa: S608
        f"VALUES {', '.join(['(%s, 1, %s)'] * len(rows))} "
        f"ON CONFLICT ({key}) DO UPDATE SET {count} = {table}.{count} + 1 "
        f"RETURNING {key}, {count}"
    )
    with connection.cursor() as cursor:
        cursor.execute(upsert, [value for row in rows for value in row])
        return {str(counted_key): int(counted) for counted_key, counted in cursor.fetchall()}


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
            raise RateLimited(reached[0].refusal(retry_after=retry_after), retry_after=retry_after)
    # After the commit and outside it, so that no transaction holds rows of ended windows.
    transaction.on_commit(_forget_ended_windows, robust=True)


def destination_wait(*, destination: str, channel: str) -> RateLimited | None:
    """The refusal an invitation to `destination` would meet now from the limits that count
    every agent's invitations (destination, number range), without counting anything; None
    when they allow one more. The session page disables Resend with it."""
    now = int(time.time())
    checks = _checks(agent_id=None, destination=destination, channel=channel, now=now)
    counts = dict(
        RateCounter.objects.filter(key__in=[check.key for check in checks]).values_list(
            "key", "count"
        )
    )
    full = [check for check in checks if counts.get(check.key, 0) >= check.limit.count]
    if not full:
        return None
    retry_after = max(check.window_ends - now for check in full)
    return RateLimited(full[0].refusal(retry_after=retry_after), retry_after=retry_after)
