"""Anti-abuse limits: invitations per agent, per destination and per number prefix.

SMS pumping (toll fraud) sends many messages to numbers a fraudster is paid for, often a
range of neighbouring numbers. These fixed-window counters in the cache stop an agent
account, a destination, or a number range from being used that way, whatever the entry point.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from invitations.errors import InvitationError


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


def _key(kind: str, value: str, limit: Limit) -> str:
    # Hashed: cache keys end up in Redis and its monitoring, destinations must not.
    digest = hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:32]
    window = int(time.time()) // limit.seconds
    return f"ratelimit:{kind}:{digest}:{limit.seconds}:{window}"


def _checks(
    *, agent_id: int | None, destination: str, channel: str
) -> list[tuple[str, Limit, str]]:
    checks = []
    if agent_id is not None:
        limit = Limit.parse("RATE_LIMIT_PER_AGENT", settings.RATE_LIMIT_PER_AGENT)
        checks.append(
            (
                _key("agent", str(agent_id), limit),
                limit,
                _("You have sent %(limit)s, the most allowed. Wait a few minutes and try again.")
                % {"limit": limit.describe()},
            )
        )
    limit = Limit.parse("RATE_LIMIT_PER_DESTINATION", settings.RATE_LIMIT_PER_DESTINATION)
    checks.append(
        (
            _key("destination", destination.lower(), limit),
            limit,
            str(NOT_NOW),
        )
    )
    if channel == "sms" and len(destination) > 8:
        limit = Limit.parse("RATE_LIMIT_PER_PREFIX", settings.RATE_LIMIT_PER_PREFIX)
        checks.append(
            (
                _key("prefix", destination[:-4], limit),
                limit,
                str(NOT_NOW),
            )
        )
    return checks


def check_and_count(*, agent_id: int | None, destination: str, channel: str) -> None:
    """Raise RateLimited if any limit is reached; otherwise count this invitation in each.

    `agent_id=None` leaves out the per-agent limit (operator bulk runs), never the others.
    """
    checks = _checks(agent_id=agent_id, destination=destination, channel=channel)
    counts = cache.get_many([key for key, _, _ in checks])
    reached = [
        (limit, message) for key, limit, message in checks if counts.get(key, 0) >= limit.count
    ]
    if reached:
        # Counters are per fixed window: retry once every window that is full has ended.
        now = int(time.time())
        retry_after = max(limit.seconds - now % limit.seconds for limit, _message in reached)
        raise RateLimited(reached[0][1], retry_after=retry_after)
    for key, limit, _message in checks:
        # add() starts the window with its expiry; incr() then counts atomically (Redis INCR).
        if not cache.add(key, 1, timeout=limit.seconds):
            try:
                cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.add(key, 1, timeout=limit.seconds)
