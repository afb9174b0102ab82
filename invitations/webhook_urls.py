"""Delivery-receipt webhooks, called by the SMS gateway and the e-mail provider (no login)."""

from django.urls import path

from invitations import webhooks

urlpatterns = [
    path("sms-gateway/", webhooks.sms_gateway, name="webhook-sms-gateway"),
    path("email/<slug:esp>/", webhooks.email, name="webhook-email"),
]
