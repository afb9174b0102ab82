"""Without a broker (the embedded default) nothing runs `requeue_stuck` from cron: a delivery
whose process died mid-call must still come back as 'needs attention' with a Resend button,
without anyone running a command."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse
from django.utils import timezone

from agentportal.settings import base as embedded_default
from invitations import services
from invitations.models import AttemptOutcome, DeliveryAttempt, DeliveryStatus, Invitee

pytestmark = pytest.mark.django_db


@pytest.fixture
def automatic(settings):
    """As in the embedded default (the tests' settings turn it off for every other test)."""
    settings.REQUEUE_STUCK_AUTOMATICALLY = True
    settings.REQUEUE_STUCK_AFTER_SECONDS = 120  # the embedded default, checked below


def left_sending(agent, number, *, seconds_ago):
    """An invitee as a process that died mid-delivery leaves it: claimed, its attempt open."""
    invitee = services.invitation_create(agent=agent, destination=number, name="Ann")
    Invitee.objects.filter(pk=invitee.pk).update(
        status=DeliveryStatus.SENDING,
        attempts=1,
        updated_at=timezone.now() - timedelta(seconds=seconds_ago),
    )
    DeliveryAttempt.objects.create(invitee=invitee)
    return invitee


def session_page(client, invitee):
    return client.get(reverse("invitations:session-detail", args=[invitee.session_id]))


def test_the_embedded_default_recovers_lost_deliveries_itself_after_two_minutes():
    assert embedded_default.CELERY_TASK_ALWAYS_EAGER  # no broker in the test environment
    assert embedded_default.REQUEUE_STUCK_AUTOMATICALLY is True
    assert embedded_default.REQUEUE_STUCK_AFTER_SECONDS == 120


def test_an_interrupted_delivery_needs_attention_with_resend_on_the_next_page_view(
    automatic, agent, agent_client, locmem_upstream
):
    lost = left_sending(agent, "+14155550134", seconds_ago=180)
    under_way = left_sending(agent, "+14155550135", seconds_ago=20)

    html = session_page(agent_client, lost).content.decode()

    assert "Needs attention" in html
    assert "Delivery was interrupted" in html
    assert 'class="button">Resend</button>' in html
    lost.refresh_from_db()
    assert lost.status == DeliveryStatus.NEEDS_ATTENTION
    assert lost.attempts_log.get().outcome == AttemptOutcome.AMBIGUOUS
    under_way.refresh_from_db()
    assert under_way.status == DeliveryStatus.SENDING  # may still be on its way: left alone
    assert locmem_upstream.outbox == []  # never sent again by itself


def test_it_looks_at_most_once_a_minute_per_process(
    automatic, agent, agent_client, locmem_upstream, monkeypatch
):
    from invitations.web import recovery

    clock = [1000.0]
    monkeypatch.setattr(recovery.time, "monotonic", lambda: clock[0])
    agent_client.get(reverse("invitations:home"))  # looked: nothing stuck yet
    lost = left_sending(agent, "+14155550134", seconds_ago=180)

    clock[0] += 59
    session_page(agent_client, lost)
    lost.refresh_from_db()
    assert lost.status == DeliveryStatus.SENDING

    clock[0] += 1
    session_page(agent_client, lost)
    lost.refresh_from_db()
    assert lost.status == DeliveryStatus.NEEDS_ATTENTION


def test_a_failing_check_does_not_fail_the_request(automatic, agent_client, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(services, "invitees_requeue_stuck", broken)
    assert agent_client.get(reverse("invitations:home")).status_code == 200
    assert "recovering lost deliveries failed" in caplog.text


def test_requeue_stuck_takes_the_shorter_embedded_age_by_default(automatic, agent, locmem_upstream):
    lost = left_sending(agent, "+14155550134", seconds_ago=180)
    out = io.StringIO()
    call_command("requeue_stuck", stdout=out)
    assert out.getvalue() == "interrupted (now needs attention): 1\nqueued again: 0\n"
    lost.refresh_from_db()
    assert lost.status == DeliveryStatus.NEEDS_ATTENTION


def test_an_age_shorter_than_a_delivery_stops_start_up(settings):
    settings.REQUEUE_STUCK_AFTER_SECONDS = 30
    with pytest.raises(SystemCheckError, match="REQUEUE_STUCK_AFTER_SECONDS"):
        call_command("check")
