from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from invitations import services
from invitations.errors import InvitationError


class Command(BaseCommand):
    help = (
        "Remove names, phone numbers, e-mail addresses, links, message texts, delivery errors, "
        "receipt details, message ids and ticket references from sessions created more than "
        "DAYS days ago, and those people's numbers, addresses and names from the audit log. "
        "Rows, statuses, attempt counts and timestamps stay for statistics; running it again "
        "purges nothing more."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")
        parser.add_argument(
            "--dry-run", action="store_true", help="only count what would be purged"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = services.personal_data_purge(
                older_than_days=options["older_than"], dry_run=options["dry_run"]
            )
        except InvitationError as err:
            raise CommandError(err.message) from err
        if options["dry_run"]:
            self.stdout.write(
                f"Dry run: {report.invitees} invitees would be purged, and the join links and "
                f"ticket references of {report.sessions} sessions; nothing was changed."
            )
            return
        self.stdout.write(
            f"{report.invitees} invitees purged; join links and ticket references of "
            f"{report.sessions} sessions cleared."
        )
