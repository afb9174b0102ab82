"""Who sees whose sessions: one rule (selectors.visibility_of), and every page, the API, the
dashboard and the templates' flags going by it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.test import Client
from django.urls import reverse

from invitations import selectors
from invitations.models import Invitee, Session, Team
from invitations.selectors import Reach
from invitations.services import tokens

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("invitations:dashboard")
SESSION_LIST = reverse("invitations:session-list")
API_SESSIONS = "/api/v1/sessions/"


@pytest.fixture
def people(make_agent, make_team_agent, credential, django_user_model):
    """Two teams with an agent and a supervisor each, a supervisor and a staff member without a
    team, a superuser, an inactive supervisor, and a user who is not an agent."""
    red, blue = Team.objects.create(name="red"), Team.objects.create(name="blue")
    supervisors = Group.objects.get(name="Supervisors")
    lone = make_agent(username="lone-sup", puid="lone-1", credential=credential)
    lone.groups.add(supervisors)
    staff = make_agent(username="op", puid="op-1", credential=credential)
    staff.is_staff = True
    staff.save()
    gone = make_team_agent(username="gone", team=red, supervisor=True)
    gone.is_active = False
    gone.save()
    plain = django_user_model.objects.create_user("plain", password="pw-plain-1")
    plain.groups.add(supervisors)  # in the group, yet no agent profile: no team to supervise
    people = {
        "ann": make_team_agent(username="ann", team=red),
        "sue": make_team_agent(username="sue", team=red, supervisor=True),
        "cy": make_team_agent(username="cy", team=blue),
        "lone-sup": lone,
        "op": staff,
        "root": django_user_model.objects.create_superuser("root", "r@example.com", "pw-x-1"),
        "gone": gone,
        "plain": plain,
    }
    for username in ("ann", "sue", "cy", "lone-sup", "op"):
        session = Session.objects.create(
            credential=credential,
            created_by=people[username],
            session_type=1,
            ticket_reference=f"T-{username}",
        )
        Invitee.objects.create(session=session, channel="sms", destination="+14155550134")
    return people


# username: (reach, tickets of the sessions seen, sees others, may open the dashboard)
RULE = {
    "ann": (Reach.OWN, {"T-ann"}, False, False),
    "sue": (Reach.TEAM, {"T-ann", "T-sue"}, True, True),
    "cy": (Reach.OWN, {"T-cy"}, False, False),
    # In the Supervisors group but on no team: nobody to supervise, so only their own.
    "lone-sup": (Reach.OWN, {"T-lone-sup"}, False, False),
    # Staff open the dashboard, for their own figures, and see only their own sessions.
    "op": (Reach.OWN, {"T-op"}, False, True),
    "root": (Reach.EVERYONE, {"T-ann", "T-sue", "T-cy", "T-lone-sup", "T-op"}, True, True),
    "gone": (Reach.NOBODY, set(), False, False),
    "plain": (Reach.OWN, set(), False, False),
}


def tickets(sessions) -> set[str]:
    return {session.ticket_reference for session in sessions}


@pytest.mark.parametrize("username", RULE)
def test_the_one_rule(people, username):
    reach, seen, sees_others, dashboard = RULE[username]
    visibility = selectors.visibility_of(people[username])
    assert visibility.reach is reach
    assert tickets(visibility.sessions(Session.objects.all())) == seen
    assert visibility.sees_others is sees_others
    assert visibility.may_open_dashboard is dashboard


def test_a_signed_out_user_sees_nothing(people):
    visibility = selectors.visibility_of(AnonymousUser())
    assert visibility.reach is Reach.NOBODY
    assert not selectors.sessions_visible_to(AnonymousUser()).exists()
    assert selectors.dashboard_scope(AnonymousUser()) is None


@pytest.mark.parametrize("username", RULE)
def test_every_selector_derives_from_the_rule(people, username):
    user = people[username]
    visibility = selectors.visibility_of(user)
    assert tickets(selectors.sessions_visible_to(user)) == tickets(
        visibility.sessions(Session.objects.all())
    )
    assert selectors.sees_others_sessions(user) is visibility.sees_others
    assert (selectors.dashboard_scope(user) is not None) is visibility.may_open_dashboard
    creators = visibility.creator_ids()
    sessions = Session.objects.all()
    if creators is not None:
        sessions = sessions.filter(created_by_id__in=creators)
    assert tickets(sessions) == tickets(visibility.sessions(Session.objects.all()))


def test_the_rule_reads_the_team_as_it_is_now(people):
    sue = people["sue"]
    assert tickets(selectors.sessions_visible_to(sue)) == {"T-ann", "T-sue"}
    people["cy"].agent_profile.team = sue.agent_profile.team
    people["cy"].agent_profile.save()
    assert tickets(selectors.sessions_visible_to(sue)) == {"T-ann", "T-sue", "T-cy"}
    sue.groups.clear()
    assert tickets(selectors.sessions_visible_to(sue)) == {"T-sue"}


def api_tickets(user) -> set[str]:
    token = tokens.api_token_create(user=user, name="crm", actor=None)[1]
    response = Client().get(API_SESSIONS, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return {row["ticket_reference"] for row in response.json()["results"]}


def page_tickets(client, user) -> tuple[set[str], bool]:
    """The sessions the session list shows `user`, and whether it has the Agent column."""
    client.force_login(user)
    html = client.get(SESSION_LIST).content.decode()
    shown = {t for t in ("T-ann", "T-sue", "T-cy", "T-lone-sup", "T-op") if t in html}
    return shown, '<th scope="col">Agent</th>' in html


def dashboard_link(client, user) -> bool:
    client.force_login(user)
    html = client.get(reverse("invitations:home")).content.decode()
    return f'<a href="{DASHBOARD}">Dashboard</a>' in html


@pytest.mark.parametrize("username", ["ann", "sue", "lone-sup", "op", "root"])
def test_pages_api_dashboard_and_flags_agree_with_the_rule(client, people, username):
    user = people[username]
    _reach, seen, sees_others, dashboard = RULE[username]
    assert page_tickets(client, user) == (seen, sees_others)
    assert api_tickets(user) == seen
    assert dashboard_link(client, user) is dashboard
    client.force_login(user)
    assert client.get(DASHBOARD).status_code == (200 if dashboard else 404)


def test_a_supervisor_without_a_team_sees_only_their_own_everywhere(client, people):
    """The group alone gives nobody to supervise: the session list shows no Agent column (it
    did, though it listed only their own sessions), the API, the dashboard and its link agree."""
    lone = people["lone-sup"]
    assert page_tickets(client, lone) == ({"T-lone-sup"}, False)
    assert api_tickets(lone) == {"T-lone-sup"}
    assert not dashboard_link(client, lone)
    client.force_login(lone)
    assert client.get(DASHBOARD).status_code == 404
    for other in ("T-ann", "T-op"):
        session = Session.objects.get(ticket_reference=other)
        assert client.get(session.get_absolute_url()).status_code == 404
