"""The presence lookups have a queue of their own, so that deliveries can have workers of
their own (docs/production.md); a worker started without -Q still takes both."""

from django.conf import settings

from agentportal.celery import app


def test_presence_lookups_go_to_their_own_queue_and_deliveries_to_the_default_one():
    router = app.amqp.router
    assert router.route({}, "invitations.poll_invitee_presence")["queue"].name == "presence"
    assert settings.PRESENCE_QUEUE == "presence"
    assert router.route({}, "invitations.deliver_invitee")["queue"].name == "celery"


def test_a_worker_without_queues_named_takes_deliveries_and_lookups():
    assert set(app.amqp.queues) == {"celery", "presence"}
