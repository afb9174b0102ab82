"""A provider's unclear answer reads, for the agent, as what happened and what to do; the
technical detail stays available, after it, for a disclosure and for the admin."""

import pytest
import responses
from django.template.loader import render_to_string
from django.utils import translation

from invitations.errors import ERROR_DETAIL_SEPARATOR
from invitations.models import Invitee
from invitations.providers.base import InvitationRequest, ProviderAccount, UpstreamBadResponse
from invitations.providers.glance import GlanceClient

URL = "https://glance.invalid/api/SessionInvitation/smsInvite/"
REQUEST = InvitationRequest(
    channel="sms", destination="+14155550134", agent_id="a 1", session_type=1
)


def client() -> GlanceClient:
    account = ProviderAccount(
        label="unit",
        base_url="https://glance.invalid",
        group_id=72,
        auth_type="gkey",
        secret="unit-test-api-key-abc",
    )
    return GlanceClient(account=account)


@responses.activate
def test_an_unreadable_answer_says_what_to_do_and_keeps_the_detail():
    responses.post(URL, body="<html>oops</html>", status=200, content_type="text/html")
    with pytest.raises(UpstreamBadResponse) as caught:
        client().send_invitation(REQUEST)
    words, _, detail = str(caught.value).partition(ERROR_DETAIL_SEPARATOR)
    assert words == (
        "Glance did not answer clearly: the invitation may or may not have been sent. Ask "
        "the customer whether it arrived before you press Resend."
    )
    assert "not JSON" not in words
    assert detail == caught.value.detail == "Glance answered 200 with a body that is not JSON."


@responses.activate
def test_the_agents_words_are_in_the_agents_language():
    responses.post(URL, body="<html>oops</html>", status=200, content_type="text/html")
    with translation.override("de"), pytest.raises(UpstreamBadResponse) as caught:
        client().send_invitation(REQUEST)
    assert str(caught.value).startswith("Glance hat nicht eindeutig geantwortet")


def test_the_page_shows_the_detail_in_a_disclosure():
    invitee = Invitee(
        last_error=f"Ask the customer.{ERROR_DETAIL_SEPARATOR}Glance answered 200 with {{}}."
    )
    html = render_to_string("invitations/_last_error.html", {"invitee": invitee})
    assert html.startswith('<div class="last-error">Ask the customer.\n<details')
    assert "<summary>Technical detail</summary>Glance answered 200 with {}.</details>" in html
    plain = render_to_string("invitations/_last_error.html", {"invitee": Invitee(last_error="x")})
    assert "<details" not in plain
