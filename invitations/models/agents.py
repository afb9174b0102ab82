"""Agents: their teams, their profile (credential, time zone) and their API tokens."""

import zoneinfo

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models

from invitations.models.credentials import PartnerCredential

SUPERVISORS_GROUP = "Supervisors"
AGENTS_GROUP = "Agents"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    display_name = models.CharField(
        max_length=40,
        blank=True,
        help_text=(
            'How customers\' messages name the agent ("this is Maria from …"). Empty: the '
            'user\'s first name; without either, "your support agent". Never the username.'
        ),
    )
    partner_user_id = models.CharField(
        "partner user id",
        max_length=128,
        blank=True,
        help_text=(
            "Identifies the agent at Glance: the puid, or the Glance address for credentials "
            "using glanceaddress~loginkey."
        ),
    )
    default_credential = models.ForeignKey(
        PartnerCredential, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text="IANA name such as Europe/London; dates are shown in it. Empty: TIME_ZONE.",
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        help_text=f"Members of the '{SUPERVISORS_GROUP}' group see their whole team's sessions.",
    )

    def __str__(self) -> str:
        return self.user.get_username()

    def clean(self) -> None:
        from invitations.selectors import credentials_open_to_team

        errors: dict[str, str] = {}
        if self.time_zone:
            try:
                zoneinfo.ZoneInfo(self.time_zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                errors["time_zone"] = f"Unknown time zone '{self.time_zone}'."
        credential_id = self.default_credential_id
        if (
            credential_id is not None
            and not credentials_open_to_team(self.team_id).filter(pk=credential_id).exists()
        ):
            errors["default_credential"] = _credential_closed_to_team(
                str(self.default_credential), self.team
            )
        if errors:
            raise ValidationError(errors)


def name_for_customers(user: AbstractBaseUser) -> str:
    """The name customers' messages give the agent: their profile's display name, else their
    first name, else "" (messages then say "your support agent"). Never the username: that
    is a login, not a name."""
    profile: AgentProfile | None = getattr(user, "agent_profile", None)
    display_name = profile.display_name.strip() if profile else ""
    return display_name or str(getattr(user, "first_name", "")).strip()


def _credential_closed_to_team(credential: str, team: Team | None) -> str:
    if team is None:
        return (
            f"Credential '{credential}' is only for the teams assigned to it, and this agent has "
            "no team: choose a credential without teams, or put the agent on one of its teams."
        )
    return (
        f"Credential '{credential}' is not for team {team}: choose a credential without teams "
        "or with this team, or add the team to the credential."
    )


class ApiToken(models.Model):
    """A user's token for the JSON API. Only a SHA-256 digest is stored; the token itself is
    shown once, when it is created."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What uses it, e.g. the CRM.")
    # The first characters of the token, so people can tell their tokens apart.
    prefix = models.CharField(max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Optional: the token stops working at this time."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
