import sys
import threading

from invitations.channels.sms.base import BaseSmsBackend, SmsMessage
from invitations.models import mask_destination
from invitations.security.redaction import destination_hash


class ConsoleSmsBackend(BaseSmsBackend):
    """Writes each message to standard output instead of sending it (development). The
    console is a log: the number shows masked, with the keyed hash log lines use."""

    _lock = threading.Lock()

    def send_messages(self, messages: list[SmsMessage]) -> int:
        with self._lock:
            for message in messages:
                message.validate()
                recipient = f"{mask_destination(message.to)} (#{destination_hash(message.to)})"
                sys.stdout.write(f"SMS to {recipient}\n{message.body}\n{'-' * 40}\n")
            sys.stdout.flush()
        return len(messages)
