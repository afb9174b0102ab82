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
            default=600.0,
            metavar="SECONDS",
            help="how long an invitee may stay queued or sending (default 600)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        older_than = options["older_than"]
        # Shorter than a delivery can legitimately take would flag healthy deliveries.
        minimum = settings.CELERY_TASK_TIME_LIMIT
        if older_than < minimum:
            raise CommandError(
                f"--older-than must be at least CELERY_TASK_TIME_LIMIT ({minimum} s)."
            )
        report = services.invitees_requeue_stuck(older_than=timedelta(seconds=older_than))
        self.stdout.write(
            f"interrupted (now needs attention): {report['interrupted']}\n"
            f"queued again: {report['requeued']}"
        )
