import json
import os
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from invitations import services
from invitations.errors import InvitationError
from invitations.management.commands._shared import teams_named
from invitations.models import AuthHeader, AuthType, LinkDelivery, Provider


class Command(BaseCommand):
    help = (
        "Create or update a partner credential. The API key or token is read from an "
        "environment variable (--api-key-env) or standard input (--api-key-stdin), never from "
        "arguments. Changing the base URL or group id of a credential needs its key again."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("provider", choices=Provider.values)
        parser.add_argument("--label", required=True)
        parser.add_argument("--base-url", required=True)
        parser.add_argument("--group-id", type=int, help="Glance group id (Glance only)")
        parser.add_argument("--auth-type", choices=AuthType.values)
        parser.add_argument("--auth-header", choices=AuthHeader.values)
        parser.add_argument("--session-type", type=int)
        parser.add_argument("--session-params", metavar="JSON", help='e.g. \'{"camera": "back"}\'')
        parser.add_argument(
            "--link-delivery",
            choices=LinkDelivery.values,
            help="OnSync: who delivers personal links (provider e-mails them, or the portal)",
        )
        parser.add_argument(
            "--teams",
            metavar="NAMES",
            help='only agents of these teams may use it, e.g. "red,blue"; "" for every agent '
            "(default: keep; a new credential is for every agent)",
        )
        source = parser.add_mutually_exclusive_group()
        source.add_argument(
            "--api-key-env", metavar="VAR", help="environment variable with the key"
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
        session_params = None
        if options["session_params"]:
            try:
                session_params = json.loads(options["session_params"])
            except ValueError as err:
                raise CommandError(f"--session-params is not valid JSON: {err}") from err
        teams = teams_named(options["teams"])
        try:
            credential, created = services.credential_upsert(
                label=options["label"],
                provider=options["provider"],
                base_url=options["base_url"],
                group_id=options["group_id"],
                api_key=api_key,
                auth_type=options["auth_type"],
                auth_header=options["auth_header"],
                session_type=options["session_type"],
                session_params=session_params,
                link_delivery=options["link_delivery"],
                teams=teams,
            )
        except InvitationError as err:
            raise CommandError(err.message) from err
        verb = "created" if created else "updated"
        self.stdout.write(f"credential {credential.label} {verb} (secret set)")
