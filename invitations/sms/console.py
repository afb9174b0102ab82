import sys
import threading

from invitations.sms.base import BaseSmsBackend, SmsMessage


class ConsoleSmsBackend(BaseSmsBackend):
    """Writes each message to standard output instead of sending it (development)."""

    _lock = threading.Lock()

    def send_messages(self, messages: list[SmsMessage]) -> int:
        with self._lock:
            for message in messages:
                message.validate()
                sys.stdout.write(f"SMS to {message.to}\n{message.body}\n{'-' * 40}\n")
            sys.stdout.flush()
        return len(messages)
