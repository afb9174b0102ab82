from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from invitations import tokens
from invitations.errors import InvitationError
from invitations.management.commands._shared import agent_named


class Command(BaseCommand):
    help = (
        "Create a token for the JSON API that acts as USER. The token is printed once, on "
        "stdout, and cannot be shown again (only its digest is stored); revoke it in the admin."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--user", required=True, metavar="USERNAME")
        parser.add_argument("--name", required=True, help="what uses it, e.g. the CRM")

    def handle(self, *args: Any, **options: Any) -> None:
        user = agent_named(options["user"])
        try:
            token, raw = tokens.api_token_create(user=user, name=options["name"], actor=None)
        except InvitationError as err:
            raise CommandError(err.message) from err
        self.stderr.write(
            f"API token {token.prefix}… '{token.name}' for {user.get_username()} created; "
            "it is shown only now:"
        )
        self.stdout.write(raw)
