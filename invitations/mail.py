"""E-mail through a provider's HTTP API (django-anymail) without following redirects.

anymail's requests backends follow redirects, and a 307 or 308 replays the message, and the
provider's token in its own header (e.g. Postmark's X-Postmark-Server-Token, which requests
does not strip), to wherever the answer points. `NoRedirects` refuses every redirect with the
same error as the other upstream calls, so the invitation fails and names the redirect.

    EMAIL_BACKEND=invitations.mail.PostmarkEmailBackend

For another provider, make the same two-line subclass of its anymail backend.
"""

from __future__ import annotations

from typing import Any

import requests
from anymail.backends.postmark import EmailBackend as AnymailPostmarkBackend

from invitations.providers.http import redirect_error

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
