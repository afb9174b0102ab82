"""Webhooks called by the SMS gateway, the e-mail provider (delivery receipts) and Digital
Samba (who joined), with no login."""

from django.urls import path

from invitations.webhooks import digitalsamba, email, sms_gateway

urlpatterns = [
    path("sms-gateway/", sms_gateway.sms_gateway, name="webhook-sms-gateway"),
    path("email/<slug:esp>/", email.email, name="webhook-email"),
    path(
        "digitalsamba/<slug:label>/",
        digitalsamba.digitalsamba_events,
        name="webhook-digitalsamba",
    ),
]
