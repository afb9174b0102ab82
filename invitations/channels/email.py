"""E-mail delivery: Django's console backend that prints no address as written, and anymail
backends that refuse redirects.

`EMAIL_URL=consolemail://` (the development default) selects `ConsoleEmailBackend`.

anymail's requests backends follow redirects, and a 307 or 308 replays the message, and the
provider's token in its own header (e.g. Postmark's X-Postmark-Server-Token, which requests
does not strip), to wherever the answer points. `NoRedirects` refuses every redirect with the
same error as the other upstream calls, so the invitation fails and names the redirect.

    EMAIL_BACKEND=invitations.channels.email.PostmarkEmailBackend

For another provider, make the same two-line subclass of its anymail backend.
"""

from __future__ import annotations

from email.charset import Charset
from email.message import Message
from email.utils import parseaddr
from typing import Any

import requests
from anymail.backends.postmark import EmailBackend as AnymailPostmarkBackend
from django.core.mail import EmailMessage
from django.core.mail.backends import console

from invitations.models import mask_destination
from invitations.providers.http import redirect_error
from invitations.security.redaction import destination_hash

ADVICE = "An administrator should check the e-mail provider's API URL (e.g. POSTMARK_API_URL)."


def refuse_redirect(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    """A requests response hook: raise instead of letting the session follow a redirect."""
    if 300 <= response.status_code < 400:
        response.close()
        raise redirect_error(response, name="The e-mail provider", provider="email", advice=ADVICE)
    return response


class NoRedirects:
    """Mix into an anymail requests backend (before it) to refuse redirects."""

    def create_session(self) -> requests.Session:
        session: requests.Session = super().create_session()  # type: ignore[misc]
        # Hooks run before requests looks at the redirect; max_redirects=0 backs them up.
        session.hooks["response"].insert(0, refuse_redirect)
        session.max_redirects = 0
        return session


class PostmarkEmailBackend(NoRedirects, AnymailPostmarkBackend):
    """anymail's Postmark backend, refusing redirects."""


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
