"""System checks: configuration mistakes stop `manage.py` at start-up with a clear message."""

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from invitations import crypto


@checks.register(checks.Tags.security)
def check_encryption_keys(**kwargs: Any) -> list[checks.CheckMessage]:
    try:
        crypto.configured_fernet()
    except ImproperlyConfigured as err:
        return [checks.Error(str(err), id="invitations.E001")]
    return []
