"""Credential -> provider client: the class named in settings.UPSTREAM_CLIENTS, built with the
credential's account and the UPSTREAM_* bounds, and kept per thread for reuse."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from invitations.models import PartnerCredential
from invitations.providers.base import ProviderAccount, UpstreamClient


@dataclass
class _ReusedClient:
    key: tuple[object, ...]
    client: UpstreamClient
    last_used: float


# Upstream clients kept per thread (a worker process, a web server thread) and per credential,
# so that deliveries reuse the connection, and its TLS session, instead of opening one each.
_reused_clients = threading.local()


@contextlib.contextmanager
def reused_client(credential: PartnerCredential) -> Iterator[UpstreamClient]:
    """`client_for(credential)`, kept for the next call on this thread while it stays unused
    for at most UPSTREAM_CONNECTION_REUSE_SECONDS (0: a new client every time). A changed
    credential or setting gets a new client; a call that raised drops its client."""
    reuse_for = settings.UPSTREAM_CONNECTION_REUSE_SECONDS
    if reuse_for <= 0:
        with client_for(credential) as client:
            yield client
        return
    cache: dict[int, _ReusedClient] = _reused_clients.__dict__.setdefault("clients", {})
    key = (
        credential.updated_at,
        credential.base_url,
        credential.secret_ciphertext,
        repr(settings.UPSTREAM_CLIENTS.get(credential.provider)),
        settings.UPSTREAM_CONNECT_TIMEOUT,
        settings.UPSTREAM_READ_TIMEOUT,
        settings.UPSTREAM_TOTAL_TIMEOUT,
        settings.UPSTREAM_MAX_RESPONSE_BYTES,
    )
    now = time.monotonic()
    entry = cache.pop(credential.pk, None)
    if entry is not None and (entry.key != key or now - entry.last_used > reuse_for):
        entry.client.close()  # stale: the server has likely closed its end by now
        entry = None
    if entry is None:
        entry = _ReusedClient(key=key, client=client_for(credential), last_used=now)
    try:
        yield entry.client
    except BaseException:
        # The connection may be in any state after a failure: the next call starts afresh.
        entry.client.close()
        raise
    entry.last_used = time.monotonic()
    cache[credential.pk] = entry


def close_reused_clients() -> None:
    """Close this thread's kept clients and their connections."""
    cache: dict[int, _ReusedClient] = _reused_clients.__dict__.setdefault("clients", {})
    while cache:
        _pk, entry = cache.popitem()
        entry.client.close()


def client_for(credential: PartnerCredential) -> UpstreamClient:
    """The upstream client for a credential, as configured in settings.UPSTREAM_CLIENTS."""
    config = cast(dict[str, Any] | None, settings.UPSTREAM_CLIENTS.get(credential.provider))
    if config is None:
        raise ImproperlyConfigured(
            f"UPSTREAM_CLIENTS has no entry for provider '{credential.provider}'."
        )
    client_class = import_string(str(config["CLASS"]))
    account = ProviderAccount(
        label=credential.label,
        base_url=credential.base_url,
        auth_type=credential.auth_type,
        secret=credential.reveal_secret(),
        group_id=credential.group_id,
        auth_header=credential.auth_header,
        session_params=credential.session_params,
        link_delivery=credential.link_delivery,
    )
    try:
        client: UpstreamClient = client_class(
            account=account,
            connect_timeout=settings.UPSTREAM_CONNECT_TIMEOUT,
            read_timeout=settings.UPSTREAM_READ_TIMEOUT,
            total_timeout=settings.UPSTREAM_TOTAL_TIMEOUT,
            max_response_bytes=settings.UPSTREAM_MAX_RESPONSE_BYTES,
            **config.get("OPTIONS", {}),
        )
    except TypeError as err:
        raise ImproperlyConfigured(
            f"UPSTREAM_CLIENTS['{credential.provider}']['OPTIONS']: {err}"
        ) from err
    return client
