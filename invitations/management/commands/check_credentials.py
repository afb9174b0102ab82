from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from invitations import services
from invitations.errors import InvitationError


class Command(BaseCommand):
    help = (
        "Ask each provider whether it accepts the active credentials (or the one named with "
        "--label), without inviting anyone. Prints 'label: OK' or 'label: FAILED <reason>' per "
        "credential; exits non-zero if any failed."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--label", metavar="LABEL", help="check only this credential, even if disabled"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            checked = services.credentials_check(label=options["label"])
        except InvitationError as err:
            raise CommandError(err.message) from err
        if not checked:
            self.stdout.write("No active credentials to check.")
            return
        for credential, result in checked:
            verdict = "OK" if result.ok else f"FAILED {result.message}"
            self.stdout.write(f"{credential.label}: {verdict}")
        failed = sum(1 for _, result in checked if not result.ok)
        if failed:
            raise CommandError(f"{failed} of {len(checked)} credentials failed the check.")
