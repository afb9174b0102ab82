"""Credential -> provider client: the class named in settings.UPSTREAM_CLIENTS, built with the
credential's account and the UPSTREAM_* bounds. A client is made for each call and holds no
connection of its own: connections are kept below it, per origin (providers/http.py)."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from invitations.models import PartnerCredential
from invitations.providers.base import ProviderAccount, UpstreamClient


def _config(provider: str) -> dict[str, Any]:
    config = cast(dict[str, Any] | None, settings.UPSTREAM_CLIENTS.get(provider))
    if config is None:
        raise ImproperlyConfigured(f"UPSTREAM_CLIENTS has no entry for provider '{provider}'.")
    return config


def client_class_for(provider: str) -> type[UpstreamClient]:
    """The client class configured for `provider`, to ask what it offers (its class
    attributes) without building a client or reading a secret."""
    client_class: type[UpstreamClient] = import_string(str(_config(provider)["CLASS"]))
    return client_class


def providers_looking_up_visitors() -> list[str]:
    """The providers whose configured client can ask whether a customer joined. A provider
    whose client class cannot be loaded is left out here; sending with it says why."""
    found = []
    for provider in settings.UPSTREAM_CLIENTS:
        try:
            if client_class_for(provider).looks_up_visitors:
                found.append(provider)
        except (ImproperlyConfigured, ImportError):
            continue
    return found


def client_for(
    credential: PartnerCredential, *, total_timeout: float | None = None
) -> UpstreamClient:
    """The upstream client for a credential, as configured in settings.UPSTREAM_CLIENTS.
    `total_timeout`: a shorter bound for each call than UPSTREAM_TOTAL_TIMEOUT (a lookup a
    page waits for)."""
    config = _config(credential.provider)
    client_class = client_class_for(credential.provider)
    account = ProviderAccount(
        label=credential.label,
        base_url=credential.base_url,
        auth_type=credential.auth_type,
        secret=credential.reveal_secret(),
        group_id=credential.group_id,
        account=credential.account,
        auth_header=credential.auth_header,
        session_params=credential.session_params,
        link_delivery=credential.link_delivery,
        glance_address=credential.glance_address,
        unverified_address_form=credential.unverified_address_form,
    )
    try:
        client: UpstreamClient = client_class(
            account=account,
            connect_timeout=settings.UPSTREAM_CONNECT_TIMEOUT,
            read_timeout=settings.UPSTREAM_READ_TIMEOUT,
            total_timeout=min(
                settings.UPSTREAM_TOTAL_TIMEOUT, total_timeout or settings.UPSTREAM_TOTAL_TIMEOUT
            ),
            max_response_bytes=settings.UPSTREAM_MAX_RESPONSE_BYTES,
            **config.get("OPTIONS", {}),
        )
    except TypeError as err:
        raise ImproperlyConfigured(
            f"UPSTREAM_CLIENTS['{credential.provider}']['OPTIONS']: {err}"
        ) from err
    return client
