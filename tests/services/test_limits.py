"""What the rate limits tell an agent: which limit, and when it clears, from the same seconds
the API sends as Retry-After; and whether a destination is limited now, counting nothing."""

import datetime
import time
from types import SimpleNamespace

import pytest
from django.utils import timezone

from invitations import services
from invitations.models import RateCounter
from invitations.services import limits
from invitations.services.limits import Limit, RateLimited

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """Sets the time the limits count in and tell the agent."""

    def at(moment: datetime.datetime) -> None:
        monkeypatch.setattr(
            limits, "time", SimpleNamespace(time=moment.timestamp, monotonic=time.monotonic)
        )
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return at


@pytest.mark.parametrize(
    ("value", "window"),
    [
        ("3/3600", "the last hour"),
        ("3/7200", "the last 2 hours"),
        ("3/600", "the last 10 minutes"),
        ("3/60", "the last minute"),
        ("3/90", "the last 90 seconds"),
    ],
)
def test_a_window_reads_as_a_person_says_it(value, window):
    assert Limit.parse("X", value).window() == window


def test_the_message_says_when_the_limit_clears_from_retry_after(
    agent, locmem_upstream, settings, clock
):
    settings.RATE_LIMIT_PER_DESTINATION = "3/3600"
    # 15:20 UTC: the hour's window ends at 16:00, 40 minutes on.
    clock(datetime.datetime(2026, 3, 2, 15, 20, tzinfo=datetime.UTC))
    for _ in range(3):
        services.invitation_create(agent=agent, destination="+14155550134")
    with timezone.override("Europe/Berlin"), pytest.raises(RateLimited) as refused:
        services.invitation_create(agent=agent, destination="+14155550134")
    assert refused.value.retry_after == 40 * 60
    assert refused.value.message == (
        "This number was invited 3 times in the last hour; try again after 17:00 or ask the "
        "customer for another number."
    )


def test_a_limit_that_clears_another_day_names_the_date(agent, locmem_upstream, settings, clock):
    settings.RATE_LIMIT_PER_DESTINATION = "1/86400"
    clock(datetime.datetime(2026, 3, 2, 15, 20, tzinfo=datetime.UTC))
    services.invitation_create(agent=agent, destination="+14155550134")
    with timezone.override("UTC"), pytest.raises(RateLimited, match="after 2026-03-03 00:00"):
        services.invitation_create(agent=agent, destination="+14155550134")


def test_destination_wait_says_the_same_and_counts_nothing(agent, locmem_upstream, settings):
    settings.RATE_LIMIT_PER_DESTINATION = "2/3600"
    number = "+14155550134"
    assert limits.destination_wait(destination=number, channel="sms") is None
    services.invitation_create(agent=agent, destination=number)
    assert limits.destination_wait(destination=number, channel="sms") is None
    services.invitation_create(agent=agent, destination=number)
    counted = list(RateCounter.objects.values_list("key", "count"))
    wait = limits.destination_wait(destination=number, channel="sms")
    assert wait is not None and wait.retry_after is not None
    assert 0 < wait.retry_after <= 3600
    assert wait.message.startswith("This number was invited 2 times in the last hour")
    assert list(RateCounter.objects.values_list("key", "count")) == counted
    with pytest.raises(RateLimited) as refused:
        services.invitation_create(agent=agent, destination=number)
    assert refused.value.message == wait.message
    # Another number is not limited; the agent's own limit is not the destination's.
    assert limits.destination_wait(destination="+14155560134", channel="sms") is None


def test_destination_wait_knows_the_number_range_too(agent, locmem_upstream, settings):
    settings.RATE_LIMIT_PER_PREFIX = "2/600"
    services.invitation_create(agent=agent, destination="+14155550100")
    services.invitation_create(agent=agent, destination="+14155550101")
    wait = limits.destination_wait(destination="+14155550199", channel="sms")
    assert wait is not None and "Numbers in this range were invited too often" in wait.message
