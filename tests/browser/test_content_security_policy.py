"""Every page runs under the enforced Content-Security-Policy without a single violation in
Chromium: the agent pages and their htmx updates, the dashboard's chart, the admin and the
sandbox's pages."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from invitations import services
from invitations.models import DeliveryStatus, Invitee
from tests.support.browser import PASSWORD, log_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Runs in every document before its own scripts: records what the browser refused.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(
    `${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


@pytest.fixture
def watched(csp_page):
    """A page under the policy, with every CSP violation and console error it reports
    collected."""
    page = csp_page
    page.context.add_init_script(RECORD_VIOLATIONS)
    problems: list[str] = []

    def collect(message):
        # Script errors and the browser's "Refused to ..." lines; not a missing /favicon.ico.
        if "Content Security Policy" in message.text or (
            message.type == "error" and not message.text.startswith("Failed to load resource")
        ):
            problems.append(f"console {message.type}: {message.text}")

    page.on("console", collect)

    def check(where: str) -> None:
        seen = page.evaluate("window.cspViolations || []")
        assert (where, seen, problems) == (where, [], [])

    return page, check


def test_pages_and_htmx_updates_pass_the_policy(
    watched, shot, live_server, make_agent, make_onsync_credential, sandbox_sms_gateway
):
    page, check = watched
    agent = make_agent(username="ann", password=PASSWORD, credential=make_onsync_credential())
    # Staff: the dashboard, the admin and the sandbox's outbox are open to them too.
    get_user_model().objects.filter(pk=agent.pk).update(is_staff=True, is_superuser=True)
    log_in(page, live_server)
    response = page.request.get(f"{live_server.url}/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    check("home")

    # htmx refreshes the preview as the agent types.
    page.get_by_label("Name (optional)").fill("Jonas")
    # Locator waits: wait_for_function evaluates a string, which the policy refuses.
    page.locator("#message-preview", has_text="Jonas").wait_for()
    check("home after htmx preview")

    page.get_by_label("Mobile number or e-mail address").fill("(415) 555-0134")
    page.get_by_role("button", name="Send SMS").click()
    page.wait_for_url(re.compile(r"/sessions/\d+/$"))
    check("session page")
    # What an agent sees under the policy (`shot` alone would picture the test tools' page).
    shot("session-under-csp", page)
    page.set_viewport_size({"width": 390, "height": 844})
    shot("session-under-csp-390px", page)
    page.set_viewport_size({"width": 1366, "height": 900})

    # A queued invitation turns to Sent through htmx polling, without a reload.
    queued = services.invitation_create(agent=agent, destination="(415) 555-0135")
    Invitee.objects.filter(pk=queued.pk).update(status=DeliveryStatus.QUEUED)
    page.goto(f"{live_server.url}{queued.session.get_absolute_url()}")
    page.evaluate("window.notReloaded = true")
    services.invitee_deliver(invitee_id=queued.pk)
    page.locator(f"#invitee-{queued.pk} .status", has_text=re.compile("^Sent$")).wait_for(
        timeout=5_000
    )
    assert page.evaluate("window.notReloaded") is True
    check("session page after htmx polling")

    for path in (
        "/sessions/",
        "/dashboard/",
        "/admin/",
        "/admin/invitations/invitee/",
        f"/admin/invitations/invitee/{queued.pk}/change/",
        "/admin/invitations/partnercredential/add/",
        "/sandbox/outbox/",
        f"/sandbox/onsync/join/{queued.session.session_key or 'x'}/",
    ):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state()
        check(path)
    page.goto(f"{live_server.url}/dashboard/")
    assert page.locator("figure.chart svg rect.seg").count() > 0
    shot("dashboard-under-csp", page)
    page.set_viewport_size({"width": 390, "height": 844})
    shot("dashboard-under-csp-390px", page)
    page.set_viewport_size({"width": 1366, "height": 900})

    # The admin's light/dark toggle is a script of its own: it still works.
    page.goto(f"{live_server.url}/admin/")
    page.locator("button.theme-toggle").first.click()
    assert page.evaluate("localStorage.getItem('theme')") is not None
    check("admin theme toggle")


def test_an_inline_script_would_be_refused(watched, live_server, make_agent, sandbox_credential):
    """Control for the test above: it notices a violation when there is one."""
    page, _check = watched
    make_agent(username="ann", password=PASSWORD, credential=sandbox_credential)
    log_in(page, live_server)
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.ran = true'; document.body.append(s); }"
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.cspViolations.length") > 0
    assert page.evaluate("window.ran === undefined")


def test_the_api_docs_pass_the_policy(watched, shot, live_server, make_agent, sandbox_credential):
    """The interactive API docs (django-ninja's Swagger UI, served from static files) work
    under the policy for signed-in staff."""
    page, check = watched
    agent = make_agent(username="ann", password=PASSWORD, credential=sandbox_credential)
    get_user_model().objects.filter(pk=agent.pk).update(is_staff=True)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/api/v1/docs")
    page.locator(".opblock", has_text="/api/v1/sessions/{session_id}/end/").wait_for()
    check("/api/v1/docs")
    shot("api-docs-under-csp", page)
