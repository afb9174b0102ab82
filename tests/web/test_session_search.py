"""The session list page: one search box, and the agent and date filters for those who watch
others' sessions."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from invitations.models import DeliveryStatus, Invitee, Session, SessionKey
from tests.support.dashboard import search

pytestmark = pytest.mark.django_db

URL = reverse("invitations:session-list")


def session(agent, *, ticket, destination="+14155550134", key="", created_at=None):
    found = Session.objects.create(
        credential=agent.agent_profile.default_credential,
        created_by=agent,
        session_type=1,
        ticket_reference=ticket,
        session_key=key,
    )
    if key:
        SessionKey.objects.create(session=found, key=key)
    Invitee.objects.create(
        session=found, channel="sms", destination=destination, status=DeliveryStatus.SENT
    )
    if created_at is not None:
        Session.objects.filter(pk=found.pk).update(created_at=created_at)
    return found


def listed(client, **params):
    html = client.get(URL, params).content.decode()
    return set(re.findall(r"<td[^>]*>(T-[\w-]+)</td>", html))


def test_an_agent_searches_their_own_sessions_by_number_or_earlier_key(client, people):
    ann = people["ann"]
    resent = session(ann, ticket="T-1", key="223763")
    SessionKey.objects.create(session=resent, key="419015")
    session(ann, ticket="T-2", destination="+14155550199")
    session(people["sue"], ticket="T-sue")
    client.force_login(ann)
    assert listed(client) == {"T-1", "T-2"}
    assert listed(client, q="(415) 555-0134") == {"T-1"}
    assert listed(client, q="419 015") == {"T-1"}
    assert listed(client, q="0199") == {"T-2"}
    html = client.get(URL).content.decode()
    # A search box in a GET form (Enter searches); no agent or date filter for an agent.
    assert re.search(r'<form method="get"[^>]*role="search"', html)
    assert 'type="search" name="q"' in html
    assert 'name="agent"' not in html
    assert 'name="created_from"' not in html
    # An agent asking for someone else's sessions gets none of them.
    assert listed(client, agent=people["sue"].pk) == {"T-1", "T-2"}  # the filter is not theirs


def test_a_supervisor_filters_by_agent_of_their_team_and_by_day(client, people):
    ann, sue = people["ann"], people["sue"]
    session(ann, ticket="T-ann-may", created_at=datetime(2026, 5, 4, 12, tzinfo=UTC))
    session(ann, ticket="T-ann-june", created_at=datetime(2026, 6, 1, 12, tzinfo=UTC))
    session(sue, ticket="T-sue", created_at=datetime(2026, 6, 1, 12, tzinfo=UTC))
    session(people["cy"], ticket="T-cy")
    client.force_login(sue)
    html = client.get(URL).content.decode()
    agents = search(r'<select name="agent" id="agent">(.*?)</select>', html, re.S).group(1)
    # The team's members only, by username.
    assert re.findall(r"<option value=\"\d+\">([^<]+)</option>", agents) == ["ann", "sue"]
    assert 'type="date" name="created_from"' in html
    assert listed(client) == {"T-ann-may", "T-ann-june", "T-sue"}
    assert listed(client, agent=ann.pk) == {"T-ann-may", "T-ann-june"}
    assert listed(client, agent=ann.pk, created_from="2026-06-01") == {"T-ann-june"}
    assert listed(client, created_from="2026-05-01", created_to="2026-05-31") == {"T-ann-may"}
    # Another team's agent is not a choice: the filter is refused and said so, not applied.
    response = client.get(URL, {"agent": people["cy"].pk})
    assert "Select a valid choice" in response.content.decode()
    assert listed(client, agent=people["cy"].pk) == {"T-ann-may", "T-ann-june", "T-sue"}


def test_a_wrong_date_range_is_explained_and_the_rest_still_applies(client, people):
    session(people["ann"], ticket="T-june", created_at=datetime(2026, 6, 1, 12, tzinfo=UTC))
    session(people["ann"], ticket="T-july", created_at=datetime(2026, 7, 1, 12, tzinfo=UTC))
    client.force_login(people["sue"])
    params = {"created_from": "2026-06-15", "created_to": "2026-06-01"}
    html = client.get(URL, params).content.decode()
    assert "The last day is before the first." in html
    assert listed(client, **params) == {"T-july"}  # from 15 June on
    assert "Enter a valid date" in client.get(URL, {"created_from": "15/06"}).content.decode()


def test_staff_filter_their_own_by_day_and_superusers_everyones_by_agent(client, people):
    client.force_login(people["op"])  # staff, on no team: their own sessions
    html = client.get(URL).content.decode()
    assert 'name="created_from"' in html and 'name="agent"' not in html
    client.force_login(people["root"])
    html = client.get(URL).content.decode()
    assert 'name="created_from"' in html
    options = search(r'<select name="agent" id="agent">(.*?)</select>', html, re.S).group(1)
    assert {"ann", "bob", "cy", "sue"} <= set(re.findall(r'">([^<]+)</option>', options))


def test_the_pages_keep_the_search_and_filters(client, people, monkeypatch):
    from invitations.web import views

    monkeypatch.setattr(views, "SESSIONS_PER_PAGE", 2)
    for n in range(5):
        session(people["ann"], ticket=f"T-{n}", created_at=datetime(2026, 6, 1 + n, tzinfo=UTC))
    client.force_login(people["sue"])
    params = {"q": "0134", "agent": people["ann"].pk, "created_from": "2026-06-02"}
    html = client.get(URL, params).content.decode()
    assert listed(client, **params) == {"T-4", "T-3"}
    older = search(r'<a href="\?([^"]+)">Older</a>', html).group(1).replace("&amp;", "&")
    assert older == f"q=0134&agent={people['ann'].pk}&created_from=2026-06-02&page=2"
    assert listed(client, **params, page=2) == {"T-2", "T-1"}


def test_a_long_list_counts_only_some_pages_ahead_and_says_so(client, people, monkeypatch):
    from invitations.web import views
    from invitations.web.paging import CountAheadPaginator

    monkeypatch.setattr(views, "SESSIONS_PER_PAGE", 2)
    monkeypatch.setattr(CountAheadPaginator, "PAGES_AHEAD", 2)
    for n in range(9):
        session(people["ann"], ticket=f"T-{n}", created_at=datetime(2026, 6, 1 + n, tzinfo=UTC))
    client.force_login(people["ann"])
    # Page 1 counts as far as page 3 (6 rows) and one row more: there is more than it counted.
    html = client.get(URL).content.decode()
    assert "Page 1 of 4 or more" in html
    assert listed(client) == {"T-8", "T-7"}
    # A page further on counts further, and exactly once the count reaches the end.
    html = client.get(URL, {"page": 3}).content.decode()
    assert "Page 3 of 5" in html and "or more" not in html
    assert listed(client, page=5) == {"T-0"}
    # Past the end: the last page, as before.
    assert listed(client, page=40) == {"T-0"}
