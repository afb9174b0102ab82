"""axe-core (vendored from the npm registry) run inside each main page: no serious or critical
violations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from invitations import services
from invitations.models import Team
from tests.support.browser import ARTIFACTS, PASSWORD, log_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"


def serious_violations(page, name: str) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(result["violations"], indent=2))
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_main_pages_have_no_serious_accessibility_violations(
    page, live_server, make_agent, make_onsync_credential, sandbox_sms_gateway
):
    agent = make_agent(username="ann", password=PASSWORD, credential=make_onsync_credential())
    # A supervisor, so the dashboard is among the pages checked.
    agent.agent_profile.team = Team.objects.create(name="Red")
    agent.agent_profile.save()
    agent.groups.add(Group.objects.get(name="Supervisors"))
    invitee = services.invitation_create(agent=agent, destination="(415) 555-0134", name="Ann")

    page.goto(f"{live_server.url}{reverse('login')}")
    problems = {"login": serious_violations(page, "login")}
    log_in(page, live_server)
    pages = {
        "home": reverse("invitations:home"),
        "home-with-errors": None,
        "session": invitee.session.get_absolute_url(),
        "session-list": reverse("invitations:session-list"),
        "dashboard": reverse("invitations:dashboard"),
    }
    for name, path in pages.items():
        if path is None:  # the form shown again with a field error
            page.goto(f"{live_server.url}{reverse('invitations:home')}")
            page.get_by_label("Mobile number or e-mail address").fill("12345")
            with page.expect_navigation():
                page.keyboard.press("Enter")
        else:
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None and response.ok, (name, response)
        problems[name] = serious_violations(page, name)
    assert {name: found for name, found in problems.items() if found} == {}
