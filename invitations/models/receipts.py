"""Delivery receipts the SMS gateway and the e-mail provider post back."""

from django.db import models

from invitations.models.sessions import Invitee


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
