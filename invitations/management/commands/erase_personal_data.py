from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from invitations.errors import InvitationError
from invitations.services import privacy


class Command(BaseCommand):
    help = (
        "Erase everything kept about one person, found by their phone number (any format) or "
        "e-mail address (any case): names, numbers and addresses, links, message texts, "
        "delivery errors, receipt details and audit details, in every session whatever its "
        "age. Statuses, counts and timestamps stay for statistics. Prints what was erased."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--destination", required=True, metavar="NUMBER_OR_ADDRESS")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = privacy.person_erase(destination=options["destination"])
        except InvitationError as err:
            raise CommandError(err.message) from err
        self.stdout.write("\n".join(report.lines()))
