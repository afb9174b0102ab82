"""System checks: configuration mistakes stop `manage.py` at start-up with a clear message."""

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from invitations import crypto, messaging
from invitations.models import Channel


@checks.register(checks.Tags.security)
def check_encryption_keys(**kwargs: Any) -> list[checks.CheckMessage]:
    try:
        crypto.configured_fernet()
    except ImproperlyConfigured as err:
        return [checks.Error(str(err), id="invitations.E001")]
    return []


@checks.register(checks.Tags.security)
def check_portal_delivery(**kwargs: Any) -> list[checks.CheckMessage]:
    """Outside development, a backend that only prints would record messages as sent that
    nobody got; the portal refuses those channels, and this says why."""
    if settings.CONSOLE_DELIVERY_ALLOWED:
        return []
    found: list[checks.CheckMessage] = []
    if messaging.backend_only_prints(Channel.SMS):
        found.append(
            checks.Warning(
                f"SMS_BACKEND ({settings.SMS_BACKEND}) does not deliver SMS, so credentials "
                "with link delivery 'portal' cannot send SMS: agents are told and sending "
                "is refused.",
                hint="Set SMS_GATEWAY_URL and SMS_GATEWAY_TOKEN. If no credential has the "
                "portal send SMS, add invitations.W002 to SILENCED_SYSTEM_CHECKS.",
                id="invitations.W002",
            )
        )
    if messaging.backend_only_prints(Channel.EMAIL):
        found.append(
            checks.Warning(
                f"EMAIL_BACKEND ({settings.EMAIL_BACKEND}) does not deliver e-mail, so "
                "credentials with link delivery 'portal' cannot send e-mail: agents are told "
                "and sending is refused.",
                hint="Set EMAIL_URL (e.g. smtp+tls://user:password@smtp.example.com:587) or "
                "EMAIL_BACKEND. If no credential has the portal send e-mail, add "
                "invitations.W003 to SILENCED_SYSTEM_CHECKS.",
                id="invitations.W003",
            )
        )
    return found
