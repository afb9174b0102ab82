from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from invitations import services
from invitations.security.crypto import SecretUnreadable


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored credential secret with the first key of FIELD_ENCRYPTION_KEYS, "
        "all in one transaction. Put the new key first, run this, then remove the old keys."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = services.credentials_reencrypt()
        except (SecretUnreadable, ImproperlyConfigured) as err:
            raise CommandError(str(err)) from err
        self.stdout.write(f"{count} credential secrets re-encrypted with the first key.")
