"""System checks: configuration mistakes stop `manage.py` at start-up with a clear message."""

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from invitations import crypto, services


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
