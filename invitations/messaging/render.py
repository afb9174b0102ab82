"""Writing the portal's messages: which template applies, in which language, filled for one
invitee, and the preview the agent sees."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from invitations.channels.sms.segments import SegmentCount, count_segments
from invitations.errors import InvalidInput
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
    name_for_customers,
)


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
    introduced_as = templates.agent_name(language, name_for_customers(agent))
    values = {
        "greeting": templates.greeting(language, name),
        "customer_name": name,
        "agent_name": introduced_as,
        "agent_first_name": introduced_as,
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
    if credential.provider == Provider.DIGITALSAMBA:
        # A room link with its signed token (team and room ids, the invitee's id and name,
        # role, times): some 350 characters, which decide how many parts an SMS takes.
        return f"https://team.digitalsamba.com/l5zIyafmlEFMPKA?token={'x' * 300}"
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
