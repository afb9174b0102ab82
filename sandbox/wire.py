"""Request and response plumbing shared by the emulated upstream APIs."""

import hmac
import json
from collections.abc import Iterable
from typing import Any, TypeGuard

from django.http import HttpRequest, JsonResponse


class Invalid(Exception):
    """A request the provider answers with 400 and this reason."""


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def method_not_allowed(allowed: Iterable[str]) -> JsonResponse:
    methods = ", ".join(allowed)
    response = error(405, f"method not allowed; use {methods}")
    response["Allow"] = methods
    return response


def secret_matches(given: str, expected: str) -> bool:
    """Constant-time equality that never lets an empty secret match an empty guess."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def json_object(request: HttpRequest, *, require_json_type: bool) -> dict[str, Any]:
    if require_json_type and request.content_type != "application/json":
        raise Invalid("Content-Type must be application/json")
    try:
        body: Any = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as err:
        raise Invalid("body is not valid JSON") from err
    if not isinstance(body, dict):
        raise Invalid("body must be a JSON object")
    return body


def is_integer(value: object) -> TypeGuard[int]:
    # JSON true/false arrive as bool, which Python counts as int.
    return isinstance(value, int) and not isinstance(value, bool)
