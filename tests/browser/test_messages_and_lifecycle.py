"""In Chromium: the message preview follows the form as the agent types, a CRM deep link
fills the form, the customer's language is picked, a session is ended."""

from __future__ import annotations

import re

import pytest

from invitations.models import Invitee, MessageTemplate, Session
from sandbox.models import OutboxMessage
from tests.support import onsync_wire
from tests.support.browser import PASSWORD, log_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_preview_language_deep_link_and_end_session(
    page, shot, live_server, make_agent, make_onsync_credential, sandbox_sms_gateway
):
    agent = make_agent(username="ann", password=PASSWORD, credential=make_onsync_credential())
    agent.first_name = "Ann"
    agent.save()
    log_in(page, live_server)
    preview = page.locator("#message-preview")
    assert "Hello, this is Ann from Customer Support. Tap to" in preview.inner_text()

    # The preview follows the name and the number's country without a reload.
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Mobile number or e-mail address").fill("+49 151 23456789")
    page.get_by_label("Name (optional)").fill("Jonas")
    page.wait_for_function(
        "document.querySelector('#message-preview').innerText.includes('Hallo Jonas')"
    )
    assert "Deutsch" in preview.inner_text()
    assert "GSM-7: 1 SMS." in preview.inner_text()
    shot("preview-german")

    # A name long enough to split the SMS: the warning shows before anything is sent.
    page.get_by_label("Name (optional)").fill("Jonas " + "Müller-Lüdenscheidt " * 4)
    page.wait_for_selector("#message-preview .sms-count.multipart")
    # Said above the Send buttons, not below them in the preview.
    assert "This SMS arrives in 2 parts" in page.locator("#send-warnings").inner_text()
    shot("preview-multipart")

    page.get_by_label("Name (optional)").fill("Jonas")
    page.get_by_label("Customer's language").select_option("fr")
    page.wait_for_function(
        "document.querySelector('#message-preview').innerText.includes('Bonjour Jonas')"
    )
    assert page.evaluate("window.notReloaded") is True
    page.get_by_role("button", name="Send SMS").click()
    page.wait_for_url(re.compile(r"/sessions/\d+/$"))
    assert "Sent" in page.locator("#invitee-rows .status").first.inner_text()
    sms = OutboxMessage.objects.get(channel="sms")
    assert sms.body.startswith("Bonjour Jonas, ici Ann, de Customer Support")
    assert Invitee.objects.get().language == "fr"
    shot("sent-in-french")

    page.get_by_role("button", name="End session").click()
    page.get_by_role("button", name="Yes, end it").click()
    page.wait_for_load_state()
    assert "Session ended at OnSync and here." in page.locator(".messagelist").inner_text()
    assert page.get_by_role("button", name="Resend").count() == 0
    session = Session.objects.get()
    assert session.ended_at is not None
    # The sandbox's OnSync ended it too.
    assert onsync_wire.read(session.credential, "session", session.session_key).status_code == 404
    shot("ended")

    # A CRM deep link opens the form filled in; nothing is sent until the agent presses Send.
    page.goto(f"{live_server.url}/invite/?phone=%2B447911123456&name=Ann%20Lee&ticket=T-42")
    assert page.get_by_label("Mobile number or e-mail address").input_value() == "+447911123456"
    assert page.get_by_label("Ticket reference (optional)").input_value() == "T-42"
    assert "Hi Ann Lee, this is Ann from Customer Support" in preview.inner_text()
    shot("deep-link")
    assert Invitee.objects.count() == 1


def test_a_custom_template_shows_in_the_preview(
    page, shot, live_server, make_agent, make_onsync_credential, sandbox_sms_gateway
):
    credential = make_onsync_credential()
    MessageTemplate.objects.create(
        name="Acme SMS",
        credential=credential,
        channel="sms",
        language="en",
        text="{company_name}: {agent_first_name} is ready to help. "
        "Join: {link} (key {session_key})",
    )
    credential.company_name = "Acme"
    credential.save()
    make_agent(username="ann", password=PASSWORD, credential=credential)
    log_in(page, live_server)
    text = page.locator("#message-preview .preview-sms").inner_text()
    assert "Acme: your support agent is ready to help. Join: " in text
    assert "template “Acme SMS”" in text
    shot("custom-template")
