"""System checks: configuration mistakes stop `manage.py` at start-up with a clear message."""

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from invitations import services
from invitations.messaging import send
from invitations.models import Channel
from invitations.security import crypto


@checks.register(checks.Tags.security)
def check_encryption_keys(**kwargs: Any) -> list[checks.CheckMessage]:
    try:
        crypto.configured_fernet()
    except ImproperlyConfigured as err:
        return [checks.Error(str(err), id="invitations.E001")]
    return []


@checks.register()
def check_requeue_stuck_age(**kwargs: Any) -> list[checks.CheckMessage]:
    longest = services.longest_delivery()
    if longest.seconds > settings.REQUEUE_STUCK_AFTER_SECONDS:
        return [
            checks.Error(
                f"REQUEUE_STUCK_AFTER_SECONDS ({settings.REQUEUE_STUCK_AFTER_SECONDS:g} s) is "
                f"shorter than the longest a delivery can take, {longest.seconds:g} s "
                f"({longest.reason}): deliveries under way would be marked interrupted.",
                hint=f"Set REQUEUE_STUCK_AFTER_SECONDS to at least {longest.seconds:g}.",
                id="invitations.E010",
            )
        ]
    return []


@checks.register(checks.Tags.security)
def check_email_backend_refuses_redirects(**kwargs: Any) -> list[checks.CheckMessage]:
    """anymail's own backends follow redirects, replaying the message and the provider's token
    to wherever a redirect points."""
    from anymail.backends.base_requests import AnymailRequestsBackend

    from invitations.channels.email import NoRedirects

    try:
        backend = import_string(settings.EMAIL_BACKEND)
    except ImportError:
        return []  # Django reports a backend that cannot be imported when it is used
    if (
        isinstance(backend, type)
        and issubclass(backend, AnymailRequestsBackend)
        and not issubclass(backend, NoRedirects)
    ):
        return [
            checks.Warning(
                f"EMAIL_BACKEND {settings.EMAIL_BACKEND} follows redirects, which would send "
                "the message and the provider's token wherever a redirect points.",
                hint="Use invitations.channels.email.PostmarkEmailBackend, or for another "
                "provider a subclass of its backend with invitations.channels.email.NoRedirects "
                "first.",
                id="invitations.W010",
            )
        ]
    return []


@checks.register(checks.Tags.security)
def check_portal_delivery(**kwargs: Any) -> list[checks.CheckMessage]:
    """Outside development, a backend that only prints would record messages as sent that
    nobody got; the portal refuses those channels, and this says why."""
    if settings.CONSOLE_DELIVERY_ALLOWED:
        return []
    found: list[checks.CheckMessage] = []
    if send.backend_only_prints(Channel.SMS):
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
    if send.backend_only_prints(Channel.EMAIL):
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
