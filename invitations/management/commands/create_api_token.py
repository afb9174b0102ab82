from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from invitations.errors import InvitationError
from invitations.management.commands._shared import agent_named
from invitations.services import tokens

# Ten years: further than anyone plans, and well inside what a date can hold.
MAX_EXPIRY_DAYS = 3650


class Command(BaseCommand):
    help = (
        "Create a token for the JSON API that acts as USER. The token is printed once, on "
        "stdout, and cannot be shown again (only its digest is stored); revoke it in the admin."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--user", required=True, metavar="USERNAME")
        parser.add_argument("--name", required=True, help="what uses it, e.g. the CRM")
        parser.add_argument(
            "--expires-in-days",
            type=int,
            metavar="DAYS",
            help="the token stops working after this many days (default: until revoked)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = agent_named(options["user"])
        days = options["expires_in_days"]
        if days is not None and not 1 <= days <= MAX_EXPIRY_DAYS:
            raise CommandError(f"--expires-in-days must be from 1 to {MAX_EXPIRY_DAYS}.")
        expires_at = timezone.now() + timedelta(days=days) if days is not None else None
        try:
            # An operator's command (actor=None) may create a token for any user.
            token, raw = tokens.api_token_create(
                user=user, name=options["name"], actor=None, expires_at=expires_at
            )
        except InvitationError as err:
            raise CommandError(err.message) from err
        expiry = (
            f"expires {expires_at.isoformat(timespec='seconds')}"
            if expires_at
            else "valid until revoked"
        )
        self.stderr.write(
            f"API token {token.prefix}… '{token.name}' for {user.get_username()} created "
            f"({expiry}); it is shown only now:"
        )
        self.stdout.write(raw)
