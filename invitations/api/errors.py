"""The API's error answers: `{"error": {"code": ..., "message": ..., "field": ...}}`.

Every error takes this shape, whoever finds it: the request parser, the token check, the
schemas' validation (django-ninja's own 422 list becomes a 400 naming the first bad field),
the views, or a service (its message as is, with a status that says what kind of error it is).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from invitations.errors import InvitationError, NotAllowed, NotConfigured
from invitations.services.limits import RateLimited

REALM = "agentportal"


class ApiError(Exception):
    """An error answer with its status, code, message and (when one is to blame) field."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers: dict[str, str] = {}

    def response(self) -> JsonResponse:
        body = {"error": {"code": self.code, "message": self.message, "field": self.field}}
        response = JsonResponse(body, status=self.status, json_dumps_params={"ensure_ascii": False})
        for name, value in self.headers.items():
            response[name] = value
        return response


def not_found(what: str) -> ApiError:
    """Someone else's session or invitee is as unknown as one that does not exist."""
    return ApiError(404, "not_found", f"No such {what}.")


def unauthorized(code: str, message: str) -> ApiError:
    error = ApiError(401, code, message)
    challenge = f'Bearer realm="{REALM}"'
    if code == "invalid_token":
        challenge += ', error="invalid_token"'
    error.headers["WWW-Authenticate"] = challenge
    return error


def method_not_allowed(method: str, allowed: list[str]) -> ApiError:
    error = ApiError(
        405, "method_not_allowed", f"{method} is not allowed here; use {', '.join(allowed)}."
    )
    error.headers["Allow"] = ", ".join(allowed)
    return error


def from_service(err: InvitationError) -> ApiError:
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


def from_validation(errors: list[dict[str, Any]]) -> ApiError:
    """The first of the schemas' complaints, worded as the API words them. Unknown fields come
    first, so that a misspelt field is named rather than the required one it stands for."""
    first = sorted(errors, key=lambda error: error["type"] != "extra_forbidden")[0]
    # loc: ("body", <parameter>, <field>, ...) or ("query", <field>); the body as a whole when
    # there is no field.
    names = [part for part in first["loc"][1:] if isinstance(part, str)]
    if first["loc"][0] == "body":
        names = names[1:]
        if not names:
            return ApiError(400, "invalid_json", "The body must be a JSON object.")
    field = names[-1] if names else None
    kind, ctx = first["type"], first.get("ctx", {})
    if kind == "extra_forbidden":
        message = f"Unknown field '{field}'."
    elif kind == "string_type":
        message = f"'{field}' must be a string."
    elif kind in ("int_type", "int_parsing", "int_from_float"):
        message = f"'{field}' must be an integer."
    elif kind in ("literal_error", "enum"):
        choices = str(ctx.get("expected", "")).replace("'", "")
        message = f"'{field}' must be one of {choices}."
    else:
        # The schemas' own checks (PydanticCustomError) already speak the API's language.
        message = first["msg"]
    return ApiError(400, "invalid_input", message, field=field)


def install_handlers(api: NinjaAPI) -> None:
    """Every exception an operation can meet, answered in the one error shape."""

    @api.exception_handler(ApiError)
    def api_error(request: HttpRequest, exc: ApiError) -> JsonResponse:
        return exc.response()

    @api.exception_handler(InvitationError)
    def service_error(request: HttpRequest, exc: InvitationError) -> JsonResponse:
        return from_service(exc).response()

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> JsonResponse:
        return from_validation(exc.errors).response()

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> JsonResponse:
        # django-ninja wraps what the request parser raises; the parser's own answer wins.
        if isinstance(exc.__cause__, ApiError):
            return exc.__cause__.response()
        return ApiError(exc.status_code, "invalid_input", str(exc)).response()

    @api.exception_handler(RequestDataTooBig)
    def too_large(request: HttpRequest, exc: RequestDataTooBig) -> JsonResponse:
        return ApiError(413, "too_large", "The request body is too large.").response()
