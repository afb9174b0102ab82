"""The operator toolbox: credential checks, bulk invitations, purging personal data,
re-encrypting secrets, resending and exporting. Commands and admin actions call these; they
write through services.py wherever a service exists for the change."""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TextIO

from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from invitations import privacy, services, states
from invitations.errors import InvalidInput, InvitationError
from invitations.limits import RateLimited
from invitations.models import (
    PURGED_DESTINATIONS,
    AgentProfile,
    AuditEvent,
    Channel,
    Invitee,
    PartnerCredential,
    Session,
    mask_destination,
)
from invitations.phone import check_sms_destination
from invitations.providers import registry
from invitations.providers.base import UpstreamConfigurationError, UpstreamError
from invitations.security import crypto
from invitations.security.redaction import redact
from invitations.selectors import sending_credential_for

logger = logging.getLogger(__name__)

Action = AuditEvent.Action

# --- Credential checks -----------------------------------------------------------------------

# Sent as the partner user id when no agent uses the credential; Glance still authenticates
# the group's key with it (address-form credentials need a real agent's Glance address).
CHECK_AGENT_ID = "credential-check"


def credential_target(credential: PartnerCredential) -> str:
    """How audit events name a credential (as services.credential_upsert does)."""
    return f"credential {credential.label}"


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str


def credential_check(*, credential: PartnerCredential, actor: User | None) -> CheckResult:
    """Ask the provider whether it accepts `credential`, inviting nobody and sending nothing.

    Speaks for an agent whose default credential this is (so a Glance login key is made for a
    real puid), or for CHECK_AGENT_ID. On success `last_checked_at` is set. Upstream and
    configuration errors become `ok=False` with a message that is safe to show; every check
    is audited (actor None: an operator command).
    """
    agent_id = (
        AgentProfile.objects.filter(default_credential=credential)
        .exclude(partner_user_id="")
        .order_by("pk")
        .values_list("partner_user_id", flat=True)
        .first()
    ) or CHECK_AGENT_ID
    try:
        with registry.client_for(credential) as client:
            client.check(agent_id=agent_id)
    except (
        UpstreamError,
        UpstreamConfigurationError,
        ImproperlyConfigured,
        crypto.SecretUnreadable,
    ) as err:
        result = CheckResult(ok=False, message=redact(str(err)))
    else:
        checked_at = timezone.now()
        # A check is not an edit: updated_at stays as the last change made by a person.
        PartnerCredential.objects.filter(pk=credential.pk).update(last_checked_at=checked_at)
        credential.last_checked_at = checked_at
        result = CheckResult(
            ok=True, message=f"{credential.get_provider_display()} accepted the credential."
        )
    logger.info("credential %s checked: %s", credential.label, "ok" if result.ok else "failed")
    services.audit_record(
        actor=actor,
        action=Action.CREDENTIAL_CHECKED,
        target=credential_target(credential),
        details="ok" if result.ok else result.message,
    )
    return result


def credentials_check(
    *, label: str | None = None, actor: User | None = None
) -> list[tuple[PartnerCredential, CheckResult]]:
    """Check every active credential, or only the one called `label` (active or not, so a
    credential can be checked before it is switched on)."""
    if label:
        credentials = list(PartnerCredential.objects.filter(label=label))
        if not credentials:
            raise InvalidInput(f"No credential labelled '{label}'.")
    else:
        credentials = list(PartnerCredential.objects.filter(is_active=True))
    return [(c, credential_check(credential=c, actor=actor)) for c in credentials]


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
    `services.invitation_create`. A bad row is reported and skipped; the others go on.

    The agent's own rate limit does not apply (an operator runs this); the limits per
    destination and per number range do, and a row over one is refused (outcome REFUSED), to be
    sent by running the same rows again later. With `dry_run` every row is validated (rate
    limits are not consulted) and nothing is written or sent. `on_row` is called
    with each row's result as soon as it is known (progress, a results file). Raises
    InvitationError, before any row, when the agent cannot send with the credential.
    """
    credential = sending_credential_for(agent, credential=credential)
    results = []
    for row in rows:
        result = _bulk_row(agent=agent, credential=credential, row=row, dry_run=dry_run)
        results.append(result)
        if on_row is not None:
            on_row(result)
    report = BulkReport(results=results, dry_run=dry_run)
    if not dry_run:
        services.audit_record(
            actor=actor,
            action=Action.BULK_INVITE,
            target=source,
            details=(
                f"agent {agent.get_username()}, credential {credential.label}: {report.summary}"
            ),
        )
    return report


def _bulk_row(
    *, agent: User, credential: PartnerCredential, row: BulkRow, dry_run: bool
) -> BulkRowResult:
    raw = row.phone or row.email
    try:
        channel, destination = _bulk_destination(row, credential)
    except InvalidInput as err:
        return _invalid(row, raw, err.message)
    masked = mask_destination(destination)
    key = bulk_idempotency_key(
        agent=agent, credential=credential, destination=destination, ticket=row.ticket
    )
    existing = Invitee.objects.select_related("session").filter(idempotency_key=key).first()
    if existing is not None:
        return BulkRowResult(
            line=row.line,
            outcome=BulkOutcome.ALREADY_INVITED,
            destination=masked,
            status=f"already invited ({existing.status})",
            session_key=existing.session.session_key,
        )
    if dry_run:
        return BulkRowResult(
            line=row.line, outcome=BulkOutcome.VALID, destination=masked, status="would be queued"
        )
    try:
        invitee = services.invitation_create(
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
    # Delivery may already have run (in-process) and set the status and the session key.
    invitee = Invitee.objects.select_related("session").get(pk=invitee.pk)
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
    destination = services.normalise_destination(channel, value)
    if channel == Channel.SMS:
        # The rules invitation_create applies, so that a dry run finds these rows too.
        check_sms_destination(
            destination,
            allowed_countries=credential.country_list,
            mobile_only=credential.mobile_only,
        )
    # The checks invitation_create makes, so that a dry run reports these rows too.
    services.clean_name(row.name)
    services.clean_ticket_reference(row.ticket)
    return channel, destination


# --- Personal data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeReport:
    invitees: int
    sessions: int


def personal_data_purge(
    *, older_than_days: int, dry_run: bool = False, actor: User | None = None
) -> PurgeReport:
    """Remove what identifies the people invited in sessions created more than
    `older_than_days` days ago, keeping the rows, statuses, counts and timestamps that
    statistics need. Running it again purges nothing more.

    Cleared: everything `privacy.invitees_blank` clears (names, destinations, links, message
    texts, errors, receipt details, message ids, idempotency keys, of the invitees and of
    their delivery attempts and receipts), the sessions' join URLs and ticket references, and
    the purged people's numbers, addresses and names wherever an audit event mentions them.
    Invitations still being delivered are left for the next run.
    """
    if older_than_days < 1:
        raise InvalidInput("Purge only data older than at least one day.")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    invitees = (
        Invitee.objects.filter(session__created_at__lt=cutoff)
        .exclude(status__in=states.IN_FLIGHT)
        .exclude(destination__in=PURGED_DESTINATIONS.values())
    )
    sessions = (
        Session.objects.filter(created_at__lt=cutoff)
        .exclude(invitees__status__in=states.IN_FLIGHT)
        .exclude(join_url="", ticket_reference="")
    )
    with transaction.atomic():
        report = PurgeReport(invitees=invitees.count(), sessions=sessions.count())
        if dry_run:
            return report
        people = list(invitees.values_list("destination", "name"))
        mentions = privacy.Mentions.of(
            destinations={destination for destination, _name in people},
            names={name for _destination, name in people if name},
        )
        Session.objects.filter(pk__in=sessions.values("pk")).update(
            join_url="", ticket_reference=""
        )
        privacy.invitees_blank(invitees)
        privacy.audit_events_scrub(mentions)
        services.audit_record(
            actor=actor,
            action=Action.PERSONAL_DATA_PURGED,
            target=f"sessions older than {older_than_days} days",
            details=f"{report.invitees} invitees, {report.sessions} sessions",
        )
    logger.info("purged %s invitees and %s sessions", report.invitees, report.sessions)
    return report


# --- Secrets ---------------------------------------------------------------------------------


def credentials_reencrypt(*, actor: User | None = None) -> int:
    """Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS, all or none,
    so that older keys can then be removed. Returns how many secrets were re-encrypted.

    Raises SecretUnreadable naming the credential whose secret no configured key decrypts,
    and ImproperlyConfigured for an unusable key list; nothing is changed then.
    """
    with transaction.atomic():
        credentials = PartnerCredential.objects.select_for_update().exclude(secret_ciphertext="")
        rotated = []
        for credential in credentials.order_by("label"):
            try:
                rotated.append((credential.pk, crypto.rotate(credential.secret_ciphertext)))
            except crypto.SecretUnreadable as err:
                raise crypto.SecretUnreadable(
                    f"The secret of credential '{credential.label}' cannot be decrypted with any "
                    "key in FIELD_ENCRYPTION_KEYS, so nothing was re-encrypted. Put back the key "
                    "it was encrypted with, or enter its secret again."
                ) from err
        for pk, ciphertext in rotated:
            PartnerCredential.objects.filter(pk=pk).update(secret_ciphertext=ciphertext)
        services.audit_record(
            actor=actor,
            action=Action.SECRETS_REENCRYPTED,
            details=f"{len(rotated)} secrets re-encrypted with the first key",
        )
    return len(rotated)


# --- Resending and exports (admin) -----------------------------------------------------------


@dataclass(frozen=True)
class ResendReport:
    queued: int
    refused: int
    # Why, each reason once, in the order first met.
    reasons: list[str]


def invitees_resend(*, invitees: Iterable[Invitee], actor: User | None) -> ResendReport:
    """Queue each finished invitation to be sent again, auditing each one queued. Refused: those
    still being delivered, those over a rate limit, and those whose personal data was purged."""
    queued = refused = 0
    reasons: list[str] = []
    for invitee in invitees:
        try:
            services.invitee_resend(invitee=invitee, actor=actor)
        except InvitationError as err:
            refused += 1
            if err.message not in reasons:
                reasons.append(err.message)
            continue
        queued += 1
    return ResendReport(queued=queued, refused=refused, reasons=reasons)


INVITEE_EXPORT_HEADER = [
    "id",
    "created_at",
    "session_key",
    "provider",
    "credential",
    "agent",
    "channel",
    "destination",
    "status",
    "attempts",
    "sent_at",
]
SESSION_EXPORT_HEADER = [
    "id",
    "created_at",
    "session_key",
    "provider",
    "credential",
    "agent",
    "session_type",
    "ticket_reference",
    "invitees",
    "destinations",
    "statuses",
]
EXPORT_CHUNK = 500


def invitees_export(*, invitees: QuerySet[Invitee]) -> Iterator[list[str]]:
    """CSV rows (header first) describing `invitees`: destinations masked; no names, links,
    message texts or errors (they can hold the destination), and never a secret."""
    yield INVITEE_EXPORT_HEADER
    rows = invitees.select_related("session__credential", "session__created_by").order_by("pk")
    for invitee in rows.iterator(chunk_size=EXPORT_CHUNK):
        session = invitee.session
        yield _cells(
            invitee.pk,
            invitee.created_at,
            session.session_key,
            session.credential.provider,
            session.credential.label,
            session.created_by.get_username(),
            invitee.channel,
            invitee.masked_destination,
            invitee.status,
            invitee.attempts,
            invitee.sent_at,
        )


def sessions_export(*, sessions: QuerySet[Session]) -> Iterator[list[str]]:
    """CSV rows (header first) describing `sessions` and who was invited, masked; the join
    URL is left out because it lets anyone join."""
    yield SESSION_EXPORT_HEADER
    rows = (
        sessions.select_related("credential", "created_by")
        .prefetch_related("invitees")
        .order_by("pk")
    )
    for session in rows.iterator(chunk_size=EXPORT_CHUNK):
        invitees = list(session.invitees.all())
        yield _cells(
            session.pk,
            session.created_at,
            session.session_key,
            session.credential.provider,
            session.credential.label,
            session.created_by.get_username(),
            session.session_type,
            session.ticket_reference,
            len(invitees),
            "; ".join(invitee.masked_destination for invitee in invitees),
            "; ".join(invitee.status for invitee in invitees),
        )


# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cells(*values: object) -> list[str]:
    cells = []
    for value in values:
        if value is None:
            text = ""
        elif isinstance(value, datetime):
            text = value.isoformat()
        else:
            text = str(value)
        cells.append("'" + text if text.startswith(_FORMULA_START) else text)
    return cells
