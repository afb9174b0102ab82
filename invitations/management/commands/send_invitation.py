import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from invitations import services, states
from invitations.errors import InvitationError
from invitations.management.commands._shared import agent_named, credential_named
from invitations.models import Invitee


class Command(BaseCommand):
    help = (
        "Invite someone into a new session, as the agent would with one click. Prints the "
        "session key and the delivery status; exits non-zero if anything failed."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--agent", required=True, metavar="USERNAME")
        recipient = parser.add_mutually_exclusive_group(required=True)
        recipient.add_argument("--sms", metavar="PHONE")
        recipient.add_argument("--email", metavar="ADDRESS")
        parser.add_argument("--credential", metavar="LABEL")
        parser.add_argument("--name", default="")
        parser.add_argument("--ticket", default="", help="ticket or case reference")
        parser.add_argument(
            "--wait",
            action="store_true",
            help="wait for the final delivery status (with a broker, delivery runs in a worker)",
        )
        parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS")
        parser.add_argument(
            "--idempotency-key",
            metavar="KEY",
            help="re-running with the same key sends nothing new and reports the first result",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        agent = agent_named(options["agent"])
        credential = credential_named(options["credential"])
        try:
            invitee = services.invitation_create(
                agent=agent,
                channel="sms" if options["sms"] else "email",
                destination=options["sms"] or options["email"],
                name=options["name"],
                ticket_reference=options["ticket"],
                credential=credential,
                idempotency_key=options["idempotency_key"],
            )
        except InvitationError as err:
            raise CommandError(err.message) from err
        if options["wait"]:
            invitee = self.wait_for_final_status(invitee, options["timeout"])
        invitee.refresh_from_db()
        invitee.session.refresh_from_db()
        if invitee.status in states.UNSUCCESSFUL:
            raise CommandError(f"{invitee.get_status_display()}: {invitee.last_error}")
        if options["wait"] and invitee.status in states.IN_FLIGHT:
            raise CommandError(
                f"Still {invitee.status} after {options['timeout']:g} s; the delivery goes on "
                f"(invitee {invitee.pk})."
            )
        self.stdout.write(f"session key: {invitee.session.session_key or '(not issued yet)'}")
        self.stdout.write(f"status: {invitee.status}")

    def wait_for_final_status(self, invitee: Invitee, timeout: float) -> Invitee:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            invitee.refresh_from_db()
            # A fast receipt may have settled it (delivered, bounced) before the first look.
            if invitee.status in states.FINAL:
                break
            time.sleep(0.2)
        return invitee
