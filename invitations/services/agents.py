"""Saving agents and their profiles (the admin form, create_agent)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import transaction

from invitations.errors import InvalidInput
from invitations.models import (
    SUPERVISORS_GROUP,
    AgentProfile,
    PartnerCredential,
    Team,
)
from invitations.services.fields import editable_fields, full_clean

# Every field of an agent's profile an administrator sets (the admin form, create_agent).
AGENT_PROFILE_FIELDS = editable_fields(AgentProfile)


def agent_profile_save(*, profile: AgentProfile, values: Mapping[str, Any]) -> AgentProfile:
    """The one place an agent's profile is written (the admin, agent_upsert): `values` maps
    any of AGENT_PROFILE_FIELDS to its new value, the others keep theirs. Checked as a whole,
    e.g. a default credential must be open to the agent's team."""
    unknown = set(values) - set(AGENT_PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"Not fields of an agent profile: {', '.join(sorted(unknown))}")
    for name, value in values.items():
        setattr(profile, name, value)
    full_clean(profile)
    profile.save()
    return profile


def agent_upsert(
    *,
    username: str,
    partner_user_id: str,
    credential: PartnerCredential | None = None,
    password: str | None = None,
    email: str = "",
    is_superuser: bool = False,
    team: Team | None = None,
    time_zone: str | None = None,
    supervisor: bool = False,
    first_name: str | None = None,
    display_name: str | None = None,
) -> tuple[User, bool]:
    """Create or update a user with an agent profile. Without a password a new user cannot
    log in until one is set; an existing user's password is kept. `credential` (the default
    credential), `team`, `time_zone`, `first_name` and `display_name` (the name customers
    read): None keeps the stored value. `supervisor` adds the user to the Supervisors group
    (never removes)."""
    user_model = get_user_model()
    with transaction.atomic():
        user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
        created = user is None
        if user is None:
            user = user_model(**{user_model.USERNAME_FIELD: username})
            user.set_unusable_password()
        if email:
            user.email = email
        if first_name is not None:
            user.first_name = first_name.strip()
        if is_superuser:
            user.is_staff = user.is_superuser = True
        if password is not None:
            if not password:
                raise InvalidInput("The password is empty.")
            user.set_password(password)
        full_clean(user, exclude=["password"])
        user.save()
        profile, _created = AgentProfile.objects.get_or_create(user=user)
        given = {
            "default_credential": credential,
            "team": team,
            "time_zone": time_zone,
            "display_name": display_name.strip() if display_name is not None else None,
        }
        agent_profile_save(
            profile=profile,
            values={
                "partner_user_id": partner_user_id.strip(),
                **{name: value for name, value in given.items() if value is not None},
            },
        )
        if supervisor:
            user.groups.add(Group.objects.get(name=SUPERVISORS_GROUP))
    return user, created
