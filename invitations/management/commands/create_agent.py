import os
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from invitations import services
from invitations.errors import InvitationError
from invitations.management.commands._shared import credential_named
from invitations.models import Team


class Command(BaseCommand):
    help = (
        "Create or update an agent: a user with a partner user id, the name customers read, a "
        "default credential, a team and a time zone. Options left out keep the stored value."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--puid", required=True, help="the agent's partner user id")
        parser.add_argument(
            "--display-name",
            metavar="NAME",
            help="how customers' messages name the agent ('this is Maria from …'); default: "
            "the first name",
        )
        parser.add_argument("--first-name", metavar="NAME", help="the user's first name")
        parser.add_argument("--credential", metavar="LABEL", help="default credential")
        parser.add_argument("--team", metavar="NAME", help="the agent's team")
        parser.add_argument(
            "--supervisor",
            action="store_true",
            help="add to the Supervisors group: sees the whole team's sessions",
        )
        parser.add_argument(
            "--time-zone", metavar="ZONE", help="IANA name such as Europe/London; dates show in it"
        )
        parser.add_argument(
            "--password-env", metavar="VAR", help="environment variable holding the password"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        credential = credential_named(options["credential"])
        team = None
        if options["team"] is not None:
            team = Team.objects.filter(name=options["team"].strip()).first()
            if team is None:
                raise CommandError(f"No team named {options['team']!r}.")
        password = None
        if options["password_env"]:
            password = os.environ.get(options["password_env"])
            if not password:
                raise CommandError(
                    f"Environment variable {options['password_env']} is not set or empty."
                )
        if not options["puid"].strip():
            raise CommandError("--puid must not be empty.")
        try:
            user, created = services.agent_upsert(
                username=options["username"],
                partner_user_id=options["puid"],
                credential=credential,
                password=password,
                team=team,
                time_zone=options["time_zone"],
                supervisor=options["supervisor"],
                first_name=options["first_name"],
                display_name=options["display_name"],
            )
        except InvitationError as err:
            raise CommandError(err.message) from err
        verb = "created" if created else "updated"
        self.stdout.write(f"agent {user.get_username()} {verb}")
        if not user.has_usable_password():
            self.stdout.write("no password set: the agent cannot log in until one is set")
