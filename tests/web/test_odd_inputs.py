"""Odd query strings on the agent pages: unicode digits, huge numbers, NUL bytes, invalid
UTF-8 (a lone surrogate) and very long values get a page or a 4xx, never a server error."""

from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

ODD_VALUES = [
    "²",
    "٣",
    "1" * 5000,
    "9" * 30,
    "-1",
    "1e309",
    "nan",
    "a\x00b",
    "\x00",
    "%ED%A0%80",  # UTF-8 of a lone surrogate: not valid UTF-8
    "%FF%FE",
    "x" * 20_000,
    "+" + "4" * 300,
    "@" * 300 + "example.com",
]
# Every parameter each agent page reads.
PAGES = {
    "invitations:home": [
        "phone",
        "email",
        "destination",
        "name",
        "ticket",
        "language",
        "credential",
    ],
    "invitations:invite": ["phone", "email", "name", "ticket", "language", "credential"],
    "invitations:session-list": ["q", "status", "page"],
    "invitations:dashboard": ["days"],
    "invitations:message-preview": ["destination", "name", "language", "credential", "session"],
}


def query(parameter, value):
    """`parameter=value` as a browser or a script puts it on the wire; values that start with
    % are already encoded (bytes that are not UTF-8)."""
    return f"{parameter}={value if value.startswith('%') else quote(value, safe='')}"


@pytest.fixture
def supervisor_client(make_team_agent, portal_credential):
    from invitations.models import Team

    user = make_team_agent(username="sue", team=Team.objects.create(name="red"), supervisor=True)
    user.agent_profile.default_credential = portal_credential
    user.agent_profile.save()
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize("page", PAGES)
def test_odd_query_values_never_make_a_server_error(supervisor_client, page):
    url = reverse(page)
    errors = []
    for parameter in PAGES[page]:
        for value in ODD_VALUES:
            response = supervisor_client.get(f"{url}?{query(parameter, value)}")
            if response.status_code >= 500 or response.status_code < 200:
                errors.append((parameter, value[:20], response.status_code))
    assert errors == []


def test_odd_session_ids_in_the_path_are_404(supervisor_client):
    huge = "9" * 30
    for path in ("/sessions/²/", f"/sessions/{huge}/", f"/sessions/{huge}/invitees/"):
        assert supervisor_client.get(path).status_code == 404
