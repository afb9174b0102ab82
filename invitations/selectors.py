"""Read-side queries, scoped to what the user may see."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, QuerySet
from django.db.models.functions import Length, Substr, TruncDate
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from invitations.errors import NotConfigured
from invitations.models import (
    SENT_STATUSES,
    SUPERVISORS_GROUP,
    AgentProfile,
    Channel,
    DeliveryStatus,
    Invitee,
    PartnerCredential,
    Session,
)


def sessions_visible_to(user: User | AnonymousUser) -> QuerySet[Session]:
    """Agents see the sessions they started; supervisors their team's; superusers all."""
    sessions = Session.objects.select_related("credential", "created_by").prefetch_related(
        "invitees"
    )
    if not user.is_authenticated or not user.is_active:
        return sessions.none()
    if user.is_superuser:
        return sessions
    team_id = AgentProfile.objects.filter(user_id=user.pk).values_list("team_id", flat=True).first()
    if team_id is not None and user.groups.filter(name=SUPERVISORS_GROUP).exists():
        return sessions.filter(created_by__agent_profile__team_id=team_id)
    return sessions.filter(created_by_id=user.pk)


def sees_others_sessions(user: User | AnonymousUser) -> bool:
    return bool(
        user.is_superuser
        or (user.is_authenticated and user.groups.filter(name=SUPERVISORS_GROUP).exists())
    )


def usable_credentials() -> QuerySet[PartnerCredential]:
    """Credentials an agent can send with: active and with a secret."""
    return PartnerCredential.objects.filter(is_active=True).exclude(secret_ciphertext="")


def sending_credential_for(
    agent: User, *, credential: PartnerCredential | None = None
) -> PartnerCredential:
    """The credential `agent` sends with, or NotConfigured saying what an admin must set up."""
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
    return credential


# --- Dashboard -------------------------------------------------------------------------------

DASHBOARD_DAYS = (7, 14, 30)
DEFAULT_DASHBOARD_DAYS = 14
TOP_FAILURE_REASONS = 5
FAILURE_REASON_LENGTH = 120

# What became of an invitation; queued and sending ones are still pending.
OUTCOMES = (
    ("sent", DeliveryStatus.SENT.label),
    ("failed", DeliveryStatus.FAILED.label),
    ("needs_attention", DeliveryStatus.NEEDS_ATTENTION.label),
    ("pending", gettext_lazy("Pending")),
)
_OUTCOME_OF_STATUS = {
    DeliveryStatus.QUEUED: "pending",
    DeliveryStatus.SENDING: "pending",
    DeliveryStatus.SENT: "sent",
    # A delivery receipt settled it: delivered counts as sent, bounced as failed.
    DeliveryStatus.DELIVERED: "sent",
    DeliveryStatus.FAILED: "failed",
    DeliveryStatus.BOUNCED: "failed",
    DeliveryStatus.NEEDS_ATTENTION: "needs_attention",
}
_FINISHED = ("sent", "failed", "needs_attention")


def dashboard_scope(user: User | AnonymousUser) -> str | None:
    """Whose invitations the dashboard counts for `user` (the sessions that
    `sessions_visible_to` gives them), or None when they may not open it: only supervisors
    with a team, staff and superusers may."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return _("All teams")
    profile = AgentProfile.objects.select_related("team").filter(user_id=user.pk).first()
    team = profile.team if profile is not None else None
    if team is not None and user.groups.filter(name=SUPERVISORS_GROUP).exists():
        return _("Team %(name)s") % {"name": team.name}
    if user.is_staff:
        return _("Your own sessions")
    return None


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
        return [self.counts.get((c, o), 0) for c in Channel.values for o, _label in OUTCOMES]

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
        return sum(self.totals.count(outcome=o) for o in _FINISHED)

    @property
    def success_rate(self) -> float | None:
        """Percentage of finished invitations that were sent; pending ones are left out."""
        if not self.finished:
            return None
        return 100 * self.totals.count(outcome="sent") / self.finished

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


def invitation_stats(*, user: User | AnonymousUser, period: Period) -> InvitationStats:
    """Invitations created in `period` in sessions `user` may see, counted in the database:
    three queries (besides the scope's) however many invitations there are."""
    invitees = Invitee.objects.filter(
        session__in=sessions_visible_to(user).values("pk"),
        created_at__gte=period.start,
        created_at__lt=period.end,
    )
    rows = (
        invitees.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "channel", "status")
        .annotate(count=Count("id"), timed=Count("sent_at"))
        .order_by()
    )
    counts: dict[date, dict[tuple[str, str], int]] = {day: {} for day in period.dates}
    timed_sent = 0
    # At most one row per day, channel and status, whatever the number of invitations.
    for row in rows:
        outcome = _OUTCOME_OF_STATUS.get(row["status"], "pending")
        day_counts = counts.setdefault(row["day"], {})
        key = (row["channel"], outcome)
        day_counts[key] = day_counts.get(key, 0) + row["count"]
        if row["status"] in SENT_STATUSES:
            timed_sent += row["timed"]
    per_day = [DayFigures(day=day, tally=Tally(counts[day])) for day in period.dates]
    totals: dict[tuple[str, str], int] = {}
    for figures in per_day:
        for key, n in figures.tally.counts.items():
            totals[key] = totals.get(key, 0) + n
    return InvitationStats(
        period=period,
        per_day=per_day,
        totals=Tally(totals),
        median_delivery=_median_delivery(invitees, count=timed_sent),
        failure_reasons=_failure_reasons(invitees) if totals else [],
    )


def _median_delivery(invitees: QuerySet[Invitee], *, count: int) -> timedelta | None:
    """The middle one or two delivery times by OFFSET: portable (SQLite has no
    percentile_cont) and without loading every row."""
    if not count:
        return None
    durations = (
        invitees.filter(status__in=SENT_STATUSES, sent_at__isnull=False)
        .annotate(
            duration=ExpressionWrapper(F("sent_at") - F("created_at"), output_field=DurationField())
        )
        .order_by("duration", "pk")
        .values_list("duration", flat=True)
    )
    middle = (count - 1) // 2
    found = list(durations[middle : middle + (2 if count % 2 == 0 else 1)])
    # Empty only if invitations were deleted between the two queries.
    return sum(found, timedelta()) / len(found) if found else None


def _failure_reasons(invitees: QuerySet[Invitee]) -> list[FailureReason]:
    """The commonest errors of failed (and bounced) and needs-attention invitations. Errors
    alike in their first 120 characters count as one: that is all the dashboard shows of them
    anyway."""
    failed = [DeliveryStatus.FAILED, DeliveryStatus.BOUNCED, DeliveryStatus.NEEDS_ATTENTION]
    rows = (
        invitees.filter(status__in=failed)
        .annotate(reason=Substr("last_error", 1, FAILURE_REASON_LENGTH))
        .values("reason")
        .annotate(count=Count("id"), longest=Max(Length("last_error")))
        .order_by("-count", "reason")[:TOP_FAILURE_REASONS]
    )
    reasons = []
    for row in rows:
        text = (row["reason"] or "").strip() or _("(no error recorded)")
        if row["longest"] > FAILURE_REASON_LENGTH:
            text = text[: FAILURE_REASON_LENGTH - 1].rstrip() + "…"
        reasons.append(FailureReason(text=text, count=row["count"]))
    return reasons
