"""The words of the messages the portal writes: placeholders, built-in defaults per language,
checking and filling them. Pure: it imports no models (messaging/render.py picks the stored
template that applies).

Templates use `{variable}` placeholders (write `{{` and `}}` for literal braces). Nothing else
is evaluated, so a template edited in the admin can only ever insert the values below.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from django.conf import settings
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from invitations.channels.sms.segments import count_segments
from invitations.choices import Channel

TEMPLATE_VARIABLES = {
    "greeting": gettext_lazy('"Hi Ann," with a name, "Hello," without, in the language'),
    "customer_name": gettext_lazy("The customer's name as the agent typed it; may be empty"),
    "agent_name": gettext_lazy(
        'The agent\'s display name, else their first name, else "your support agent" in the '
        "customer's language; never a username"
    ),
    "agent_first_name": gettext_lazy("The same as {agent_name} (the name older templates use)"),
    "company_name": gettext_lazy("The credential's company name, or PORTAL_COMPANY_NAME"),
    "link": gettext_lazy("The link that joins the session (required)"),
    "session_key": gettext_lazy("The session key, for people who join by typing it"),
    "valid_minutes": gettext_lazy("Minutes the invitation stays valid"),
}
REQUIRED_VARIABLES = ("link",)


@dataclass(frozen=True)
class TemplateText:
    """What one template says; `html` empty means "made from `text`"."""

    subject: str
    text: str
    html: str = ""
    # Where it came from, for the preview: a MessageTemplate's name, or "built-in".
    source: str = "built-in"


# Built-in defaults, one per customer language. Each SMS stays one GSM-7 segment with the
# sample values below (a test checks it). The agent introduces themselves as a person would.
GREETINGS = {
    "en": ("Hi {name},", "Hello,"),
    "de": ("Hallo {name},", "Hallo,"),
    "fr": ("Bonjour {name},", "Bonjour,"),
    "es": ("Hola, {name}:", "Hola:"),
}
# {agent_name} for an agent without a display name or first name.
UNNAMED_AGENT = {
    "en": "your support agent",
    "de": "Ihre Ansprechperson",
    "fr": "votre conseiller",
    "es": "su agente de soporte",
}
BUILT_IN: dict[str, dict[str, TemplateText]] = {
    "en": {
        Channel.SMS: TemplateText(
            subject="",
            text="{greeting} this is {agent_name} from {company_name}. Tap to share your "
            "screen with me: {link}",
        ),
        Channel.EMAIL: TemplateText(
            subject="{company_name}: share your screen",
            text="{greeting}\n\nThis is {agent_name} from {company_name}. Open this link to "
            "share your screen with me straight away, no code needed:\n\n{link}\n\nThe link "
            "is personal: please do not forward it. It is valid for {valid_minutes} minutes.",
        ),
    },
    "de": {
        Channel.SMS: TemplateText(
            subject="",
            text="{greeting} hier ist {agent_name} von {company_name}. Bildschirm mit mir "
            "teilen: {link}",
        ),
        Channel.EMAIL: TemplateText(
            subject="{company_name}: Bildschirm teilen",
            text="{greeting}\n\nhier ist {agent_name} von {company_name}. Öffnen Sie diesen "
            "Link, um Ihren Bildschirm direkt mit mir zu teilen, ohne Code:\n\n{link}\n\nDer "
            "Link ist persönlich: Bitte leiten Sie ihn nicht weiter. Er ist {valid_minutes} "
            "Minuten gültig.",
        ),
    },
    "fr": {
        Channel.SMS: TemplateText(
            subject="",
            text="{greeting} ici {agent_name}, de {company_name}. Partagez votre écran avec "
            "moi : {link}",
        ),
        Channel.EMAIL: TemplateText(
            subject="{company_name} : partage d'écran",
            text="{greeting}\n\nIci {agent_name}, de {company_name}. Ouvrez ce lien pour "
            "partager votre écran avec moi directement, sans code :\n\n{link}\n\nCe lien "
            "est personnel : merci de ne pas le transférer. Il est valable {valid_minutes} "
            "minutes.",
        ),
    },
    "es": {
        Channel.SMS: TemplateText(
            subject="",
            text="{greeting} soy {agent_name}, de {company_name}. Comparta su pantalla "
            "conmigo: {link}",
        ),
        Channel.EMAIL: TemplateText(
            subject="{company_name}: compartir pantalla",
            text="{greeting}\n\nSoy {agent_name}, de {company_name}. Abra este enlace para "
            "compartir su pantalla conmigo directamente, sin código:\n\n{link}\n\nEl enlace "
            "es personal: por favor, no lo reenvíe. Es válido durante {valid_minutes} minutos.",
        ),
    },
}


def placeholders(template: str) -> list[str]:
    """The variable names used in `template`; raises ValueError if it cannot be parsed or
    uses anything but a plain `{name}`."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as err:
        raise ValueError(_("A brace is not closed; write {{ and }} for literal braces.")) from err
    names = []
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            # Attribute access, indexing, conversions and format specs are all refused.
            raise ValueError(
                _("'{%(field)s…}' is not a placeholder; write a plain {name}.") % {"field": field}
            )
        names.append(field)
    return names


def template_problems(text: str, *, require_link: bool = True) -> list[str]:
    """What is wrong with one template text, for the admin form: unreadable braces, unknown
    variables, no link."""
    try:
        used = placeholders(text)
    except ValueError as err:
        return [str(err)]
    problems = [
        _("Unknown variable {%(name)s}. Available: %(names)s.")
        % {"name": name, "names": ", ".join(f"{{{known}}}" for known in TEMPLATE_VARIABLES)}
        for name in dict.fromkeys(used)
        if name not in TEMPLATE_VARIABLES
    ]
    if require_link and not set(REQUIRED_VARIABLES) <= set(used):
        problems.append(_("The message must contain {link}: without it nobody can join."))
    return problems


def fill(template: str, values: dict[str, str], *, html: bool = False) -> str:
    """Put `values` into a template that passed `template_problems`; HTML-escape them for an
    HTML template."""
    parts = []
    for literal, field, _spec, _conversion in string.Formatter().parse(template):
        parts.append(literal)
        if field is not None:
            value = values[field]
            parts.append(str(escape(value)) if html else value)
    return "".join(parts)


def greeting(language: str, name: str) -> str:
    with_name, without = GREETINGS.get(language, GREETINGS["en"])
    return with_name.format(name=name) if name else without


def agent_name(language: str, name: str) -> str:
    """How the message names the agent: `name` (their display or first name), else "your
    support agent" in the customer's language."""
    return name or UNNAMED_AGENT.get(language, UNNAMED_AGENT["en"])


# Values of a typical invitation, for checking a template's size and showing it in the admin.
SAMPLE_VALUES = {
    "greeting": "Hi Alexandra,",
    "customer_name": "Alexandra",
    "agent_name": "Christopher",
    "agent_first_name": "Christopher",
    "company_name": "Customer Support",
    "link": "https://sessions.example.com/join/s_8f3a2c1d/p/7d1e4b9a0c2f5e6d",
    "session_key": "123456",
    "valid_minutes": "30",
}


def validation_errors(
    *, channel: str, language: str, subject: str, text: str, html: str
) -> dict[str, list[str]]:
    """Problems per field of a template, in words an administrator can act on."""
    errors: dict[str, list[str]] = {}
    if language not in settings.CUSTOMER_LANGUAGES:
        errors["language"] = [
            _("Choose one of the customer languages: %(languages)s.")
            % {"languages": ", ".join(settings.CUSTOMER_LANGUAGES)}
        ]
    if problems := template_problems(text):
        errors["text"] = problems
    if channel == Channel.SMS:
        if subject:
            errors["subject"] = [_("An SMS has no subject; leave it empty.")]
        if html:
            errors["html"] = [_("An SMS has no HTML part; leave it empty.")]
        if "text" not in errors:
            errors.update(_size_errors(fill(text, SAMPLE_VALUES)))
        return errors
    if not subject.strip():
        errors["subject"] = [_("An e-mail needs a subject.")]
    elif problems := template_problems(subject, require_link=False):
        errors["subject"] = problems
    if html and (problems := template_problems(html)):
        errors["html"] = problems
    return errors


def _size_errors(sample: str) -> dict[str, list[str]]:
    count = count_segments(sample)
    if count.segments <= settings.SMS_MAX_SEGMENTS:
        return {}
    return {
        "text": [
            _(
                "With typical names and link this SMS is %(characters)d characters "
                "(%(encoding)s), %(segments)d parts; at most %(max)d are sent. Shorten it."
            )
            % {
                "characters": count.characters,
                "encoding": count.encoding,
                "segments": count.segments,
                "max": settings.SMS_MAX_SEGMENTS,
            }
        ]
    }
