"""What every endpoint of the sandbox Digital Samba shares: authentication, error bodies,
request bodies, pagination and how times are written (facts.md §2.1)."""

import base64
import binascii
import datetime
import functools
import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.views.decorators.csrf import csrf_exempt

from sandbox.digitalsamba.errors import message, not_found, unauthenticated, unprocessable
from sandbox.faults import upstream_api
from sandbox.models import Target
from sandbox.wire import secret_matches

P = ParamSpec("P")
T = TypeVar("T")
View = Callable[Concatenate[HttpRequest, P], HttpResponse]

# "limit: default and maximum 100" (facts.md §2.1).
LONGEST_PAGE = 100
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class NotFound(Exception):
    """Answered 404 `{"message": "Not Found", "error": "not-found"}`."""


class Invalid(Exception):
    """Answered 422 with Laravel's validation body: field name -> messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


class Unprocessable(Exception):
    """Answered 422 `{"message": ...}` alone, as for deleting a live room's resources."""


class Errors:
    """Validation messages in Laravel's wording, collected before answering all of them."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, field: str, rule: str) -> None:
        """`rule` with `:field` in place of the field's name as Laravel writes it."""
        self.found.setdefault(field, []).append(rule.replace(":field", field.replace("_", " ")))

    def __contains__(self, field: str) -> bool:
        return field in self.found

    def raise_any(self) -> None:
        if self.found:
            raise Invalid(self.found)


def team_id() -> str:
    return str(settings.SANDBOX_DIGITALSAMBA_TEAM_ID)


def developer_key() -> str:
    return str(settings.SANDBOX_DIGITALSAMBA_DEVELOPER_KEY)


def authenticated(request: HttpRequest) -> bool:
    """Any of the documented forms: `Bearer <key>`, and Basic or Bearer `base64(team:key)`."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme not in ("basic", "bearer"):
        return False
    if scheme == "bearer" and secret_matches(value, developer_key()):
        return True
    try:
        user, colon, key = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return bool(colon) and secret_matches(user, team_id()) and secret_matches(key, developer_key())


def endpoint(*methods: str) -> Callable[[View[P]], View[P]]:
    """An API view: logged and faulted as target `digitalsamba`, these methods only (405),
    authenticated (401), NotFound and Invalid answered as Digital Samba does."""

    def decorate(view: View[P]) -> View[P]:
        @functools.wraps(view)
        def checked(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            # As Laravel routes: the method is matched before the authentication middleware.
            if request.method not in methods:
                response = message(
                    405,
                    f"The {request.method} method is not supported for this route. "
                    f"Supported methods: {', '.join(methods)}.",
                    "method-not-allowed",
                )
                response["Allow"] = ", ".join(methods)
                return response
            if not authenticated(request):
                return unauthenticated()
            try:
                return view(request, *args, **kwargs)
            except NotFound:
                return not_found()
            except Invalid as err:
                return unprocessable(err.errors)
            except Unprocessable as err:
                return message(422, str(err))

        return csrf_exempt(upstream_api(Target.DIGITALSAMBA)(checked))

    return decorate


def body(request: HttpRequest) -> dict[str, Any]:
    """The request's fields: a JSON object, or form fields (`name[]` for a list)."""
    if not request.body.strip():
        return {}
    if request.content_type != "application/x-www-form-urlencoded":
        try:
            fields = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            fields = None
        if not isinstance(fields, dict):
            raise Invalid({"body": ["The body must be a JSON object."]})
        return fields
    try:
        form = QueryDict(request.body.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise Invalid({"body": ["The body must be UTF-8."]}) from err
    return {
        key.removesuffix("[]"): form.getlist(key) if key.endswith("[]") else form[key]
        for key in form
    }


def uuid_or_none(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def query_boolean(request: HttpRequest, name: str, errors: Errors) -> bool | None:
    if name not in request.GET:
        return None
    value = _BOOLEANS.get(request.GET[name].lower())
    if value is None:
        errors.add(name, "The :field field must be true or false.")
    return value


def query_date(request: HttpRequest, name: str, errors: Errors) -> datetime.date | None:
    if name not in request.GET:
        return None
    value = request.GET[name]
    if _DATE.fullmatch(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    errors.add(name, "The :field field must match the format Y-m-d.")
    return None


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int
    descending: bool
    after: str | None


def page_of(request: HttpRequest, errors: Errors) -> Page:
    """`limit` (1 to 100, default 100), `offset`, `order` (asc/desc, default desc), `after`."""
    numbers = {"limit": LONGEST_PAGE, "offset": 0}
    for name, lowest, highest in (("limit", 1, LONGEST_PAGE), ("offset", 0, None)):
        if name not in request.GET:
            continue
        text = request.GET[name]
        if not text.isascii() or not text.isdigit():
            errors.add(name, "The :field field must be an integer.")
        elif int(text) < lowest:
            errors.add(name, f"The :field field must be at least {lowest}.")
        elif highest is not None and int(text) > highest:
            errors.add(name, f"The :field field must not be greater than {highest}.")
        else:
            numbers[name] = int(text)
    order = request.GET.get("order", "desc")
    if order not in ("asc", "desc"):
        errors.add("order", "The selected :field is invalid.")
    return Page(numbers["limit"], numbers["offset"], order != "asc", request.GET.get("after"))


def listing(
    items: Sequence[T],
    page: Page,
    render: Callable[[T], dict[str, Any]],
    names: Callable[[T], tuple[str, ...]],
) -> JsonResponse:
    """`{"total_count": N, "data": [...]}` of `items` (oldest first): in the page's order, from
    the record after `after` (one of `names(item)`), then `offset` skipped, `limit` kept."""
    ordered = list(reversed(items)) if page.descending else list(items)
    if page.after is not None:
        position = next((i for i, item in enumerate(ordered) if page.after in names(item)), None)
        if position is None:
            raise Invalid({"after": ["The selected after is invalid."]})
        ordered = ordered[position + 1 :]
    shown = ordered[page.offset : page.offset + page.limit]
    return JsonResponse({"total_count": len(items), "data": [render(item) for item in shown]})


def iso_time(moment: datetime.datetime | None) -> str | None:
    """`2026-02-07T17:12:29.000000Z`, as Laravel writes a model's timestamps."""
    if moment is None:
        return None
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def plain_time(moment: datetime.datetime | None) -> str | None:
    """`2026-02-07 17:12:29` in UTC, as the sessions and participants lists write times."""
    if moment is None:
        return None
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


def text_field(
    fields: dict[str, Any],
    name: str,
    errors: Errors,
    *,
    shortest: int = 0,
    longest: int = 255,
) -> str | None:
    """A string field's value if present and valid (None: absent, null or invalid)."""
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add(name, "The :field field must be a string.")
    elif shortest and not shortest <= len(value) <= longest:
        errors.add(name, f"The :field field must be between {shortest} and {longest} characters.")
    elif len(value) > longest:
        errors.add(name, f"The :field field must not be greater than {longest} characters.")
    else:
        return value
    return None


@csrf_exempt
@upstream_api(Target.DIGITALSAMBA)
def endpoint_not_found(request: HttpRequest) -> HttpResponse:
    """A path the API does not have."""
    return not_found()
