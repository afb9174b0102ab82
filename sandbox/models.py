from django.db import models


class OutboxMessage(models.Model):
    """A message the sandbox 'sent' to a customer instead of a real SMS or e-mail."""

    provider = models.CharField(max_length=20)
    channel = models.CharField(max_length=10)
    to = models.CharField(max_length=254)
    body = models.TextField()
    session_key = models.CharField(max_length=64, db_index=True)
    session_type = models.PositiveSmallIntegerField(null=True)
    partner_user_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel} to {self.to}"
