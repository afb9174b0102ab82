"""Messages the portal writes and delivers itself: an OnSync personal link by e-mail or SMS."""

from __future__ import annotations

import smtplib
import socket
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from django.core.mail.backends import console, dummy, locmem
from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from invitations.channels.sms import SmsMessage, get_sms_backend
from invitations.channels.sms.console import ConsoleSmsBackend
from invitations.channels.sms.locmem import LocmemSmsBackend
from invitations.channels.sms.segments import SegmentCount, count_segments
from invitations.errors import InvalidInput, NotConfigured
from invitations.messaging import templates
from invitations.models import (
    AgentProfile,
    Channel,
    Invitee,
    LinkDelivery,
    MessageTemplate,
    PartnerCredential,
    Provider,
    Team,
)
from invitations.providers.base import (
    UpstreamConnectionError,
    UpstreamConnectionLost,
    UpstreamRejected,
)
from invitations.security import links


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    language: str = "en"
    # The MessageTemplate's name, or "built-in".
    source: str = "built-in"

    @property
    def segments(self) -> SegmentCount:
        return count_segments(self.text)


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
    session = invitee.session
    return render(
        channel=invitee.channel,
        language=invitee.language,
        name=invitee.name,
        agent=session.created_by,
        credential=session.credential,
        link=link,
        session_key=session.session_key,
    )


def render(
    *,
    channel: str,
    language: str,
    name: str,
    agent: User,
    credential: PartnerCredential,
    link: str,
    session_key: str,
) -> RenderedMessage:
    """The message as the customer gets it, from the template that applies."""
    profile: AgentProfile | None = getattr(agent, "agent_profile", None)
    template, language = template_for(
        channel=channel,
        language=language or settings.CUSTOMER_LANGUAGES[0],
        credential=credential,
        team=profile.team if profile else None,
    )
    values = {
        "greeting": templates.greeting(language, name),
        "customer_name": name,
        "agent_first_name": agent.first_name or agent.get_username(),
        "company_name": credential.company_name or settings.PORTAL_COMPANY_NAME,
        "link": link,
        "session_key": session_key,
        "valid_minutes": str(credential.invitation_validity_minutes),
    }
    text = templates.fill(template.text, values).strip()
    if channel == Channel.SMS:
        return RenderedMessage(
            subject="", text=text, html="", language=language, source=template.source
        )
    if template.html:
        html = templates.fill(template.html, values, html=True)
    else:
        html = render_to_string(
            "invitations/messages/email.html",
            {"paragraphs": [p.strip() for p in text.split("\n\n")], "link": link, "lang": language},
        )
    return RenderedMessage(
        subject=templates.fill(template.subject, values).strip(),
        text=text,
        html=html,
        language=language,
        source=template.source,
    )


def sample_link(credential: PartnerCredential) -> str:
    """A link as long as the provider's usual one, for previews before the session exists."""
    base = credential.base_url.rstrip("/")
    if credential.provider == Provider.GLANCE:
        return f"{base}/join/123456/"
    return f"{base}/join/s_8f3a2c1d/p/7d1e4b9a0c2f5e6d"


SAMPLE_SESSION_KEY = "123456"


@dataclass(frozen=True)
class Preview:
    channel: str
    label: str
    # What the customer receives, or None when the provider writes the message itself.
    message: RenderedMessage | None
    note: str = ""


def preview(
    *,
    credential: PartnerCredential,
    agent: User,
    name: str = "",
    language: str = "",
    session_key: str = "",
) -> list[Preview]:
    """What the customer receives on each channel of `credential`, as it would be sent now."""
    if credential.provider == Provider.GLANCE:
        return [
            Preview(
                channel=Channel.SMS,
                label=str(Channel.SMS.label),
                message=None,
                note=_(
                    "Glance writes this SMS itself; it carries the session link. The text it "
                    "sent is shown on the session page."
                ),
            )
        ]
    if credential.link_delivery == LinkDelivery.PROVIDER:
        return [
            Preview(
                channel=Channel.EMAIL,
                label=str(Channel.EMAIL.label),
                message=None,
                note=_("OnSync e-mails its own invitation with a personal session link."),
            )
        ]
    return [
        Preview(
            channel=channel,
            label=str(Channel(channel).label),
            message=render(
                channel=channel,
                language=language,
                name=name,
                agent=agent,
                credential=credential,
                link=sample_link(credential),
                session_key=session_key or SAMPLE_SESSION_KEY,
            ),
        )
        for channel in credential.channels
    ]


def check_sms_size(message: RenderedMessage) -> None:
    """Refuse an SMS longer than SMS_MAX_SEGMENTS parts (carriers drop or garble long ones)."""
    segments = message.segments
    if segments.segments > settings.SMS_MAX_SEGMENTS:
        raise InvalidInput(
            _(
                "The SMS would be %(segments)d parts (%(characters)d characters, "
                "%(encoding)s); at most %(max)d are sent. Shorten the name or the template."
            )
            % {
                "segments": segments.segments,
                "characters": segments.characters,
                "encoding": segments.encoding,
                "max": settings.SMS_MAX_SEGMENTS,
            },
            field="name",
        )


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


def template_for(
    *,
    channel: str,
    language: str,
    credential: PartnerCredential,
    team: Team | None,
) -> tuple[templates.TemplateText, str]:
    """The template for a message and the language it is written in.

    The customer's language comes first: a credential's template beats the team's, which
    beats one for everybody, which beats the built-in one. Without any in that language, the
    same search runs for the fallback language (the first of CUSTOMER_LANGUAGES).
    """
    fallback = settings.CUSTOMER_LANGUAGES[0]
    languages = list(dict.fromkeys([language, fallback]))
    applies = Q(credential=credential) | Q(credential__isnull=True, team__isnull=True)
    if team is not None:
        applies |= Q(credential__isnull=True, team=team)
    stored = list(
        MessageTemplate.objects.filter(applies, is_active=True, channel=channel).filter(
            language__in=languages
        )
    )
    for candidate_language in languages:
        for scope in ("credential", "team", "everybody"):
            for template in stored:
                if template.language != candidate_language:
                    continue
                if _scope_of(template) == scope:
                    return (
                        templates.TemplateText(
                            subject=template.subject,
                            text=template.text,
                            html=template.html,
                            source=template.name,
                        ),
                        candidate_language,
                    )
        if candidate_language in templates.BUILT_IN:
            return templates.BUILT_IN[candidate_language][channel], candidate_language
    return templates.BUILT_IN["en"][channel], "en"


def _scope_of(template: MessageTemplate) -> str:
    if template.credential_id is not None:
        return "credential"
    if template.team_id is not None:
        return "team"
    return "everybody"
