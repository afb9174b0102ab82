"""Sessions with the upstream provider, the people invited into them, and how delivery went."""

import datetime
import zoneinfo
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from invitations import states
from invitations.choices import (
    AUTH_TYPES_BY_PROVIDER,
    AuthHeader,
    AuthType,
    Channel,
    LinkDelivery,
    Provider,
)
from invitations.messaging.templates import validation_errors
from invitations.phone import INTERNATIONAL_NETWORKS, is_sms_place
from invitations.security import crypto
from invitations.states import DeliveryStatus
from invitations.validators import validate_one_line

SECRET_BOUND_FIELDS = {"base_url": "base URL", "group_id": "group id"}


def secret_reentry_error(changed_fields: Iterable[str]) -> str:
    """Why a save that changes `changed_fields` without a new secret is refused; "" when it
    changes none of SECRET_BOUND_FIELDS."""
    changed = set(changed_fields)
    names = [name for field, name in SECRET_BOUND_FIELDS.items() if field in changed]
    if not names:
        return ""
    return (
        f"Enter the secret again to change the {' and '.join(names)}: a stored API key or "
        "token is only ever sent to the address and account it was entered for."
    )


class PartnerCredential(models.Model):
    """An account with an upstream provider. The secret is encrypted and never displayed."""

    provider = models.CharField(max_length=20, choices=Provider.choices, default=Provider.GLANCE)
    label = models.SlugField(max_length=64, unique=True, help_text="Short name, e.g. demo-glance.")
    base_url = models.URLField(help_text="e.g. https://www.glance.net")
    group_id = models.PositiveIntegerField(
        null=True, blank=True, help_text="Glance group id (the partner id). Glance only."
    )
    auth_type = models.CharField(max_length=20, choices=AuthType.choices, default=AuthType.GKEY)
    auth_header = models.CharField(
        max_length=20,
        choices=AuthHeader.choices,
        default=AuthHeader.AUTHORIZATION,
        help_text="Header that carries a Glance token.",
    )
    secret_ciphertext = models.TextField(blank=True, editable=False)
    session_type = models.PositiveSmallIntegerField(
        default=1, help_text="Session type sent with each invitation unless the agent picks one."
    )
    session_params = models.JSONField(
        default=dict,
        blank=True,
        help_text='Glance sessionParams sent with each invitation, e.g. {"camera": "back"}.',
    )
    link_delivery = models.CharField(
        max_length=20,
        choices=LinkDelivery.choices,
        default=LinkDelivery.PORTAL,
        help_text="OnSync only.",
    )
    allowed_countries = models.CharField(
        max_length=200,
        blank=True,
        help_text="SMS only to these countries: ISO codes separated by commas, e.g. US,CA,GB. "
        "Empty: any country. Satellite and international networks (+870, +881, +882, +883 and "
        "the like) get SMS only when named here by their code, e.g. US,+881.",
    )
    mobile_only = models.BooleanField(
        default=False,
        help_text="Refuse SMS to numbers known to be landlines (some carriers read SMS to "
        "landlines aloud; most drop them).",
    )
    company_name = models.CharField(
        max_length=100,
        blank=True,
        help_text="The name customers see in messages ({company_name}). Empty: the "
        "PORTAL_COMPANY_NAME setting.",
    )
    invitation_validity_minutes = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(7 * 24 * 60)],
        help_text="How long an invitation stays valid after it is sent. After that the agent "
        "sees it as expired and Resend sends a fresh one.",
    )
    # Without teams the credential is open to every agent; the rule is
    # selectors.credentials_open_to_team.
    teams: "models.ManyToManyField[Team, Any]" = models.ManyToManyField(
        "Team",
        blank=True,
        related_name="credentials",
        help_text="Only agents of these teams may send with it (and have it as their default). "
        "None: every agent.",
    )
    is_active = models.BooleanField(default=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        errors: dict[str, str] = {}
        allowed = AUTH_TYPES_BY_PROVIDER.get(Provider(self.provider), set())
        if self.auth_type not in allowed:
            names = ", ".join(sorted(AuthType(a).label for a in allowed))
            errors["auth_type"] = f"{self.get_provider_display()} takes: {names}."
        if self.provider == Provider.GLANCE and self.group_id is None:
            errors["group_id"] = "Glance credentials need the group id."
        if self.auth_header == AuthHeader.X_GSSNID and self.auth_type != AuthType.GSSNID:
            errors["auth_header"] = "The X-GSSNID header only carries GSSNID tokens."
        if not isinstance(self.session_params, dict):
            errors["session_params"] = "sessionParams must be a JSON object."
        bad = [c for c in self.country_list if not is_sms_place(c)]
        if bad:
            errors["allowed_countries"] = (
                f"Not ISO country codes or international network codes: {', '.join(bad)}. "
                f"International networks are {', '.join(INTERNATIONAL_NETWORKS)}."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def channels(self) -> list[str]:
        """The channels agents may use with this credential, in the order buttons appear."""
        if self.provider == Provider.GLANCE:
            return [Channel.SMS]
        if self.link_delivery == LinkDelivery.PROVIDER:
            return [Channel.EMAIL]
        return [Channel.SMS, Channel.EMAIL]

    @property
    def country_list(self) -> list[str]:
        return [c.strip().upper() for c in self.allowed_countries.split(",") if c.strip()]

    @property
    def writes_messages(self) -> bool:
        """The portal writes and sends the message (OnSync personal links it delivers)."""
        return self.provider == Provider.ONSYNC and self.link_delivery == LinkDelivery.PORTAL

    @property
    def can_add_to_session(self) -> bool:
        """Glance's smsInvite starts a new session per message; OnSync can add invitees."""
        return self.provider == Provider.ONSYNC

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_ciphertext)

    def set_secret(self, plaintext: str) -> None:
        self.secret_ciphertext = crypto.encrypt(plaintext) if plaintext else ""

    def reveal_secret(self) -> str:
        """The clear-text secret, for building a request; never store, log or render it."""
        return crypto.decrypt(self.secret_ciphertext) if self.secret_ciphertext else ""


SUPERVISORS_GROUP = "Supervisors"
AGENTS_GROUP = "Agents"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    partner_user_id = models.CharField(
        "partner user id",
        max_length=128,
        blank=True,
        help_text=(
            "Identifies the agent at Glance: the puid, or the Glance address for credentials "
            "using glanceaddress~loginkey."
        ),
    )
    default_credential = models.ForeignKey(
        PartnerCredential, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text="IANA name such as Europe/London; dates are shown in it. Empty: TIME_ZONE.",
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        help_text=f"Members of the '{SUPERVISORS_GROUP}' group see their whole team's sessions.",
    )

    def __str__(self) -> str:
        return self.user.get_username()

    def clean(self) -> None:
        from invitations.selectors import credentials_open_to_team

        errors: dict[str, str] = {}
        if self.time_zone:
            try:
                zoneinfo.ZoneInfo(self.time_zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                errors["time_zone"] = f"Unknown time zone '{self.time_zone}'."
        credential_id = self.default_credential_id
        if (
            credential_id is not None
            and not credentials_open_to_team(self.team_id).filter(pk=credential_id).exists()
        ):
            errors["default_credential"] = _credential_closed_to_team(
                str(self.default_credential), self.team
            )
        if errors:
            raise ValidationError(errors)


def _credential_closed_to_team(credential: str, team: Team | None) -> str:
    if team is None:
        return (
            f"Credential '{credential}' is only for the teams assigned to it, and this agent has "
            "no team: choose a credential without teams, or put the agent on one of its teams."
        )
    return (
        f"Credential '{credential}' is not for team {team}: choose a credential without teams "
        "or with this team, or add the team to the credential."
    )


class Session(models.Model):
    """A session at the provider that one or more people are invited into."""

    credential = models.ForeignKey(PartnerCredential, on_delete=models.PROTECT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    session_type = models.PositiveSmallIntegerField()
    # Known once the provider answered; Glance issues the key with the first invitation.
    session_key = models.CharField(max_length=64, blank=True, db_index=True)
    join_url = models.URLField(max_length=500, blank=True)
    ticket_reference = models.CharField(max_length=100, blank=True, validators=[validate_one_line])
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set by End session: nobody more can be invited or resent into it.
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.session_key or f"session #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("invitations:session-detail", args=[self.pk])


class Invitee(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="invitees")
    name = models.CharField(max_length=100, blank=True, validators=[validate_one_line])
    channel = models.CharField(max_length=10, choices=Channel.choices)
    destination = models.CharField(max_length=254, help_text="E.164 phone number or e-mail.")
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # The customer's language for the message (a code from CUSTOMER_LANGUAGES).
    language = models.CharField(max_length=10, blank=True)
    # The text the customer received: the provider's own (Glance invitationText) or ours.
    message_text = models.TextField(blank=True)
    # The newest message's id at the SMS gateway or e-mail provider; receipts refer to it.
    provider_message_id = models.CharField(max_length=200, blank=True, db_index=True)
    # When the newest delivery receipt that changed the status happened (at the sender).
    receipt_at = models.DateTimeField(null=True, blank=True)
    # OnSync personal session link, kept so a retry delivers it without asking again.
    personal_link = models.URLField(max_length=500, blank=True)
    # One form submission or command run creates at most one invitee.
    idempotency_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    # Indexed: the dashboard selects invitees by creation time.
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # sent_at plus the credential's validity window; restarted by each resend.
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.masked_destination}"

    def is_expired(self, now: datetime.datetime | None = None) -> bool:
        """Sent or delivered, and its validity window is over."""
        if not self.is_successful or self.expires_at is None:
            return False
        return self.expires_at <= (now or timezone.now())

    @property
    def reference(self) -> str:
        """Our id for the invitee, sent to providers that echo it back."""
        return f"inv-{self.pk}"

    @property
    def masked_destination(self) -> str:
        return mask_destination(self.destination)

    @property
    def is_purged(self) -> bool:
        return self.destination in PURGED_DESTINATIONS.values()

    @property
    def is_successful(self) -> bool:
        """Handed to the sender and not reported lost (its link is valid until expires_at)."""
        return self.status in states.SUCCESSFUL

    @property
    def can_resend(self) -> bool:
        """Whether Resend is offered (page, API) and accepted (`services.invitee_resend`)."""
        return states.can_resend(
            status=self.status,
            purged=self.is_purged,
            session_ended=self.session.ended_at is not None,
        )


# Destinations after `purge_personal_data`; one per channel so that the channel still reads right.
PURGED_DESTINATIONS = {Channel.SMS: "purged", Channel.EMAIL: "purged@purged.invalid"}


def mask_destination(destination: str) -> str:
    """`+14155550134` -> `••• ••• 0134`; `ann.lee@example.com` -> `a•••@example.com`."""
    if destination in PURGED_DESTINATIONS.values():
        return "(purged)"
    if "@" in destination:
        local, _, domain = destination.partition("@")
        return f"{local[:1]}•••@{domain}"
    return f"••• ••• {destination[-4:]}"


class AttemptOutcome(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    AMBIGUOUS = "ambiguous", "Outcome unknown"
    # Certainly not sent; another attempt is scheduled.
    RETRY = "retry", "Failed, retrying"


class DeliveryAttempt(models.Model):
    """One call to the provider for one invitee; errors are stored redacted."""

    invitee = models.ForeignKey(Invitee, on_delete=models.CASCADE, related_name="attempts_log")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=20, choices=AttemptOutcome.choices, default=AttemptOutcome.IN_PROGRESS
    )
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # The message's id at the SMS gateway or e-mail provider, when it gave one.
    provider_message_id = models.CharField(max_length=200, blank=True, db_index=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"attempt #{self.pk} for invitee #{self.invitee_id}"


class AuditEvent(models.Model):
    """Who changed what, for credentials and operator actions. Never holds a secret."""

    class Action(models.TextChoices):
        CREDENTIAL_CREATED = "credential_created", "Credential created"
        CREDENTIAL_CHANGED = "credential_changed", "Credential changed"
        SECRET_CHANGED = "secret_changed", "Credential secret changed"
        SECRETS_REENCRYPTED = "secrets_reencrypted", "Secrets re-encrypted under the newest key"
        CREDENTIAL_CHECKED = "credential_checked", "Credential checked"
        INVITEE_RESENT = "invitee_resent", "Invitation resent"
        PERSONAL_DATA_PURGED = "personal_data_purged", "Personal data purged"
        PERSONAL_DATA_ERASED = "personal_data_erased", "One person's data erased"
        BULK_INVITE = "bulk_invite", "Bulk invitation run"
        SESSION_ENDED = "session_ended", "Session ended"
        TEMPLATE_CHANGED = "template_changed", "Message template changed"
        API_TOKEN_CREATED = "api_token_created", "API token created"
        API_TOKEN_REVOKED = "api_token_revoked", "API token revoked"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Kept as text so the record survives the user, and says "command" for operator runs.
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=40, choices=Action.choices)
    target = models.CharField(max_length=200, blank=True)
    details = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.get_action_display().lower()} {self.target}"


class MessageTemplate(models.Model):
    """The text of messages the portal writes itself, per channel and customer language.

    Scope: a credential's template wins over its agent's team's, which wins over one for
    everybody (neither set); without any, the built-in default for the language is used.
    Placeholders are `{name}` from messaging.TEMPLATE_VARIABLES; `{link}` is required.
    """

    name = models.CharField(max_length=100)
    credential = models.ForeignKey(
        PartnerCredential, null=True, blank=True, on_delete=models.CASCADE
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    language = models.CharField(max_length=10)
    subject = models.CharField(max_length=200, blank=True, help_text="E-mail only.")
    text = models.TextField(help_text="The SMS, or the e-mail's plain-text part.")
    html = models.TextField(
        "HTML",
        blank=True,
        help_text="E-mail only: the HTML part. Empty: made from the text. Values put into it "
        "are HTML-escaped.",
    )
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel", "language", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, list[str]] = validation_errors(
            channel=self.channel,
            language=self.language,
            subject=self.subject,
            text=self.text,
            html=self.html,
        )
        if self.credential_id is not None and self.team_id is not None:
            errors.setdefault("team", []).append(
                "Choose a team or a credential, not both (a credential's template applies to "
                "every team that sends with it)."
            )
        clash = MessageTemplate.objects.filter(
            is_active=True,
            channel=self.channel,
            language=self.language,
            credential=self.credential,
            team=self.team,
        ).exclude(pk=self.pk)
        if self.is_active and clash.exists():
            errors.setdefault("language", []).append(
                f"'{clash.first()}' is already the active template for this channel, language "
                "and scope. Edit it, or make it inactive first."
            )
        if errors:
            raise ValidationError(errors)


class DeliveryReceipt(models.Model):
    """One status callback from the SMS gateway or the e-mail provider, kept as received.

    Unique per (source, event id), so a repeated callback is recognised and changes nothing.
    """

    class Source(models.TextChoices):
        SMS_GATEWAY = "sms_gateway", "SMS gateway"
        EMAIL = "email", "E-mail provider"

    source = models.CharField(max_length=20, choices=Source.choices)
    event_id = models.CharField(max_length=200)
    message_id = models.CharField(max_length=200, db_index=True)
    status = models.CharField(max_length=20)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    invitee = models.ForeignKey(
        Invitee, null=True, blank=True, on_delete=models.CASCADE, related_name="receipts"
    )
    # False when it was older than the receipt already applied, or for an earlier message.
    applied = models.BooleanField(default=False)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="receipt_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.status} for {self.message_id}"


class ApiToken(models.Model):
    """A user's token for the JSON API. Only a SHA-256 digest is stored; the token itself is
    shown once, when it is created."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What uses it, e.g. the CRM.")
    # The first characters of the token, so people can tell their tokens apart.
    prefix = models.CharField(max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Optional: the token stops working at this time."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class RateCounter(models.Model):
    """How many invitations one anti-abuse limit has counted in one fixed window
    (invitations/limits.py). Rows are deleted once their window is over."""

    # A keyed hash of what is counted (agent, destination, number prefix) and the window.
    key = models.CharField(max_length=100, primary_key=True)
    count = models.PositiveIntegerField()
    # End of the window, in seconds since the epoch (the same clock the window number uses).
    window_ends = models.PositiveBigIntegerField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
