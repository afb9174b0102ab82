"""Read-side queries, scoped to what the user may see."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from invitations.errors import NotConfigured
from invitations.models import SUPERVISORS_GROUP, AgentProfile, PartnerCredential, Session


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
    profile = AgentProfile.objects.select_related("default_credential").filter(user=agent).first()
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
