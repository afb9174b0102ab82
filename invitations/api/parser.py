"""What the API reads from a request before any schema or service sees it.

Whatever a client sends, a bad request is a 400 with a JSON error, never a 500: text that
cannot be stored (a NUL character, an unpaired surrogate from a `\\ud800` escape) and bodies
nested too deeply to parse are refused here, naming the field where there is one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja.parser import Parser

from invitations.api.errors import ApiError
from invitations.models import Invitee

# Idempotency keys as clients send them; stored hashed per user and endpoint.
MAX_IDEMPOTENCY_KEY_LENGTH = 200


def unstorable(text: str) -> bool:
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


def check_text(name: str, value: str) -> None:
    if unstorable(value):
        raise ApiError(
            400,
            "invalid_input",
            f"'{name}' holds a NUL character or an unpaired surrogate (a lone \\ud800-\\udfff "
            "escape); send plain text.",
            field=name,
        )


class StrictJsonParser(Parser):
    """A JSON object of storable text, or a 400 saying what is wrong with it."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        try:
            data = json.loads(request.body)
        except RecursionError as err:
            raise ApiError(400, "invalid_json", "The body is nested too deeply.") from err
        except (ValueError, UnicodeDecodeError) as err:
            raise ApiError(400, "invalid_json", f"The body is not valid JSON: {err}") from err
        if not isinstance(data, dict):
            raise ApiError(400, "invalid_json", "The body must be a JSON object.")
        for name, value in data.items():
            if unstorable(name):
                raise ApiError(
                    400,
                    "invalid_input",
                    "A field name holds a NUL character or an unpaired surrogate; use plain text.",
                )
            if isinstance(value, str):
                check_text(name, value)
        return data

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        for name, values in data.lists():
            for value in values:
                check_text(name, value)
        return super().parse_querydict(data, list_fields, request)


def idempotency_key(
    header: str | None, field: str | None, *, user: User, scope: str
) -> tuple[str | None, bool]:
    """The service's idempotency key for this request and whether it was used before.

    Taken from the `Idempotency-Key` header or the `idempotency_key` field and hashed with
    the user and the endpoint, so that keys of different users or endpoints never collide.
    """
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
