"""The portal's SMS delivery, shaped like Django's e-mail backends.

`get_sms_backend()` returns the class named by settings.SMS_BACKEND; callers never see
which gateway is behind it.
"""

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from invitations.channels.sms.base import BaseSmsBackend, SmsMessage

__all__ = ["BaseSmsBackend", "SmsMessage", "get_sms_backend"]


def get_sms_backend(**options: Any) -> BaseSmsBackend:
    backend_class = import_string(settings.SMS_BACKEND)
    backend: BaseSmsBackend = backend_class(**options)
    return backend
