"""The JSON API's endpoints under /api/v1/, on django-ninja.

The same services and selectors as the agent pages: a token acts as its user and sees and
does exactly what that user may on the pages (their sessions; a supervisor's team's; all for
superusers; anything else is a 404), under the same rate limits. Each endpoint takes the
parsed request, calls one service or selector and answers a schema (invitations/api/schemas.py).

Destinations are always masked in answers and never logged.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Header, NinjaAPI, Query
from ninja.operation import Operation
from ninja.renderers import JSONRenderer
from ninja.responses import Status

from invitations import selectors, services
from invitations.api.auth import BearerToken
from invitations.api.errors import ApiError, from_service, install_handlers, not_found
from invitations.api.parser import StrictJsonParser, idempotency_key
from invitations.api.schemas import (
    ErrorOut,
    InviteeIn,
    InviteeOut,
    SessionEndedOut,
    SessionFilters,
    SessionIn,
    SessionOut,
    SessionPage,
    invitee_out,
    session_ended_out,
    session_out,
)
from invitations.models import Invitee, Session


class _Renderer(JSONRenderer):
    # Names and messages as they are, not as \\u escapes.
    json_dumps_params = {"ensure_ascii": False}


class PortalApi(NinjaAPI):
    def get_content_type(self) -> str:
        # JSON is UTF-8 by definition (RFC 8259); it takes no charset parameter.
        return "application/json"

    def get_openapi_operation_id(self, operation: Operation) -> str:
        return str(operation.view_func.__name__)


api = PortalApi(
    title="agentportal API",
    version="1",
    description=(
        "Create co-browse sessions and invitations, follow their delivery, resend and end "
        "them, as the agent pages do. Authenticate with `Authorization: Bearer <token>` (a "
        "token from the admin or `manage.py create_api_token`); it acts as its user. Errors "
        'answer `{"error": {"code", "message", "field"}}`; no answer may be cached.'
    ),
    urls_namespace="api",
    auth=BearerToken(),
    parser=StrictJsonParser(),
    renderer=_Renderer(),
    # The interactive docs are mounted by invitations/api/urls.py, for signed-in staff only;
    # this document holds no secret and is served to anyone.
    docs_url=None,
)
install_handlers(api)


def _errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    return {status: ErrorOut for status in (401, *statuses)}


_HEADERS = {
    201: {"Location": "The new resource's URL."},
    401: {
        "WWW-Authenticate": 'Bearer realm="agentportal", with error="invalid_token" '
        "for a token that was sent but does not authenticate."
    },
    429: {"Retry-After": "Seconds until the limit allows another."},
}


def _answer_headers(*statuses: int) -> dict[str, Any]:
    """The response headers of `statuses`, for the OpenAPI document."""
    return {
        "responses": {
            status: {
                "headers": {
                    name: {"description": text, "schema": {"type": "string"}}
                    for name, text in _HEADERS[status].items()
                }
            }
            for status in (401, *statuses)
        }
    }


# A parameter of the creating endpoints; the body's idempotency_key field is the same thing.
IdempotencyKeyHeader = Header(
    None,
    alias="Idempotency-Key",
    description="1 to 200 printable characters: a repeated request answers 200 with what the "
    "first one created, and sends nothing again.",
)


def _user(request: HttpRequest) -> User:
    """The token's user, set by BearerToken before any endpoint runs."""
    user: User = request.auth  # type: ignore[attr-defined]
    return user


# --- Lookups: someone else's session is as unknown as one that does not exist ----------------


def _visible_sessions(user: User) -> QuerySet[Session]:
    return selectors.sessions_visible_to(user)


def _session(user: User, session_id: int) -> Session:
    session = _visible_sessions(user).filter(pk=session_id).first()
    if session is None:
        raise not_found("session")
    return session


def _invitee(user: User, invitee_id: int) -> Invitee:
    invitee = (
        Invitee.objects.select_related("session")
        .filter(session__in=_visible_sessions(user).values("pk"), pk=invitee_id)
        .first()
    )
    if invitee is None:
        raise not_found("invitee")
    return invitee


def _as_they_are_now(sessions: list[Session]) -> list[Session]:
    """`sessions` with their (prefetched) invitees as they are now: without a broker, the
    provider is asked first whether a customer joined, where a lookup is due, so that reading
    a session is enough to see `joined`. Only the sessions in the answer."""
    services.presence_refresh(
        invitees=[invitee for session in sessions for invitee in session.invitees.all()]
    )
    return sessions


# --- Endpoints -------------------------------------------------------------------------------


@api.get(
    "/sessions/",
    response={200: SessionPage, **_errors(400)},
    url_name="sessions",
    tags=["sessions"],
    openapi_extra=_answer_headers(),
)
def session_list(request: HttpRequest, filters: Query[SessionFilters]) -> SessionPage:
    """Your visible sessions, newest first; a fixed number of queries per page."""
    found = _visible_sessions(_user(request))
    if filters.status:
        found = found.filter(invitees__status=filters.status).distinct()
    ticket = filters.ticket_reference.strip()
    if ticket:
        found = found.filter(ticket_reference=ticket)
    paginator = Paginator(found, filters.page_size)
    if filters.page > paginator.num_pages:
        raise ApiError(
            400,
            "invalid_input",
            f"'page' must be a number from 1 to {paginator.num_pages}.",
            field="page",
        )
    page = paginator.page(filters.page)
    sessions = _as_they_are_now(list(page.object_list))
    return SessionPage(
        count=paginator.count,
        page=page.number,
        pages=paginator.num_pages,
        page_size=filters.page_size,
        results=[session_out(session) for session in sessions],
    )


@api.post(
    "/sessions/",
    response={(200, 201): SessionOut, **_errors(400, 403, 409, 413, 429)},
    url_name="sessions",
    tags=["sessions"],
    openapi_extra=_answer_headers(201, 429),
)
def session_create(
    request: HttpRequest,
    payload: SessionIn,
    response: HttpResponse,
    idempotency_key_header: str | None = IdempotencyKeyHeader,
) -> Status[SessionOut]:
    """A new session with its first invitee, as the Invite page creates it. 201 with its
    Location; 200 with the same session when the idempotency key was used before."""
    user = _user(request)
    key, replay = idempotency_key(
        idempotency_key_header, payload.idempotency_key, user=user, scope="sessions"
    )
    credential = None
    if payload.credential is not None:
        credential = selectors.credentials_usable_by(user).filter(label=payload.credential).first()
        if credential is None:
            raise from_service(selectors.credential_not_offered(payload.credential))
    invitee = services.invitation_create(
        agent=user,
        destination=payload.destination,
        channel=payload.channel,
        name=payload.name,
        ticket_reference=payload.ticket_reference,
        credential=credential,
        language=payload.language,
        session_type=payload.session_type,
        idempotency_key=key,
    )
    session = _session(user, invitee.session_id)
    response["Location"] = reverse("api:session-detail", args=[session.pk])
    return Status(200 if replay else 201, session_out(session))


@api.get(
    "/sessions/{int:session_id}/",
    response={200: SessionOut, **_errors(404)},
    url_name="session-detail",
    tags=["sessions"],
    openapi_extra=_answer_headers(),
)
def session_detail(request: HttpRequest, session_id: int) -> SessionOut:
    [session] = _as_they_are_now([_session(_user(request), session_id)])
    return session_out(session)


@api.post(
    "/sessions/{int:session_id}/invitees/",
    response={(200, 201): InviteeOut, **_errors(400, 403, 404, 409, 413, 429)},
    url_name="session-invitees",
    tags=["sessions"],
    openapi_extra=_answer_headers(201, 429),
)
def session_invitees(
    request: HttpRequest,
    session_id: int,
    payload: InviteeIn,
    response: HttpResponse,
    idempotency_key_header: str | None = IdempotencyKeyHeader,
) -> Status[InviteeOut]:
    """Invite another person into the same session (OnSync, Digital Samba; Glance answers
    409). 201 with its Location; 200 with the same invitee when the idempotency key was used
    before."""
    user = _user(request)
    session = _session(user, session_id)
    key, replay = idempotency_key(
        idempotency_key_header,
        payload.idempotency_key,
        user=user,
        scope=f"sessions/{session.pk}/invitees",
    )
    invitee = services.invitation_create(
        agent=user,
        session=session,
        destination=payload.destination,
        channel=payload.channel,
        name=payload.name,
        language=payload.language,
        idempotency_key=key,
    )
    invitee = _invitee(user, invitee.pk)
    response["Location"] = reverse("api:invitee-detail", args=[invitee.pk])
    return Status(200 if replay else 201, invitee_out(invitee, invitee.session))


@api.post(
    "/sessions/{int:session_id}/end/",
    response={200: SessionEndedOut, **_errors(404, 409)},
    url_name="session-end",
    tags=["sessions"],
    openapi_extra=_answer_headers(),
)
def session_end(request: HttpRequest, session_id: int) -> SessionEndedOut:
    """End the session, as End session on its page does: at the provider where it can be,
    then here, so that nobody more is invited or resent into it (audited)."""
    user = _user(request)
    ended_at_provider = services.session_end(session=_session(user, session_id), actor=user)
    return session_ended_out(_session(user, session_id), ended_at_provider=ended_at_provider)


@api.get(
    "/invitees/{int:invitee_id}/",
    response={200: InviteeOut, **_errors(404)},
    url_name="invitee-detail",
    tags=["invitees"],
    openapi_extra=_answer_headers(),
)
def invitee_detail(request: HttpRequest, invitee_id: int) -> InviteeOut:
    invitee = _invitee(_user(request), invitee_id)
    return invitee_out(invitee, invitee.session)


@api.post(
    "/invitees/{int:invitee_id}/resend/",
    response={200: InviteeOut, **_errors(404, 409, 429)},
    url_name="invitee-resend",
    tags=["invitees"],
    openapi_extra=_answer_headers(429),
)
def invitee_resend(request: HttpRequest, invitee_id: int) -> InviteeOut:
    """Send a finished invitation again, as the Resend button does (audited, rate-limited)."""
    user = _user(request)
    services.invitee_resend(invitee=_invitee(user, invitee_id), actor=user)
    invitee = _invitee(user, invitee_id)
    return invitee_out(invitee, invitee.session)
