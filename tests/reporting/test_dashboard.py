"""The supervisors' dashboard: who may open it, and its figures on known data."""

import re
import zoneinfo
from datetime import time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from invitations.models import DeliveryStatus
from invitations.reporting.stats import duration_text
from tests.support.dashboard import URL, figure, invite, search, totals_row

pytestmark = pytest.mark.django_db
GLANCE_400 = "Glance rejected the invitation (400)"
CRASHED = "Delivery stopped on an internal error."


def get(client, user, **params):
    client.force_login(user)
    return client.get(URL, params)


def table_rows(html):
    """{'YYYY-MM-DD': [SMS sent, failed, needs attention, pending, e-mail ..., total]}."""
    return {
        day: [int(n) for n in re.findall(r"<td>(\d+)</td>", cells)]
        for day, cells in re.findall(
            r'<th scope="row"><time datetime="([\d-]+)">[^<]*</time></th>(.*?)</tr>', html
        )
    }


def chart_bars(html):
    """For each bar, left to right: {outcome: count} read from the segments' tooltips."""
    svg = search(r'<figure class="chart">\s*<svg.*?</svg>', html, re.S).group(0)
    return [
        {
            o: int(n)
            for o, n in re.findall(r'class="seg seg-(\w+)"[^>]*><title>[^<]*: (\d+) \(', bar)
        }
        for bar in re.findall(r'<g class="bar">(.*?)</g>', svg, re.S)
    ]


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("username", ["ann", "cy", "lone-sup", "nobody"])
def test_agents_and_teamless_supervisors_get_not_found(client, people, username):
    invite(people["ann"])
    assert get(client, people[username]).status_code == 404


def test_supervisors_see_their_own_teams_numbers_only(client, people):
    invite(people["ann"])
    invite(people["sue"], status=DeliveryStatus.FAILED, error=GLANCE_400)
    invite(people["cy"], status=DeliveryStatus.NEEDS_ATTENTION, error="Blue team's own trouble")
    invite(people["cy"])
    invite(people["cy"])

    red = get(client, people["sue"]).content.decode()
    assert "Team red" in red
    assert totals_row(red)[-1] == 2
    assert GLANCE_400 in red and "Blue team" not in red
    assert figure(red, "success-rate") == "50.0%"

    blue = get(client, people["bob"]).content.decode()
    assert "Team blue" in blue
    assert totals_row(blue)[-1] == 3
    assert GLANCE_400 not in blue and "Blue team&#x27;s own trouble" in blue
    assert figure(blue, "success-rate") == "66.7%"


def test_superusers_see_everyone_and_staff_their_own_sessions(client, people):
    invite(people["ann"])
    invite(people["cy"])
    invite(people["op"], status=DeliveryStatus.FAILED)
    everything = get(client, people["root"]).content.decode()
    assert "All teams" in everything and totals_row(everything)[-1] == 3
    own = get(client, people["op"]).content.decode()
    assert "Your own sessions" in own and totals_row(own)[-1] == 1


def test_the_figures_on_known_data(client, people):
    ann, sue = people["ann"], people["sue"]
    invite(ann, days_ago=1, delivered_after=2)
    invite(ann, days_ago=1, delivered_after=4)
    invite(sue, days_ago=1, channel="email", delivered_after=10)
    invite(ann, days_ago=1, status=DeliveryStatus.FAILED, error=GLANCE_400)
    invite(ann, days_ago=1, status=DeliveryStatus.NEEDS_ATTENTION, channel="email", error=CRASHED)
    invite(ann, days_ago=1, status=DeliveryStatus.QUEUED)
    invite(ann, days_ago=3, delivered_after=1)
    invite(ann, days_ago=3, delivered_after=30, channel="email")
    invite(sue, days_ago=3, status=DeliveryStatus.FAILED, error=GLANCE_400)
    invite(sue, days_ago=3, status=DeliveryStatus.FAILED, error="x" * 200)
    invite(ann, days_ago=3, status=DeliveryStatus.SENDING, channel="email")
    invite(ann, days_ago=20, status=DeliveryStatus.FAILED, error="An old failure")

    html = get(client, sue).content.decode()
    rows = table_rows(html)
    assert len(rows) == 14
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    #                SMS: sent failed attention pending  E-mail: ...          total
    assert rows[day] == [2, 1, 0, 1, 1, 0, 1, 0, 6]
    day = (timezone.localdate() - timedelta(days=3)).isoformat()
    assert rows[day] == [1, 2, 0, 0, 1, 0, 0, 1, 5]
    assert totals_row(html) == [3, 3, 0, 1, 2, 0, 1, 1, 11]
    assert "11</span>" in html and "7 SMS, 4 E-mail" in html
    # 5 sent of 9 finished; pending ones do not count
    assert figure(html, "success-rate") == "55.6%"
    # delays 1, 2, 4, 10, 30 s
    assert figure(html, "median-delivery") == "4.0 s"
    reasons = re.findall(r'<td class="reason">([^<]*)</td><td>(\d+)</td>', html)
    assert reasons[0] == (GLANCE_400, "2")
    assert sorted(reasons[1:]) == [(CRASHED, "1"), ("x" * 119 + "…", "1")]
    assert "An old failure" not in html


def test_median_of_an_even_count_is_the_mean_of_the_middle_two(client, people):
    for delay in (60, 120, 240, 3600):
        invite(people["ann"], delivered_after=delay)
    html = get(client, people["sue"]).content.decode()
    assert figure(html, "median-delivery") == "3 min"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0.0 s"),
        (1.24, "1.2 s"),
        (59.9, "59.9 s"),
        (59.97, "1 min"),
        (180, "3 min"),
        (3540, "59 min"),
        (5400, "1.5 h"),
        (3 * 86400, "3.0 days"),
        (-5, "0.0 s"),
    ],
)
def test_durations_read_naturally(seconds, text):
    assert duration_text(timedelta(seconds=seconds)) == text


def test_without_finished_invitations_rate_and_median_are_dashes(client, people):
    invite(people["ann"], status=DeliveryStatus.QUEUED)
    html = get(client, people["sue"]).content.decode()
    assert figure(html, "success-rate") == "—"
    assert figure(html, "median-delivery") == "—"
    assert "No invitation failed or needed attention in this period." in html


@pytest.mark.parametrize(
    ("days", "expected_days"), [("7", 7), ("14", 14), ("30", 30), ("", 14), ("15", 14), ("x", 14)]
)
def test_the_period_parameter(client, people, days, expected_days):
    invite(people["ann"], days_ago=0)
    invite(people["ann"], days_ago=10)
    invite(people["ann"], days_ago=20)
    invite(people["ann"], days_ago=30)
    html = get(client, people["sue"], days=days).content.decode()
    rows = table_rows(html)
    assert len(rows) == expected_days == len(chart_bars(html))
    assert max(rows) == timezone.localdate().isoformat()
    assert totals_row(html)[-1] == {7: 1, 14: 2, 30: 3}[expected_days]
    assert f'<strong aria-current="page">Last {expected_days} days</strong>' in html


def test_days_are_counted_in_the_viewers_time_zone(client, people):
    auckland = zoneinfo.ZoneInfo("Pacific/Auckland")
    with timezone.override(auckland):
        # 00:30 in Auckland is the day before in UTC.
        invite(people["ann"], days_ago=2, at=time(0, 30))
        today = timezone.localdate()
    in_utc = table_rows(get(client, people["sue"]).content.decode())
    assert in_utc[(today - timedelta(days=3)).isoformat()][-1] == 1
    people["sue"].agent_profile.time_zone = "Pacific/Auckland"
    people["sue"].agent_profile.save()
    html = get(client, people["sue"]).content.decode()
    rows = table_rows(html)
    assert rows[(today - timedelta(days=2)).isoformat()][-1] == 1
    assert rows[(today - timedelta(days=3)).isoformat()][-1] == 0
    assert max(rows) == today.isoformat()
    assert "Pacific/Auckland time" in html


def test_numbers_follow_the_browser_language(client, people):
    invite(people["ann"], delivered_after=2)
    invite(people["ann"], status=DeliveryStatus.FAILED, error=GLANCE_400)
    client.force_login(people["sue"])
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert figure(html, "success-rate") == "50,0 %"  # German puts a space before %
    assert figure(html, "median-delivery") == "2,0 s"
    assert '<th scope="col">Gesendet</th>' in html
    # ...but not the chart's drawing coordinates
    svg = search(r'<figure class="chart">\s*<svg.*?</svg>', html, re.S).group(0)
    assert re.search(r'<rect class="seg seg-sent" x="\d+\.\d"', svg)
    assert not re.search(r'="[\d.]*,', svg)


def test_the_chart_has_a_bar_per_day_matching_the_table(client, people):
    invite(people["ann"], days_ago=0)
    invite(people["ann"], days_ago=0, status=DeliveryStatus.FAILED, channel="email")
    invite(people["ann"], days_ago=2, status=DeliveryStatus.NEEDS_ATTENTION)
    invite(people["ann"], days_ago=2, status=DeliveryStatus.QUEUED, channel="email")
    invite(people["ann"], days_ago=6, channel="email")
    html = get(client, people["sue"], days="7").content.decode()
    assert re.search(r'<svg [^>]*role="img" aria-label="Stacked bar chart[^"]*5 in all', html)
    bars, rows = chart_bars(html), list(table_rows(html).values())
    assert len(bars) == len(rows) == 7
    outcomes = ["sent", "failed", "needs_attention", "pending"]
    for bar, cells in zip(bars, rows, strict=True):
        per_outcome = {o: cells[i] + cells[i + 4] for i, o in enumerate(outcomes)}
        assert bar == {o: n for o, n in per_outcome.items() if n}
    assert bars[0] == {"sent": 1} and bars[4] == {"needs_attention": 1, "pending": 1}
    assert bars[6] == {"sent": 1, "failed": 1} and bars[1] == {}
    today = timezone.localdate()
    assert f"<title>{today.day} {today:%b}: 2 invitations</title>" in html
    assert f"<title>{today.day} {today:%b}, Failed: 1 (1 E-mail)</title>" in html
    assert "<caption>Invitations per day, by channel and outcome</caption>" in html


def test_the_empty_state(client, people):
    invite(people["cy"])  # another team's
    invite(people["ann"], days_ago=20)
    html = get(client, people["sue"]).content.decode()
    assert "No invitations were created in the last 14 days" in html
    assert 'href="?days=30">Look at the last 30 days</a>' in html
    assert '<figure class="chart">' not in html and "<table" not in html


def test_only_the_top_five_failure_reasons_are_listed(client, people):
    for n in range(7):
        for _ in range(n + 1):
            invite(people["ann"], status=DeliveryStatus.FAILED, error=f"Reason {n}")
    html = get(client, people["sue"]).content.decode()
    reasons = re.findall(r'<td class="reason">([^<]*)</td><td>(\d+)</td>', html)
    assert reasons == [(f"Reason {n}", str(n + 1)) for n in (6, 5, 4, 3, 2)]


@pytest.mark.parametrize("username", ["sue", "root"])
def test_queries_do_not_grow_with_invitations(client, people, username):
    statuses = list(DeliveryStatus.values)

    def add(count):
        for n in range(count):
            invite(
                people[("ann", "sue")[n % 2]],
                days_ago=n % 14,
                status=statuses[n % len(statuses)],
                channel=("sms", "email")[n % 2],
                error=f"Error {n % 7}",
                delay=n,
                # Receipts, joins, and the table by agent read them too.
                delivered_after=n + 1 if n % 3 else None,
                joined_after=n if n % 4 == 0 else None,
            )

    def queries():
        client.force_login(people[username])
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL)
        assert response.status_code == 200
        return len(captured), totals_row(response.content.decode())[-1]

    add(5)
    few, shown = queries()
    assert shown == 5
    add(45)
    many, shown = queries()
    assert shown == 50
    assert many == few


@pytest.mark.parametrize(
    ("username", "shown"),
    [("sue", True), ("root", True), ("op", True), ("ann", False), ("lone-sup", False)],
)
def test_the_dashboard_link_is_shown_only_to_those_who_may_open_it(client, people, username, shown):
    client.force_login(people[username])
    html = client.get(reverse("invitations:home")).content.decode()
    assert (f'<a href="{URL}">Dashboard</a>' in html) == shown
