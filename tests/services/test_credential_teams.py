"""Credentials are for the teams an admin assigns (none assigned: every agent). The agent page,
the API, the commands and the default credential offer and accept only those, so a team's
country allow-list cannot be bypassed by picking another team's credential."""

import io
import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from invitations import services
from invitations.errors import InvalidInput
from invitations.models import AgentProfile, Invitee, PartnerCredential, Session, Team
from invitations.services import tokens

pytestmark = pytest.mark.django_db

HOME = reverse("invitations:home")
UK_NUMBER = "+44 7911 123456"
REFUSED_PICK = "No credential you may send with is labelled"


@pytest.fixture
def teams(db):
    return Team.objects.create(name="red"), Team.objects.create(name="blue")


@pytest.fixture
def red_cred(make_credential, teams, locmem_upstream):
    """Team red's credential: SMS to US numbers only."""
    credential = make_credential(label="red-us", allowed_countries="US")
    credential.teams.set([teams[0]])
    return credential


@pytest.fixture
def blue_cred(make_credential, teams, locmem_upstream):
    """Team blue's credential: SMS anywhere."""
    credential = make_credential(label="blue-any")
    credential.teams.set([teams[1]])
    return credential


@pytest.fixture
def open_cred(make_credential, locmem_upstream):
    """A credential without teams: for every agent."""
    return make_credential(label="everyone")


@pytest.fixture
def red_agent(make_agent, red_cred, blue_cred, open_cred, teams):
    user = make_agent(username="rita")
    profile = user.agent_profile
    profile.team, profile.default_credential = teams[0], red_cred
    profile.save()
    return user


@pytest.fixture
def red_client(client, red_agent) -> Client:
    client.force_login(red_agent)
    return client


def form_key(html: str) -> str:
    match = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', html)
    assert match, "the form has no idempotency key"
    return match.group(1)


def nothing_sent(locmem_upstream) -> bool:
    return not locmem_upstream.outbox and not Invitee.objects.exists()


def test_the_picker_offers_only_the_agents_teams_and_open_credentials(red_client):
    html = red_client.get(HOME).content.decode()
    assert '<strong aria-current="true">Glance: red-us (SMS)</strong>' in html
    assert "?credential=everyone" in html
    assert "blue-any" not in html


def test_another_teams_credential_is_refused_on_the_page_and_nothing_is_sent(
    red_client, locmem_upstream, django_capture_on_commit_callbacks
):
    url = f"{HOME}?credential=blue-any"
    page = red_client.get(url)
    html = page.content.decode()
    assert f"{REFUSED_PICK} &#x27;blue-any&#x27;." in html
    assert "?credential=blue-any" not in html and 'aria-current="true"' not in html

    with django_capture_on_commit_callbacks(execute=True):
        response = red_client.post(
            url,
            {"destination": UK_NUMBER, "credential": "blue-any", "idempotency_key": "k" * 32},
        )
    assert response.status_code == 400
    assert f"{REFUSED_PICK} &#x27;blue-any&#x27;." in response.content.decode()
    assert nothing_sent(locmem_upstream)


def test_the_country_allow_list_cannot_be_bypassed_with_another_teams_credential(
    red_client, red_agent, locmem_upstream, django_capture_on_commit_callbacks
):
    api = Client(headers={"Authorization": f"Bearer {token_for(red_agent)}"})
    with django_capture_on_commit_callbacks(execute=True):
        # Through the page, the agent's own credential refuses a UK number...
        key = form_key(red_client.get(HOME).content.decode())
        own = red_client.post(HOME, {"destination": UK_NUMBER, "idempotency_key": key})
        # ...and picking team blue's (no allow-list) does not get around it: page, API, command.
        picked = red_client.post(
            HOME,
            {"destination": UK_NUMBER, "credential": "blue-any", "idempotency_key": key},
        )
        by_api = api.post(
            "/api/v1/sessions/",
            json.dumps({"destination": UK_NUMBER, "credential": "blue-any"}),
            content_type="application/json",
        )
        with pytest.raises(CommandError, match="may not send with credential 'blue-any'"):
            call_command(
                "send_invitation", "--agent=rita", f"--sms={UK_NUMBER}", "--credential=blue-any"
            )
    assert own.status_code == 400
    assert "numbers are not allowed with this credential (allowed: US)." in own.content.decode()
    assert picked.status_code == 400 and by_api.status_code == 400
    assert nothing_sent(locmem_upstream)


def token_for(user) -> str:
    return tokens.api_token_create(user=user, name="crm", actor=None)[1]


def test_the_api_refuses_another_teams_credential_like_an_unknown_one(
    red_agent, locmem_upstream, django_capture_on_commit_callbacks
):
    api = Client(headers={"Authorization": f"Bearer {token_for(red_agent)}"})

    def create(label):
        body = {"destination": "(415) 555-0134", "credential": label}
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(
                "/api/v1/sessions/", json.dumps(body), content_type="application/json"
            )
        return response.status_code, response.json()

    status, body = create("blue-any")
    assert (status, body) == (
        400,
        {
            "error": {
                "code": "invalid_input",
                "message": f"{REFUSED_PICK} 'blue-any'.",
                "field": "credential",
            }
        },
    )
    # The same answer as for a label nobody has: other teams' labels cannot be told apart.
    assert create("no-such-one") == (
        400,
        {
            "error": {
                "code": "invalid_input",
                "message": f"{REFUSED_PICK} 'no-such-one'.",
                "field": "credential",
            }
        },
    )
    assert nothing_sent(locmem_upstream)
    # The agent's own team's and open credentials work.
    assert create("everyone")[0] == 201
    assert create("red-us")[0] == 201
    assert [s.credential.label for s in Session.objects.order_by("id")] == ["everyone", "red-us"]


def test_an_agent_without_a_team_gets_only_credentials_without_teams(
    make_agent, red_cred, blue_cred, open_cred, client, locmem_upstream
):
    user = make_agent(username="noteam", credential=open_cred)
    client.force_login(user)
    html = client.get(HOME).content.decode()
    assert '<strong aria-current="true">Glance: everyone (SMS)</strong>' in html
    assert "red-us" not in html and "blue-any" not in html
    assert REFUSED_PICK in client.get(f"{HOME}?credential=red-us").content.decode()


def test_bulk_invite_refuses_another_teams_credential(red_agent, locmem_upstream, tmp_path):
    source = tmp_path / "customers.csv"
    source.write_text(f"Phone,Name\n{UK_NUMBER},Ann\n", encoding="utf-8")
    with pytest.raises(CommandError, match="may not send with credential 'blue-any'"):
        call_command(
            "bulk_invite",
            str(source),
            "--agent=rita",
            "--credential=blue-any",
            stdout=io.StringIO(),
        )
    assert nothing_sent(locmem_upstream)


def test_a_default_credential_of_another_team_is_a_validation_error(red_agent, blue_cred):
    with pytest.raises(InvalidInput, match="Credential 'blue-any' is not for team red"):
        services.agent_upsert(username="rita", partner_user_id="rita-1", credential=blue_cred)
    stored = AgentProfile.objects.filter(user=red_agent).values_list("default_credential__label")
    assert stored.get() == ("red-us",)


def test_the_admin_refuses_a_default_credential_the_agents_team_may_not_use(
    admin_client, red_agent, blue_cred, teams
):
    profile = red_agent.agent_profile
    url = reverse("admin:invitations_agentprofile_change", args=[profile.pk])
    form = {
        "user": str(red_agent.pk),
        "partner_user_id": profile.partner_user_id,
        "default_credential": str(blue_cred.pk),
        "time_zone": "",
        "team": str(teams[0].pk),
        "display_name": "Ann",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 200
    assert "Credential &#x27;blue-any&#x27; is not for team red" in response.content.decode()
    profile.refresh_from_db()
    assert profile.default_credential.label == "red-us"
    # Moving the agent to team blue with it is fine.
    assert admin_client.post(url, {**form, "team": str(teams[1].pk)}).status_code == 302


def test_a_default_credential_taken_from_the_team_later_stops_sending_with_a_clear_reason(
    red_client, red_cred, teams, locmem_upstream
):
    red_cred.teams.set([teams[1]])
    html = red_client.get(HOME).content.decode()
    assert "Agent &#x27;rita&#x27; may not send with credential &#x27;red-us&#x27;" in html
    response = red_client.post(HOME, {"destination": "(415) 555-0134", "idempotency_key": "k" * 32})
    assert response.status_code == 400
    assert nothing_sent(locmem_upstream)


def test_the_admin_assigns_teams_to_a_credential(admin_client, open_cred, teams, make_agent):
    make_agent(username="nora", credential=open_cred)  # no team
    url = reverse("admin:invitations_partnercredential_change", args=[open_cred.pk])
    html = admin_client.get(url).content.decode()
    assert 'name="teams"' in html and "selectfilter" in html
    form = {
        "provider": "glance",
        "label": "everyone",
        "base_url": open_cred.base_url,
        "group_id": "72",
        "auth_type": "gkey",
        "auth_header": "authorization",
        "session_params": "",
        "link_delivery": "portal",
        "session_type": "1",
        "is_active": "on",
        "secret": "",
        "teams": [str(teams[0].pk)],
    }
    response = admin_client.post(url, form, follow=True)
    assert list(open_cred.teams.values_list("name", flat=True)) == ["red"]
    # Saved, with a warning about the agents it leaves without a usable default credential.
    assert (
        "1 agents have everyone as their default credential but are not on its teams, so they "
        "cannot send: nora." in response.content.decode()
    )


def test_add_credential_takes_teams(monkeypatch, teams):
    monkeypatch.setenv("KEY", "a-key-123")
    args = ["add_credential", "glance", "--label=t", "--base-url=https://g.invalid", "--group-id=1"]
    call_command(*args, "--api-key-env=KEY", "--teams=red, blue", stdout=io.StringIO())
    credential = PartnerCredential.objects.get(label="t")
    assert sorted(credential.teams.values_list("name", flat=True)) == ["blue", "red"]
    call_command(*args, "--teams=", stdout=io.StringIO())
    assert not credential.teams.exists()
    with pytest.raises(CommandError, match="No team named 'green'"):
        call_command(*args, "--teams=red,green", stdout=io.StringIO())
