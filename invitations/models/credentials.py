"""Credentials for a provider's API: the account, its secret (encrypted at rest) and who may send
with it."""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from invitations.choices import (
    AUTH_TYPES_BY_PROVIDER,
    AuthHeader,
    AuthType,
    Channel,
    LinkDelivery,
    Provider,
)
from invitations.phone import INTERNATIONAL_NETWORKS, is_sms_place
from invitations.security import crypto

if TYPE_CHECKING:
    from invitations.models.agents import Team


SECRET_BOUND_FIELDS = {"base_url": "base URL", "group_id": "group id", "account": "account"}


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


# Glance documents what the partner-form login key signs, not what the address form's does
# (facts.md §3.4), so the address form is sent only where an administrator has said so.
ADDRESS_FORM_OFF = (
    "The address form (glanceaddress~loginkey) is unverified: Glance does not document what "
    "its login key signs. Tick 'Unverified address form' to use it anyway, or choose another "
    "auth type."
)


class PartnerCredential(models.Model):
    """An account with an upstream provider. The secret is encrypted and never displayed."""

    provider = models.CharField(max_length=20, choices=Provider.choices, default=Provider.GLANCE)
    label = models.SlugField(max_length=64, unique=True, help_text="Short name, e.g. demo-glance.")
    base_url = models.URLField(help_text="e.g. https://www.glance.net")
    group_id = models.PositiveIntegerField(
        null=True, blank=True, help_text="Glance group id (the partner id). Glance only."
    )
    account = models.CharField(
        max_length=100,
        blank=True,
        help_text="OnSync account login (the URL's account segment and the HTTP Basic user "
        "name; the secret is its password). OnSync only.",
    )
    auth_type = models.CharField(max_length=20, choices=AuthType.choices, default=AuthType.GKEY)
    auth_header = models.CharField(
        max_length=20,
        choices=AuthHeader.choices,
        default=AuthHeader.AUTHORIZATION,
        help_text="Header that carries a Glance token.",
    )
    glance_address = models.CharField(
        max_length=150,
        blank=True,
        help_text="Address form only: the Glance address (e.g. joe.glance.net) every agent of "
        "this credential speaks as. Empty: each agent's partner user id is their Glance "
        "address.",
    )
    unverified_address_form = models.BooleanField(
        default=False,
        help_text="Allow the address form (glanceaddress~loginkey). Glance does not document "
        "what its login key signs, so the mode is unverified: it stays off unless an "
        "administrator turns it on here.",
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
        if self.provider == Provider.ONSYNC and not self.account.strip():
            errors["account"] = "OnSync credentials need the account login."
        if self.auth_type == AuthType.GKEY_ADDRESS and not self.unverified_address_form:
            errors["auth_type"] = ADDRESS_FORM_OFF
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
