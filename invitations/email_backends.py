"""E-mail backends of the portal's own. `EMAIL_URL=consolemail://` (the development default)
selects `ConsoleEmailBackend`."""

from email.charset import Charset
from email.message import Message
from email.utils import parseaddr

from django.core.mail import EmailMessage
from django.core.mail.backends import console

from invitations.models import mask_destination
from invitations.redaction import destination_hash

ADDRESS_HEADERS = ("To", "Cc", "Bcc")


def _address(recipient: str) -> str:
    """`ann@example.com` of `Ann Lee <ann@example.com>`."""
    return parseaddr(recipient)[1] or recipient


class ConsoleEmailBackend(console.EmailBackend):
    """Django's console backend, except that no address is printed as written: the console
    is a log. Address headers carry the keyed hash log lines use, and a first line names the
    recipients masked (`a•••@example.com`)."""

    def write_message(self, message: EmailMessage) -> None:
        msg: Message = message.message()
        for header in ADDRESS_HEADERS:
            if header in msg:
                del msg[header]
        if message.to:
            msg["To"] = ", ".join(f"#{destination_hash(_address(a))}" for a in message.to)
        masked = ", ".join(mask_destination(_address(a)) for a in message.recipients())
        charset = msg.get_charset()
        encoding = charset.get_output_charset() if isinstance(charset, Charset) else None
        self.stream.write(f"E-mail to {masked}\n")
        self.stream.write(f"{msg.as_bytes().decode(encoding or 'utf-8')}\n")
        self.stream.write("-" * 79)
        self.stream.write("\n")
