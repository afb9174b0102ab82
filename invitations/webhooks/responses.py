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


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _method_not_allowed() -> JsonResponse:
    response = _error(405, "Use POST.")
    response["Allow"] = "POST"
    return response


def _still_sending(err: receipts.StillSending) -> JsonResponse:
    response = _error(409, str(err))
    response["Retry-After"] = "1"
    return response


def _result(recorded: receipts.Recorded) -> str:
    if not recorded.created:
        return "duplicate"
    return "applied" if recorded.receipt.applied else "recorded"
