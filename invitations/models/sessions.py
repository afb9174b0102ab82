"""Sessions with the upstream provider, the people invited into them, and each delivery attempt."""

import datetime

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from invitations import states
from invitations.choices import (
    Channel,
)
from invitations.errors import ERROR_DETAIL_SEPARATOR
from invitations.models.credentials import PartnerCredential
from invitations.states import DeliveryStatus
from invitations.validators import validate_one_line


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


class SessionKey(models.Model):
    """Every key a session has had at the provider, the current one too: a Glance resend
    starts a new session there, and the earlier keys stay findable (history, search)."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="keys")
    key = models.CharField(max_length=64, db_index=True)
    # When the portal first got this key from the provider.
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "key"], name="unique_session_key")
        ]

    def __str__(self) -> str:
        return self.key


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
    # When the provider last saw the customer join the session, and leave it (its times).
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    # When the portal last asked the provider whether the customer joined (a Glance session
    # lookup); claimed by one conditional UPDATE so that every process together asks at most
    # once per GLANCE_LOOKUP_INTERVAL_SECONDS (services/presence_lookups.py).
    presence_checked_at = models.DateTimeField(null=True, blank=True)
    # The personal session link the portal delivers (OnSync's, or a Digital Samba room link
    # with its signed token, a few hundred characters), kept so a retry delivers it without
    # asking again.
    personal_link = models.URLField(max_length=2000, blank=True)
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
    def last_error_summary(self) -> str:
        """What went wrong and what to do, in the agent's words (last_error's first part)."""
        return self.last_error.partition(ERROR_DETAIL_SEPARATOR)[0]

    @property
    def last_error_detail(self) -> str:
        """The technical detail of last_error, for a disclosure; empty when there is none."""
        return self.last_error.partition(ERROR_DETAIL_SEPARATOR)[2]

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
