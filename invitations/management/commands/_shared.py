"""Helpers for the operator commands (the leading underscore keeps this from being a command)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import CommandError

from invitations.models import PartnerCredential, Team


def agent_named(username: str) -> User:
    user_model = get_user_model()
    agent = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
    if agent is None:
        raise CommandError(f"No user '{username}'.")
    return agent


def credential_named(label: str | None) -> PartnerCredential | None:
    """The credential called `label`; None when no label was given."""
    if not label:
        return None
    credential = PartnerCredential.objects.filter(label=label).first()
    if credential is None:
        raise CommandError(f"No credential labelled '{label}'.")
    return credential


def teams_named(names: str | None) -> list[Team] | None:
    """The teams in a comma-separated list of names; None when the option was not given, and
    an empty list for "" (no teams)."""
    if names is None:
        return None
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    teams = list(Team.objects.filter(name__in=wanted))
    missing = sorted(set(wanted) - {team.name for team in teams})
    if missing:
        raise CommandError(f"No team named {', '.join(repr(name) for name in missing)}.")
    return teams
