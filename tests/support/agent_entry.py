"""A provider client whose way in for the agent is a plain link (no form fields), as a provider
with signed room links offers one: the in-memory twin, plus that link."""

from typing import ClassVar

from invitations.providers.base import AgentEntry
from invitations.providers.locmem import LocmemClient


class LinkEntryClient(LocmemClient):
    offers_agent_entry: ClassVar[bool] = True

    def agent_entry(self, *, session_key: str, agent_id: str, agent_name: str) -> AgentEntry:
        return AgentEntry(url=f"{self.account.base_url}/rooms/{session_key}?moderator={agent_id}")
