"""The dashboard's figures, counted per hour and kept in the cache (recounted only where something
changed)."""

from __future__ import annotations

import uuid
from array import array
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    Max,
    Q,
    When,
)
from django.db.models.functions import Length, Substr, TruncDate, TruncHour
from django.utils import timezone
from django.utils.translation import gettext as _

from invitations import states
from invitations.models import (
    Invitee,
)
from invitations.reporting.stats import (
    FAILURE_REASON_LENGTH,
    TOP_FAILURE_REASONS,
    AgentFigures,
    DayFigures,
    FailureReason,
    InvitationStats,
    Period,
    Tally,
    local_midnight,
)
from invitations.selectors.visibility import visibility_of
from invitations.states import Outcome

# A past day's figures hardly change once its invitations are settled, so the dashboard counts
# each past day once, for every agent, and keeps the figures in the cache; so too each finished
# hour of today. A page adds up the days and agents it shows, and counts in the database only
# what it does not have: the hour under way, and any day or hour with a change since it was
# counted. Its work then follows the days and agents it shows more than the invitations:
# bench/scale.py measures it at 100,000 sessions against 1,000.
#
# A change is noticed by its invitee's updated_at, which every status change sets (services,
# receipts). A change made in a transaction that was still open while a day was counted carries
# an earlier updated_at, so changes up to CHANGE_MARGIN before the counting count as later.
# Removing a session or an invitation drops every kept figure (forget_dashboard_figures). What
# changes without either (an UPDATE by hand in the database) shows once the figures expire.
FIGURES_KEPT_SECONDS = 60 * 60
CHANGE_MARGIN = timedelta(minutes=5)
# A new shape of the kept figures takes a new version: the old ones are then never read.
_FIGURES_VERSION = 2
_HOUR = timedelta(hours=1)
# Part of every kept figure's cache key; a new value makes them all unreachable at once.
_GENERATION_KEY = f"dashboard:{_FIGURES_VERSION}:generation"


def forget_dashboard_figures() -> None:
    """Make the dashboard count every day again: a session or invitation was removed. Once the
    transaction commits, so that a count made before then cannot be kept as the new one."""
    transaction.on_commit(lambda: cache.set(_GENERATION_KEY, uuid.uuid4().hex, timeout=None))


@dataclass(frozen=True)
class _Slot:
    """Invitations created from `start` to `end` (excluded, both in UTC), all on the local day
    `day`: a past day, a finished hour of today, or the rest of today (not kept: no `key`)."""

    day: date
    start: datetime
    end: datetime
    key: str
    whole_day: bool


@dataclass(frozen=True)
class _Figures:
    """Every agent's figures for one slot, in columns: item i of each is `agents[i]`'s. Arrays
    of integers, so that keeping and reading them stays quick with many agents."""

    counted_at: datetime
    # The agents (the sessions' created_by) with invitations in the slot.
    agents: tuple[int, ...]
    # (channel, status) -> invitations, per agent
    counts: dict[tuple[str, str], array[int]]
    # Times in microseconds, ascending, per agent and everybody's: to delivery (creation to
    # the delivery receipt) and to join (sending to the customer's join).
    to_delivery: tuple[array[int], ...]
    all_to_delivery: array[int]
    to_join: tuple[array[int], ...]
    all_to_join: array[int]
    # The first FAILURE_REASON_LENGTH characters of an error -> (invitations, longest error),
    # per agent
    reasons: dict[str, tuple[array[int], array[int]]]


def invitation_stats(*, user: User | AnonymousUser, period: Period) -> InvitationStats:
    """Invitations created in `period` in sessions `user` may see (the sessions that
    `visibility_of` gives them), with each agent's figures for those who see others'. At most
    eleven queries however many invitations, days and agents there are: up to three for the
    scope, one for the changes to the kept figures, up to six to count what is not kept
    (`_figures`), and one for the agents' names."""
    visibility = visibility_of(user)
    creators = visibility.creator_ids()
    counts_by_day: dict[date, dict[tuple[str, str], int]] = {day: {} for day in period.dates}
    everybody = _Sums()
    by_agent: dict[int, _Sums] = {}
    reasons: dict[str, tuple[int, int]] = {}
    for slot, figures in _figures(period):
        if creators is None:
            mine: Sequence[int] = range(len(figures.agents))
            everybody.to_delivery.append(figures.all_to_delivery)
            everybody.to_join.append(figures.all_to_join)
        else:
            mine = [i for i, agent in enumerate(figures.agents) if agent in creators]
            everybody.to_delivery.extend(figures.to_delivery[i] for i in mine)
            everybody.to_join.extend(figures.to_join[i] for i in mine)
        agents = [by_agent.setdefault(figures.agents[i], _Sums()) for i in mine]
        for sums, i in zip(agents, mine, strict=True):
            sums.to_delivery.append(figures.to_delivery[i])
            sums.to_join.append(figures.to_join[i])
        counts = counts_by_day[slot.day]
        for (channel, status), per_agent in figures.counts.items():
            key = (channel, states.OUTCOME.get(status, Outcome.PENDING))
            joined = status in states.PRESENT_ONCE
            for sums, i in zip(agents, mine, strict=True):
                if n := per_agent[i]:
                    sums.add(key, n, joined=joined)
                    everybody.add(key, n, joined=joined)
                    counts[key] = counts.get(key, 0) + n
        for text, (per_agent, longest) in figures.reasons.items():
            n = sum(per_agent[i] for i in mine)
            if n:
                seen, seen_longest = reasons.get(text, (0, 0))
                reasons[text] = (seen + n, max(seen_longest, *(longest[i] for i in mine)))
    totals = Tally(everybody.counts)
    return InvitationStats(
        period=period,
        per_day=[
            DayFigures(day=day, tally=Tally({k: n for k, n in counts_by_day[day].items() if n}))
            for day in period.dates
        ],
        totals=totals,
        median_delivery=_median(everybody.to_delivery),
        delivery_receipts=sum(len(values) for values in everybody.to_delivery),
        median_join=_median(everybody.to_join),
        joins_timed=sum(len(values) for values in everybody.to_join),
        failure_reasons=_top_reasons(reasons) if totals.total else [],
        joined=everybody.joined,
        agents=_by_agent(by_agent) if visibility.sees_others else [],
    )


@dataclass
class _Sums:
    """Figures added up over slots: everybody's, or one agent's."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    joined: int = 0
    to_delivery: list[array[int]] = field(default_factory=list)
    to_join: list[array[int]] = field(default_factory=list)

    def add(self, key: tuple[str, str], n: int, *, joined: bool) -> None:
        self.counts[key] = self.counts.get(key, 0) + n
        if joined:
            self.joined += n


def _by_agent(sums: dict[int, _Sums]) -> list[AgentFigures]:
    """Each agent's figures, by username; agents with no invitation in the period left out.
    One query, for the names."""
    counted = {agent: agent_sums for agent, agent_sums in sums.items() if agent_sums.counts}
    names = dict(User.objects.filter(pk__in=counted).values_list("pk", "username"))
    return sorted(
        (
            AgentFigures(
                agent_id=agent,
                username=names.get(agent, "?"),
                totals=Tally(agent_sums.counts),
                joined=agent_sums.joined,
                median_delivery=_median(agent_sums.to_delivery),
                median_join=_median(agent_sums.to_join),
            )
            for agent, agent_sums in counted.items()
        ),
        key=lambda figures: (figures.username, figures.agent_id),
    )


def _slots(period: Period, zone: tzinfo, now: datetime) -> list[_Slot]:
    """`period` cut into the slots of time the dashboard keeps figures for."""
    today = now.astimezone(zone).date()
    slots = []
    for day in period.dates:
        # In UTC: arithmetic on local times would ignore a change of the clocks.
        midnight = local_midnight(day).astimezone(UTC)
        end = local_midnight(day + timedelta(days=1)).astimezone(UTC)
        if day < today:
            key = f"dashboard:{_FIGURES_VERSION}:{zone}:{day}"
            slots.append(_Slot(day, midnight, end, key, whole_day=True))
            continue
        # Finished hours of today; not on the two days a year that are not 24 hours long.
        start = midnight
        hourly = day == today and end - start == 24 * _HOUR
        while hourly and start + _HOUR <= now:
            key = f"dashboard:{_FIGURES_VERSION}:{start.isoformat()}"
            slots.append(_Slot(day, start, start + _HOUR, key, whole_day=False))
            start += _HOUR
        slots.append(_Slot(day, start, end, "", whole_day=start == midnight))
    return slots


def _figures(period: Period) -> list[tuple[_Slot, _Figures]]:
    """Every agent's figures for each slot of `period` in the current time zone: from the
    cache unless they changed since they were counted, else counted now (and kept)."""
    zone = timezone.get_current_timezone()
    now = timezone.now()
    slots = _slots(period, zone, now)
    generation = cache.get(_GENERATION_KEY, "")
    keys = {slot: f"{slot.key}:{generation}" for slot in slots if slot.key}
    found = cache.get_many(list(keys.values()))
    kept: dict[_Slot, _Figures] = {
        slot: found[key] for slot, key in keys.items() if isinstance(found.get(key), _Figures)
    }
    # Changes since the kept figures were counted, by hour. One query even when nothing is
    # kept, so that the number of queries does not depend on what the cache holds.
    since = min((k.counted_at for k in kept.values()), default=now) - CHANGE_MARGIN
    changes = (
        Invitee.objects.filter(
            updated_at__gte=since,
            created_at__gte=min((slot.start for slot in kept), default=now),
            created_at__lt=max((slot.end for slot in kept), default=now),
        )
        .annotate(hour=TruncHour("created_at", tzinfo=UTC))
        .values("hour")
        .annotate(latest=Max("updated_at"))
        .order_by()
    )
    for change in changes:
        hour, latest = change["hour"], change["latest"]
        for slot in list(kept):
            overlaps = slot.start < hour + _HOUR and hour < slot.end
            if overlaps and latest >= kept[slot].counted_at - CHANGE_MARGIN:
                del kept[slot]
    counted = _count([slot for slot in slots if slot not in kept], zone)
    cache.set_many(
        {keys[slot]: figures for slot, figures in counted.items() if slot in keys},
        timeout=FIGURES_KEPT_SECONDS,
    )
    return [(slot, kept[slot] if slot in kept else counted[slot]) for slot in slots]


def _count(slots: list[_Slot], zone: tzinfo) -> dict[_Slot, _Figures]:
    """Every agent's figures for `slots`, from the invitations. Whole days are grouped by day,
    hours by hour, in the database: three queries for each kind there is (counts by channel
    and status, the times to delivery and to join one by one for the medians, the errors)."""
    counted_at = timezone.now()
    rows: dict[_Slot, dict[int, _AgentRows]] = {slot: {} for slot in slots}
    days = {slot.day: slot for slot in slots if slot.whole_day}
    hours = [slot for slot in slots if not slot.whole_day]
    if days:
        _count_into(rows, list(days.values()), TruncDate("created_at", tzinfo=zone), days.get)
    if hours:

        def hour_slot(hour: datetime) -> _Slot | None:
            return next((slot for slot in hours if slot.start <= hour < slot.end), None)

        # Each hour is in one slot: slots of today start at midnight and on the hour.
        _count_into(rows, hours, TruncHour("created_at", tzinfo=zone), hour_slot)
    return {slot: _columns(counted_at, by_agent) for slot, by_agent in rows.items()}


@dataclass
class _AgentRows:
    """One agent's figures for a slot as they come from the database."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    to_delivery: list[int] = field(default_factory=list)
    to_join: list[int] = field(default_factory=list)
    reasons: dict[str, tuple[int, int]] = field(default_factory=dict)


def _count_into(
    rows: dict[_Slot, dict[int, _AgentRows]],
    slots: list[_Slot],
    bucket: Func,
    slot_of: Callable[[Any], _Slot | None],
) -> None:
    ranges = Q()
    for start, end in _joined(slots):
        ranges |= Q(created_at__gte=start, created_at__lt=end)
    invitees = Invitee.objects.filter(ranges).annotate(
        bucket=bucket, agent=F("session__created_by_id")
    )

    known: dict[tuple[Any, int], _AgentRows | None] = {}

    def agent_rows(bucket_value: Any, agent: int) -> _AgentRows | None:
        key = (bucket_value, agent)
        if key not in known:
            slot = slot_of(bucket_value)
            known[key] = None if slot is None else rows[slot].setdefault(agent, _AgentRows())
        return known[key]

    for row in (
        invitees.values("bucket", "agent", "channel", "status").annotate(n=Count("id")).order_by()
    ):
        if (found := agent_rows(row["bucket"], row["agent"])) is not None:
            key = (row["channel"], row["status"])
            found.counts[key] = found.counts.get(key, 0) + row["n"]
    microsecond = timedelta(microseconds=1)
    # A receipt's time is the sender's, a join's the provider's: either clock may be ahead of
    # the portal's, so a time may come out negative; it counts as it is (the page reads it
    # as immediate).
    delivered = Q(status__in=states.DELIVERY_CONFIRMED, receipt_at__isnull=False)
    joined = Q(status__in=states.PRESENT_ONCE, joined_at__isnull=False, sent_at__isnull=False)
    for bucket_value, agent, to_delivery, to_join in (
        invitees.filter(delivered | joined)
        .annotate(
            to_delivery=_duration(delivered, "receipt_at", "created_at"),
            to_join=_duration(joined, "joined_at", "sent_at"),
        )
        .values_list("bucket", "agent", "to_delivery", "to_join")
        .order_by()
    ):
        if (found := agent_rows(bucket_value, agent)) is not None:
            if to_delivery is not None:
                found.to_delivery.append(to_delivery // microsecond)
            if to_join is not None:
                found.to_join.append(to_join // microsecond)
    for row in (
        invitees.filter(status__in=states.UNSUCCESSFUL)
        .annotate(reason=Substr("last_error", 1, FAILURE_REASON_LENGTH))
        .values("bucket", "agent", "reason")
        .annotate(n=Count("id"), longest=Max(Length("last_error")))
        .order_by()
    ):
        if (found := agent_rows(row["bucket"], row["agent"])) is not None:
            text = row["reason"] or ""
            seen, seen_longest = found.reasons.get(text, (0, 0))
            found.reasons[text] = (seen + row["n"], max(seen_longest, row["longest"] or 0))


def _duration(when: Q, end: str, start: str) -> Case:
    """`end` - `start` where `when` holds, else NULL."""
    return Case(
        When(when, then=ExpressionWrapper(F(end) - F(start), output_field=DurationField())),
        default=None,
        output_field=DurationField(),
    )


def _joined(slots: list[_Slot]) -> list[tuple[datetime, datetime]]:
    """The times `slots` cover, with adjacent slots joined: one range for a run of days, so
    that the database reads one stretch of the created_at index rather than one per day."""
    ranges: list[tuple[datetime, datetime]] = []
    for slot in sorted(slots, key=lambda slot: slot.start):
        if ranges and ranges[-1][1] == slot.start:
            ranges[-1] = (ranges[-1][0], slot.end)
        else:
            ranges.append((slot.start, slot.end))
    return ranges


def _columns(counted_at: datetime, by_agent: dict[int, _AgentRows]) -> _Figures:
    agents = tuple(sorted(by_agent))
    keys = {key for rows in by_agent.values() for key in rows.counts}
    texts = {text for rows in by_agent.values() for text in rows.reasons}
    return _Figures(
        counted_at=counted_at,
        agents=agents,
        counts={
            key: array("q", (by_agent[agent].counts.get(key, 0) for agent in agents))
            for key in sorted(keys)
        },
        to_delivery=tuple(array("q", sorted(by_agent[agent].to_delivery)) for agent in agents),
        all_to_delivery=array("q", sorted(d for r in by_agent.values() for d in r.to_delivery)),
        to_join=tuple(array("q", sorted(by_agent[agent].to_join)) for agent in agents),
        all_to_join=array("q", sorted(d for r in by_agent.values() for d in r.to_join)),
        reasons={
            text: (
                array("q", (by_agent[agent].reasons.get(text, (0, 0))[0] for agent in agents)),
                array("q", (by_agent[agent].reasons.get(text, (0, 0))[1] for agent in agents)),
            )
            for text in sorted(texts)
        },
    )


def _median(durations: list[array[int]]) -> timedelta | None:
    """The middle time of all the ascending arrays together, or the mean of the
    middle two; found by bisecting the values, without merging the arrays."""
    arrays = [values for values in durations if values]
    count = sum(len(values) for values in arrays)
    if not count:
        return None
    middle = (count - 1) // 2
    low, high = min(values[0] for values in arrays), max(values[-1] for values in arrays)
    # The smallest value with more than `middle` values at or below it.
    while low < high:
        mid = (low + high) // 2
        if sum(bisect_right(values, mid) for values in arrays) > middle:
            high = mid
        else:
            low = mid + 1
    found = [low]
    if count % 2 == 0:
        if sum(bisect_right(values, low) for values in arrays) > middle + 1:
            found.append(low)
        else:
            found.append(
                min(
                    values[at]
                    for values in arrays
                    if (at := bisect_right(values, low)) < len(values)
                )
            )
    return sum((timedelta(microseconds=value) for value in found), timedelta()) / len(found)


def _top_reasons(reasons: dict[str, tuple[int, int]]) -> list[FailureReason]:
    """The commonest errors of failed (and bounced) and needs-attention invitations. Errors
    alike in their first 120 characters count as one: that is all the dashboard shows of them
    anyway."""
    top = sorted(reasons.items(), key=lambda item: (-item[1][0], item[0]))[:TOP_FAILURE_REASONS]
    shown = []
    for reason, (count, longest) in top:
        text = reason.strip() or _("(no error recorded)")
        if longest > FAILURE_REASON_LENGTH:
            text = text[: FAILURE_REASON_LENGTH - 1].rstrip() + "…"
        shown.append(FailureReason(text=text, count=count))
    return shown
