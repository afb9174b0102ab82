"""Message templates administrators write (the text rules are in messaging/templates.py)."""

from django.core.exceptions import ValidationError
from django.db import models

from invitations.choices import (
    Channel,
)
from invitations.messaging.templates import validation_errors
from invitations.models.agents import Team
from invitations.models.credentials import PartnerCredential


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
