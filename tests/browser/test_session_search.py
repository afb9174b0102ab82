"""Finding a session in a real Chromium, at a desktop's width and a phone's: the number typed
as the customer said it, Enter to search, a supervisor's agent and date filters, and the
dashboard's figures by agent that link back to them."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from invitations.models import (
    SUPERVISORS_GROUP,
    DeliveryStatus,
    Invitee,
    Session,
    SessionKey,
    Team,
)
from tests.support.browser import ARTIFACTS, PASSWORD, log_in
from tests.support.dashboard import invite

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
WIDTHS = (1366, 390)


def session(agent, *, ticket, destination, keys=()):
    found = Session.objects.create(
        credential=agent.agent_profile.default_credential,
        created_by=agent,
        session_type=1,
        ticket_reference=ticket,
        session_key=keys[-1] if keys else "",
    )
    for key in keys:
        SessionKey.objects.create(session=found, key=key)
    Invitee.objects.create(
        session=found, channel="sms", destination=destination, status=DeliveryStatus.DELIVERED
    )
    return found


def violations(page, name, *within):
    """axe-core's violations of any impact within the elements `within` selects (what this
    module's pages add), as `id: targets`; the full answer is saved."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "within => axe.run({include: within}, {resultTypes: ['violations']})",
        [[selector] for selector in within],
    )
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(result["violations"], indent=2))
    return [f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}" for v in result["violations"]]


def overflow(page):
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def tickets_listed(page):
    return set(re.findall(r"\bT-[\w-]+", page.locator("table.sessions").inner_text()))


@pytest.mark.parametrize("width", WIDTHS)
def test_a_supervisor_finds_a_session_by_number_key_agent_and_day(
    page, shot, live_server, make_agent, credential, width
):
    red = Team.objects.create(name="Red")
    people = {}
    for name in ("ann", "bo", "sue"):
        people[name] = make_agent(username=name, puid=f"{name}-1", credential=credential)
        people[name].agent_profile.team = red
        people[name].agent_profile.save()
    people["sue"].set_password(PASSWORD)
    people["sue"].save()
    # get_or_create: a transactional test before this one emptied the table the migration filled.
    people["sue"].groups.add(Group.objects.get_or_create(name=SUPERVISORS_GROUP)[0])
    session(people["ann"], ticket="T-ann-1", destination="+14155550134", keys=("419015", "223763"))
    session(people["ann"], ticket="T-ann-2", destination="+14155550199")
    old = session(people["bo"], ticket="T-bo-old", destination="+447911123456")
    Session.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=20))
    session(people["bo"], ticket="T-bo-new", destination="+14155550134")
    for n in range(3):
        invite(people["ann"], delivered_after=4 + n, joined_after=20 * (n + 1))
    invite(people["bo"], delivered_after=9)
    invite(people["bo"], status=DeliveryStatus.FAILED, error="Refused")

    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server, username="sue")
    page.get_by_role("link", name="Sessions").first.click()
    page.wait_for_url(re.compile(r"/sessions/$"))
    shot(f"{width}-list")
    assert overflow(page) <= 1

    # The number as the customer reads it out, and Enter.
    box = page.get_by_role("searchbox", name="Search")
    box.fill("(415) 555-0134")
    with page.expect_navigation():
        box.press("Enter")
    assert tickets_listed(page) == {"T-ann-1", "T-bo-new"}
    shot(f"{width}-number")
    # The key before a resend, grouped as it is read aloud.
    box = page.get_by_role("searchbox", name="Search")
    box.fill("419 015")
    with page.expect_navigation():
        box.press("Enter")
    assert tickets_listed(page) == {"T-ann-1"}

    # One agent's sessions of the last week.
    box = page.get_by_role("searchbox", name="Search")
    box.fill("")
    page.get_by_label("Agent").select_option(label="bo")
    page.get_by_label("Started from").fill((timezone.localdate() - timedelta(days=7)).isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    assert tickets_listed(page) == {"T-bo-new"}
    assert overflow(page) <= 1
    shot(f"{width}-filtered")
    assert (
        violations(page, f"session-list-filtered-{width}", ".session-filter", "table.sessions")
        == []
    )

    page.goto(f"{live_server.url}{reverse('invitations:dashboard')}")
    assert page.get_by_role("heading", level=1).inner_text() == "Dashboard"
    assert page.locator("#joined").inner_text() == "3"
    # 3 joined of 8 sent: the 4 sessions above were delivered too.
    assert page.locator("#joined-rate").inner_text() == "37.5%"
    assert page.locator("#median-join").inner_text() == "40.0 s"
    table = page.locator("table.per-agent")
    assert table.locator("tbody th").all_inner_texts() == ["ann", "bo"]  # sue sent none
    assert overflow(page) <= 1
    shot(f"{width}-dashboard")
    assert violations(page, f"dashboard-{width}", ".dashboard-figures", ".per-agent") == []
    # Each agent's row opens their sessions of the period.
    table.get_by_role("link", name="bo").click()
    page.wait_for_url(re.compile(r"/sessions/\?agent="))
    assert page.get_by_label("Agent").locator("option:checked").inner_text() == "bo"
