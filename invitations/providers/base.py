"""The interface every upstream provider client implements, and the errors they raise.

A client turns one `InvitationRequest` into one call to the provider and returns an
`InvitationResult`, or raises a subclass of `UpstreamError` that says whether the provider
certainly did not act (`retryable`), may have acted (`ambiguous`), or refused. Mistakes in the
credential or the code raise `UpstreamConfigurationError` instead, which is not an
`UpstreamError` so that nothing handling delivery failures can swallow it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, ClassVar

from invitations.errors import ERROR_DETAIL_SEPARATOR


@dataclass(frozen=True)
class ProviderAccount:
    """What a client needs to know about the partner account it calls with."""

    label: str
    base_url: str
    auth_type: str
    secret: str = field(repr=False)
    group_id: int | None = None
    # OnSync: the account login (path segment and HTTP Basic user name).
    account: str = ""
    auth_header: str = "authorization"
    session_params: dict[str, Any] = field(default_factory=dict)
    # Who delivers personal links: "provider" (the provider sends them) or "portal".
    link_delivery: str = "portal"
    # Glance address form: the address every agent speaks as ("": each agent's partner user
    # id), and whether an administrator has allowed this unverified mode at all.
    glance_address: str = ""
    unverified_address_form: bool = False


@dataclass(frozen=True)
class InvitationRequest:
    channel: str  # "sms" or "email"
    destination: str  # E.164 phone number or e-mail address
    agent_id: str  # the agent's partner user id at the provider
    session_type: int
    name: str = ""
    # The provider's id of an existing session to add the invitee to; empty starts one.
    session_key: str = ""
    # Our id for the invitee, for providers that echo it back.
    reference: str = ""
    # The invitee's id as the portal's API shows it, for providers that carry our id in a
    # signed link (Digital Samba's `ud`) and report it back when the person joins.
    participant_id: str = ""
    # When the invitation stops being valid, for providers whose links expire by themselves.
    valid_until: datetime | None = None


@dataclass(frozen=True)
class InvitationResult:
    session_key: str
    http_status: int
    # Generic link to the session, when the provider gives one.
    join_url: str = ""
    # The text the provider sent to the invitee; empty when the provider sent nothing.
    message_text: str = ""
    # A link only this invitee can use, which the portal must deliver itself.
    personal_link: str = ""

    @property
    def sent_by_provider(self) -> bool:
        return not self.personal_link


@dataclass(frozen=True)
class AgentEntry:
    """How the agent's browser enters a session: open `url`, by an HTML form POST of `fields`
    when there are any (so a login key stays out of URLs and logs), else by GET."""

    url: str = field(repr=False)
    fields: dict[str, str] = field(default_factory=dict, repr=False)


class UpstreamConfigurationError(Exception):
    """The credential or request cannot work as configured; fix the configuration."""


class UpstreamError(Exception):
    """The provider did not produce an invitation. `str()` reads well for an agent."""

    # The provider certainly did not act, and the same request may succeed later.
    retryable: ClassVar[bool] = False
    # The provider may have acted (e.g. sent the SMS) even though we saw no success.
    ambiguous: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int | None = None,
        retry_after: float | None = None,
        session_key: str = "",
        detail: str = "",
    ) -> None:
        # What happened and what to do, in the agent's words, then (after a blank line, see
        # ERROR_DETAIL_SEPARATOR) the technical detail, which pages show in a disclosure.
        message = f"{message}{ERROR_DETAIL_SEPARATOR}{detail}" if detail else message
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.provider = provider
        self.status_code = status_code
        self.retry_after = retry_after
        # Set when a session was created upstream before the failure, so it is not lost.
        self.session_key = session_key

    def __str__(self) -> str:
        return self.message


class UpstreamConnectionError(UpstreamError):
    """No connection could be made, so no request reached the provider."""

    retryable = True


class UpstreamTimeout(UpstreamError):
    """The request was sent but no answer came in time."""

    ambiguous = True


class UpstreamConnectionLost(UpstreamError):
    """The connection broke after the request was sent."""

    ambiguous = True


class UpstreamBadResponse(UpstreamError):
    """The provider answered success but the body is unreadable."""

    ambiguous = True


class UpstreamAuthError(UpstreamError):
    """401/403: the provider did not accept the credential."""


class UpstreamRedirected(UpstreamError):
    """3xx: the provider pointed elsewhere. Redirects are never followed, so the request went
    nowhere else and the secret stayed home; the base URL needs fixing, so no retry."""


class UpstreamUnsafeLink(UpstreamError):
    """The provider handed back a link that is not a web address the customer may be sent
    (e.g. `javascript:`); nothing was delivered with it."""


class UpstreamRejected(UpstreamError):
    """4xx: the provider refused the request as invalid."""


class UpstreamUnavailable(UpstreamError):
    """429/502/503/504: the provider did not process the request; try again later."""

    retryable = True


class UpstreamNotFound(UpstreamError):
    """404 for a session: it no longer exists at the provider."""


class UpstreamServerError(UpstreamError):
    """500 and other 5xx: the provider failed while handling the request."""


class UpstreamClient(ABC):
    """One provider account. Reuse an instance for many calls; `close()` when done."""

    provider: ClassVar[str]
    # Whether `agent_entry` gives the agent a way into a session, and whether
    # `visitor_joined` can ask about one: known from the class, so that a page offers
    # "Join session" and the portal schedules lookups without calling the provider.
    offers_agent_entry: ClassVar[bool] = False
    looks_up_visitors: ClassVar[bool] = False

    def __init__(
        self,
        *,
        account: ProviderAccount,
        connect_timeout: float = 3.05,
        read_timeout: float = 15.0,
        total_timeout: float = 20.0,
        max_response_bytes: int = 1_000_000,
    ) -> None:
        self.account = account
        # (connect, read) seconds, as requests takes them; set on every call.
        self.timeout = (connect_timeout, read_timeout)
        # A read timeout bounds each wait, not the call: a server sending a byte a second
        # would never trip it. These bound the whole call and the answer's size.
        self.total_timeout = total_timeout
        self.max_response_bytes = max_response_bytes

    @abstractmethod
    def send_invitation(self, request: InvitationRequest) -> InvitationResult:
        """Invite one person; raise UpstreamError or UpstreamConfigurationError on failure."""

    @abstractmethod
    def check(self, *, agent_id: str) -> None:
        """Return if the provider accepts the credential (speaking for `agent_id` where the
        provider authenticates per agent); raise UpstreamError or UpstreamConfigurationError
        otherwise. Must never invite anyone or send anything."""

    def end_session(self, session_key: str) -> bool:
        """End the session at the provider so nobody more can join; return False when the
        provider offers no way to (the portal then ends it on its own side only). A session
        the provider no longer knows counts as ended. Raise UpstreamError on failure."""
        return False

    def agent_entry(self, *, session_key: str, agent_id: str, agent_name: str) -> AgentEntry | None:
        """How the agent `agent_id` (shown as `agent_name`) joins the session now, with any
        key minted for this one click; None when the provider offers no way for the portal.
        Raise UpstreamError on failure."""
        return None

    def visitor_joined(self, *, session_key: str, agent_id: str) -> bool | None:
        """Ask the provider whether the customer has joined the session; None when it cannot
        be asked (the provider reports presence by webhook, or not at all). Raise
        UpstreamError on failure."""
        return None

    def close(self) -> None:  # noqa: B027  (optional hook, like Django's mail backends)
        """Release connections; the default client holds none."""

    def __enter__(self) -> UpstreamClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
