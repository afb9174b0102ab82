"""Messages the portal writes and delivers itself: an OnSync personal link by e-mail or SMS."""

from __future__ import annotations

import smtplib
import socket
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from invitations.errors import InvalidInput
from invitations.models import Channel, Invitee, LinkDelivery, PartnerCredential, Provider
from invitations.sms import SmsMessage, get_sms_backend
from invitations.upstream.base import (
    UpstreamConnectionError,
    UpstreamConnectionLost,
    UpstreamRejected,
)


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str


PREVIEW_LINK = "https://…/personal-link"

# The language most customers with a number from these countries read; others fall back to
# the agent's language. Only languages in CUSTOMER_LANGUAGES are used.
LANGUAGE_BY_REGION = {
    **dict.fromkeys(["DE", "AT", "LI"], "de"),
    **dict.fromkeys(["FR", "MC", "LU"], "fr"),
    **dict.fromkeys(
        ["ES", "MX", "AR", "CO", "CL", "PE", "VE", "EC", "GT", "CU", "BO", "DO", "HN", "PY"],
        "es",
    ),
    **dict.fromkeys(["GB", "US", "CA", "IE", "AU", "NZ"], "en"),
}


def customer_language(*, chosen: str, channel: str, destination: str) -> str:
    """The language to write to the customer in: `chosen` when given (it must be one of
    CUSTOMER_LANGUAGES), else guessed from an SMS number's country, else the active (agent's)
    language, else the first of CUSTOMER_LANGUAGES."""
    available = settings.CUSTOMER_LANGUAGES
    if chosen:
        if chosen not in available:
            raise InvalidInput(
                _("Unknown language '%(language)s'; choose one of %(available)s.")
                % {"language": chosen, "available": ", ".join(available)},
                field="language",
            )
        return chosen
    if channel == Channel.SMS:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(destination, None))
        guessed = LANGUAGE_BY_REGION.get(region or "", "")
        if guessed in available:
            return guessed
    active = (translation.get_language() or "").split("-")[0]
    return active if active in available else available[0]


def render_invitation(*, invitee: Invitee, link: str) -> RenderedMessage:
    return _render(
        channel=invitee.channel,
        name=invitee.name,
        agent=invitee.session.created_by,
        link=link,
        session_key=invitee.session.session_key,
    )


def preview(*, credential: PartnerCredential, agent: User) -> list[tuple[str, str]]:
    """(channel label, what the customer receives) for each channel of `credential`."""
    if credential.provider == Provider.GLANCE:
        return [
            (
                "SMS",
                "Glance writes this SMS; it carries the session link. The text it sent "
                "is shown on the session page.",
            )
        ]
    if credential.link_delivery == LinkDelivery.PROVIDER:
        return [("E-mail", "OnSync e-mails its own invitation with a personal session link.")]
    return [
        (
            str(Channel(channel).label),
            _render(channel=channel, name="", agent=agent, link=PREVIEW_LINK, session_key="").text,
        )
        for channel in credential.channels
    ]


def _render(
    *, channel: str, name: str, agent: User, link: str, session_key: str
) -> RenderedMessage:
    context = {
        "name": name,
        "agent_name": agent.first_name or agent.get_username(),
        "link": link,
        "session_key": session_key,
    }
    if channel == Channel.SMS:
        text = render_to_string("invitations/messages/sms.txt", context).strip()
        return RenderedMessage(subject="", text=text, html="")
    return RenderedMessage(
        subject=render_to_string("invitations/messages/email_subject.txt", context).strip(),
        text=render_to_string("invitations/messages/email.txt", context).strip(),
        html=render_to_string("invitations/messages/email.html", context),
    )


@dataclass(frozen=True)
class DeliveredMessage:
    text: str
    # The SMS gateway's or e-mail provider's id for it, which delivery receipts refer to.
    message_id: str


def deliver_personal_link(*, invitee: Invitee, link: str) -> DeliveredMessage:
    """Send `link` to the invitee on its channel. Raises UpstreamError subclasses so that
    delivery failures follow the same rules as provider failures."""
    message = render_invitation(invitee=invitee, link=link)
    if invitee.channel == Channel.SMS:
        sms = SmsMessage(
            to=invitee.destination,
            body=message.text,
            reference=invitee.reference,
            status_callback=settings.SMS_STATUS_CALLBACK_URL,
        )
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
