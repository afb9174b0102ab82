"""The JSON API under /api/v1/, described in docs/openapi.json.

The same services and selectors as the agent pages: a token acts as its user and sees and
does exactly what that user may on the pages (their sessions; a supervisor's team's; all for
superusers; anything else is a 404), under the same rate limits. Each view parses the
request, calls one service or selector and serialises the result.

Only `Authorization: Bearer <token>` authenticates (invitations/tokens.py). Cookies are
ignored, so a browser's login session cannot be used here and the views need no CSRF token.
Destinations are always masked in answers and never logged. Answers carry session keys and
personal links, so no cache may keep any of them (`Cache-Control: no-store`).

Whatever a client sends, a bad request is a 400 with a JSON error, never a 500: text that
cannot be stored (a NUL character, an unpaired surrogate from a `\\ud800` escape) and bodies
nested too deeply to parse are refused here, before any service sees them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec

from django.contrib.auth.models import User
from django.core.exceptions import RequestDataTooBig
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt

from invitations import selectors, services
from invitations.errors import InvitationError, NotAllowed, NotConfigured
from invitations.limits import RateLimited
from invitations.links import safe_link
from invitations.models import DeliveryStatus, Invitee, Session
from invitations.tokens import TokenRefused, api_token_user

logger = logging.getLogger(__name__)

REALM = "agentportal"
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
# Idempotency keys as clients send them; stored hashed per user and endpoint.
MAX_IDEMPOTENCY_KEY_LENGTH = 200

P = ParamSpec("P")
ApiView = Callable[Concatenate[HttpRequest, User, P], JsonResponse]


class ApiError(Exception):
    """An error answer: `{"error": {"code": ..., "message": ..., "field": ...}}`."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers: dict[str, str] = {}

    def response(self) -> JsonResponse:
        body = {"error": {"code": self.code, "message": self.message, "field": self.field}}
        response = _json(body, status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


def _json(data: dict[str, Any], status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    # Every answer: session keys, join and personal links must not stay in any cache.
    add_never_cache_headers(response)
    return response


def _from_service(err: InvitationError) -> ApiError:
    """The API's answer to a service error: same message, a status that says what kind."""
    if isinstance(err, RateLimited):
        error = ApiError(429, "rate_limited", err.message)
        if err.retry_after is not None:
            error.headers["Retry-After"] = str(err.retry_after)
        return error
    if isinstance(err, NotConfigured):
        # The request is fine; an administrator must set something up for this user first.
        return ApiError(403, "not_configured", err.message)
    if isinstance(err, NotAllowed):
        # Not in the invitation's or session's current state (e.g. resend while sending).
        return ApiError(409, "not_allowed", err.message)
    return ApiError(400, "invalid_input", err.message, field=err.field)


def _unauthorized(code: str, message: str) -> ApiError:
    error = ApiError(401, code, message)
    challenge = f'Bearer realm="{REALM}"'
    if code == "invalid_token":
        challenge += ', error="invalid_token"'
    error.headers["WWW-Authenticate"] = challenge
    return error


def _authenticate(request: HttpRequest) -> User:
    header = request.headers.get("Authorization", "")
    scheme, _space, raw = header.strip().partition(" ")
    if not header or scheme.lower() != "bearer" or not raw.strip():
        raise _unauthorized(
            "not_authenticated", "Send an API token: Authorization: Bearer <token>."
        )
    try:
        return api_token_user(raw.strip())
    except TokenRefused as err:
        raise _unauthorized("invalid_token", err.message) from err


def api_view(*methods: str) -> Callable[[ApiView[P]], Callable[..., JsonResponse]]:
    """Method check, token authentication, JSON errors and one log line per request."""

    def decorate(view: ApiView[P]) -> Callable[..., JsonResponse]:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> JsonResponse:
            user: User | None = None
            try:
                if request.method not in methods:
                    error = ApiError(
                        405,
                        "method_not_allowed",
                        f"{request.method} is not allowed here; use {', '.join(methods)}.",
                    )
                    error.headers["Allow"] = ", ".join(methods)
                    raise error
                user = _authenticate(request)
                response = view(request, user, *args, **kwargs)
            except ApiError as err:
                response = err.response()
            except InvitationError as err:
                response = _from_service(err).response()
            # Ids only: the path never holds a destination, and the query string is left out.
            logger.info(
                "api %s %s user=%s -> %s",
                request.method,
                request.path,
                user.pk if user is not None else "-",
                response.status_code,
            )
            return response

        return wrapper

    return decorate


# --- Parsing ---------------------------------------------------------------------------------


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        raw = request.body
    except RequestDataTooBig as err:
        raise ApiError(413, "too_large", "The request body is too large.") from err
    try:
        data = json.loads(raw or b"null")
    except RecursionError as err:
        raise ApiError(400, "invalid_json", "The body is nested too deeply.") from err
    except (ValueError, UnicodeDecodeError) as err:
        raise ApiError(400, "invalid_json", f"The body is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    for name, value in data.items():
        if _unstorable(name):
            raise ApiError(
                400,
                "invalid_input",
                "A field name holds a NUL character or an unpaired surrogate; use plain text.",
            )
        if isinstance(value, str):
            _check_text(name, value)
    return data


def _unstorable(text: str) -> bool:
    """Whether `text` holds what no database column and no answer can: a NUL character
    (PostgreSQL refuses it) or a lone surrogate (JSON's "\\ud800" decodes to one, and it has
    no UTF-8 form)."""
    if "\x00" in text:
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def _check_text(name: str, value: str) -> None:
    if _unstorable(value):
        raise ApiError(
            400,
            "invalid_input",
            f"'{name}' holds a NUL character or an unpaired surrogate (a lone \\ud800-\\udfff "
            "escape); send plain text.",
            field=name,
        )


def _fields(data: dict[str, Any], allowed: dict[str, type]) -> dict[str, Any]:
    """The known fields of `data`, type-checked; unknown fields are an error, not ignored,
    so that a misspelt one is noticed. Null counts as absent."""
    for name in data:
        if name not in allowed:
            raise ApiError(400, "invalid_input", f"Unknown field '{name}'.", field=name)
    values = {}
    for name, kind in allowed.items():
        value = data.get(name)
        if value is None:
            continue
        # bool is an int in Python, not in JSON.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            type_name = {str: "a string", int: "an integer"}[kind]
            raise ApiError(400, "invalid_input", f"'{name}' must be {type_name}.", field=name)
        values[name] = value
    if not str(values.get("destination", "")).strip():
        raise ApiError(
            400,
            "invalid_input",
            "'destination' is required: a mobile number or an e-mail address.",
            field="destination",
        )
    channel = values.get("channel", "auto")
    if channel not in ("auto", "sms", "email"):
        raise ApiError(
            400, "invalid_input", "'channel' must be auto, sms or email.", field="channel"
        )
    return values


def _idempotency_key(
    request: HttpRequest, data: dict[str, Any], *, user: User, scope: str
) -> tuple[str | None, bool]:
    """The service's idempotency key for this request and whether it was used before.

    Taken from the `Idempotency-Key` header or the `idempotency_key` field and hashed with
    the user and the endpoint, so that keys of different users or endpoints never collide.
    """
    header = request.headers.get("Idempotency-Key")
    field = data.pop("idempotency_key", None)
    if field is not None and not isinstance(field, str):
        raise ApiError(
            400, "invalid_input", "'idempotency_key' must be a string.", field="idempotency_key"
        )
    if header is not None and field is not None and header != field:
        raise ApiError(
            400,
            "invalid_input",
            "The Idempotency-Key header and the idempotency_key field differ.",
            field="idempotency_key",
        )
    raw = header if header is not None else field
    if raw is None:
        return None, False
    if not 1 <= len(raw) <= MAX_IDEMPOTENCY_KEY_LENGTH or not raw.isprintable():
        raise ApiError(
            400,
            "invalid_input",
            f"The idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable characters.",
            field="idempotency_key",
        )
    digest = hashlib.sha256(f"{user.pk}\n{scope}\n{raw}".encode()).hexdigest()
    key = f"api-{digest[:60]}"
    return key, Invitee.objects.filter(idempotency_key=key).exists()


def _int_param(request: HttpRequest, name: str, default: int, maximum: int) -> int:
    value = request.GET.get(name, "")
    if not value:
        return default
    # ASCII digits only ("²" is a digit to str.isdigit() but not to int()), and no longer than
    # the maximum, so int() never meets thousands of digits.
    if (
        not (value.isascii() and value.isdigit())
        or len(value) > len(str(maximum))
        or not 1 <= int(value) <= maximum
    ):
        raise ApiError(
            400, "invalid_input", f"'{name}' must be a number from 1 to {maximum}.", field=name
        )
    return int(value)


# --- Lookups: someone else's session is as unknown as one that does not exist ----------------


def _visible_sessions(user: User) -> QuerySet[Session]:
    return selectors.sessions_visible_to(user)


def _session(user: User, session_id: int) -> Session:
    session = _visible_sessions(user).filter(pk=session_id).first()
    if session is None:
        raise ApiError(404, "not_found", "No such session.")
    return session


def _invitee(user: User, invitee_id: int) -> Invitee:
    invitee = (
        Invitee.objects.select_related("session")
        .filter(session__in=_visible_sessions(user).values("pk"), pk=invitee_id)
        .first()
    )
    if invitee is None:
        raise ApiError(404, "not_found", "No such invitee.")
    return invitee


# --- Serialisation ---------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def invitee_data(invitee: Invitee, session: Session) -> dict[str, Any]:
    return {
        "id": invitee.pk,
        "url": reverse("api:invitee-detail", args=[invitee.pk]),
        "session_id": session.pk,
        "name": invitee.name,
        "channel": invitee.channel,
        "masked_destination": invitee.masked_destination,
        "language": invitee.language,
        "status": invitee.status,
        "expired": invitee.is_expired(),
        "expires_at": _time(invitee.expires_at),
        "attempts": invitee.attempts,
        "last_error": invitee.last_error,
        "message_text": invitee.message_text,
        # An unsafe link (one stored before links were checked) is left out: "".
        "personal_link": safe_link(invitee.personal_link, base_url=session.credential.base_url)
        or "",
        "can_resend": invitee.can_resend,
        "created_at": _time(invitee.created_at),
        "sent_at": _time(invitee.sent_at),
    }


def session_data(session: Session) -> dict[str, Any]:
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
        "created_at": _time(session.created_at),
        "ended_at": _time(session.ended_at),
        "can_add_invitees": credential.can_add_to_session and session.ended_at is None,
        # Prefetched by sessions_visible_to: no query per session.
        "invitees": [invitee_data(invitee, session) for invitee in session.invitees.all()],
    }


# --- Views -----------------------------------------------------------------------------------

CREATE_FIELDS: dict[str, type] = {
    "destination": str,
    "channel": str,
    "name": str,
    "ticket_reference": str,
    "credential": str,
    "language": str,
    "session_type": int,
}
INVITE_FIELDS: dict[str, type] = {
    "destination": str,
    "channel": str,
    "name": str,
    "language": str,
}


@api_view("GET", "POST")
def sessions(request: HttpRequest, user: User) -> JsonResponse:
    if request.method == "POST":
        return _session_create(request, user)
    return _session_list(request, user)


def _session_list(request: HttpRequest, user: User) -> JsonResponse:
    """The user's visible sessions, newest first; a fixed number of queries per page."""
    found = _visible_sessions(user)
    status = request.GET.get("status", "")
    if status:
        if status not in DeliveryStatus.values:
            raise ApiError(
                400,
                "invalid_input",
                f"'status' must be one of {', '.join(DeliveryStatus.values)}.",
                field="status",
            )
        found = found.filter(invitees__status=status).distinct()
    ticket = request.GET.get("ticket_reference", "").strip()
    if ticket:
        _check_text("ticket_reference", ticket)
        found = found.filter(ticket_reference=ticket)
    size = _int_param(request, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    paginator = Paginator(found, size)
    page = paginator.page(_int_param(request, "page", 1, paginator.num_pages))
    return _json(
        {
            "count": paginator.count,
            "page": page.number,
            "pages": paginator.num_pages,
            "page_size": size,
            "results": [session_data(session) for session in page.object_list],
        }
    )


def _session_create(request: HttpRequest, user: User) -> JsonResponse:
    """A new session with its first invitee, as the Invite page does."""
    data = _body(request)
    key, replay = _idempotency_key(request, data, user=user, scope="sessions")
    values = _fields(data, CREATE_FIELDS)
    credential = None
    if "credential" in values:
        label = values["credential"]
        credential = selectors.credentials_usable_by(user).filter(label=label).first()
        if credential is None:
            raise _from_service(selectors.credential_not_offered(label))
    invitee = services.invitation_create(
        agent=user,
        destination=values["destination"],
        channel=values.get("channel", "auto"),
        name=values.get("name", ""),
        ticket_reference=values.get("ticket_reference", ""),
        credential=credential,
        language=values.get("language", ""),
        session_type=values.get("session_type"),
        idempotency_key=key,
    )
    session = _session(user, invitee.session_id)
    response = _json(session_data(session), status=200 if replay else 201)
    response["Location"] = reverse("api:session-detail", args=[session.pk])
    return response


@api_view("GET")
def session_detail(request: HttpRequest, user: User, session_id: int) -> JsonResponse:
    return _json(session_data(_session(user, session_id)))


@api_view("POST")
def session_invitees(request: HttpRequest, user: User, session_id: int) -> JsonResponse:
    """Invite another person into the same session (OnSync; Glance answers 409)."""
    session = _session(user, session_id)
    data = _body(request)
    key, replay = _idempotency_key(
        request, data, user=user, scope=f"sessions/{session.pk}/invitees"
    )
    values = _fields(data, INVITE_FIELDS)
    invitee = services.invitation_create(
        agent=user,
        session=session,
        destination=values["destination"],
        channel=values.get("channel", "auto"),
        name=values.get("name", ""),
        language=values.get("language", ""),
        idempotency_key=key,
    )
    invitee = _invitee(user, invitee.pk)
    response = _json(invitee_data(invitee, invitee.session), status=200 if replay else 201)
    response["Location"] = reverse("api:invitee-detail", args=[invitee.pk])
    return response


@api_view("POST")
def session_end(request: HttpRequest, user: User, session_id: int) -> JsonResponse:
    """End the session, as End session on its page does: at the provider where it can be,
    then here, so that nobody more is invited or resent into it (audited)."""
    session = _session(user, session_id)
    ended_at_provider = services.session_end(session=session, actor=user)
    data = session_data(_session(user, session_id))
    # False: the provider has no way to end it, so links already sent work until they expire.
    data["ended_at_provider"] = ended_at_provider
    return _json(data)


@api_view("GET")
def invitee_detail(request: HttpRequest, user: User, invitee_id: int) -> JsonResponse:
    invitee = _invitee(user, invitee_id)
    return _json(invitee_data(invitee, invitee.session))


@api_view("POST")
def invitee_resend(request: HttpRequest, user: User, invitee_id: int) -> JsonResponse:
    """Send a finished invitation again, as the Resend button does (audited, rate-limited)."""
    invitee = _invitee(user, invitee_id)
    services.invitee_resend(invitee=invitee, actor=user)
    invitee = _invitee(user, invitee_id)
    return _json(invitee_data(invitee, invitee.session))


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any other path under /api/v1/; also catches a missing trailing slash, which Django
    would otherwise answer with a redirect that loses a POST's body."""
    hint = "" if request.path.endswith("/") else " API paths end with a slash."
    return ApiError(404, "not_found", f"No such API endpoint.{hint}").response()
