"""The one rule for links a provider hands back (join URLs, personal session links): which of
them may be sent to a customer, put in an API answer or shown as a link.

A provider's answer is not trusted: a `javascript:` or `data:` "link" would run in the agent's
page or the customer's mail client. Only `https://` passes, and `http://` only for a
credential whose own base URL is `http://` (the sandbox, a local test). Links stored before
this rule existed go through it too, wherever they are shown or sent.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from invitations.providers.base import UpstreamUnsafeLink

# Anything at or below space, and DEL: browsers drop or fold these, so "java\tscript:" works.
_CONTROL = {chr(c) for c in range(0x21)} | {"\x7f"}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,19}):")


def safe_link(url: str, *, base_url: str) -> str | None:
    """`url` when it may be used as a link for a credential at `base_url`, else None."""
    if not url or any(c in _CONTROL for c in url) or "\\" in url:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return None
    allowed = {"https", "http"} if _scheme_of(base_url) == "http" else {"https"}
    if parts.scheme.lower() not in allowed or not parts.hostname:
        return None
    return url


def require_safe_link(
    url: str,
    *,
    base_url: str,
    provider: str,
    name: str,
    session_key: str = "",
    provider_sent: bool = False,
) -> str:
    """`url` if `safe_link` passes it; else UpstreamUnsafeLink, whose message names the
    link's scheme only (never the link) and says what reached the customer: nothing from the
    portal, but the provider's own message where it sends one (`provider_sent`)."""
    if safe_link(url, base_url=base_url) is not None:
        return url
    scheme = _SCHEME.match(url)
    what = f"a '{scheme.group(1)}:' link" if scheme else "a link that is not a web address"
    allowed = "https://" if _scheme_of(base_url) != "http" else "https:// or http://"
    if provider_sent:
        reached = (
            f"the portal does not trust this answer. {name} may have sent its own invitation "
            "to the customer already: ask them not to open it."
        )
    else:
        reached = "nothing was sent to the customer."
    raise UpstreamUnsafeLink(
        f"{name} returned {what}, and only {allowed} links are sent to customers; {reached} "
        f"An administrator should check the credential's base URL and the {name} account.",
        provider=provider,
        session_key=session_key,
    )


def _scheme_of(url: str) -> str:
    scheme = _SCHEME.match(url)
    return scheme.group(1).lower() if scheme else ""
