"""The client's address behind the reverse proxies that `AXES_PROXY_COUNT` (the environment
variable behind the setting AXES_IPWARE_PROXY_COUNT) says stand in front.

Each proxy appends the address it received the request from to X-Forwarded-For (nginx's
`$proxy_add_x_forwarded_for`), so with N proxies the client is the N-th entry from the right;
anything further left was sent by the client and is not believed. django-axes calls this
(`AXES_CLIENT_IP_CALLABLE`) to count failed logins per address.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address: REMOTE_ADDR without proxies, else the entry of
    X-Forwarded-For that the outermost trusted proxy wrote."""
    remote: str | None = request.META.get("REMOTE_ADDR")
    proxies: int = settings.AXES_IPWARE_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [
        entry.strip()
        for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if entry.strip()
    ]
    if len(forwarded) < proxies:
        # Not through every proxy (e.g. a health check on the app's own port).
        return remote
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        # A proxy writes addresses only; anything else is not an address to count by.
        return remote
