"""Digital Samba's error bodies (facts.md §2.1), also for the faults the sandbox injects."""

from django.http import JsonResponse


def message(status: int, text: str, error: str | None = None) -> JsonResponse:
    body = {"message": text} if error is None else {"message": text, "error": error}
    return JsonResponse(body, status=status)


def not_found() -> JsonResponse:
    return message(404, "Not Found", "not-found")


def unauthenticated() -> JsonResponse:
    # The 401 body is not documented; Laravel's own is `{"message": "Unauthenticated."}`.
    return message(401, "Unauthenticated.", "unauthenticated")


def rate_limited(seconds: int) -> JsonResponse:
    response = message(
        429, f"Too Many Attempts. You may try again in {seconds} seconds.", "rate-limit"
    )
    response["retry-after"] = str(seconds)
    return response


def unprocessable(errors: dict[str, list[str]]) -> JsonResponse:
    """Laravel's 422: the first message, "(and N more errors)", and every message by field."""
    messages = [m for field in errors.values() for m in field]
    text = messages[0]
    if len(messages) > 1:
        more = len(messages) - 1
        text += f" (and {more} more error{'s' if more > 1 else ''})"
    return JsonResponse({"message": text, "errors": errors}, status=422)


def injected(status: int, retry_after: int | None) -> JsonResponse:
    """What a fault rule of mode "status" answers for target `digitalsamba`."""
    if status == 429:
        return rate_limited(retry_after if retry_after is not None else 1)
    response = message(status, "Injected fault.", "injected-fault")
    if retry_after is not None:
        response["retry-after"] = str(retry_after)
    return response
