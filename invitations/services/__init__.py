"""Write-side operations, one module per topic. Views, management commands, admin actions, the
API and tasks call them as `services.<name>`; this package re-exports each public one.

privacy, receipts, limits, tokens, mentions and digitalsamba are used as modules of their own
(`from invitations.services import privacy`).
"""

from invitations.services.agent_entry import (
    session_join,
    session_join_offered,
)
from invitations.services.agents import (
    AGENT_PROFILE_FIELDS,
    agent_profile_save,
    agent_upsert,
)
from invitations.services.audit import (
    audit_record,
)
from invitations.services.bulk import (
    BulkOutcome,
    BulkRowResult,
    bulk_rows_read,
    invitations_bulk_create,
)
from invitations.services.credentials import (
    CHECK_AGENT_ID,
    CREDENTIAL_FIELDS,
    CheckResult,
    credential_check,
    credential_save,
    credential_secret_error,
    credential_upsert,
    credentials_check,
    credentials_reencrypt,
)
from invitations.services.delivery import (
    invitee_deliver,
    invitees_requeue_stuck,
    longest_delivery,
)
from invitations.services.exports import (
    invitees_export,
    sessions_export,
)
from invitations.services.invitations import (
    clean_name,
    clean_ticket_reference,
    invitation_create,
    invitee_resend,
    invitees_resend,
    normalise_destination,
    session_end,
)
from invitations.services.presence import (
    invitee_record_presence,
)
from invitations.services.presence_lookups import (
    invitee_presence_poll,
    presence_refresh,
    presence_watch,
)
from invitations.services.privacy import (
    personal_data_purge,
)

__all__ = [
    "AGENT_PROFILE_FIELDS",
    "CHECK_AGENT_ID",
    "CREDENTIAL_FIELDS",
    "BulkOutcome",
    "BulkRowResult",
    "CheckResult",
    "agent_profile_save",
    "agent_upsert",
    "audit_record",
    "bulk_rows_read",
    "clean_name",
    "clean_ticket_reference",
    "credential_check",
    "credential_save",
    "credential_secret_error",
    "credential_upsert",
    "credentials_check",
    "credentials_reencrypt",
    "invitation_create",
    "invitations_bulk_create",
    "invitee_deliver",
    "invitee_presence_poll",
    "invitee_record_presence",
    "invitee_resend",
    "invitees_export",
    "invitees_requeue_stuck",
    "invitees_resend",
    "longest_delivery",
    "normalise_destination",
    "personal_data_purge",
    "presence_refresh",
    "presence_watch",
    "session_end",
    "session_join",
    "session_join_offered",
    "sessions_export",
]
