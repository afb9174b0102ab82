"""Message templates: validation on save, which template applies, languages, SMS size, and
the preview on the agent page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse

from invitations import services
from invitations.channels.sms import locmem as sms_outbox
from invitations.channels.sms.segments import count_segments
from invitations.errors import InvalidInput
from invitations.messaging import render as message_render
from invitations.messaging import templates
from invitations.models import (
    AuditEvent,
    Channel,
    Invitee,
    MessageTemplate,
    Team,
)

LINK = "https://sessions.example.com/join/s_1/p/abc"


@pytest.fixture
def pat(make_agent, portal_credential) -> User:
    user = make_agent(username="pat", credential=portal_credential)
    user.first_name = "Pat"
    user.save()
    return user


def template(**fields) -> MessageTemplate:
    values = {"name": "t", "channel": Channel.SMS, "language": "en", "text": "Join: {link}"}
    values.update(fields)
    made = MessageTemplate(**values)
    made.full_clean()
    made.save()
    return made


def errors_of(**fields) -> dict[str, list[str]]:
    from django.core.exceptions import ValidationError

    values = {"name": "t", "channel": Channel.SMS, "language": "en", "text": "Join: {link}"}
    values.update(fields)
    try:
        MessageTemplate(**values).full_clean()
    except ValidationError as err:
        return err.message_dict
    return {}


# --- validation --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi {nmae}, join: {link}", "Unknown variable {nmae}"),
        ("Hi {customer_name}, call us", "must contain {link}"),
        ("{link.__class__}", "is not a placeholder"),
        ("{link!r}", "is not a placeholder"),
        ("{link:>90}", "is not a placeholder"),
        ("{0} {link}", "is not a placeholder"),
        ("Join {link", "A brace is not closed"),
        ("Join } {link}", "A brace is not closed"),
    ],
)
def test_bad_templates_are_refused_with_a_clear_message(text, expected):
    problems = errors_of(text=text)
    assert expected in " ".join(problems["text"])


@pytest.mark.parametrize("language", sorted(templates.BUILT_IN))
def test_each_built_in_sms_is_one_segment_and_each_text_is_valid(language):
    built_in = templates.BUILT_IN[language]
    values = {
        **templates.SAMPLE_VALUES,
        "greeting": templates.greeting(language, "Alexandra"),
    }
    sms = count_segments(templates.fill(built_in[Channel.SMS].text, values))
    assert (sms.encoding, sms.segments) == ("GSM-7", 1)
    # An agent without a name is "your support agent", in the customer's language.
    unnamed = {
        **values,
        "greeting": templates.greeting(language, "Ann"),
        "agent_name": templates.agent_name(language, ""),
    }
    sms = count_segments(templates.fill(built_in[Channel.SMS].text, unnamed))
    assert (sms.encoding, sms.segments) == ("GSM-7", 1)
    for template in built_in.values():
        assert templates.template_problems(template.text) == []
        assert templates.template_problems(template.subject, require_link=False) == []


@pytest.mark.django_db
def test_literal_braces_are_written_doubled():
    made = template(text="{{VIP}} {link}")
    assert templates.fill(made.text, templates.SAMPLE_VALUES).startswith("{VIP}")


@pytest.mark.django_db
def test_sms_longer_than_the_limit_is_refused(settings):
    settings.SMS_MAX_SEGMENTS = 1
    problems = errors_of(text="x" * 100 + " {link}")
    assert "2 parts; at most 1 are sent" in problems["text"][0]
    assert errors_of(text="x" * 60 + " {link}") == {}


@pytest.mark.django_db
def test_channel_specific_fields_are_checked():
    assert "no subject" in errors_of(subject="Hello")["subject"][0]
    assert "needs a subject" in errors_of(channel=Channel.EMAIL)["subject"][0]
    assert (
        "Unknown variable {x}"
        in errors_of(channel=Channel.EMAIL, subject="Hi {x}", text="{link}")["subject"][0]
    )
    bad_html = errors_of(channel=Channel.EMAIL, subject="Hi", text="{link}", html="<p>hi</p>")
    assert "must contain {link}" in bad_html["html"][0]
    assert "Choose one of the customer languages" in errors_of(language="xx")["language"][0]


@pytest.mark.django_db
def test_team_and_credential_together_and_two_active_for_one_scope_are_refused(
    portal_credential,
):
    team = Team.objects.create(name="Red")
    assert "not both" in errors_of(team=team, credential=portal_credential)["team"][0]
    template(name="first", team=team)
    assert "is already the active template" in errors_of(team=team)["language"][0]
    assert errors_of(team=team, is_active=False) == {}


# --- which template applies --------------------------------------------------------------------


@pytest.mark.django_db
def test_credential_beats_team_beats_everybody_beats_built_in(pat, portal_credential):
    team = Team.objects.create(name="Red")
    pat.agent_profile.team = team
    pat.agent_profile.save()

    def text() -> str:
        return message_render.render(
            channel=Channel.SMS,
            language="en",
            name="Ann",
            agent=pat,
            credential=portal_credential,
            link=LINK,
            session_key="",
        ).text

    assert text().startswith("Hi Ann, this is Pat from Customer Support. Tap to share")
    template(name="everybody", text="everybody {link}")
    assert text() == f"everybody {LINK}"
    template(name="team", team=team, text="team {link}")
    template(name="other team", team=Team.objects.create(name="Blue"), text="blue {link}")
    assert text() == f"team {LINK}"
    made = template(name="credential", credential=portal_credential, text="cred {link}")
    assert text() == f"cred {LINK}"
    made.is_active = False
    made.save()
    assert text() == f"team {LINK}"


@pytest.mark.django_db
def test_the_customers_language_wins_over_scope_and_falls_back(pat, portal_credential):
    template(name="credential en", credential=portal_credential, text="cred en {link}")
    template(name="everybody de", language="de", text="alle {link}")

    def render(language: str) -> message_render.RenderedMessage:
        return message_render.render(
            channel=Channel.SMS,
            language=language,
            name="",
            agent=pat,
            credential=portal_credential,
            link=LINK,
            session_key="",
        )

    assert render("de").text == f"alle {LINK}"
    french = render("fr")  # no stored French template: the built-in French one
    assert french.text.startswith("Bonjour, ici Pat, de Customer Support. Partagez")
    assert french.language == "fr"
    assert render("en").text == f"cred en {LINK}"


@pytest.mark.django_db
def test_values_are_html_escaped_in_html_templates_only(pat, portal_credential):
    template(
        channel=Channel.EMAIL,
        subject="For {customer_name}",
        text="{customer_name}: {link}",
        html="<p>{customer_name}</p><a href='{link}'>join</a>",
    )
    message = message_render.render(
        channel=Channel.EMAIL,
        language="en",
        name="<b>Ann</b>",
        agent=pat,
        credential=portal_credential,
        link=LINK,
        session_key="",
    )
    assert message.subject == "For <b>Ann</b>"
    assert message.text.startswith("<b>Ann</b>:")
    assert "<p>&lt;b&gt;Ann&lt;/b&gt;</p>" in message.html


@pytest.mark.django_db
def test_built_in_email_html_is_made_from_the_text(pat, portal_credential):
    message = message_render.render(
        channel=Channel.EMAIL,
        language="de",
        name="Ann",
        agent=pat,
        credential=portal_credential,
        link=LINK,
        session_key="",
    )
    assert message.subject == "Customer Support: Bildschirm teilen"
    assert '<html lang="de">' in message.html
    assert f'<a href="{LINK}"' in message.html
    assert "<p>Hallo Ann,</p>" in message.html
    assert "30 Minuten gültig" in message.text


# --- languages ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("destination", "chosen", "expected"),
    [
        ("+49 151 23456789", "", "de"),
        ("+33 6 12 34 56 78", "", "fr"),
        ("+34 612 34 56 78", "", "es"),
        ("(415) 555-0134", "", "en"),
        ("+81 90-1234-5678", "", "en"),  # no customer language for Japan: the agent's
        ("+49 151 23456789", "es", "es"),  # the agent's choice wins
    ],
)
def test_language_is_chosen_or_guessed_from_the_number(pat, destination, chosen, expected):
    invitee = services.invitation_create(agent=pat, destination=destination, language=chosen)
    assert invitee.language == expected


@pytest.mark.django_db
def test_e_mail_gets_the_agents_language_and_unknown_languages_are_refused(pat):
    from django.utils import translation

    with translation.override("de"):
        invitee = services.invitation_create(agent=pat, destination="ann@example.com")
    assert invitee.language == "de"
    with pytest.raises(InvalidInput, match="Unknown language 'xx'") as raised:
        services.invitation_create(agent=pat, destination="bo@example.com", language="xx")
    assert raised.value.field == "language"


@pytest.mark.django_db
def test_the_customer_gets_the_message_in_their_language(pat, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitee = services.invitation_create(
            agent=pat, destination="+49 151 23456789", name="Jonas"
        )
    invitee.refresh_from_db()
    assert invitee.status == "sent"
    assert sms_outbox.outbox[-1].body.startswith("Hallo Jonas, hier ist Pat von Customer Support")
    assert invitee.message_text == sms_outbox.outbox[-1].body
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(agent=pat, destination="ann@example.com", language="fr")
    assert mail.outbox[-1].subject == "Customer Support : partage d'écran"


# --- size at send time -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_name_that_makes_the_sms_too_long_is_refused_and_nothing_is_written(pat, settings):
    settings.SMS_MAX_SEGMENTS = 1
    with pytest.raises(InvalidInput, match=r"The SMS would be 2 parts") as raised:
        services.invitation_create(agent=pat, destination="(415) 555-0134", name="A" * 90)
    assert raised.value.field == "name"
    assert Invitee.objects.count() == 0
    services.invitation_create(agent=pat, destination="(415) 555-0134", name="Ann")


# --- admin ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_refuses_an_unknown_variable_and_audits_a_saved_template(admin_client):
    url = reverse("admin:invitations_messagetemplate_add")
    form = {"name": "short", "channel": "sms", "language": "en", "is_active": "on"}
    response = admin_client.post(url, {**form, "text": "Hi {first_name}: {link}"})
    assert response.status_code == 200
    assert "Unknown variable {first_name}" in response.content.decode()
    assert MessageTemplate.objects.count() == 0

    response = admin_client.post(url, {**form, "text": "Hi {greeting} {link}"})
    assert response.status_code == 302
    made = MessageTemplate.objects.get()
    page = admin_client.get(reverse("admin:invitations_messagetemplate_change", args=[made.pk]))
    html = page.content.decode()
    assert "Hi Hi Alexandra, https://sessions.example.com/" in html
    assert "GSM-7: 1 SMS" in html
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.TEMPLATE_CHANGED, target="template short"
    ).exists()


# --- preview on the agent page ----------------------------------------------------------------


@pytest.mark.django_db
def test_preview_follows_the_form_and_warns_before_multipart(client, pat, settings):
    client.force_login(pat)
    url = reverse("invitations:message-preview")
    german = client.get(url, {"destination": "+49 151 23456789", "name": "Jonas"})
    html = german.content.decode()
    assert "Hallo Jonas, hier ist Pat von Customer Support" in html
    assert "GSM-7: 1 SMS." in html
    assert "Deutsch" in html
    chosen = client.get(url, {"destination": "+49 151 23456789", "language": "es"})
    assert "Hola: soy Pat, de Customer Support" in chosen.content.decode()

    template(text="Ł" * 60 + " {link}")  # a UCS-2 character, so parts of 67
    long = client.get(url, {"destination": "(415) 555-0134"}).content.decode()
    assert "UCS-2: 2 SMS joined together." in long
    # The warning goes above the Send buttons, out of band of the preview.
    warnings = long[long.index('id="send-warnings"') :]
    assert "This SMS arrives in 2 parts" in warnings
    assert 'data-segments="2"' in long


@pytest.mark.django_db
def test_preview_of_someone_elses_session_is_404(client, pat, make_agent, portal_credential):
    other = make_agent(username="bo", credential=portal_credential)
    session = services.invitation_create(agent=other, destination="(415) 555-0134").session
    client.force_login(pat)
    url = reverse("invitations:message-preview")
    assert client.get(url, {"session": session.pk}).status_code == 404
    assert client.get(url, {"session": "x"}).status_code == 404
    # Unicode digits and numbers no database id holds name no session either.
    for odd in ("²", "٣", "1" * 5000, "9" * 19, "0x1", "-1", "1\x00"):
        assert client.get(url, {"session": odd}).status_code == 404
