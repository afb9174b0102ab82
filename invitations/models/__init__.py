"""The app's models, one module per topic. Django finds models through this package, so it
imports every one; `from invitations.models import X` is the way to name any of them."""

from invitations.choices import (
    AUTH_TYPES_BY_PROVIDER,
    AuthHeader,
    AuthType,
    Channel,
    LinkDelivery,
    Provider,
)
from invitations.models.agents import (
    AGENTS_GROUP,
    SUPERVISORS_GROUP,
    AgentProfile,
    ApiToken,
    Team,
    name_for_customers,
)
from invitations.models.audit import AuditEvent
from invitations.models.credentials import (
    SECRET_BOUND_FIELDS,
    PartnerCredential,
    secret_reentry_error,
)
from invitations.models.limits import RateCounter
from invitations.models.receipts import DeliveryReceipt
from invitations.models.sessions import (
    PURGED_DESTINATIONS,
    AttemptOutcome,
    DeliveryAttempt,
    Invitee,
    Session,
    SessionKey,
    mask_destination,
)
from invitations.models.templates import MessageTemplate
from invitations.states import DeliveryStatus

__all__ = [
    "AGENTS_GROUP",
    "AUTH_TYPES_BY_PROVIDER",
    "PURGED_DESTINATIONS",
    "SECRET_BOUND_FIELDS",
    "SUPERVISORS_GROUP",
    "AgentProfile",
    "ApiToken",
    "AttemptOutcome",
    "AuditEvent",
    "AuthHeader",
    "AuthType",
    "Channel",
    "DeliveryAttempt",
    "DeliveryReceipt",
    "DeliveryStatus",
    "Invitee",
    "LinkDelivery",
    "MessageTemplate",
    "PartnerCredential",
    "Provider",
    "RateCounter",
    "Session",
    "SessionKey",
    "Team",
    "mask_destination",
    "name_for_customers",
    "secret_reentry_error",
]
