from __future__ import annotations

import re
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from django.core.exceptions import ImproperlyConfigured

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_BODY = 1600


@dataclass
class SmsMessage:
    to: str  # E.164
    body: str
    reference: str = ""
    # Where the gateway posts delivery receipts for this message; empty: no receipts.
    status_callback: str = ""
    # Set by the backend once sent: the gateway's id for the message, which receipts refer to.
    message_id: str = ""

    def validate(self) -> None:
        if not E164.fullmatch(self.to):
            raise ValueError(f"SMS recipient must be an E.164 number, got {self.to!r}")
        if not 0 < len(self.body) <= MAX_BODY:
            raise ValueError(f"SMS body must be 1 to {MAX_BODY} characters")


class BaseSmsBackend:
    """Implement `send_messages`; it returns how many messages went out or raises, and sets
    each message's `message_id` when the gateway gives one."""

    def __init__(self, **options: Any) -> None:
        if options:
            raise ImproperlyConfigured(
                f"SMS_BACKEND {type(self).__name__} takes no option(s): {', '.join(options)}"
            )

    def send_messages(self, messages: list[SmsMessage]) -> int:
        raise NotImplementedError

    def open(self) -> None:
        """Open connections before sending several messages."""

    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> BaseSmsBackend:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
