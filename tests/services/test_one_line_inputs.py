"""Names and ticket references are one line of text at every entry point (the agent page, the
API, `send_invitation`, `bulk_invite`); a line break in an e-mail header fails the delivery
before anything is sent instead of leaving it for a person to check."""

import io
import json
import re

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse

from invitations import services
from invitations.models import DeliveryStatus, Invitee, MessageTemplate, Session
from invitations.services import tokens

pytestmark = pytest.mark.django_db

NUMBER = "+14155550134"
BAD_TEXTS = ["Ann\nLee", "Ann\r\nBcc: eve@example.com", "Ann\tLee", "Ann\x1bLee", "Ann\u2028Lee"]


def nothing_was_created(locmem_upstream):
    return (
        not Invitee.objects.exists() and not Session.objects.exists() and not locmem_upstream.outbox
    )


@pytest.mark.parametrize("text", BAD_TEXTS)
@pytest.mark.parametrize(
    ("field", "label"), [("name", "The name"), ("ticket_reference", "The ticket reference")]
)
def test_the_agent_page_shows_the_error_on_the_field(
    agent_client, locmem_upstream, field, label, text
):
    page = agent_client.get(reverse("invitations:home")).content.decode()
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page)
    assert key is not None
    response = agent_client.post(
        reverse("invitations:home"),
        {"destination": NUMBER, "idempotency_key": key.group(1), field: text},
    )
    assert response.status_code == 400
    assert re.search(
        rf'<ul class="errorlist"[^>]*><li>{label} must be on one line: remove line breaks, '
        rf'tabs and other control characters.</li></ul>\s*<div class="flex-container">\s*'
        rf'<label for="id_{field}"',
        response.content.decode(),
    )
    assert nothing_was_created(locmem_upstream)


@pytest.mark.parametrize("field", ["name", "ticket_reference"])
def test_the_api_answers_400_naming_the_field(client, agent, locmem_upstream, field):
    token = tokens.api_token_create(user=agent, name="crm", actor=None)[1]
    response = client.post(
        "/api/v1/sessions/",
        json.dumps({"destination": NUMBER, field: "Ann\nLee"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_input", field)
    assert "must be on one line" in error["message"]
    assert nothing_was_created(locmem_upstream)


@pytest.mark.parametrize(
    ("option", "label"), [("--name", "name"), ("--ticket", "ticket reference")]
)
def test_send_invitation_exits_with_one_line(agent, locmem_upstream, option, label):
    with pytest.raises(CommandError) as caught:
        call_command(
            "send_invitation", "--agent=ann", f"--sms={NUMBER}", f"{option}=Ann\nBcc: x@y.z"
        )
    message = str(caught.value)
    assert message == (
        f"The {label} must be on one line: remove line breaks, tabs and other control characters."
    )
    assert nothing_was_created(locmem_upstream)


@pytest.mark.parametrize("dry_run", [False, True])
def test_bulk_invite_reports_the_row(agent, locmem_upstream, tmp_path, dry_run):
    source = tmp_path / "list.csv"
    source.write_text(
        'phone,name,ticket\n4155550134,"Ann\nLee",T-1\n4155550135,Bob,"T-2\r\nBcc: x"\n',
        encoding="utf-8",
    )
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 of 2 rows were not accepted"):
        call_command(
            "bulk_invite",
            str(source),
            "--agent=ann",
            *(["--dry-run"] if dry_run else []),
            stdout=out,
        )
    assert out.getvalue().splitlines()[:2] == [
        "line 3: The name must be on one line: remove line breaks, tabs and other control "
        "characters.",
        "line 5: The ticket reference must be on one line: remove line breaks, tabs and other "
        "control characters.",
    ]
    assert nothing_was_created(locmem_upstream)


def test_the_admin_refuses_a_name_with_a_line_break(admin_client, agent, locmem_upstream):
    invitee = services.invitation_create(agent=agent, destination=NUMBER, name="Ann")
    url = reverse("admin:invitations_invitee_change", args=[invitee.pk])
    response = admin_client.post(url, {"name": "Ann\nLee", "language": "en"})
    assert response.status_code == 200
    assert "must be on one line" in response.content.decode()
    invitee.refresh_from_db()
    assert invitee.name == "Ann"


def test_a_header_that_cannot_be_written_fails_the_delivery_before_anything_is_sent(
    make_agent, portal_credential, locmem_upstream
):
    """A name stored with a line break (as before names were checked) in a subject: the e-mail
    cannot be written, so nothing went out and the invitation is failed, not 'needs
    attention'."""
    agent = make_agent(credential=portal_credential)
    MessageTemplate.objects.create(
        name="greeting subject",
        channel="email",
        language="en",
        subject="Hello {customer_name}",
        text="{greeting} Join: {link}",
    )
    session = Session.objects.create(credential=portal_credential, created_by=agent, session_type=1)
    invitee = Invitee.objects.create(
        session=session,
        name="Ann\nBcc: eve@example.com",
        channel="email",
        destination="ann@example.com",
        language="en",
    )

    services.invitee_deliver(invitee_id=invitee.pk)

    invitee.refresh_from_db()
    assert invitee.status == DeliveryStatus.FAILED
    assert invitee.last_error == (
        "The e-mail could not be written (a header such as the subject would contain a line "
        "break, from the customer's name or the message template); nothing was sent. Check the "
        "customer's name and the message template, then send a new invitation."
    )
    assert invitee.attempts_log.get().outcome == "failed"
    assert mail.outbox == []
