"""Delivery-receipt webhooks, called by the SMS gateway and the e-mail provider (no login)."""

from django.urls import path

from invitations.webhooks import email, sms_gateway

urlpatterns = [
    path("sms-gateway/", sms_gateway.sms_gateway, name="webhook-sms-gateway"),
    path("email/<slug:esp>/", email.email, name="webhook-email"),
]
