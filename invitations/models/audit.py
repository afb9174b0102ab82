"""The audit log: who changed what, and when."""

from django.conf import settings
from django.db import models


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
        SESSION_JOINED = "session_joined", "Agent joined the session"
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
