"""An agent authorizes and sends an invitation with its token, over real HTTP."""

import pytest
import requests

from sandbox.models import OutboxMessage
from tests.support.sandbox import glance_authorize_path, glance_credentials

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
INVITE = "/sandbox/glance/api/SessionInvitation/smsInvite/?groupid=72"


@pytest.mark.parametrize(
    "auth",
    [
        lambda answer: {"Authorization": f"Bearer GJWT {answer['authToken']}"},
        lambda answer: {"Authorization": f"Bearer GSSNID {answer['gssnId']}"},
        lambda answer: {"X-GSSNID": answer["gssnId"]},
    ],
    ids=["gjwt", "gssnid", "x-gssnid"],
)
def test_token_from_authorize_sends_an_invitation(live_server, settings, auth):
    puid = "Zoë & Ann Müller"
    answer = requests.post(
        live_server.url + glance_authorize_path(settings),
        data=glance_credentials(settings, puid).encode(),
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    sent = requests.post(
        live_server.url + INVITE,
        json={"sessiontype": 1, "smsPhone": "+14155550134"},
        headers=auth(answer.json()),
        timeout=5,
    )
    assert sent.status_code == 200, sent.text
    assert OutboxMessage.objects.get().partner_user_id == puid
