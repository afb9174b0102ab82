import os
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from invitations import services
from invitations.errors import InvitationError


class Command(BaseCommand):
    help = (
        "Create or update a partner credential. The API key is read from an environment "
        "variable (--api-key-env) or standard input (--api-key-stdin), never from arguments."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("provider", choices=["glance"])
        parser.add_argument("--label", required=True)
        parser.add_argument("--base-url", required=True)
        parser.add_argument("--group-id", required=True, type=int)
        parser.add_argument("--session-type", type=int)
        source = parser.add_mutually_exclusive_group()
        source.add_argument(
            "--api-key-env", metavar="VAR", help="environment variable holding the key"
        )
        source.add_argument("--api-key-stdin", action="store_true", help="read the key from stdin")

    def handle(self, *args: Any, **options: Any) -> None:
        api_key: str | None = None
        if options["api_key_env"]:
            variable = options["api_key_env"]
            api_key = os.environ.get(variable)
            if not api_key:
                raise CommandError(f"Environment variable {variable} is not set or empty.")
        elif options["api_key_stdin"]:
            api_key = sys.stdin.readline().strip()
            if not api_key:
                raise CommandError("No API key on standard input.")
        try:
            credential, created = services.credential_upsert(
                label=options["label"],
                provider=options["provider"],
                base_url=options["base_url"],
                group_id=options["group_id"],
                api_key=api_key,
                session_type=options["session_type"],
            )
        except InvitationError as err:
            raise CommandError(err.message) from err
        verb = "created" if created else "updated"
        self.stdout.write(f"credential {credential.label} {verb} (API key set)")
