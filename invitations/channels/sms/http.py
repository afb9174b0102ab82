"""An SMS gateway over HTTP (contract in docs/upstream-contracts.md):

    POST {SMS_GATEWAY_URL}/messages   Authorization: Bearer {SMS_GATEWAY_TOKEN}
    {"to": "+14155550134", "body": "...", "reference": "inv-42"}  -> 202 {"id": "..."}

Failures raise the same typed errors as the session providers, so a delivery is retried or
marked for attention by the same rules.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from invitations.channels.sms.base import BaseSmsBackend, SmsMessage
from invitations.providers.http import JsonApi


class HttpSmsBackend(BaseSmsBackend):
    def __init__(self, *, url: str = "", token: str = "", **options: Any) -> None:
        super().__init__(**options)
        self.url = (url or settings.SMS_GATEWAY_URL).rstrip("/")
        token = token or settings.SMS_GATEWAY_TOKEN
        if not self.url or not token:
            raise ImproperlyConfigured(
                "HttpSmsBackend needs SMS_GATEWAY_URL and SMS_GATEWAY_TOKEN."
            )
        self.token = token
        self.api: JsonApi | None = None

    def open(self) -> None:
        if self.api is None:
            self.api = JsonApi(
                provider="sms-gateway",
                display_name="The SMS gateway",
                label="SMS_GATEWAY_URL",
                secret=self.token,
                timeout=(settings.UPSTREAM_CONNECT_TIMEOUT, settings.UPSTREAM_READ_TIMEOUT),
                total_timeout=settings.UPSTREAM_TOTAL_TIMEOUT,
                max_response_bytes=settings.UPSTREAM_MAX_RESPONSE_BYTES,
                auth_advice="An administrator should check SMS_GATEWAY_TOKEN.",
                base_url_advice="An administrator should check SMS_GATEWAY_URL.",
            )

    def close(self) -> None:
        if self.api is not None:
            self.api.close()
            self.api = None

    def send_messages(self, messages: list[SmsMessage]) -> int:
        self.open()
        assert self.api is not None  # noqa: S101  (opened above)
        for message in messages:
            message.validate()
            body = {"to": message.to, "body": message.body, "reference": message.reference}
            if message.status_callback:
                body["status_callback"] = message.status_callback
            answer, _status = self.api.call(
                "POST",
                f"{self.url}/messages",
                json=body,
                headers={"Authorization": f"Bearer {self.token}"},
            )
            message.message_id = str(answer.get("id", ""))
        return len(messages)
