import json
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from invitations import services, states
from invitations.api.schemas import session_out
from invitations.errors import InvitationError
from invitations.management.commands._shared import agent_named, credential_named
from invitations.models import Invitee, Session
from invitations.security.links import safe_link


class Command(BaseCommand):
    help = (
        "Invite someone into a new session, as the agent would with one click. Prints what "
        "the session page shows: the session key, the join link, the personal link the "
        "portal delivered and the delivery status (--json: the whole session, as the API "
        "answers it); exits non-zero if anything failed."
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
        parser.add_argument(
            "--json",
            action="store_true",
            help="print the session as GET /api/v1/sessions/<id>/ answers it, also when the "
            "delivery failed",
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
        session = (
            Session.objects.select_related("credential", "created_by")
            .prefetch_related("invitees")
            .get(pk=invitee.session_id)
        )
        if options["json"]:
            # For scripts: the result whatever it was; the exit status still tells failure.
            self.stdout.write(json.dumps(session_out(session).model_dump(mode="json"), indent=2))
        if invitee.status in states.UNSUCCESSFUL:
            raise CommandError(f"{invitee.get_status_display()}: {invitee.last_error}")
        if options["wait"] and invitee.status in states.IN_FLIGHT:
            raise CommandError(
                f"Still {invitee.status} after {options['timeout']:g} s; the delivery goes on "
                f"(invitee {invitee.pk})."
            )
        if not options["json"]:
            self.write_summary(session, invitee)

    def write_summary(self, session: Session, invitee: Invitee) -> None:
        """What the session page shows, one fact a line. Links as the page shows them (none
        that is not safe), and never the agent's own way in (a Glance login key)."""
        base_url = session.credential.base_url
        self.stdout.write(f"session key: {session.session_key or '(not issued yet)'}")
        join_link = safe_link(session.join_url, base_url=base_url)
        if join_link:
            self.stdout.write(f"join link: {join_link}")
        # The link the portal itself delivered (OnSync "portal", Digital Samba); empty where
        # the provider sent its own message.
        personal_link = safe_link(invitee.personal_link, base_url=base_url)
        if personal_link:
            self.stdout.write(f"personal link: {personal_link}")
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
