"""A Glance login key is only valid until its expiration by Glance's clock. When this server's
clock is off, Glance refuses every key, and the agent and the operator are told to fix the
clock, not the API key (which is right)."""

import re
import time

import pytest

from invitations import services
from invitations.models import DeliveryStatus
from sandbox.models import OutboxMessage

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clock_behind(settings):
    """This server's clock 1,000 s behind: every login key (valid 300 s) has expired."""
    settings.UPSTREAM_CLIENTS = {
        **settings.UPSTREAM_CLIENTS,
        "glance": {
            "CLASS": "invitations.providers.glance.GlanceClient",
            "OPTIONS": {"login_key_lifetime": 300, "clock": lambda: time.time() - 1000},
        },
    }


def test_an_expired_key_from_a_slow_clock_is_reported_as_clock_skew(
    clock_behind, sandbox_credential, make_agent
):
    agent = make_agent(credential=sandbox_credential)
    invitee = services.invitation_create(agent=agent, destination="+14155550134")
    invitee.refresh_from_db()
    assert invitee.status == DeliveryStatus.FAILED
    error = invitee.last_error
    assert "login key has expired" in error  # Glance's own words
    assert re.search(r"clock is (999|1000|1001) s behind Glance's", error), error
    assert "NTP" in error
    assert "check its API key" not in error
    assert not OutboxMessage.objects.exists()


def test_the_credential_check_reports_clock_skew(clock_behind, sandbox_credential, make_agent):
    make_agent(credential=sandbox_credential)
    result = services.credential_check(credential=sandbox_credential, actor=None)
    assert not result.ok
    assert "behind Glance's" in result.message and "NTP" in result.message


def test_a_wrong_api_key_with_a_right_clock_still_blames_the_api_key(
    make_credential, make_agent, sandbox_url
):
    credential = make_credential(base_url=sandbox_url, api_key="wrong-api-key")
    invitee = services.invitation_create(
        agent=make_agent(credential=credential), destination="+14155550134"
    )
    invitee.refresh_from_db()
    assert invitee.status == DeliveryStatus.FAILED
    assert "check its API key" in invitee.last_error
    assert "clock" not in invitee.last_error
