import json
import os
import sys
from argparse import ArgumentParser, BooleanOptionalAction
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from invitations import services
from invitations.errors import InvitationError
from invitations.management.commands._shared import teams_named
from invitations.models import AuthHeader, AuthType, LinkDelivery, PartnerCredential, Provider


class Command(BaseCommand):
    help = (
        "Create or update a partner credential. The API key or token is read from an "
        "environment variable (--api-key-env) or standard input (--api-key-stdin), never from "
        "arguments (Glance, every auth type: the partner API key; OnSync: the account's "
        "password; Digital Samba: the developer key). Changing the base URL, group id, account "
        "or team id "
        "of a credential needs its key again. "
        "Options left out keep the stored value (a new credential: the default)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        # Each option's dest is the model field it sets (services.CREDENTIAL_FIELDS), except
        # --new-label: --label names the credential to create or change.
        parser.add_argument("provider", choices=Provider.values)
        parser.add_argument("--label", required=True)
        parser.add_argument(
            "--new-label", metavar="LABEL", help="rename the credential called --label"
        )
        parser.add_argument("--base-url", required=True)
        parser.add_argument("--group-id", type=int, help="Glance group id (Glance only)")
        account = parser.add_mutually_exclusive_group()
        account.add_argument(
            "--account", help="OnSync account login (OnSync only; the key is its password)"
        )
        account.add_argument(
            "--team-id",
            dest="account",
            metavar="TEAM",
            help="Digital Samba team id (Digital Samba only; the key is the developer key)",
        )
        parser.add_argument("--auth-type", choices=AuthType.values)
        parser.add_argument("--auth-header", choices=AuthHeader.values)
        parser.add_argument(
            "--glance-address",
            metavar="ADDRESS",
            help='address form: the Glance address every agent speaks as; "" for each '
            "agent's partner user id",
        )
        parser.add_argument(
            "--unverified-address-form",
            action=BooleanOptionalAction,
            help="allow the Glance address form (glanceaddress~loginkey), whose signing Glance "
            "does not document (default: off)",
        )
        parser.add_argument("--session-type", type=int)
        parser.add_argument("--session-params", metavar="JSON", help='e.g. \'{"camera": "back"}\'')
        parser.add_argument(
            "--link-delivery",
            choices=LinkDelivery.values,
            help="OnSync: who delivers personal links (provider e-mails them, or the portal)",
        )
        parser.add_argument(
            "--allowed-countries",
            metavar="CODES",
            help='SMS only to these countries, e.g. "US,CA,GB" or "US,+881"; "" for any',
        )
        parser.add_argument(
            "--mobile-only",
            action=BooleanOptionalAction,
            help="refuse SMS to numbers known to be landlines (--no-mobile-only: allow them)",
        )
        parser.add_argument(
            "--company-name",
            metavar="NAME",
            help='the name customers see in messages; "" for the PORTAL_COMPANY_NAME setting',
        )
        parser.add_argument(
            "--invitation-validity-minutes",
            type=int,
            metavar="N",
            help="how long an invitation stays valid after it is sent (new credential: 30)",
        )
        parser.add_argument(
            "--teams",
            metavar="NAMES",
            help='only agents of these teams may use it, e.g. "red,blue"; "" for every agent '
            "(default: keep; a new credential is for every agent)",
        )
        active = parser.add_mutually_exclusive_group()
        active.add_argument(
            "--active", dest="is_active", action="store_const", const=True, help="(default)"
        )
        active.add_argument(
            "--inactive",
            dest="is_active",
            action="store_const",
            const=False,
            help="keep it, but agents cannot send with it",
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
        if options["session_params"] is not None:
            try:
                options["session_params"] = json.loads(options["session_params"])
            except ValueError as err:
                raise CommandError(f"--session-params is not valid JSON: {err}") from err
        options["teams"] = teams_named(options["teams"])
        label = options["label"]
        credential = PartnerCredential.objects.filter(label=label).first()
        if options["new_label"] is not None:
            if credential is None:
                raise CommandError(f"No credential labelled '{label}' to rename.")
            options["label"] = options["new_label"]
        values = {
            name: options[name]
            for name in services.CREDENTIAL_FIELDS
            if options.get(name) is not None
        }
        try:
            saved = services.credential_save(
                credential=credential, values=values, secret=api_key, actor=None
            )
        except InvitationError as err:
            raise CommandError(err.message) from err
        verb = "created" if credential is None else "updated"
        self.stdout.write(f"credential {saved.label} {verb} (secret set)")
