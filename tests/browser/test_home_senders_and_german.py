"""The home page in a real Chromium: switching the sender keeps what was typed and what a CRM
deep link filled in; an address the sender cannot use is named with the senders that can; and
the page reads in German for an agent whose browser asks for it."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from tests.support.browser import PASSWORD, log_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WIDTHS = (1366, 390)


@pytest.fixture
def two_senders(make_agent, sandbox_credential, make_onsync_credential):
    """An agent whose default sender only texts (Glance), with an OnSync one that e-mails."""
    onsync = make_onsync_credential(label="sandbox-onsync-mail", link_delivery="provider")
    onsync.company_name = "Acme Support"
    onsync.save()
    make_agent(username="ann", password=PASSWORD, credential=sandbox_credential)
    return sandbox_credential, onsync


def test_switching_the_sender_keeps_what_was_typed_and_the_deep_link(
    page, shot, live_server, two_senders
):
    _glance, _onsync = two_senders
    log_in(page, live_server)
    query = urlencode({"phone": "+14155550134", "name": "Ann Lee", "ticket": "T-42"})
    page.goto(f"{live_server.url}/invite/?{query}")
    picker = page.locator(".credential-picker")
    assert "Glance: sandbox-glance (SMS)" in picker.inner_text()
    page.get_by_label("Ticket reference (optional)").fill("T-42b")
    page.get_by_label("Session type (optional)").fill("3")
    shot("typed")

    picker.get_by_role("link", name="OnSync: Acme Support (e-mail)").click()
    page.wait_for_url(re.compile(r"credential=sandbox-onsync-mail"))
    # OnSync only e-mails: the number stays in view, with the sender that can text it.
    assert page.get_by_label("E-mail address").input_value() == "+14155550134"
    assert page.get_by_label("Name (optional)").input_value() == "Ann Lee"
    assert page.get_by_label("Ticket reference (optional)").input_value() == "T-42b"
    assert page.get_by_label("Session type (optional)").input_value() == "3"
    note = page.locator(".misfit")
    assert "can't send an SMS to +14155550134" in note.inner_text()
    shot("switched-to-email-sender")

    page.get_by_label("E-mail address").fill("ann@example.com")
    page.get_by_label("Name (optional)").fill("Ann B. Lee")
    page.locator(".credential-picker").get_by_role("link", name=re.compile("^Glance")).click()
    page.wait_for_url(re.compile(r"credential=sandbox-glance"))
    field = page.get_by_label(re.compile("^Mobile number"))
    assert page.get_by_label("Name (optional)").input_value() == "Ann B. Lee"
    # The address typed for the e-mail sender is not dropped: it is named, with the way back.
    assert field.input_value() == "ann@example.com"
    assert "can't e-mail ann@example.com" in page.locator(".misfit").inner_text()
    shot("switched-back")

    page.locator(".misfit").get_by_role("link", name=re.compile("^OnSync")).click()
    page.wait_for_url(re.compile(r"credential=sandbox-onsync-mail"))
    assert page.get_by_label("E-mail address").input_value() == "ann@example.com"
    assert page.get_by_label("Name (optional)").input_value() == "Ann B. Lee"
    assert page.get_by_role("button", name="Send e-mail").is_visible()
    shot("address-to-the-sender-that-can")


def test_an_email_deep_link_on_an_sms_only_sender_names_the_sender_that_can(
    page, shot, live_server, two_senders
):
    log_in(page, live_server)
    page.goto(f"{live_server.url}/invite/?email=ann%40example.com&name=Ann")
    note = page.locator(".misfit")
    assert "This sender can't e-mail ann@example.com." in note.inner_text()
    assert "Use OnSync: Acme Support (e-mail)." in note.inner_text()
    # Kept, not dropped: the address is still in the form for the agent to see.
    assert page.get_by_label(re.compile("^Mobile number")).input_value() == "ann@example.com"
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shot(f"email-deep-link-{width}")
    note.get_by_role("link", name=re.compile("^OnSync")).click()
    page.wait_for_url(re.compile(r"credential=sandbox-onsync-mail"))
    assert page.get_by_label("E-mail address").input_value() == "ann@example.com"
    assert page.get_by_label("Name (optional)").input_value() == "Ann"
    assert page.locator(".misfit").count() == 0


def test_the_home_page_reads_in_german(chromium, live_server, two_senders, request):
    from tests.support.browser import ARTIFACTS

    context = chromium.new_context(locale="de-DE", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{live_server.url}/")
        page.get_by_label("Benutzername").fill("ann")
        page.get_by_label("Passwort").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live_server.url}/")
        header = page.locator("header").text_content()
        assert "Angemeldet als" in header
        assert "Abmelden" in header
        assert "Signed in as" not in header
        assert "Einladen" in page.locator("nav").first.inner_text()
        assert page.locator("h1").inner_text() == "Kunden einladen"
        assert "Senden mit" in page.locator(".credential-picker").inner_text()
        assert page.get_by_label(re.compile("^Handynummer")).is_visible()
        assert page.get_by_role("button", name="SMS senden").is_visible()
        assert page.get_by_label("Sitzungstyp (optional)").get_attribute("placeholder")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(
                path=str(ARTIFACTS / f"{request.node.name}-home-{width}.png"), full_page=True
            )
        body = page.locator("body").inner_text()
        for english in ("Sending with", "Session type", "Recent sessions", "Log out", "Invite a"):
            assert english not in body
    finally:
        context.close()
