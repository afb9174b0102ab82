"""Automatic retries only when the upstream certainly did not act; the reaper for lost ones."""

import io
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from invitations import services
from invitations.models import DeliveryAttempt, DeliveryStatus, Invitee
from invitations.providers import base

pytestmark = pytest.mark.django_db


@pytest.fixture
def auto_retry(settings):
    # In-process tasks ignore countdowns, so retries run at once: the policy is what is tested.
    settings.DELIVERY_AUTO_RETRY = True
    settings.DELIVERY_MAX_ATTEMPTS = 4


def send(agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitee = services.invitation_create(agent=agent, destination="(415) 555-0134")
    invitee.refresh_from_db()
    return invitee


def outcomes(invitee):
    return list(invitee.attempts_log.order_by("id").values_list("outcome", flat=True))


def test_certain_failures_are_retried_until_sent(
    agent, locmem_upstream, auto_retry, django_capture_on_commit_callbacks
):
    locmem_upstream.pending_errors.extend(
        [
            base.UpstreamConnectionError("refused", provider="x"),
            base.UpstreamUnavailable("busy", provider="x", status_code=503),
            base.UpstreamUnavailable("slow down", provider="x", status_code=429, retry_after=1),
        ]
    )
    invitee = send(agent, django_capture_on_commit_callbacks)
    assert invitee.status == DeliveryStatus.SENT
    assert invitee.attempts == 4
    assert outcomes(invitee) == ["retry", "retry", "retry", "sent"]
    assert len(locmem_upstream.outbox) == 1


def test_retries_stop_at_the_maximum(
    agent, locmem_upstream, auto_retry, django_capture_on_commit_callbacks
):
    locmem_upstream.pending_errors.extend(
        base.UpstreamUnavailable("busy", provider="x", status_code=503) for _ in range(6)
    )
    invitee = send(agent, django_capture_on_commit_callbacks)
    assert invitee.status == DeliveryStatus.FAILED
    assert invitee.attempts == 4
    assert outcomes(invitee) == ["retry", "retry", "retry", "failed"]
    assert "Retrying" not in invitee.last_error
    assert locmem_upstream.outbox == []


@pytest.mark.parametrize(
    ("retry_after", "expected"), [(7, "in 7 s"), (10_000, "in 300 s"), (None, None)]
)
def test_retry_after_is_honoured_and_the_delay_capped(
    retry_after, expected, agent, locmem_upstream, auto_retry, django_capture_on_commit_callbacks
):
    locmem_upstream.pending_errors.append(
        base.UpstreamUnavailable(
            "slow down", provider="x", status_code=429, retry_after=retry_after
        )
    )
    invitee = send(agent, django_capture_on_commit_callbacks)
    first = invitee.attempts_log.order_by("id").first()
    assert first.outcome == "retry" and first.http_status == 429
    if expected:
        assert expected in first.error
    else:
        # Backoff with jitter for the first retry: between half and all of the 2 s base.
        seconds = float(first.error.split("Retrying automatically in ")[1].split(" s")[0])
        assert 1 <= seconds <= 2


@pytest.mark.parametrize(
    "error",
    [
        base.UpstreamTimeout("no answer", provider="x"),
        base.UpstreamConnectionLost("reset", provider="x"),
        base.UpstreamBadResponse("garbled", provider="x", status_code=200),
        base.UpstreamServerError("boom", provider="x", status_code=500),
        base.UpstreamRejected("bad", provider="x", status_code=400),
    ],
    ids=lambda error: type(error).__name__,
)
def test_failures_that_may_have_sent_or_will_not_change_are_not_retried(
    error, agent, locmem_upstream, auto_retry, django_capture_on_commit_callbacks
):
    locmem_upstream.pending_errors.append(error)
    invitee = send(agent, django_capture_on_commit_callbacks)
    assert invitee.attempts == 1
    assert invitee.status in (DeliveryStatus.FAILED, DeliveryStatus.NEEDS_ATTENTION)


def test_a_401_is_retried_once_with_a_fresh_login_key(
    agent, locmem_upstream, auto_retry, django_capture_on_commit_callbacks
):
    locmem_upstream.pending_errors.extend(
        base.UpstreamAuthError("401", provider="x", status_code=401) for _ in range(2)
    )
    invitee = send(agent, django_capture_on_commit_callbacks)
    assert outcomes(invitee) == ["retry", "failed"]


def test_a_403_is_retried_once_with_a_fresh_login_key_like_a_401(
    agent, locmem_upstream, auto_retry, django_capture_on_commit_callbacks
):
    locmem_upstream.pending_errors.extend(
        base.UpstreamAuthError("403", provider="x", status_code=403) for _ in range(2)
    )
    invitee = send(agent, django_capture_on_commit_callbacks)
    assert outcomes(invitee) == ["retry", "failed"]


def test_a_401_with_a_minted_token_is_not_retried_again(
    agent, credential, locmem_upstream, auto_retry, django_capture_on_commit_callbacks
):
    credential.auth_type = "gjwt"
    credential.save()
    locmem_upstream.pending_errors.append(
        base.UpstreamAuthError("401", provider="x", status_code=401)
    )
    invitee = send(agent, django_capture_on_commit_callbacks)
    assert outcomes(invitee) == ["failed"]


def test_without_a_broker_nothing_is_retried_automatically(
    agent, locmem_upstream, settings, django_capture_on_commit_callbacks
):
    assert settings.DELIVERY_AUTO_RETRY is False  # the embedded default runs tasks in-process
    locmem_upstream.pending_errors.append(base.UpstreamConnectionError("refused", provider="x"))
    invitee = send(agent, django_capture_on_commit_callbacks)
    assert (invitee.status, invitee.attempts) == (DeliveryStatus.FAILED, 1)


@pytest.mark.django_db(transaction=True)
def test_requeue_stuck_rescues_lost_deliveries(agent, locmem_upstream):
    long_ago = timezone.now() - timedelta(hours=1)
    locmem_upstream.pending_errors.extend(
        [base.UpstreamUnavailable("x", provider="x") for _ in range(3)]
    )
    # Created and "failed" in-process; then set up as the states a lost task leaves behind.
    interrupted, lost, fresh = (
        services.invitation_create(agent=agent, destination=f"+1415555013{n}") for n in (4, 5, 6)
    )
    Invitee.objects.update(status=DeliveryStatus.QUEUED)
    DeliveryAttempt.objects.all().delete()
    Invitee.objects.filter(pk=interrupted.pk).update(
        status=DeliveryStatus.SENDING, attempts=1, updated_at=long_ago
    )
    DeliveryAttempt.objects.create(invitee=interrupted)
    Invitee.objects.filter(pk=lost.pk).update(updated_at=long_ago)

    out = io.StringIO()
    call_command("requeue_stuck", "--older-than=600", stdout=out)
    assert out.getvalue() == "interrupted (now needs attention): 1\nqueued again: 1\n"

    interrupted.refresh_from_db()
    assert interrupted.status == DeliveryStatus.NEEDS_ATTENTION
    assert "interrupted" in interrupted.last_error
    assert interrupted.attempts_log.get().outcome == "ambiguous"
    lost.refresh_from_db()
    assert lost.status == DeliveryStatus.SENT  # queued again, delivered in-process
    fresh.refresh_from_db()
    assert fresh.status == DeliveryStatus.QUEUED  # too recent to touch
    assert [r.destination for r in locmem_upstream.outbox] == ["+14155550135"]


@pytest.mark.parametrize(
    ("eager", "older_than", "bound"),
    [
        # With a broker the worker kills a task at its hard time limit (90 s).
        (False, "60", "at least 90 s, the longest a delivery can take (CELERY_TASK_TIME_LIMIT)"),
        # In-process: the provider's call and the portal's own message, each cut off at
        # UPSTREAM_TOTAL_TIMEOUT (20.05 s by default).
        (True, "30", "at least 40.1 s, the longest a delivery can take (twice the longest call"),
    ],
)
def test_requeue_stuck_refuses_a_period_shorter_than_a_delivery(
    db, settings, eager, older_than, bound
):
    settings.CELERY_TASK_ALWAYS_EAGER = eager
    with pytest.raises(CommandError, match=re.escape(bound)):
        call_command("requeue_stuck", f"--older-than={older_than}")


@pytest.mark.django_db(transaction=True)
def test_send_invitation_wait_prints_the_final_status(agent, locmem_upstream):
    out = io.StringIO()
    call_command("send_invitation", "--agent=ann", "--sms=+14155550134", "--wait", stdout=out)
    assert out.getvalue().endswith("status: sent\n")
