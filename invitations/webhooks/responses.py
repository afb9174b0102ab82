"""What the webhooks share: reading a JSON body, and answers in JSON, an error as
{"error": message}."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse

from invitations.services import receipts

MAX_ERROR = 500


class Rejected(Exception):
    """A callback answered with `status` and {"error": message}; nothing is changed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_object(request: HttpRequest) -> dict[str, Any]:
    """The request's body, which must be a JSON object; Rejected (400) otherwise."""
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as err:
        raise Rejected(400, "The body is not valid JSON.") from err
    except RecursionError as err:
        raise Rejected(400, "The body is nested too deeply to read.") from err
    if not isinstance(body, dict):
        raise Rejected(400, "The body must be a JSON object.")
    return body


def error_response(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def method_not_allowed() -> JsonResponse:
    response = error_response(405, "Use POST.")
    response["Allow"] = "POST"
    return response


def still_sending_response(err: receipts.StillSending) -> JsonResponse:
    response = error_response(409, str(err))
    response["Retry-After"] = "1"
    return response


def result_response(recorded: receipts.Recorded) -> str:
    if not recorded.created:
        return "duplicate"
    return "applied" if recorded.receipt.applied else "recorded"
