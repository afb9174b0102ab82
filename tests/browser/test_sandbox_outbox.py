"""The sandbox outbox in Chromium: staff only (the admin's login first), on the admin's look,
with the SMS and the e-mail the portal sent itself; no axe violations of any impact in light
and dark, and no page-wide horizontal scroll at 390 px."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from invitations import services
from tests.support.browser import ARTIFACTS, PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

AXE = "tests/browser/vendor/axe-core-4.14.1/axe.min.js"
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


def violations(page, name: str) -> list[str]:
    page.add_script_tag(path=AXE)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(result["violations"], indent=2))
    return [f"{v['id']} ({v['impact']}): {v['help']}" for v in result["violations"]]


@pytest.fixture
def portal_sent(settings, live_server, make_agent, make_onsync_credential, sandbox_sms_gateway):
    """An SMS and an e-mail the portal sent itself, through the embedded default's backends."""
    settings.EMAIL_BACKEND = "sandbox.mail.OutboxEmailBackend"
    settings.SANDBOX_EMAIL_FORWARD_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_STATUS_CALLBACK_URL = f"{live_server.url}/webhooks/sms-gateway/"
    agent = make_agent(username="ann", credential=make_onsync_credential())
    texted = services.invitation_create(agent=agent, destination="(415) 555-0134", name="Ann")
    mailed = services.invitation_create(agent=agent, destination="bo@example.com", name="Bo")
    for invitee in (texted, mailed):
        invitee.refresh_from_db()
        assert invitee.status in ("sent", "delivered"), invitee.last_error
    return texted, mailed


def test_staff_sign_in_and_see_what_the_portal_sent(
    page, shot, live_server, django_user_model, portal_sent
):
    _texted, mailed = portal_sent
    django_user_model.objects.create_user("sam", password=PASSWORD, is_staff=True)
    outbox = f"{live_server.url}{reverse('sandbox:outbox')}"

    page.goto(outbox)
    assert "/admin/login/" in page.url
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == outbox
    assert page.get_by_role("heading", level=1).inner_text() == "Sandbox outbox"
    assert page.locator("#header").is_visible()
    rows = page.locator("table.outbox tbody tr")
    assert rows.count() == 2
    email_row = rows.filter(has_text="bo@example.com")
    assert email_row.get_by_role("cell", name="portal", exact=True).count() == 1
    assert email_row.get_by_role("link", name=mailed.personal_link).count() == 1
    assert rows.filter(has_text="+14155550134").get_by_label("Send receipt").count() == 1

    problems = {}
    for width, theme in ((1366, "light"), (390, "light"), (390, "dark"), (1366, "dark")):
        page.set_viewport_size({"width": width, "height": 900})
        page.emulate_media(color_scheme=theme)
        page.reload()
        shot(f"outbox-{width}-{theme}")
        assert page.evaluate(OVERFLOW) <= 1, f"the page scrolls sideways at {width} px"
        problems[f"{width}-{theme}"] = violations(page, f"sandbox-outbox-{width}-{theme}")
    assert {name: found for name, found in problems.items() if found} == {}
