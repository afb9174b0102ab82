"""Counters of ended windows are deleted as housekeeping, at most once a minute per process."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invitations import services
from invitations.models import RateCounter
from invitations.services import limits

pytestmark = pytest.mark.django_db


def deletes(queries) -> int:
    return sum(1 for query in queries if query["sql"].startswith("DELETE"))


def test_ended_windows_are_forgotten_at_most_once_a_minute(
    agent, locmem_upstream, monkeypatch, django_capture_on_commit_callbacks
):
    clock = [1000.0]
    monkeypatch.setattr(limits.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(limits, "_next_forget", 0.0)
    RateCounter.objects.create(key="ended", count=3, window_ends=1)

    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(agent=agent, destination="+14155550101")
    assert not RateCounter.objects.filter(key="ended").exists()

    RateCounter.objects.create(key="ended", count=3, window_ends=1)
    clock[0] += limits.FORGET_EVERY_SECONDS - 1
    with (
        CaptureQueriesContext(connection) as within_a_minute,
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.invitation_create(agent=agent, destination="+14155550102")
    assert deletes(within_a_minute.captured_queries) == 0
    assert RateCounter.objects.filter(key="ended").exists()

    clock[0] += 1
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(agent=agent, destination="+14155550103")
    assert not RateCounter.objects.filter(key="ended").exists()
