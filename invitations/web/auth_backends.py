"""Authentication backend: Django's ModelBackend, loading the agent profile with the user."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from invitations.prepared import PreparedSelect

# Every signed-in request reads its user this way: compiled once (invitations.prepared).
_USER_WITH_PROFILE = PreparedSelect(
    lambda pk: (
        get_user_model()
        ._default_manager.select_related("agent_profile__default_credential", "agent_profile__team")
        .filter(pk=pk)[:1]
    ),
    pk=int,
)


class AgentModelBackend(ModelBackend):
    """Reads the signed-in user together with their agent profile and its default credential:
    one query per request where the time-zone middleware and the invite form would make
    three."""

    def get_user(self, user_id: Any) -> Any:
        try:
            user = _USER_WITH_PROFILE.first(pk=int(user_id))
        except (TypeError, ValueError):
            return None  # not a user id this backend gave out
        return user if user is not None and self.user_can_authenticate(user) else None
