"""Errors raised by the service layer. Their text is shown to agents and operators as is."""

# Between an error's words for the agent (what happened, what to do) and its technical
# detail, in a provider error's message and in what is stored (Invitee.last_error): pages show
# the detail in a disclosure, the admin shows both.
ERROR_DETAIL_SEPARATOR = "\n\n"


class InvitationError(Exception):
    """Something the agent or operator must fix before anything can be sent."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The form field the message belongs next to, when there is one.
        self.field = field


class InvalidInput(InvitationError):
    """The destination, name or another input is not acceptable."""


class NotConfigured(InvitationError):
    """The agent or credential is missing something an administrator must set up."""


class NotAllowed(InvitationError):
    """The action does not fit the invitee's current state."""
