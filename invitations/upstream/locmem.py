"""An in-memory twin of a provider client, for unit tests.

It validates requests like the real providers and records each one in the module-level
`outbox`. Queue an error in `pending_errors` to make the next call raise it.
"""

from __future__ import annotations

import itertools
import re
from typing import ClassVar

from invitations.upstream.base import (
    InvitationRequest,
    InvitationResult,
    UpstreamClient,
    UpstreamConfigurationError,
    UpstreamError,
    UpstreamRejected,
)

outbox: list[InvitationRequest] = []
pending_errors: list[UpstreamError] = []
_session_keys = itertools.count(100001)
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def reset() -> None:
    outbox.clear()
    pending_errors.clear()


class LocmemClient(UpstreamClient):
    provider: ClassVar[str] = "locmem"
    channels: ClassVar[frozenset[str]] = frozenset({"sms"})

    def send_invitation(self, request: InvitationRequest) -> InvitationResult:
        if request.channel not in self.channels:
            raise UpstreamConfigurationError(f"locmem cannot send {request.channel}.")
        if not self.account.secret or not request.agent_id:
            raise UpstreamConfigurationError("locmem needs a secret and an agent id.")
        if pending_errors:
            raise pending_errors.pop(0)
        if not _E164.match(request.destination):
            raise UpstreamRejected("not an E.164 number", provider=self.provider, status_code=400)
        outbox.append(request)
        session_key = str(next(_session_keys))
        join_url = f"https://locmem.invalid/join/{session_key}"
        return InvitationResult(
            session_key=session_key,
            message_text=f"Join your support session: {join_url}",
            join_url=join_url,
            http_status=200,
        )
