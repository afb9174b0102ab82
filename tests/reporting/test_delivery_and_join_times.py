"""The dashboard's times to delivery (creation to the delivery receipt) and to join (sending to
the customer's join), its joined rate, and the table by agent, on invitations at fixed times."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from invitations.models import DeliveryStatus, Invitee
from invitations.reporting import figures
from invitations.reporting.stats import period_ending_today
from tests.support.dashboard import URL, figure, invite, search

pytestmark = pytest.mark.django_db


def page(client, user):
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    return response.content.decode()


def agent_rows(html):
    """{username: [cells as shown]} of the table by agent."""
    table = search(r'<table class="per-agent".*?</table>', html, re.S).group(0)
    return {
        name: re.findall(r"<td>([^<]*)</td>", cells)
        for name, cells in re.findall(
            r'<th scope="row"><a [^>]*>([^<]+)</a></th>(.*?)</tr>', table, re.S
        )
    }


def test_time_to_delivery_runs_from_creation_to_the_receipt(client, people):
    ann = people["ann"]
    invite(ann, delay=1)  # sent, no receipt: not in the median
    invite(ann, delay=1, delivered_after=10)
    invite(ann, delay=1, delivered_after=30)
    # Delivered, then joined: the receipt's time still counts.
    invite(ann, delay=1, delivered_after=50, joined_after=60)
    bounced = invite(ann, status=DeliveryStatus.BOUNCED)
    Invitee.objects.filter(pk=bounced.pk).update(receipt_at=timezone.now())
    html = page(client, people["sue"])
    assert figure(html, "median-delivery") == "30.0 s"
    assert "from creation to the delivery receipt, over 3 invitations with a receipt" in html


def test_without_receipts_the_time_to_delivery_says_so(client, people):
    invite(people["ann"], delay=1)
    html = page(client, people["sue"])
    assert figure(html, "median-delivery") == "—"
    assert "from creation to the delivery receipt; no receipt yet" in html
    assert figure(html, "median-join") == "—"
    assert "nobody joined yet" in html


def test_joined_rate_and_time_to_join_run_from_sending(client, people):
    ann = people["ann"]
    invite(ann, delay=100, joined_after=20)
    invite(ann, delay=100, joined_after=40)
    left = invite(ann, delay=100, joined_after=90)
    Invitee.objects.filter(pk=left.pk).update(status=DeliveryStatus.LEFT)
    invite(ann)  # sent, nobody joined
    invite(ann, status=DeliveryStatus.FAILED)  # not sent: not in the rate
    html = page(client, people["sue"])
    assert figure(html, "joined") == "3"  # the count stays as it was
    assert figure(html, "joined-rate") == "75.0%"
    assert figure(html, "median-join") == "40.0 s"
    assert "from sending to the customer joining, over 3 invitations" in html


def test_the_table_by_agent_shows_each_agent_of_the_team(client, people):
    ann, sue = people["ann"], people["sue"]
    invite(ann, delivered_after=4, joined_after=10)
    invite(ann, delivered_after=8)
    invite(ann, status=DeliveryStatus.FAILED, error="Refused")
    invite(ann, status=DeliveryStatus.QUEUED)
    invite(sue, channel="email")
    invite(people["cy"], delivered_after=1)  # another team's
    html = page(client, sue)
    rows = agent_rows(html)
    # Invitations, sent, success rate, joined, joined rate, to delivery, to join.
    assert rows == {
        "ann": ["4", "2", "66.7%", "1", "50.0%", "6.0 s", "10.0 s"],
        "sue": ["1", "1", "100.0%", "0", "0.0%", "—", "—"],
    }
    period = period_ending_today(days=14)
    link = search(r'<a href="([^"]+)">ann</a>', html).group(1).replace("&amp;", "&")
    assert link == (
        f"/sessions/?agent={ann.pk}&created_from={period.first.isoformat()}"
        f"&created_to={period.last.isoformat()}"
    )
    # The link lands on the session list filtered to that agent and those days.
    listed = client.get(link).content.decode()
    assert listed.count('href="/sessions/') - listed.count('href="/sessions/"') == 4


def test_superusers_see_every_agent_and_staff_no_table(client, people):
    for name in ("ann", "cy", "op"):
        invite(people[name], delivered_after=3)
    assert set(agent_rows(page(client, people["root"]))) == {"ann", "cy", "op"}
    # Staff on no team see their own figures: a table of one would say nothing more.
    own = page(client, people["op"])
    assert 'class="per-agent"' not in own and figure(own, "median-delivery") == "3.0 s"


def test_kept_figures_give_the_same_times_per_agent(client, people):
    for n, (name, receipt, join) in enumerate([("ann", 2, 6), ("ann", 4, 2), ("sue", 9, 30)]):
        invitee = invite(people[name], days_ago=n + 1, delivered_after=receipt, joined_after=join)
        Invitee.objects.filter(pk=invitee.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    counted = figures.invitation_stats(user=people["sue"], period=period_ending_today(days=14))
    kept = figures.invitation_stats(user=people["sue"], period=period_ending_today(days=14))
    for stats in (counted, kept):
        assert stats.median_delivery == timedelta(seconds=4)
        assert stats.median_join == timedelta(seconds=6)
        [ann, sue] = stats.agents
        assert (ann.username, ann.median_delivery, ann.median_join) == (
            "ann",
            timedelta(seconds=3),
            timedelta(seconds=4),
        )
        assert (sue.median_delivery, sue.median_join) == (
            timedelta(seconds=9),
            timedelta(seconds=30),
        )
