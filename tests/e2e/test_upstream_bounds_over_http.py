"""A whole upstream call is bounded in time and its answer in size (UPSTREAM_TOTAL_TIMEOUT,
UPSTREAM_MAX_RESPONSE_BYTES): an upstream that answers a byte at a time or too much leaves the
invitation `needs attention` (the request went out, so it may have been acted on)."""

import time

import pytest

from invitations import services
from invitations.models import DeliveryStatus
from tests.support.stub_servers import http_answer, trickle_server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ANSWER = b'{"sessionKey": "123456", "invitationText": "Join: https://j.example/s/1"}'


def test_a_trickling_provider_is_cut_off_at_the_total_timeout(
    make_credential, make_agent, settings
):
    settings.UPSTREAM_READ_TIMEOUT = 1.0
    settings.UPSTREAM_TOTAL_TIMEOUT = 0.6
    answer = http_answer(ANSWER, headers=b"X-Padding: " + b"p" * 400 + b"\r\n")
    with trickle_server(answer, byte_delay=0.05) as url:
        agent = make_agent(credential=make_credential(base_url=url))
        started = time.monotonic()
        invitee = services.invitation_create(agent=agent, destination="+14155550134")
        elapsed = time.monotonic() - started
    invitee.refresh_from_db()
    assert elapsed < 2, f"the delivery took {elapsed:.1f} s"  # the whole answer: 25 s
    assert invitee.status == DeliveryStatus.NEEDS_ATTENTION
    assert "Glance did not finish answering within 0.6 s" in invitee.last_error
    assert "may or may not have been sent" in invitee.last_error


def test_an_oversized_answer_from_the_sms_gateway_needs_attention(
    portal_credential, make_agent, settings
):
    settings.UPSTREAM_MAX_RESPONSE_BYTES = 1000
    big = b'{"id": "' + b"9" * 2000 + b'"}'
    with trickle_server(http_answer(big), byte_delay=0, trickle_from=10_000) as url:
        settings.SMS_BACKEND = "invitations.channels.sms.http.HttpSmsBackend"
        settings.SMS_GATEWAY_URL = url
        settings.SMS_GATEWAY_TOKEN = "gateway-token-1"
        agent = make_agent(credential=portal_credential)
        invitee = services.invitation_create(agent=agent, destination="+14155550134")
    invitee.refresh_from_db()
    assert invitee.status == DeliveryStatus.NEEDS_ATTENTION, invitee.last_error
    assert "larger than 1,000 bytes" in invitee.last_error
    assert invitee.provider_message_id == ""
