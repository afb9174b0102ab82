"""Every agent page in Chromium at 1366 px and 390 px (a phone, a CRM side panel), in the light
and the dark theme: axe-core (vendored from the npm registry) finds no violation of any impact,
and at narrow widths the page does not scroll sideways. Screenshots of each go to
test-artifacts/browser/."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from invitations import services
from invitations.models import SUPERVISORS_GROUP, DeliveryStatus, Invitee, Team
from tests.support.browser import ARTIFACTS, PASSWORD, log_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
# The narrowest and widest side panels the page must fit without scrolling sideways.
NARROW_WIDTHS = (360, 390, 420)
THEMES = ("light", "dark")

# A page is wider than the window when this is true (the issue's own measure).
SCROLLS_SIDEWAYS = "document.documentElement.scrollWidth > window.innerWidth + 1"


@dataclass
class Portal:
    live_server: Any
    session_url: str


@pytest.fixture
def portal(live_server, make_agent, digitalsamba_credential, sandbox_credential) -> Portal:
    """A supervisor (so the dashboard is there) with sessions that stretch a narrow page: a
    long e-mail address, a long ticket, a failure with its reason, a teammate's session; and
    two credentials, so that the home page offers a choice of sender."""
    team = Team.objects.create(name="Red")
    # A transactional test before this one may have flushed the migration's group.
    supervisors, _ = Group.objects.get_or_create(name=SUPERVISORS_GROUP)
    ann = make_agent(username="ann", password=PASSWORD, credential=digitalsamba_credential)
    ann.agent_profile.team = team
    ann.agent_profile.save()
    ann.groups.add(supervisors)
    bo = make_agent(
        username="bartholomew.longname", puid="bo-12", credential=digitalsamba_credential
    )
    bo.agent_profile.team = team
    bo.agent_profile.save()

    sent = services.invitation_create(
        agent=ann, destination="(415) 555-0134", name="Ann Customer", ticket_reference="T-1"
    )
    services.invitation_create(
        agent=ann,
        session=sent.session,
        destination="maximilian.mustermann-schneider@example-enterprise.co.uk",
        name="Maximilian Mustermann-Schneider",
    )
    services.invitation_create(
        agent=ann, credential=sandbox_credential, destination="+44 7911 123456", name="Bo"
    )
    failed = services.invitation_create(
        agent=bo,
        destination="+1 415 555 0199",
        ticket_reference="CRM-2026-000123456789-ESCALATION",
    )
    Invitee.objects.filter(pk=failed.pk).update(
        status=DeliveryStatus.FAILED,
        last_error="Digital Samba answered 503 Service Unavailable; try again in a few minutes",
        updated_at=timezone.now(),
    )
    return Portal(live_server=live_server, session_url=sent.session.get_absolute_url())


def open_login(page: Any, portal: Portal) -> None:
    page.goto(f"{portal.live_server.url}{reverse('login')}")


def open_home(page: Any, portal: Portal) -> None:
    page.goto(f"{portal.live_server.url}{reverse('invitations:home')}")


def open_home_with_an_error(page: Any, portal: Portal) -> None:
    """The form shown again with a field error."""
    open_home(page, portal)
    page.get_by_label(re.compile(r"^Mobile number")).fill("12345")
    with page.expect_navigation():
        page.keyboard.press("Enter")


def open_session(page: Any, portal: Portal) -> None:
    page.goto(f"{portal.live_server.url}{portal.session_url}")


def open_session_list(page: Any, portal: Portal) -> None:
    page.goto(f"{portal.live_server.url}{reverse('invitations:session-list')}")


def open_dashboard(page: Any, portal: Portal) -> None:
    page.goto(f"{portal.live_server.url}{reverse('invitations:dashboard')}")


def open_join_page(page: Any, portal: Portal) -> None:
    """The page Join session opens, held there: without autosubmit.js it waits for Continue.
    The button's form opens a new tab; here it posts in this one."""
    open_session(page, portal)
    page.locator("form.join-session").evaluate("form => form.removeAttribute('target')")
    with page.expect_navigation():
        page.get_by_role("button", name="Join session").click()
    assert re.search(r"/sessions/\d+/join/$", page.url), page.url


# The invitees' table is the session page's own markup (its cards are another change's work):
# axe passes there, but the table is wider than a phone.
PAGES = {
    "login": open_login,
    "home": open_home,
    "home-with-errors": open_home_with_an_error,
    "session": open_session,
    "session-list": open_session_list,
    "dashboard": open_dashboard,
    "join": open_join_page,
}


def axe_violations(page: Any, name: str) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(result["violations"], indent=2))
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]


def widest_elements(page: Any) -> list[str]:
    """What sticks out past the window's right edge, for the failure message."""
    return page.evaluate(
        """() => [...document.querySelectorAll("body *")]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 5)
            .map(e => `${e.tagName.toLowerCase()}.${e.className} `
                + `${Math.round(e.getBoundingClientRect().right)}px`)"""
    )


@pytest.mark.parametrize("name", list(PAGES))
def test_agent_page_fits_narrow_windows_and_passes_axe(name, page, shot, portal):
    """Each page at 1366 and 390 px in both themes: no axe violation of any impact; at 360,
    390 and 420 px nothing scrolls sideways."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Join session's page would move on to the provider at once: held here for a look.
    page.route("**/autosubmit.js", lambda route: route.abort())
    if name == "login":
        open_login(page, portal)
    else:
        log_in(page, portal.live_server)
    problems: dict[str, list[str]] = {}
    for theme in THEMES:
        # The admin's theme toggle keeps the choice in localStorage; its script reads it on load.
        page.evaluate("theme => localStorage.setItem('theme', theme)", theme)
        for size in (WIDE, PHONE):
            page.set_viewport_size(size)
            PAGES[name](page, portal)
            assert page.evaluate("document.documentElement.dataset.theme") == theme
            where = f"{name}-{size['width']}-{theme}"
            shot(where)
            if size is PHONE:
                for width in NARROW_WIDTHS:
                    page.set_viewport_size({"width": width, "height": PHONE["height"]})
                    if page.evaluate(SCROLLS_SIDEWAYS):
                        problems[f"{name}-{width}-{theme} scrolls sideways"] = widest_elements(page)
                page.set_viewport_size(size)
            found = axe_violations(page, where)
            if found:
                problems[where] = found
    assert problems == {}


FOCUSED = """() => {
    const element = document.activeElement;
    const style = getComputedStyle(element);
    const label = (element.getAttribute("aria-label") || element.textContent || element.name || "")
        .trim().replace(/\\s+/g, " ").slice(0, 40);
    return {
        element: `${element.tagName.toLowerCase()}${element.id ? "#" + element.id : ""} "${label}"`,
        ring: style.outlineStyle === "none" ? 0 : parseFloat(style.outlineWidth),
        inMain: element.closest("main") !== null,
    };
}"""


@pytest.mark.parametrize("name", ["login", "home", "session", "session-list", "dashboard", "join"])
def test_keyboard_focus_shows_a_ring_of_at_least_2px(name, page, shot, portal):
    """Tab from the top of the page to its end: every element that takes the focus shows it."""
    page.route("**/autosubmit.js", lambda route: route.abort())
    if name == "login":
        open_login(page, portal)
    else:
        log_in(page, portal.live_server)
    page.set_viewport_size(WIDE)
    PAGES[name](page, portal)
    # The first stop of every page, "Skip to main content"; Tab goes on from there.
    page.locator("a.skip-to-content-link").focus()
    seen: list[str] = []
    faint: list[str] = []
    shots: list[str] = []
    for _ in range(80):
        focused = page.evaluate(FOCUSED)
        if focused["element"].startswith("body") or focused["element"] in seen[:1]:
            break
        seen.append(focused["element"])
        if focused["ring"] < 2:
            faint.append(focused["element"])
        if len(seen) == 3:
            shot(f"{name}-focus-top-bar")  # the third stop: a link in the top bar
        if focused["inMain"] and not any(step.endswith("content") for step in shots):
            shots.append(f"{name}-focus-content")
            shot(shots[-1])
        page.keyboard.press("Tab")
    assert len(seen) >= 3, seen
    assert faint == [], seen
