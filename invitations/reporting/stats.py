"""What the dashboard shows: the period, the figures' shapes and how durations read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from invitations.models import (
    Channel,
)
from invitations.states import Outcome

DASHBOARD_DAYS = (7, 14, 30)
DEFAULT_DASHBOARD_DAYS = 14
TOP_FAILURE_REASONS = 5
FAILURE_REASON_LENGTH = 120


@dataclass(frozen=True)
class Period:
    """Whole days in the current time zone, `first` to `last` inclusive."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def dates(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.days)]

    @property
    def start(self) -> datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return local_midnight(self.last + timedelta(days=1))


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def period_ending_today(*, days: int) -> Period:
    today = timezone.localdate()
    return Period(first=today - timedelta(days=days - 1), last=today)


@dataclass(frozen=True)
class Tally:
    """Invitation counts by (channel, outcome)."""

    counts: dict[tuple[str, str], int]

    def count(self, *, channel: str | None = None, outcome: str | None = None) -> int:
        return sum(
            n for (c, o), n in self.counts.items() if channel in (None, c) and outcome in (None, o)
        )

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def cells(self) -> list[int]:
        """Counts for each channel, then each outcome within it: the order of the table."""
        return [self.counts.get((c, o), 0) for c in Channel.values for o in Outcome.values]

    @property
    def by_channel(self) -> list[tuple[str, int]]:
        """(channel label, count) for each channel."""
        return [(str(label), self.count(channel=c)) for c, label in Channel.choices]


@dataclass(frozen=True)
class DayFigures:
    day: date
    tally: Tally


@dataclass(frozen=True)
class FailureReason:
    text: str
    count: int


class Rates:
    """What the dashboard works out from one set of figures (everybody's, or one agent's)."""

    totals: Tally
    joined: int
    median_delivery: timedelta | None
    median_join: timedelta | None

    @property
    def finished(self) -> int:
        return self.totals.total - self.totals.count(outcome=Outcome.PENDING)

    @property
    def succeeded(self) -> int:
        """Sent (joined ones included: each was sent first)."""
        return self.totals.count(outcome=Outcome.SENT)

    @property
    def success_rate(self) -> float | None:
        """Percentage of finished invitations that were sent; pending ones are left out."""
        if not self.finished:
            return None
        return 100 * self.succeeded / self.finished

    @property
    def success_rate_text(self) -> str:
        return _percent_text(self.success_rate)

    @property
    def joined_rate(self) -> float | None:
        """Percentage of sent invitations whose customer joined the session."""
        if not self.succeeded:
            return None
        return 100 * self.joined / self.succeeded

    @property
    def joined_rate_text(self) -> str:
        return _percent_text(self.joined_rate)

    @property
    def median_delivery_text(self) -> str:
        return "—" if self.median_delivery is None else duration_text(self.median_delivery)

    @property
    def median_join_text(self) -> str:
        return "—" if self.median_join is None else duration_text(self.median_join)


@dataclass(frozen=True)
class AgentFigures(Rates):
    """One agent's figures for the period, for the dashboard's table by agent."""

    agent_id: int
    username: str
    totals: Tally
    joined: int
    median_delivery: timedelta | None
    median_join: timedelta | None


@dataclass(frozen=True)
class InvitationStats(Rates):
    period: Period
    per_day: list[DayFigures]
    totals: Tally
    # From creation to the delivery receipt, over the invitations a receipt said were
    # delivered (`states.DELIVERY_CONFIRMED` with a receipt_at; `delivery_receipts` of them);
    # None when there are none.
    median_delivery: timedelta | None
    failure_reasons: list[FailureReason]
    # Invitations whose customer joined the session (and may have left it since); counted
    # among the sent too.
    joined: int = 0
    delivery_receipts: int = 0
    # From sending to the customer's (latest) join, over the joined invitations whose join
    # time is known (`joins_timed` of them).
    median_join: timedelta | None = None
    joins_timed: int = 0
    # Each agent's figures, by username, for those who watch others' sessions; else empty.
    agents: list[AgentFigures] = field(default_factory=list)


def _percent_text(rate: float | None) -> str:
    return "—" if rate is None else _("%(rate)s%%") % {"rate": _decimal(rate)}


def duration_text(delta: timedelta) -> str:
    """`1.2 s`, `3 min`, `2.5 h`, `3.0 days`: precise for the short delays that are normal."""
    # sent_at before created_at can only come from a clock step; read it as immediate.
    seconds = max(delta.total_seconds(), 0.0)
    if seconds < 59.95:
        return _("%(seconds)s s") % {"seconds": _decimal(seconds)}
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("%(minutes)d min") % {"minutes": minutes}
    hours = seconds / 3600
    if hours < 47.95:
        return _("%(hours)s h") % {"hours": _decimal(hours)}
    return _("%(days)s days") % {"days": _decimal(seconds / 86400)}


def _decimal(value: float) -> str:
    """One decimal, with the language's decimal mark (number_format cuts, so round first)."""
    return formats.number_format(round(value, 1), decimal_pos=1)
