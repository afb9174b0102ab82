"""The answers both webhooks give: JSON, an error as {"error": message}."""

from __future__ import annotations

from django.http import JsonResponse

from invitations.services import receipts

MAX_ERROR = 500


class Rejected(Exception):
    """A callback answered with `status` and {"error": message}; nothing is changed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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
