"""Messages the portal delivers itself (an OnSync or Digital Samba personal link by e-mail or
SMS), and which channels can deliver at all."""

from __future__ import annotations

import smtplib
import socket
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from django.core.mail.backends import console, dummy, locmem
from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from invitations.channels.sms import SmsMessage, get_sms_backend
from invitations.channels.sms.console import ConsoleSmsBackend
from invitations.channels.sms.locmem import LocmemSmsBackend
from invitations.errors import NotConfigured
from invitations.messaging.render import render_invitation
from invitations.models import (
    Channel,
    Invitee,
    PartnerCredential,
)
from invitations.providers.base import (
    UpstreamConnectionError,
    UpstreamConnectionLost,
    UpstreamRejected,
)
from invitations.security import links

# Backends that print or keep messages instead of delivering them (file-based e-mail is a
# console backend writing to a file).
PRINTING_SMS_BACKENDS = (ConsoleSmsBackend, LocmemSmsBackend)
PRINTING_EMAIL_BACKENDS = (console.EmailBackend, locmem.EmailBackend, dummy.EmailBackend)


def backend_only_prints(channel: str) -> bool:
    """Whether the backend for the portal's own messages on `channel` reaches nobody."""
    if channel == Channel.SMS:
        return issubclass(import_string(settings.SMS_BACKEND), PRINTING_SMS_BACKENDS)
    return issubclass(import_string(settings.EMAIL_BACKEND), PRINTING_EMAIL_BACKENDS)


def undeliverable_channels(credential: PartnerCredential) -> dict[str, str]:
    """The channels of `credential` on which the portal cannot deliver its own messages here,
    each with the reason an agent reads. Empty while CONSOLE_DELIVERY_ALLOWED (development)
    and for credentials whose provider sends the message."""
    if settings.CONSOLE_DELIVERY_ALLOWED or not credential.writes_messages:
        return {}
    reasons = {
        Channel.SMS: _(
            "SMS cannot be sent with this credential: no SMS gateway is set up, so the message "
            "would only be printed to the server's log. An administrator must set "
            "SMS_GATEWAY_URL and SMS_GATEWAY_TOKEN."
        ),
        Channel.EMAIL: _(
            "E-mail cannot be sent with this credential: no mail server is set up, so the "
            "message would only be printed to the server's log. An administrator must set "
            "EMAIL_URL (or EMAIL_BACKEND)."
        ),
    }
    return {
        channel: reasons[Channel(channel)]
        for channel in credential.channels
        if backend_only_prints(channel)
    }


def check_deliverable(*, credential: PartnerCredential, channel: str) -> None:
    """NotConfigured when the portal would only print the message it must deliver."""
    reason = undeliverable_channels(credential).get(channel)
    if reason:
        raise NotConfigured(reason, field="destination")


@dataclass(frozen=True)
class DeliveredMessage:
    text: str
    # The SMS gateway's or e-mail provider's id for it, which delivery receipts refer to.
    message_id: str


class MessageNotWritten(Exception):
    """The portal could not write the message, so it never reached the e-mail or SMS backend:
    certainly nothing was sent. `str()` reads well for an agent."""


def deliver_personal_link(*, invitee: Invitee, link: str) -> DeliveredMessage:
    """Send `link` to the invitee on its channel. Raises MessageNotWritten when the message
    cannot be written (nothing was sent), and UpstreamError subclasses for failures while
    sending, so that those follow the same rules as provider failures. A link that is not safe
    (also one stored before links were checked) is refused and nothing is sent."""
    credential = invitee.session.credential
    links.require_safe_link(
        link,
        base_url=credential.base_url,
        provider=credential.provider,
        name=credential.get_provider_display(),
    )
    try:
        message = render_invitation(invitee=invitee, link=link)
    except Exception as err:
        raise _not_written(invitee, err) from err
    if invitee.channel == Channel.SMS:
        sms = SmsMessage(
            to=invitee.destination,
            body=message.text,
            reference=invitee.reference,
            status_callback=settings.SMS_STATUS_CALLBACK_URL,
        )
        try:
            sms.validate()
        except ValueError as err:
            raise _not_written(invitee, err) from err
        with get_sms_backend() as backend:
            backend.send_messages([sms])
        return DeliveredMessage(text=message.text, message_id=sms.message_id)
    # Our own Message-ID, so that receipts can be matched even when the backend gives none.
    message_id = make_msgid(domain=DNS_NAME)
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitee.destination],
        headers={"Message-ID": message_id},
    )
    email.attach_alternative(message.html, "text/html")
    try:
        # Written here, before any backend sees it: a bad header (BadHeaderError, e.g. a line
        # break in the subject) or address is then known not to have been sent. Backends
        # write it again; this costs a few hundred microseconds.
        email.message()
    except Exception as err:
        raise _not_written(invitee, err) from err
    try:
        email.send()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as err:
        raise UpstreamRejected(
            "The mail server refused the address; nothing was sent. Check the e-mail address.",
            provider="email",
        ) from err
    except (ConnectionRefusedError, socket.gaierror, smtplib.SMTPConnectError) as err:
        raise UpstreamConnectionError(
            "Could not connect to the mail server; nothing was sent. Try again in a minute.",
            provider="email",
        ) from err
    except (smtplib.SMTPException, OSError) as err:
        raise UpstreamConnectionLost(
            f"The mail server failed mid-send ({type(err).__name__}). The e-mail may or may not "
            "have been sent: check with the customer before resending.",
            provider="email",
        ) from err
    # django-anymail backends report the provider's own id, which its webhooks use.
    anymail_status = getattr(email, "anymail_status", None)
    provider_id = getattr(anymail_status, "message_id", None)
    return DeliveredMessage(text=message.text, message_id=str(provider_id or message_id))


def _not_written(invitee: Invitee, err: Exception) -> MessageNotWritten:
    # The error's own text may quote the header or the body, so only its kind is told. Stored
    # in English like the sending errors above.
    if isinstance(err, BadHeaderError):
        reason = (
            "a header such as the subject would contain a line break, from the customer's "
            "name or the message template"
        )
    else:
        reason = type(err).__name__
    channel = "SMS" if invitee.channel == Channel.SMS else "e-mail"
    return MessageNotWritten(
        f"The {channel} could not be written ({reason}); nothing was sent. Check the "
        "customer's name and the message template, then send a new invitation."
    )
