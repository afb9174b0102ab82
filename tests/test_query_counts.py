"""The agent pages and every admin changelist issue no more SQL queries with 10,000 sessions
than with 10: nothing is fetched once per row, and no page grows with the data."""

from __future__ import annotations

import itertools

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invitations.models import (
    AttemptOutcome,
    DeliveryAttempt,
    DeliveryStatus,
    Invitee,
    PartnerCredential,
    Session,
    Team,
)

pytestmark = pytest.mark.django_db

STATUSES = [
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.FAILED,
    DeliveryStatus.NEEDS_ATTENTION,
]
_numbers = itertools.count(1)


def add_sessions(count: int, *, agents, credential: PartnerCredential) -> None:
    """`count` sessions spread over `agents`, each with one invitee and one attempt."""
    sessions = Session.objects.bulk_create(
        Session(
            credential=credential,
            created_by=agents[n % len(agents)],
            session_type=1,
            session_key=f"{next(_numbers):06d}",
            ticket_reference=f"T-{n}",
        )
        for n in range(count)
    )
    invitees = Invitee.objects.bulk_create(
        Invitee(
            session=session,
            name=f"Customer {n}",
            channel="sms",
            destination=f"+1415{next(_numbers):07d}",
            status=STATUSES[n % len(STATUSES)],
            attempts=1,
            last_error="" if n % 4 < 2 else "Glance refused the request (400).",
        )
        for n, session in enumerate(sessions)
    )
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(invitee=invitee, outcome=AttemptOutcome.SENT, http_status=200)
        for invitee in invitees
    )


@pytest.fixture
def people(make_agent, credential, admin_user):
    """Agents on one team, their supervisor, and the superuser."""
    team = Team.objects.create(name="Red")
    agents = [make_agent(username=f"agent-{n}", credential=credential) for n in range(5)]
    for agent in agents:
        agent.agent_profile.team = team
        agent.agent_profile.save()
    supervisor = agents[0]
    supervisor.groups.add(Group.objects.get(name="Supervisors"))
    return {"agents": agents, "supervisor": supervisor, "admin": admin_user}


def agent_pages() -> list[str]:
    some_session = Session.objects.order_by("pk").first()
    assert some_session is not None
    return [
        reverse("invitations:home"),
        reverse("invitations:session-list"),
        reverse("invitations:session-list") + "?q=Customer&status=sent",
        some_session.get_absolute_url(),
        reverse("invitations:dashboard"),
    ]


def admin_changelists() -> list[str]:
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
        if model._meta.app_label == "invitations"
    ]


def query_counts(client, urls: list[str]) -> dict[str, int]:
    counts = {}
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[url] = len(queries.captured_queries)
    return counts


def test_pages_cost_the_same_with_10_and_10000_sessions(
    client, people, credential, django_assert_max_num_queries
):
    add_sessions(10, agents=people["agents"], credential=credential)
    viewers = {
        "supervisor": (people["supervisor"], agent_pages()),
        "admin": (people["admin"], agent_pages() + admin_changelists()),
    }
    at_10 = {}
    for name, (user, urls) in viewers.items():
        client.force_login(user)
        at_10[name] = query_counts(client, urls)
    assert len(at_10["admin"]) >= 15  # every admin changelist of the app is in

    add_sessions(9_990, agents=people["agents"], credential=credential)
    assert Session.objects.count() == 10_000
    for name, (user, urls) in viewers.items():
        client.force_login(user)
        for url in urls:
            with django_assert_max_num_queries(at_10[name][url], info=f"{name} {url}"):
                response = client.get(url)
            assert response.status_code == 200
    # The lists did fill up: a full page of sessions, not an empty one.
    client.force_login(people["supervisor"])
    page = client.get(reverse("invitations:session-list")).content.decode()
    assert page.count('href="/sessions/') >= 50


def test_the_signed_in_agent_comes_with_profile_and_credential_in_one_query(
    client, agent, settings
):
    """The time-zone middleware and the invite form read the agent's profile and credential
    from the user that the session loaded (invitations.web.auth_backends.AgentModelBackend)."""
    agent.agent_profile.time_zone = "Europe/Berlin"
    agent.agent_profile.save()
    client.force_login(agent)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("invitations:home"))
    assert page.status_code == 200
    # The profile's own columns are read once, joined to the user.
    reads_of_the_profile = [
        q["sql"]
        for q in queries.captured_queries
        if '"invitations_agentprofile"."time_zone"' in q["sql"]
    ]
    assert len(reads_of_the_profile) == 1
    assert 'FROM "auth_user"' in reads_of_the_profile[0]
