"""Read-side queries, scoped to what the user may see."""

from __future__ import annotations

import enum
import uuid
from array import array
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.db import transaction
from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    Max,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import Length, Substr, TruncDate, TruncHour
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from invitations import states
from invitations.errors import InvalidInput, NotConfigured
from invitations.models import (
    SUPERVISORS_GROUP,
    AgentProfile,
    Channel,
    Invitee,
    PartnerCredential,
    Session,
)
from invitations.states import Outcome


class Reach(enum.Enum):
    """How far a user's sight goes among the sessions."""

    NOBODY = "nobody"  # signed out, or inactive
    OWN = "own"
    TEAM = "team"
    EVERYONE = "everyone"


@dataclass(frozen=True)
class Visibility:
    """Whose sessions one user sees and acts on, as `visibility_of` decided: the session
    pages, the API, the dashboard and the templates' flags all ask this."""

    reach: Reach
    user_id: int | None = None
    team_id: int | None = None
    team_name: str = ""
    # Staff may open the dashboard even for only their own figures.
    staff: bool = False

    @property
    def sees_others(self) -> bool:
        return self.reach in (Reach.TEAM, Reach.EVERYONE)

    @property
    def may_open_dashboard(self) -> bool:
        """Who sees others' sessions, and staff for their own figures; not agents: the
        dashboard is for watching a team."""
        return self.sees_others or (self.staff and self.reach is Reach.OWN)

    @property
    def scope_label(self) -> str:
        """Whose figures the dashboard shows, in the agent's language."""
        if self.reach is Reach.EVERYONE:
            return _("All teams")
        if self.reach is Reach.TEAM:
            return _("Team %(name)s") % {"name": self.team_name}
        return _("Your own sessions")

    # Below, a missing id (which `visibility_of` never leaves out) narrows to nothing.

    def sessions(self, sessions: QuerySet[Session]) -> QuerySet[Session]:
        """`sessions` narrowed to those this user sees."""
        if self.reach is Reach.EVERYONE:
            return sessions
        if self.reach is Reach.TEAM and self.team_id is not None:
            return sessions.filter(created_by__agent_profile__team_id=self.team_id)
        if self.reach is Reach.OWN and self.user_id is not None:
            return sessions.filter(created_by_id=self.user_id)
        return sessions.none()

    def creator_ids(self) -> set[int] | None:
        """The users whose sessions this user sees (the team's members as they are now: one
        query), or None for everybody's."""
        if self.reach is Reach.EVERYONE:
            return None
        if self.reach is Reach.TEAM and self.team_id is not None:
            members = AgentProfile.objects.filter(team_id=self.team_id)
            return set(members.values_list("user_id", flat=True))
        if self.reach is Reach.OWN and self.user_id is not None:
            return {self.user_id}
        return set()


def visibility_of(user: User | AnonymousUser) -> Visibility:
    """The one rule for who sees what. Agents see the sessions they started; members of the
    Supervisors group who are on a team see their team's (a supervisor without a team has
    nobody to supervise, and sees their own); superusers see all; signed-out and inactive
    users none. At most two queries: the team, unless the user came with their profile (as
    the page's user does), and the group, for users on a team."""
    if not user.is_authenticated or not user.is_active:
        return Visibility(Reach.NOBODY)
    if user.is_superuser:
        return Visibility(Reach.EVERYONE, user_id=user.pk, staff=user.is_staff)
    own = Visibility(Reach.OWN, user_id=user.pk, staff=user.is_staff)
    team_id, team_name = _team_of(user)
    if team_id is None or not user.groups.filter(name=SUPERVISORS_GROUP).exists():
        return own
    return replace(own, reach=Reach.TEAM, team_id=team_id, team_name=team_name)


def _team_of(user: User) -> tuple[int | None, str]:
    """(id, name) of `user`'s team, or (None, ""). From the profile the user came with, if
    loaded (the page's user comes with its profile and team: AgentModelBackend), as
    `credentials_usable_by` reads it; else one query."""
    if User.agent_profile.is_cached(user):
        profile: AgentProfile | None = getattr(user, "agent_profile", None)
        if profile is None or profile.team_id is None:
            return None, ""
        if AgentProfile.team.is_cached(profile):
            return profile.team_id, profile.team.name if profile.team is not None else ""
    found = (
        AgentProfile.objects.filter(user_id=user.pk, team__isnull=False)
        .values_list("team_id", "team__name")
        .first()
    )
    return found if found is not None else (None, "")


def sessions_visible_to(user: User | AnonymousUser) -> QuerySet[Session]:
    """The sessions `user` sees and acts on (`visibility_of`), with what the lists show."""
    sessions = Session.objects.select_related("credential", "created_by").prefetch_related(
        "invitees"
    )
    return visibility_of(user).sessions(sessions)


def sees_others_sessions(user: User | AnonymousUser) -> bool:
    """Whether `user` sees sessions other agents started, so lists name each one's agent."""
    return visibility_of(user).sees_others


def credentials_open_to_team(team_id: int | None) -> QuerySet[PartnerCredential]:
    """Credentials an agent of team `team_id` (None: no team) may have and send with, active or
    not: those with no teams assigned, and those assigned to the team. The one rule; agents
    reach it through `credentials_usable_by`, agent profiles' validation directly."""
    assigned = PartnerCredential.teams.through.objects.filter(partnercredential_id=OuterRef("pk"))
    open_to_all = ~Exists(assigned)
    if team_id is None:
        return PartnerCredential.objects.filter(open_to_all)
    return PartnerCredential.objects.filter(open_to_all | Exists(assigned.filter(team_id=team_id)))


def credentials_usable_by(user: User | AnonymousUser) -> QuerySet[PartnerCredential]:
    """Credentials `user` may send with: active, with a secret, and open to their team. The
    agent page's picker, the API, the commands and the default credential all go by this."""
    profile: AgentProfile | None = getattr(user, "agent_profile", None)
    team_id = profile.team_id if profile is not None else None
    return credentials_open_to_team(team_id).filter(is_active=True).exclude(secret_ciphertext="")


def credential_not_offered(label: str) -> InvalidInput:
    """A credential picked by label that the user may not send with. The same answer whether
    it does not exist or belongs to other teams, so that no other team's labels can be found."""
    return InvalidInput(
        _("No credential you may send with is labelled '%(label)s'.") % {"label": label},
        field="credential",
    )


def sending_credential_for(
    agent: User, *, credential: PartnerCredential | None = None
) -> PartnerCredential:
    """The credential `agent` sends with (`credential`, else their default), always one of
    `credentials_usable_by(agent)`, or NotConfigured saying what an admin must set up."""
    username = agent.get_username()
    # The page's user comes with its profile and credential (AgentModelBackend).
    profile: AgentProfile | None = getattr(agent, "agent_profile", None)
    if profile is None:
        raise NotConfigured(
            f"User '{username}' is not set up as an agent: an administrator must create an "
            "agent profile (in the admin, or with `manage.py create_agent`)."
        )
    if not profile.partner_user_id:
        raise NotConfigured(
            f"Agent '{username}' has no partner user id: an administrator must set it on the "
            "agent profile before invitations can be sent."
        )
    credential = credential or profile.default_credential
    if credential is None:
        raise NotConfigured(
            f"Agent '{username}' has no default credential: an administrator must choose one "
            "on the agent profile."
        )
    if not credential.is_active:
        raise NotConfigured(f"Credential '{credential.label}' is disabled.")
    if not credential.has_secret:
        raise NotConfigured(f"Credential '{credential.label}' has no API key yet.")
    if not credentials_usable_by(agent).filter(pk=credential.pk).exists():
        raise NotConfigured(
            f"Agent '{username}' may not send with credential '{credential.label}': it is "
            "assigned to other teams. An administrator can add the agent's team to the "
            "credential, or choose another credential."
        )
    return credential


# --- Dashboard -------------------------------------------------------------------------------

DASHBOARD_DAYS = (7, 14, 30)
DEFAULT_DASHBOARD_DAYS = 14
TOP_FAILURE_REASONS = 5
FAILURE_REASON_LENGTH = 120


def dashboard_scope(user: User | AnonymousUser) -> str | None:
    """Whose invitations the dashboard counts for `user` (the sessions that `visibility_of`
    gives them), or None when they may not open it."""
    visibility = visibility_of(user)
    return visibility.scope_label if visibility.may_open_dashboard else None


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
        return _local_midnight(self.first)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return _local_midnight(self.last + timedelta(days=1))


def _local_midnight(day: date) -> datetime:
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


@dataclass(frozen=True)
class InvitationStats:
    period: Period
    per_day: list[DayFigures]
    totals: Tally
    # Over sent invitations that have a sent_at; None when there are none.
    median_delivery: timedelta | None
    failure_reasons: list[FailureReason]

    @property
    def finished(self) -> int:
        return self.totals.total - self.totals.count(outcome=Outcome.PENDING)

    @property
    def success_rate(self) -> float | None:
        """Percentage of finished invitations that were sent; pending ones are left out."""
        if not self.finished:
            return None
        return 100 * self.totals.count(outcome=Outcome.SENT) / self.finished

    @property
    def success_rate_text(self) -> str:
        rate = self.success_rate
        return "—" if rate is None else _("%(rate)s%%") % {"rate": _decimal(rate)}

    @property
    def median_delivery_text(self) -> str:
        return "—" if self.median_delivery is None else duration_text(self.median_delivery)


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
_FIGURES_VERSION = 1
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
    # Delivery times in microseconds of the sent invitations that have a sent_at, ascending:
    # per agent, and everybody's.
    durations: tuple[array[int], ...]
    all_durations: array[int]
    # The first FAILURE_REASON_LENGTH characters of an error -> (invitations, longest error),
    # per agent
    reasons: dict[str, tuple[array[int], array[int]]]


def invitation_stats(*, user: User | AnonymousUser, period: Period) -> InvitationStats:
    """Invitations created in `period` in sessions `user` may see (the sessions that
    `visibility_of` gives them). At most ten queries however many invitations and days there
    are: up to three for the scope, one for the changes to the kept figures, and up to six to
    count what is not kept (`_figures`)."""
    creators = visibility_of(user).creator_ids()
    counts_by_day: dict[date, dict[tuple[str, str], int]] = {day: {} for day in period.dates}
    totals: dict[tuple[str, str], int] = {}
    durations: list[array[int]] = []
    reasons: dict[str, tuple[int, int]] = {}
    for slot, figures in _figures(period):
        if creators is None:
            mine: Sequence[int] = range(len(figures.agents))
            durations.append(figures.all_durations)
        else:
            mine = [i for i, agent in enumerate(figures.agents) if agent in creators]
            durations.extend(figures.durations[i] for i in mine)
        counts = counts_by_day[slot.day]
        for (channel, status), per_agent in figures.counts.items():
            n = sum(per_agent[i] for i in mine)
            key = (channel, states.OUTCOME.get(status, Outcome.PENDING))
            counts[key] = counts.get(key, 0) + n
            totals[key] = totals.get(key, 0) + n
        for text, (per_agent, longest) in figures.reasons.items():
            n = sum(per_agent[i] for i in mine)
            if n:
                seen, seen_longest = reasons.get(text, (0, 0))
                reasons[text] = (seen + n, max(seen_longest, *(longest[i] for i in mine)))
    return InvitationStats(
        period=period,
        per_day=[
            DayFigures(day=day, tally=Tally({k: n for k, n in counts_by_day[day].items() if n}))
            for day in period.dates
        ],
        totals=Tally({key: n for key, n in totals.items() if n}),
        median_delivery=_median(durations),
        failure_reasons=_top_reasons(reasons) if any(totals.values()) else [],
    )


def _slots(period: Period, zone: tzinfo, now: datetime) -> list[_Slot]:
    """`period` cut into the slots of time the dashboard keeps figures for."""
    today = now.astimezone(zone).date()
    slots = []
    for day in period.dates:
        # In UTC: arithmetic on local times would ignore a change of the clocks.
        midnight = _local_midnight(day).astimezone(UTC)
        end = _local_midnight(day + timedelta(days=1)).astimezone(UTC)
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
    and status, the delivery times one by one for the median, the errors)."""
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
    durations: list[int] = field(default_factory=list)
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
    for bucket_value, agent, duration in (
        invitees.filter(status__in=states.SUCCESSFUL, sent_at__isnull=False)
        .annotate(
            duration=ExpressionWrapper(F("sent_at") - F("created_at"), output_field=DurationField())
        )
        .values_list("bucket", "agent", "duration")
        .order_by()
    ):
        if (found := agent_rows(bucket_value, agent)) is not None:
            found.durations.append(duration // microsecond)
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
        durations=tuple(array("q", sorted(by_agent[agent].durations)) for agent in agents),
        all_durations=array("q", sorted(d for rows in by_agent.values() for d in rows.durations)),
        reasons={
            text: (
                array("q", (by_agent[agent].reasons.get(text, (0, 0))[0] for agent in agents)),
                array("q", (by_agent[agent].reasons.get(text, (0, 0))[1] for agent in agents)),
            )
            for text in sorted(texts)
        },
    )


def _median(durations: list[array[int]]) -> timedelta | None:
    """The middle delivery time of all the ascending arrays together, or the mean of the
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
