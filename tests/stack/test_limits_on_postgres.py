"""The anti-abuse limits under real concurrency on PostgreSQL: requests that run at the same
time, each on its own connection, as web processes on several machines would."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from invitations import services
from invitations.models import DeliveryStatus, Invitee
from invitations.services.limits import RateLimited

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

THREADS = 8


@pytest.fixture(autouse=True)
def deliveries_in_process(settings):
    """Deliver in this process, through the in-memory twin. Once the session's Celery worker
    has started, tasks go to it instead, and it would still be writing to the database while
    the test's tables are emptied (a deadlock, and rows left for the next test)."""
    from agentportal.celery import app

    queued_to_the_worker = app.conf.task_always_eager
    app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER = True
    yield
    app.conf.task_always_eager = queued_to_the_worker


def at_once(call: Callable[[], Any]) -> list[Any]:
    """Run `call` in THREADS threads released together; each result or the exception raised."""
    start = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = call()
        except Exception as err:
            results[index] = err
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_concurrent_requests_at_the_limit_let_exactly_one_through(agent, locmem_upstream, settings):
    settings.RATE_LIMIT_PER_DESTINATION = "3/3600"
    for _ in range(2):
        services.invitation_create(agent=agent, destination="+14155550134")

    results = at_once(lambda: services.invitation_create(agent=agent, destination="+14155550134"))

    assert sum(isinstance(result, Invitee) for result in results) == 1, results
    assert sum(isinstance(result, RateLimited) for result in results) == THREADS - 1
    assert Invitee.objects.count() == 3


def test_concurrent_replays_of_one_key_count_once(agent, locmem_upstream, settings):
    settings.RATE_LIMIT_PER_DESTINATION = "3/3600"

    def replay() -> Invitee:
        return services.invitation_create(
            agent=agent, destination="+14155550134", idempotency_key="crm-retry-1"
        )

    results = at_once(replay)

    assert all(isinstance(result, Invitee) for result in results), results
    assert len({result.pk for result in results}) == 1
    # One invitation counted: the destination can receive two more, and then no more.
    for _ in range(2):
        services.invitation_create(agent=agent, destination="+14155550134")
    with pytest.raises(RateLimited):
        services.invitation_create(agent=agent, destination="+14155550134")


def test_concurrent_resends_of_one_invitation_count_once(agent, locmem_upstream, settings):
    from invitations.errors import NotAllowed

    settings.RATE_LIMIT_PER_DESTINATION = "3/3600"
    first = services.invitation_create(agent=agent, destination="+14155550134")
    Invitee.objects.filter(pk=first.pk).update(status=DeliveryStatus.SENT)

    results = at_once(
        lambda: services.invitee_resend(invitee=Invitee.objects.get(pk=first.pk), actor=agent)
    )

    assert sum(isinstance(result, Invitee) for result in results) == 1, results
    assert sum(isinstance(result, NotAllowed) for result in results) == THREADS - 1
    # Two counted (the invitation and one resend): one more, and then no more.
    services.invitation_create(agent=agent, destination="+14155550134")
    with pytest.raises(RateLimited):
        services.invitation_create(agent=agent, destination="+14155550134")


def test_the_database_cache_works_on_postgresql():
    """The embedded default's cache table exists on this PostgreSQL database, made while it
    was set up (`migrate`, then the test runner's own createcachetable, which finds it)."""
    from django.core.cache.backends.db import DatabaseCache

    assert "agentportal_cache" in connection.introspection.table_names()
    cache = DatabaseCache("agentportal_cache", {})
    cache.set("seen", 42)
    assert cache.get("seen") == 42
