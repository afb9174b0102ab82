"""Which credentials an agent may send with."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    Exists,
    OuterRef,
    QuerySet,
)
from django.utils.translation import gettext as _

from invitations.errors import InvalidInput, NotConfigured
from invitations.models import (
    AgentProfile,
    PartnerCredential,
)
from invitations.prepared import PreparedSelect


def credentials_open_to_team(team_id: int | None) -> QuerySet[PartnerCredential]:
    """Credentials an agent of team `team_id` (None: no team) may have and send with, active or
    not: those with no teams assigned, and those assigned to the team. The one rule; agents
    reach it through `credentials_usable_by`, agent profiles' validation directly."""
    assigned = PartnerCredential.teams.through.objects.filter(partnercredential_id=OuterRef("pk"))
    open_to_all = ~Exists(assigned)
    if team_id is None:
        return PartnerCredential.objects.filter(open_to_all)
    return PartnerCredential.objects.filter(open_to_all | Exists(assigned.filter(team_id=team_id)))


def _usable_in_team(team_id: int | None) -> QuerySet[PartnerCredential]:
    return credentials_open_to_team(team_id).filter(is_active=True).exclude(secret_ciphertext="")


def _team_of(user: User | AnonymousUser) -> int | None:
    profile: AgentProfile | None = getattr(user, "agent_profile", None)
    return profile.team_id if profile is not None else None


def credentials_usable_by(user: User | AnonymousUser) -> QuerySet[PartnerCredential]:
    """Credentials `user` may send with: active, with a secret, and open to their team. The
    agent page's picker, the API, the commands and the default credential all go by this."""
    return _usable_in_team(_team_of(user))


# The agent's page and every invitation ask these; compiled once (invitations.prepared). A
# team or none are two shapes of SQL.
_USABLE_IN_TEAM = PreparedSelect(_usable_in_team, team_id=int)
_USABLE_WITHOUT_TEAM = PreparedSelect(lambda: _usable_in_team(None))
_ONE_USABLE_IN_TEAM = PreparedSelect(
    lambda team_id, pk: _usable_in_team(team_id).filter(pk=pk).only("pk")[:1],
    team_id=int,
    pk=int,
)
_ONE_USABLE_WITHOUT_TEAM = PreparedSelect(
    lambda pk: _usable_in_team(None).filter(pk=pk).only("pk")[:1], pk=int
)


def usable_credential_list(user: User | AnonymousUser) -> list[PartnerCredential]:
    """`credentials_usable_by(user)`, read as a list with a query compiled once."""
    team_id = _team_of(user)
    if team_id is None:
        return _USABLE_WITHOUT_TEAM.all()
    return _USABLE_IN_TEAM.all(team_id=team_id)


def _may_send_with(user: User, credential: PartnerCredential) -> bool:
    team_id = _team_of(user)
    if team_id is None:
        return _ONE_USABLE_WITHOUT_TEAM.first(pk=credential.pk) is not None
    return _ONE_USABLE_IN_TEAM.first(team_id=team_id, pk=credential.pk) is not None


def credential_not_offered(label: str) -> InvalidInput:
    """A credential picked by label that the user may not send with. The same answer whether
    it does not exist or belongs to other teams, so that no other team's labels can be found."""
    return InvalidInput(
        _("No credential you may send with is labelled '%(label)s'.") % {"label": label},
        field="credential",
    )


def sending_credential_for(
    agent: User,
    *,
    credential: PartnerCredential | None = None,
    usable: list[PartnerCredential] | None = None,
) -> PartnerCredential:
    """The credential `agent` sends with (`credential`, else their default), always one of
    `credentials_usable_by(agent)`, or NotConfigured saying what an admin must set up. A page
    that has read `usable_credential_list(agent)` passes it as `usable`, to ask no more."""
    username = agent.get_username()
    # The page's user comes with its profile and credential (AgentModelBackend).
    profile: AgentProfile | None = getattr(agent, "agent_profile", None)
    if profile is None:
        raise NotConfigured(
            _(
                "User '%(username)s' is not set up as an agent: an administrator must create an "
                "agent profile (in the admin, or with `manage.py create_agent`)."
            )
            % {"username": username}
        )
    if not profile.partner_user_id:
        raise NotConfigured(
            _(
                "Agent '%(username)s' has no partner user id: an administrator must set it on "
                "the agent profile before invitations can be sent."
            )
            % {"username": username}
        )
    credential = credential or profile.default_credential
    if credential is None:
        raise NotConfigured(
            _(
                "Agent '%(username)s' has no default credential: an administrator must choose "
                "one on the agent profile."
            )
            % {"username": username}
        )
    if not credential.is_active:
        raise NotConfigured(_("Credential '%(label)s' is disabled.") % {"label": credential.label})
    if not credential.has_secret:
        raise NotConfigured(
            _("Credential '%(label)s' has no API key yet.") % {"label": credential.label}
        )
    if usable is not None:
        allowed = any(c.pk == credential.pk for c in usable)
    else:
        allowed = _may_send_with(agent, credential)
    if not allowed:
        raise NotConfigured(
            _(
                "Agent '%(username)s' may not send with credential '%(label)s': it is assigned "
                "to other teams. An administrator can add the agent's team to the credential, "
                "or choose another credential."
            )
            % {"username": username, "label": credential.label}
        )
    return credential


# --- Dashboard -------------------------------------------------------------------------------
