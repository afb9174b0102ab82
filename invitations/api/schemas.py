"""What the API reads and answers, as django-ninja schemas: the OpenAPI document at
/api/v1/openapi.json is generated from these, so it cannot drift from the code.

Request bodies are strict: unknown fields are an error rather than ignored (so that a misspelt
one is noticed), and no value is converted (`"1"` is no integer, `true` no number). Null
counts as absent. Lengths, phone numbers and languages are checked by the services, with the
same messages as on the pages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from django.urls import reverse
from ninja import Field, Schema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from invitations import states
from invitations.models import Channel, DeliveryStatus, Invitee, Session
from invitations.security.links import safe_link

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
# No list has this many pages; a bound, so that no page number is thousands of digits long.
MAX_PAGE = 999_999


def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# A moment in UTC, e.g. "2026-05-04T09:30:00.123456Z".
Time = Annotated[
    datetime,
    PlainSerializer(_utc_text, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError(
            "missing", "'destination' is required: a mobile number or an e-mail address."
        )
    return value


# Required, but checked here rather than as "missing", so that an absent, null and blank
# destination get the same answer.
Destination = Annotated[
    str,
    AfterValidator(_not_blank),
    Field(
        default="",
        validate_default=True,
        description="A mobile number (any common format) or an e-mail address.",
        examples=["(415) 555-0134", "ann@example.com"],
        # Required to clients: the default only routes absence to the check above.
        json_schema_extra=lambda schema: schema.pop("default", None),
    ),
]


class _Body(Schema):
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"required": ["destination"]}
    )

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None or k not in cls.model_fields}
        return data

    destination: Destination
    channel: Literal["auto", "sms", "email"] = Field(
        "auto", description="auto: SMS for a phone number, e-mail for an address."
    )
    name: str = Field("", description="The invitee's name, shown to the agent.")
    language: str = Field(
        "", description="The message's language (e.g. de); the credential's default if empty."
    )
    idempotency_key: str | None = Field(
        None,
        description="1 to 200 printable characters, as in the Idempotency-Key header (which "
        "it must equal if both are sent): a repeated request answers 200 with what the first "
        "one created, and sends nothing again.",
    )


class InviteeIn(_Body):
    """Another person invited into an existing session."""


class SessionIn(_Body):
    """A new session with its first invitee, as the Invite page creates it."""

    ticket_reference: str = Field("", description="The support ticket this session is for.")
    credential: str | None = Field(
        None, description="Label of a credential you may send with; your default if absent."
    )
    session_type: int | None = Field(
        None, description="The provider's session type; the credential's default if absent."
    )


def _counting_number(name: str, *, default: int, maximum: int | None) -> BeforeValidator:
    """A query parameter from 1 to `maximum`, or to the last page, checked by the view. ASCII
    digits only ("²" is a digit to str.isdigit() but not to int()), and no longer than the
    maximum, so that int() never meets thousands of digits; empty means `default`."""
    message = f"'{name}' must be a number from 1 to {maximum or 'the number of pages'}."
    digits = len(str(maximum or MAX_PAGE))

    def check(value: Any) -> int:
        text = str(value)
        if text == "":
            return default
        if not (text.isascii() and text.isdigit()) or len(text) > digits:
            raise PydanticCustomError("number", message)
        number = int(text)
        if not 1 <= number <= (maximum or MAX_PAGE):
            raise PydanticCustomError("number", message)
        return number

    return BeforeValidator(check)


class SessionFilters(Schema):
    # Empty, as a form leaves it, means no filter.
    status: Annotated[DeliveryStatus | None, BeforeValidator(lambda value: value or None)] = Field(
        None, description="Only sessions with an invitee in this state."
    )
    ticket_reference: str = Field("", description="Only sessions for this ticket.")
    page: Annotated[int, _counting_number("page", default=1, maximum=None)] = Field(
        1, ge=1, le=MAX_PAGE
    )
    page_size: Annotated[
        int, _counting_number("page_size", default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
    ] = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


# --- Answers ---------------------------------------------------------------------------------


class ErrorDetail(Schema):
    code: str = Field(description="Stable, for programs: e.g. invalid_input, not_found.")
    message: str = Field(description="For people, in the request's language where translated.")
    field: str | None = Field(description="The request field to blame, if one is.")


class ErrorOut(Schema):
    error: ErrorDetail


class InviteeOut(Schema):
    id: int
    url: str
    session_id: int
    name: str
    channel: Channel
    masked_destination: str = Field(description="Destinations are never answered in clear.")
    language: str
    status: DeliveryStatus
    expired: bool
    expires_at: Time | None
    attempts: int
    last_error: str
    message_text: str
    personal_link: str = Field(description="Empty where the provider sends its own link.")
    can_resend: bool
    created_at: Time
    sent_at: Time | None


class SessionOut(Schema):
    id: int
    url: str
    session_key: str
    join_url: str
    ticket_reference: str
    session_type: int
    credential: str = Field(description="The label of the credential it was created with.")
    provider: str
    created_by: str
    created_at: Time
    ended_at: Time | None
    can_add_invitees: bool
    invitees: list[InviteeOut]


class SessionEndedOut(SessionOut):
    ended_at_provider: bool = Field(
        description="False: the provider has no way to end it, so links already sent work "
        "until they expire."
    )


class SessionPage(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    results: list[SessionOut]


def invitee_out(invitee: Invitee, session: Session) -> InviteeOut:
    return InviteeOut(
        id=invitee.pk,
        url=reverse("api:invitee-detail", args=[invitee.pk]),
        session_id=session.pk,
        name=invitee.name,
        channel=Channel(invitee.channel),
        masked_destination=invitee.masked_destination,
        language=invitee.language,
        status=DeliveryStatus(invitee.status),
        expired=invitee.is_expired(),
        expires_at=invitee.expires_at,
        attempts=invitee.attempts,
        last_error=invitee.last_error,
        message_text=invitee.message_text,
        # An unsafe link (one stored before links were checked) is left out: "".
        personal_link=safe_link(invitee.personal_link, base_url=session.credential.base_url) or "",
        can_resend=_can_resend(invitee, session),
        created_at=invitee.created_at,
        sent_at=invitee.sent_at,
    )


def _can_resend(invitee: Invitee, session: Session) -> bool:
    # The session is passed in (the list already has it), not read through the invitee.
    return states.can_resend(
        status=invitee.status, purged=invitee.is_purged, session_ended=session.ended_at is not None
    )


def session_out(session: Session) -> SessionOut:
    return SessionOut(**_session_fields(session))


def session_ended_out(session: Session, *, ended_at_provider: bool) -> SessionEndedOut:
    return SessionEndedOut(**_session_fields(session), ended_at_provider=ended_at_provider)


def _session_fields(session: Session) -> dict[str, Any]:
    credential = session.credential
    return {
        "id": session.pk,
        "url": reverse("api:session-detail", args=[session.pk]),
        "session_key": session.session_key,
        "join_url": safe_link(session.join_url, base_url=credential.base_url) or "",
        "ticket_reference": session.ticket_reference,
        "session_type": session.session_type,
        "credential": credential.label,
        "provider": credential.provider,
        "created_by": session.created_by.get_username(),
        "created_at": session.created_at,
        "ended_at": session.ended_at,
        "can_add_invitees": credential.can_add_to_session and session.ended_at is None,
        # Prefetched by sessions_visible_to: no query per session.
        "invitees": [invitee_out(invitee, session) for invitee in session.invitees.all()],
    }
