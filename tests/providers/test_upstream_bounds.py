"""Every upstream call is bounded in time as a whole and in the size of its answer, against real
sockets that trickle an answer a byte at a time or send too much."""

import time

import pytest

from invitations.providers.base import (
    InvitationRequest,
    ProviderAccount,
    UpstreamBadResponse,
    UpstreamTimeout,
)
from invitations.providers.glance import GlanceClient
from tests.support.stub_servers import http_answer, trickle_server

REQUEST = InvitationRequest(
    channel="sms", destination="+14155550134", agent_id="ann-77", session_type=1
)
ANSWER = b'{"sessionKey": "123456", "invitationText": "Join: https://j.example/s/1"}'
TRICKLED_HEADERS = http_answer(ANSWER, headers=b"X-Padding: " + b"p" * 200 + b"\r\n")
TRICKLED_BODY = http_answer(b" " * 200 + ANSWER)


def client(base_url, **options):
    account = ProviderAccount(
        label="unit", base_url=base_url, group_id=72, auth_type="gkey", secret="unit-api-key"
    )
    return GlanceClient(account=account, read_timeout=1.0, **options)


@pytest.mark.parametrize(
    ("answer", "trickle_from"),
    [
        # Headers a byte at a time: no read waits long, so no read timeout ever ends the call.
        (TRICKLED_HEADERS, 0),
        # Headers at once, then the body a byte at a time.
        (TRICKLED_BODY, TRICKLED_BODY.index(b"\r\n\r\n") + 4),
    ],
    ids=["headers", "body"],
)
def test_a_trickling_answer_is_cut_at_the_total_timeout_and_is_ambiguous(answer, trickle_from):
    with trickle_server(answer, byte_delay=0.05, trickle_from=trickle_from) as url:
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout) as caught:
            client(url, total_timeout=0.6).send_invitation(REQUEST)
        elapsed = time.monotonic() - started
    # 250 bytes at 0.05 s would take 12 s.
    assert elapsed < 1.5, f"the call took {elapsed:.1f} s"
    assert caught.value.ambiguous and not caught.value.retryable
    assert "did not finish answering within 0.6 s" in str(caught.value)
    assert "may or may not have been sent" in str(caught.value)


def test_a_prompt_answer_within_the_total_timeout_is_read():
    with trickle_server(http_answer(ANSWER), byte_delay=0, trickle_from=10_000) as url:
        result = client(url, total_timeout=0.6).send_invitation(REQUEST)
    assert result.session_key == "123456"


def test_an_answer_larger_than_the_limit_is_unreadable_and_ambiguous():
    big = b'{"sessionKey": "123456", "invitationText": "' + b"x" * 5000 + b'"}'
    with (
        trickle_server(http_answer(big), byte_delay=0, trickle_from=10_000) as url,
        pytest.raises(UpstreamBadResponse) as caught,
    ):
        client(url, max_response_bytes=4096).send_invitation(REQUEST)
    assert caught.value.ambiguous
    assert "larger than 4,096 bytes" in str(caught.value)
    assert "may or may not have been sent" in str(caught.value)


def test_an_answer_at_the_limit_is_read():
    with trickle_server(http_answer(ANSWER), byte_delay=0, trickle_from=10_000) as url:
        result = client(url, max_response_bytes=len(ANSWER)).send_invitation(REQUEST)
    assert result.session_key == "123456"
