"""The embedded default's e-mail backend: e-mail the portal sends itself lands in the outbox.

With the sandbox on and e-mail going to the console (or to memory), the settings make this the
EMAIL_BACKEND: each message is kept as an `OutboxMessage` (provider "portal"), where staff
open the customer's link next to the SMS the sandbox's gateway and providers "sent", and then
handed to SANDBOX_EMAIL_FORWARD_BACKEND (the backend EMAIL_URL picked, which prints it).

It is a console backend to whoever asks whether e-mail reaches anyone: nothing leaves the
machine.
"""

from collections.abc import Sequence
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends import console

from sandbox.models import OutboxMessage

PROVIDER = "portal"


class OutboxEmailBackend(console.EmailBackend):
    def __init__(self, *, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.forward = get_connection(
            settings.SANDBOX_EMAIL_FORWARD_BACKEND, fail_silently=fail_silently, **kwargs
        )

    def __deepcopy__(self, memo: dict[int, object]) -> "OutboxEmailBackend":
        # Django's in-memory backend keeps a deep copy of each message, and a message holds
        # the connection that sent it: the copy shares this one (its stream and lock cannot
        # be copied).
        return self

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if not email_messages:
            return 0
        OutboxMessage.objects.bulk_create(
            OutboxMessage(
                provider=PROVIDER,
                channel="email",
                # Plain addresses, as the other providers' rows have them.
                to=", ".join(parseaddr(r)[1] or r for r in message.recipients())[:254],
                body=str(message.body),
                session_key="",
            )
            for message in email_messages
        )
        return int(self.forward.send_messages(email_messages) or 0)
