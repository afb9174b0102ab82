"""Delivery the portal does itself: e-mail (Django and anymail backends) and SMS (sms/)."""
