"""Bulk invitations from a CSV file (bulk_invite)."""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TextIO

from django.conf import settings
from django.contrib.auth.models import User

from invitations.errors import InvalidInput, InvitationError
from invitations.models import (
    AuditEvent,
    Channel,
    Invitee,
    PartnerCredential,
    mask_destination,
)
from invitations.phone import check_sms_destination
from invitations.selectors import sending_credential_for
from invitations.services.audit import audit_record
from invitations.services.invitations import (
    clean_name,
    clean_ticket_reference,
    invitation_create,
    normalise_destination,
)
from invitations.services.limits import RateLimited

logger = logging.getLogger(__name__)


# --- Bulk invitations ------------------------------------------------------------------------

BULK_COLUMNS = ("phone", "email", "name", "ticket")


@dataclass(frozen=True)
class BulkRow:
    line: int
    phone: str = ""
    email: str = ""
    name: str = ""
    ticket: str = ""
    # Set when the line itself is malformed (e.g. more fields than the header names).
    problem: str = ""


class BulkOutcome:
    QUEUED = "queued"
    ALREADY_INVITED = "already invited"
    INVALID = "invalid"
    # Valid, but over a rate limit (per destination or number range): try again later.
    REFUSED = "refused"
    VALID = "valid"  # dry run: would be queued


@dataclass(frozen=True)
class BulkRowResult:
    line: int
    outcome: str
    destination: str  # masked
    status: str  # as written to the results file
    session_key: str = ""
    error: str = ""


@dataclass(frozen=True)
class BulkReport:
    results: list[BulkRowResult]
    dry_run: bool

    def count(self, outcome: str) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def invalid(self) -> int:
        return self.count(BulkOutcome.INVALID)

    @property
    def not_accepted(self) -> int:
        return self.invalid + self.count(BulkOutcome.REFUSED)

    @property
    def summary(self) -> str:
        already = self.count(BulkOutcome.ALREADY_INVITED)
        if self.dry_run:
            return (
                f"Dry run: {self.count(BulkOutcome.VALID)} would be queued, {already} already "
                f"invited, {self.invalid} failed validation; nothing was sent."
            )
        summary = (
            f"{self.count(BulkOutcome.QUEUED)} queued, {already} already invited, "
            f"{self.invalid} failed validation"
        )
        refused = self.count(BulkOutcome.REFUSED)
        return f"{summary}, {refused} refused by rate limits" if refused else summary


def bulk_rows_read(*, stream: TextIO) -> list[BulkRow]:
    """The rows of a bulk-invitation CSV. The first line names the columns: `phone` and/or
    `email`, optionally `name` and `ticket`, in any order and case."""
    reader = csv.DictReader(stream)
    try:
        header = reader.fieldnames
    except csv.Error as err:
        raise InvalidInput(f"Line 1 is not valid CSV: {err}.") from err
    if not header:
        raise InvalidInput(
            "The file is empty: its first line must name the columns (phone and/or email, "
            "optionally name and ticket)."
        )
    columns = [column.strip().lower() for column in header]
    unknown = [column for column in columns if column not in BULK_COLUMNS]
    if unknown:
        raise InvalidInput(
            f"Unknown column {', '.join(repr(c) for c in unknown)} in the first line; the "
            f"columns are {', '.join(BULK_COLUMNS)}."
        )
    if len(set(columns)) != len(columns):
        raise InvalidInput("A column is named twice in the first line.")
    if not {"phone", "email"} & set(columns):
        raise InvalidInput("The first line must name a 'phone' or an 'email' column.")
    reader.fieldnames = columns
    rows = []
    try:
        for record in reader:
            values = {k: (v or "").strip() for k, v in record.items() if isinstance(k, str)}
            problem = ""
            if record.get(None):
                problem = f"More fields than the {len(columns)} columns named in the first line."
            rows.append(BulkRow(line=reader.line_num, problem=problem, **values))
    except csv.Error as err:
        raise InvalidInput(f"Line {reader.line_num} is not valid CSV: {err}.") from err
    return rows


def bulk_idempotency_key(
    *, agent: User, credential: PartnerCredential, destination: str, ticket: str
) -> str:
    """The same person invited by the same agent with the same credential for the same ticket
    gets the same key, so running a file again skips the rows it already invited, wherever
    they are in the file."""
    material = "\x1f".join(
        ["bulk_invite", str(agent.pk), credential.label, destination, ticket.strip()]
    )
    return hashlib.sha256(material.encode()).hexdigest()


def invitations_bulk_create(
    *,
    agent: User,
    rows: Sequence[BulkRow],
    credential: PartnerCredential | None = None,
    dry_run: bool = False,
    source: str = "",
    actor: User | None = None,
    on_row: Callable[[BulkRowResult], None] | None = None,
) -> BulkReport:
    """Invite everyone in `rows` as `agent`, one invitation per row through
    `invitation_create`. A bad row is reported and skipped; the others go on.

    The agent's own rate limit does not apply (an operator runs this); the limits per
    destination and per number range do, and a row over one is refused (outcome REFUSED), to be
    sent by running the same rows again later. With `dry_run` every row is validated (rate
    limits are not consulted) and nothing is written or sent. `on_row` is called
    with each row's result as soon as it is known (progress, a results file). Raises
    InvitationError, before any row, when the agent cannot send with the credential.
    """
    credential = sending_credential_for(agent, credential=credential)
    checked = [_bulk_checked(row, credential) for row in rows]
    keys = [
        bulk_idempotency_key(
            agent=agent, credential=credential, destination=destination, ticket=row.ticket
        )
        if destination
        else ""
        for row, (_, destination, _) in zip(rows, checked, strict=True)
    ]
    invited = _already_invited(filter(None, keys))
    results = []
    for row, (channel, destination, problem), key in zip(rows, checked, keys, strict=True):
        if problem:
            result = _invalid(row, row.phone or row.email, problem)
        else:
            result = _bulk_row(
                agent=agent,
                credential=credential,
                row=row,
                channel=channel,
                destination=destination,
                key=key,
                invited=invited,
                dry_run=dry_run,
            )
        results.append(result)
        if on_row is not None:
            on_row(result)
    report = BulkReport(results=results, dry_run=dry_run)
    if not dry_run:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.BULK_INVITE,
            target=source,
            details=(
                f"agent {agent.get_username()}, credential {credential.label}: {report.summary}"
            ),
        )
    return report


@dataclass(frozen=True)
class _Invited:
    """What a results file says of an invitation made before (in an earlier run or row)."""

    status: str
    session_key: str


# Idempotency keys looked up per query: far below every database's limit on parameters.
KEYS_PER_QUERY = 500


def _already_invited(keys: Iterable[str]) -> dict[str, _Invited]:
    """The invitations that exist for any of `keys`, by key: one query per KEYS_PER_QUERY
    rows rather than one per row."""
    wanted = list(dict.fromkeys(keys))
    invited: dict[str, _Invited] = {}
    for start in range(0, len(wanted), KEYS_PER_QUERY):
        found = Invitee.objects.filter(
            idempotency_key__in=wanted[start : start + KEYS_PER_QUERY]
        ).values_list("idempotency_key", "status", "session__session_key")
        for key, status, session_key in found:
            if key:  # always: it matched one of `keys`
                invited[key] = _Invited(status=status, session_key=session_key)
    return invited


def _bulk_checked(row: BulkRow, credential: PartnerCredential) -> tuple[str, str, str]:
    """(channel, normalised destination, "") for a row that can be sent, or ("", "", what is
    wrong with it)."""
    try:
        channel, destination = _bulk_destination(row, credential)
    except InvalidInput as err:
        return "", "", err.message
    return channel, destination, ""


def _bulk_row(
    *,
    agent: User,
    credential: PartnerCredential,
    row: BulkRow,
    channel: str,
    destination: str,
    key: str,
    invited: dict[str, _Invited],
    dry_run: bool,
) -> BulkRowResult:
    """One valid row: already invited (by an earlier run or an earlier row of this file:
    `invited`, updated here), or invited now."""
    raw = row.phone or row.email
    masked = mask_destination(destination)
    existing = invited.get(key)
    if existing is not None:
        return BulkRowResult(
            line=row.line,
            outcome=BulkOutcome.ALREADY_INVITED,
            destination=masked,
            status=f"already invited ({existing.status})",
            session_key=existing.session_key,
        )
    if dry_run:
        return BulkRowResult(
            line=row.line, outcome=BulkOutcome.VALID, destination=masked, status="would be queued"
        )
    try:
        invitee = invitation_create(
            agent=agent,
            destination=destination,
            channel=channel,
            name=row.name,
            ticket_reference=row.ticket,
            credential=credential,
            idempotency_key=key,
            skip_agent_limit=True,
        )
    except RateLimited as err:
        return BulkRowResult(
            line=row.line,
            outcome=BulkOutcome.REFUSED,
            destination=masked,
            status="refused",
            error=err.message,
        )
    except InvitationError as err:
        return _invalid(row, raw, err.message)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # Without a broker the delivery ran in-process, after the commit: its status and
        # session key are in the database. With one it has not run yet (or is running).
        invitee = Invitee.objects.select_related("session").get(pk=invitee.pk)
    invited[key] = _Invited(status=invitee.status, session_key=invitee.session.session_key)
    return BulkRowResult(
        line=row.line,
        outcome=BulkOutcome.QUEUED,
        destination=masked,
        status=invitee.status,
        session_key=invitee.session.session_key,
        error=invitee.last_error,
    )


def _invalid(row: BulkRow, raw: str, message: str) -> BulkRowResult:
    masked = mask_destination(raw) if raw else ""
    return BulkRowResult(
        line=row.line,
        outcome=BulkOutcome.INVALID,
        destination=masked,
        status="invalid",
        # Messages quote what was typed ('...'); results only ever hold destinations masked.
        error=message.replace(f"'{raw}'", f"'{masked}'") if raw else message,
    )


def _bulk_destination(row: BulkRow, credential: PartnerCredential) -> tuple[str, str]:
    """(channel, normalised destination): the phone number when the credential sends SMS,
    else the e-mail address; InvalidInput saying what is wrong with the row."""
    if row.problem:
        raise InvalidInput(row.problem)
    given = [
        (channel, value)
        for channel, value in ((Channel.SMS, row.phone), (Channel.EMAIL, row.email))
        if value
    ]
    if not given:
        raise InvalidInput("No phone number or e-mail address.")
    usable = [(channel, value) for channel, value in given if channel in credential.channels]
    if not usable:
        wanted = " or ".join(str(Channel(channel).label) for channel, _ in given)
        sends = " and ".join(str(Channel(channel).label) for channel in credential.channels)
        raise InvalidInput(
            f"Credential '{credential.label}' cannot send {wanted} invitations; it sends {sends}."
        )
    channel, value = usable[0]
    destination = normalise_destination(channel, value)
    if channel == Channel.SMS:
        # The rules invitation_create applies, so that a dry run finds these rows too.
        check_sms_destination(
            destination,
            allowed_countries=credential.country_list,
            mobile_only=credential.mobile_only,
        )
    # The checks invitation_create makes, so that a dry run reports these rows too.
    clean_name(row.name)
    clean_ticket_reference(row.ticket)
    return channel, destination
