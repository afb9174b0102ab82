"""The agent's day in a real Chromium: log in, invite, watch the status, resend, invite a
second person, copy links, check the sandbox outbox, log out."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from invitations import services
from invitations.models import DeliveryStatus, Invitee
from sandbox.models import OutboxMessage
from tests.support.browser import PASSWORD, log_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_agent_flow_with_portal_delivered_links(
    page, shot, live_server, make_agent, make_onsync_credential, sandbox_sms_gateway
):
    make_agent(username="ann", password=PASSWORD, credential=make_onsync_credential())
    log_in(page, live_server)
    shot("home")
    # The recipient field has the focus: the agent types straight away.
    assert page.evaluate("document.activeElement.id") == "id_destination"

    page.keyboard.type("12345")
    page.keyboard.press("Enter")
    error = page.locator(".form-row.errors .errorlist")
    assert "is not a valid phone number" in error.inner_text()
    shot("invalid-number")
    assert not Invitee.objects.exists()

    field = page.get_by_label("Mobile number or e-mail address")
    field.fill("(415) 555-0134")
    page.get_by_label("Name (optional)").fill("Ann Customer")
    page.get_by_role("button", name="Send SMS").click()
    page.wait_for_url(re.compile(r"/sessions/\d+/$"))
    row = page.locator("#invitee-rows tr").first
    assert "Sent" in row.locator(".status").inner_text()
    shot("sent")
    sms = OutboxMessage.objects.get(channel="sms")
    assert sms.to == "+14155550134"

    row.get_by_role("button", name="Resend").click()
    page.wait_for_load_state()
    assert "queued again" in page.locator(".messagelist").inner_text()
    assert page.locator("#invitee-rows tr").first.locator("td.attempts").inner_text() == "2"
    assert OutboxMessage.objects.filter(channel="sms").count() == 2
    shot("resent")

    page.get_by_label("Mobile number or e-mail address").fill("bo@example.com")
    page.get_by_role("button", name="Send e-mail").click()
    page.wait_for_load_state()
    rows = page.locator("#invitee-rows tr")
    assert rows.count() == 2
    assert "Sent" in rows.nth(1).locator(".status").inner_text()
    [email] = mail.outbox
    assert email.to == ["bo@example.com"]
    shot("second-invitee")
    assert page.evaluate("document.activeElement.id") != "id_destination"

    page.get_by_role("button", name="Copy link").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#join-url").get_attribute("href")
    assert copied.startswith(f"{live_server.url}/sandbox/onsync/")
    page.get_by_role("button", name="Copy key").click()
    assert (
        page.evaluate("navigator.clipboard.readText()") == page.locator("#session-key").inner_text()
    )

    # The sandbox's outbox shows customers' numbers: staff only.
    get_user_model().objects.filter(username="ann").update(is_staff=True)
    page.goto(f"{live_server.url}/sandbox/outbox/?channel=sms")
    assert "+14155550134" in page.content()
    shot("sandbox-outbox")

    page.goto(f"{live_server.url}/")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url


def test_status_turns_to_sent_without_a_reload(
    page, shot, live_server, make_agent, sandbox_credential
):
    agent = make_agent(username="ann", password=PASSWORD, credential=sandbox_credential)
    # Queued but not yet delivered: as the page sees it while a worker has the task.
    invitee = Invitee.objects.get(
        pk=services.invitation_create(agent=agent, destination="(415) 555-0134").pk
    )
    Invitee.objects.filter(pk=invitee.pk).update(status=DeliveryStatus.QUEUED)
    invitee.refresh_from_db()
    log_in(page, live_server)
    page.goto(f"{live_server.url}{invitee.session.get_absolute_url()}")
    page.evaluate("window.notReloaded = true")
    status = page.locator(f"#invitee-{invitee.pk} .status")
    assert status.inner_text() == "Sending…"
    shot("queued")

    services.invitee_deliver(invitee_id=invitee.pk)
    page.wait_for_function(
        f"document.querySelector('#invitee-{invitee.pk} .status').textContent.trim() === 'Sent'",
        timeout=3_000,
    )
    assert page.evaluate("window.notReloaded") is True
    shot("sent-live")


def test_narrow_viewport(page, shot, live_server, make_agent, sandbox_credential):
    make_agent(username="ann", password=PASSWORD, credential=sandbox_credential)
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, live_server)
    field = page.get_by_label("Mobile number")
    box = field.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot("narrow-home")
