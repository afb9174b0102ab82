"""An in-memory twin of a provider client, for unit tests.

It validates requests like the real providers and records each one in the module-level
`outbox`; credential checks are recorded in `checks`, as (account label, agent id). Queue an
error in `pending_errors` to make the next call (a check included) raise it.
"""

from __future__ import annotations

import itertools
import re
from typing import ClassVar

from invitations.providers.base import (
    InvitationRequest,
    InvitationResult,
    UpstreamClient,
    UpstreamConfigurationError,
    UpstreamError,
    UpstreamRejected,
)

outbox: list[InvitationRequest] = []
checks: list[tuple[str, str]] = []
pending_errors: list[UpstreamError] = []
_session_keys = itertools.count(100001)
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


ended: list[str] = []


def reset() -> None:
    outbox.clear()
    checks.clear()
    pending_errors.clear()
    ended.clear()


class LocmemClient(UpstreamClient):
    """Behaves like Glance for accounts with a group id (it sends the SMS itself), and like
    OnSync otherwise (personal links, sent by the provider or handed back to the portal)."""

    provider: ClassVar[str] = "locmem"

    def end_session(self, session_key: str) -> bool:
        """Like OnSync: sessions can be ended (Glance-like accounts cannot)."""
        if self.account.group_id is not None:
            return False
        if pending_errors:
            raise pending_errors.pop(0)
        ended.append(session_key)
        return True

    def send_invitation(self, request: InvitationRequest) -> InvitationResult:
        if not self.account.secret or not request.agent_id:
            raise UpstreamConfigurationError("locmem needs a secret and an agent id.")
        glance_like = self.account.group_id is not None
        if glance_like and request.channel != "sms":
            raise UpstreamConfigurationError("a Glance-like account only sends SMS.")
        if pending_errors:
            raise pending_errors.pop(0)
        if request.channel == "sms" and not _E164.fullmatch(request.destination):
            raise UpstreamRejected("not an E.164 number", provider=self.provider, status_code=400)
        outbox.append(request)
        session_key = request.session_key or str(next(_session_keys))
        join_url = f"https://locmem.invalid/join/{session_key}"
        if glance_like or self.account.link_delivery == "provider":
            return InvitationResult(
                session_key=session_key,
                message_text=f"Join your support session: {join_url}",
                join_url=join_url,
                http_status=200,
            )
        return InvitationResult(
            session_key=session_key,
            join_url=join_url,
            personal_link=f"{join_url}/p/{request.reference}",
            http_status=200,
        )

    def check(self, *, agent_id: str) -> None:
        if not self.account.secret or not agent_id:
            raise UpstreamConfigurationError("locmem needs a secret and an agent id.")
        if pending_errors:
            raise pending_errors.pop(0)
        checks.append((self.account.label, agent_id))
