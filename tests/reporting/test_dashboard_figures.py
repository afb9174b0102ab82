"""The dashboard keeps each past day's (and each finished hour's) figures in the cache and
counts again only what changed (invitations.reporting.figures._figures)."""

import random
import statistics
import zoneinfo
from array import array
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from invitations.models import DeliveryStatus, Invitee, Session, Team
from invitations.reporting import figures, stats
from invitations.services import personal_data_purge
from tests.support.dashboard import URL, figure, invite, totals_row

pytestmark = pytest.mark.django_db


def settled_long_ago(invitee):
    """As if the invitation's last change were two hours old."""
    Invitee.objects.filter(pk=invitee.pk).update(updated_at=timezone.now() - timedelta(hours=2))


def totals(client, user):
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    # SMS sent, failed, needs attention, pending, e-mail ..., all
    return totals_row(response.content.decode())


def test_a_past_day_is_counted_once_and_kept_until_it_changes(client, people):
    invitee = invite(people["ann"], days_ago=3)
    settled_long_ago(invitee)
    assert totals(client, people["root"])[:2] == [1, 0]
    # A change that leaves updated_at alone is not seen: the day's figures are kept...
    Invitee.objects.filter(pk=invitee.pk).update(status=DeliveryStatus.FAILED)
    assert totals(client, people["root"])[:2] == [1, 0]
    # ...until its invitation changes as every service changes it, with updated_at.
    Invitee.objects.filter(pk=invitee.pk).update(updated_at=timezone.now())
    assert totals(client, people["root"])[:2] == [0, 1]


def test_a_change_just_before_the_counting_is_seen(client, people):
    """A change in a transaction still open while a day was counted carries an earlier
    updated_at; up to CHANGE_MARGIN earlier counts as later."""
    invitee = invite(people["ann"], days_ago=2)
    settled_long_ago(invitee)
    assert totals(client, people["root"])[:2] == [1, 0]
    Invitee.objects.filter(pk=invitee.pk).update(
        status=DeliveryStatus.FAILED, updated_at=timezone.now() - timedelta(minutes=2)
    )
    assert totals(client, people["root"])[:2] == [0, 1]


def test_kept_figures_serve_every_scope_as_teams_change(client, people):
    settled_long_ago(invite(people["ann"], days_ago=1))  # red
    settled_long_ago(invite(people["cy"], days_ago=1, status=DeliveryStatus.FAILED))  # blue
    assert totals(client, people["root"])[:2] == [1, 1]
    assert totals(client, people["sue"])[:2] == [1, 0]
    # Supervisors see the sessions of their team's members as it is now.
    profile = people["cy"].agent_profile
    profile.team = Team.objects.get(name="red")
    profile.save()
    assert totals(client, people["sue"])[:2] == [1, 1]
    client.force_login(people["bob"])
    assert "No invitations were created" in client.get(URL).content.decode()


def test_the_median_and_reasons_add_up_over_kept_days_and_agents(client, people):
    for n, (agent, delay) in enumerate([("ann", 1), ("cy", 9), ("ann", 3), ("sue", 4)]):
        settled_long_ago(invite(people[agent], days_ago=n + 1, delivered_after=delay))
    for n in range(3):
        settled_long_ago(
            invite(people["cy"], days_ago=n + 1, status=DeliveryStatus.FAILED, error="Refused")
        )
    client.force_login(people["root"])
    for _ in range(2):  # counted, then kept
        html = client.get(URL).content.decode()
        assert figure(html, "median-delivery") == "3.5 s"
        assert '<td class="reason">Refused</td><td>3</td>' in html


def test_the_median_of_sorted_arrays_is_their_merged_median():
    randomness = random.Random(7)
    for _ in range(200):
        arrays = [
            array("q", sorted(randomness.randrange(10) * 100_000 for _ in range(size)))
            for size in (randomness.randrange(6) for _ in range(randomness.randrange(1, 6)))
        ]
        values = [value for values in arrays for value in values]
        found = figures._median(arrays)
        if not values:
            assert found is None
        else:
            expected = timedelta(microseconds=statistics.median(values))
            assert found == expected, (arrays, found, expected)


def test_slots_are_past_days_finished_hours_of_today_and_the_rest():
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    period = stats.Period(first=date(2026, 6, 8), last=date(2026, 6, 10))
    now = datetime(2026, 6, 10, 15, 30, tzinfo=berlin)
    with timezone.override(berlin):
        slots = figures._slots(period, berlin, now)
    days = [slot for slot in slots if slot.whole_day]
    assert [slot.day for slot in days] == [date(2026, 6, 8), date(2026, 6, 9)]
    assert all(slot.key and slot.end - slot.start == timedelta(days=1) for slot in days)
    hours = slots[2:-1]
    assert len(hours) == 15
    assert hours[0].start == datetime(2026, 6, 10, 0, 0, tzinfo=berlin)
    assert all(slot.key and slot.end - slot.start == timedelta(hours=1) for slot in hours)
    rest = slots[-1]
    assert (rest.start, rest.end, rest.key) == (
        datetime(2026, 6, 10, 15, 0, tzinfo=berlin),
        datetime(2026, 6, 11, 0, 0, tzinfo=berlin),
        "",
    )


@pytest.mark.parametrize(
    ("zone", "today", "hours"),
    [
        ("Europe/Berlin", date(2026, 10, 25), 0),  # 25 hours long: counted whole
        ("Asia/Kolkata", date(2026, 6, 10), 15),  # hours from midnight, at :30 UTC
    ],
)
def test_slots_of_today_start_at_local_midnight(zone, today, hours):
    tz = zoneinfo.ZoneInfo(zone)
    now = datetime.combine(today, datetime.min.time(), tzinfo=tz) + timedelta(hours=15.5)
    with timezone.override(tz):
        slots = figures._slots(stats.Period(first=today, last=today), tz, now)
        assert len(slots) == hours + 1
        assert slots[0].start == stats.local_midnight(today)
        assert all(
            slot.start.astimezone(UTC).minute == slots[0].start.astimezone(UTC).minute
            for slot in slots
        )


def test_a_purge_shows_at_once(client, people):
    """The purge clears errors, which the dashboard's failure reasons show."""
    invitee = invite(people["ann"], days_ago=3, status=DeliveryStatus.FAILED, error="Refused")
    Session.objects.filter(pk=invitee.session_id).update(
        created_at=timezone.now() - timedelta(days=3)
    )
    settled_long_ago(invitee)
    client.force_login(people["root"])
    assert '<td class="reason">Refused</td><td>1</td>' in client.get(URL).content.decode()
    assert personal_data_purge(older_than_days=2).invitees == 1
    html = client.get(URL).content.decode()
    assert "Refused" not in html
    assert totals(client, people["root"])[:2] == [0, 1]


@pytest.mark.parametrize("removed", ["session", "invitee"])
def test_a_removal_shows_at_once(client, people, removed, django_capture_on_commit_callbacks):
    kept = invite(people["ann"], days_ago=2)
    gone = invite(people["ann"], days_ago=2, status=DeliveryStatus.FAILED)
    settled_long_ago(kept)
    settled_long_ago(gone)
    assert totals(client, people["root"])[:2] == [1, 1]
    with django_capture_on_commit_callbacks(execute=True):
        (gone.session if removed == "session" else gone).delete()
    assert totals(client, people["root"])[:2] == [1, 0]


def test_a_count_made_before_the_removal_commits_is_not_kept(client, people):
    """The figures are dropped once the removal commits, not before: a dashboard counting in
    between would otherwise keep the removed invitation."""
    gone = invite(people["ann"], days_ago=2, status=DeliveryStatus.FAILED)
    settled_long_ago(gone)
    with transaction.atomic():
        gone.delete()
        generation = cache.get(figures._GENERATION_KEY)
    # Not committed (the test's transaction is still open): nothing dropped yet.
    assert cache.get(figures._GENERATION_KEY) == generation
