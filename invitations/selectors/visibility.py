"""Who sees what: the one rule (`visibility_of`); every scoped read derives from it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    QuerySet,
)
from django.utils.translation import gettext as _

from invitations.models import (
    SUPERVISORS_GROUP,
    AgentProfile,
    Session,
)


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
    def may_filter_by_date(self) -> bool:
        """Who watches others (or, as staff, their own figures) narrows the session list to
        days; an agent's own list stays a plain search."""
        return self.may_open_dashboard

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

    def agents(self) -> QuerySet[User]:
        """The agents whose sessions this user sees, by username: the team's members as
        they are now, every agent, or the user alone. One query."""
        agents = User.objects.filter(agent_profile__isnull=False).order_by("username")
        if self.reach is Reach.EVERYONE:
            return agents
        if self.reach is Reach.TEAM and self.team_id is not None:
            return agents.filter(agent_profile__team_id=self.team_id)
        if self.reach is Reach.OWN and self.user_id is not None:
            return agents.filter(pk=self.user_id)
        return agents.none()


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


def dashboard_scope(user: User | AnonymousUser) -> str | None:
    """Whose invitations the dashboard counts for `user` (the sessions that `visibility_of`
    gives them), or None when they may not open it."""
    visibility = visibility_of(user)
    return visibility.scope_label if visibility.may_open_dashboard else None
