from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from invitations import services


class Command(BaseCommand):
    help = (
        "Find deliveries that were lost: 'sending' too long (the worker died mid-call) become "
        "'needs attention'; 'queued' too long are queued again. Run it every minute or so."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            metavar="SECONDS",
            help="how long an invitee may stay queued or sending (default "
            "REQUEUE_STUCK_AFTER_SECONDS: 120 without a broker, 600 with one)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        older_than = options["older_than"]
        if older_than is None:
            older_than = settings.REQUEUE_STUCK_AFTER_SECONDS
        # Shorter than a delivery can legitimately take would flag healthy deliveries.
        longest = services.longest_delivery()
        if older_than < longest.seconds:
            raise CommandError(
                f"--older-than must be at least {longest.seconds:g} s, the longest a delivery "
                f"can take ({longest.reason})."
            )
        report = services.invitees_requeue_stuck(older_than=timedelta(seconds=older_than))
        self.stdout.write(
            f"interrupted (now needs attention): {report['interrupted']}\n"
            f"queued again: {report['requeued']}"
        )
