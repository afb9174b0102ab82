"""The sandbox enforces Glance's contract; these requests are built by hand, not by our client."""

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import quote

import pytest

from sandbox.models import OutboxMessage

pytestmark = pytest.mark.django_db
URL = "/sandbox/glance/api/SessionInvitation/smsInvite/?groupid=72"
BODY = {"sessiontype": 1, "smsPhone": "111-000-0000", "sessionParams": {"camera": "back"}}


def key(api_key, puid="agent 7", partner=72, expires=None):
    expires = expires if expires is not None else int(time.time()) + 600
    mac = hmac.new(api_key.encode(), f"{partner}{puid}1{expires}".encode(), hashlib.sha256)
    signature = base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")
    return f"Bearer GKEY {partner}&{quote(puid, safe='')}&$1${expires}${signature}"


def call(client, authorization, body=BODY, url=URL, content_type="application/json"):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    data = json.dumps(body) if not isinstance(body, str) else body
    return client.post(url, data=data, content_type=content_type, **headers)


@pytest.mark.usefixtures("signed_in_staff")
def test_valid_request_gets_a_session_key_and_lands_in_the_outbox(client, settings):
    response = call(client, key(settings.SANDBOX_GLANCE_API_KEY))
    assert response.status_code == 200
    data = response.json()
    assert len(data["sessionKey"]) == 6 and data["sessionKey"].isdigit()
    assert f"/sandbox/glance/join/{data['sessionKey']}/" in data["invitationText"]
    message = OutboxMessage.objects.get()
    assert (message.to, message.session_key, message.partner_user_id) == (
        "111-000-0000",
        data["sessionKey"],
        "agent 7",
    )
    assert message.session_params == {"camera": "back"}
    outbox = client.get("/sandbox/outbox/")
    assert data["sessionKey"] in outbox.content.decode()
    join = client.get(f"/sandbox/glance/join/{data['sessionKey']}/")
    assert join.status_code == 200


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        ("", "missing"),
        ("Basic abc", "Bearer"),
        ("Bearer BASIC 9999.1520526914.abc", "not accepted"),
        ("Bearer GKEY 72&agent&notakey", "malformed"),
        ("Bearer GKEY 72&agent", "partnerid&partneruserid&loginkey"),
        ("Bearer GKEY \u00b2&agent&notakey", "partner id must be a number"),
        ("Bearer GKEY joe.glance.net~$1$1$abc", "unknown glance address"),
    ],
)
def test_bad_authorization_is_401(client, authorization, reason):
    response = call(client, authorization)
    assert response.status_code == 401
    assert reason in response.json()["error"]
    assert not OutboxMessage.objects.exists()


def test_key_signed_with_another_api_key_is_401(client):
    response = call(client, key("not-the-partner-key"))
    assert response.status_code == 401
    assert "signature" in response.json()["error"]


def test_expired_key_is_401(client, settings):
    response = call(client, key(settings.SANDBOX_GLANCE_API_KEY, expires=int(time.time()) - 1))
    assert response.status_code == 401
    assert "expired" in response.json()["error"]


def test_key_valid_for_more_than_a_day_is_401(client, settings):
    too_far = int(time.time()) + 2 * 86_400
    response = call(client, key(settings.SANDBOX_GLANCE_API_KEY, expires=too_far))
    assert response.status_code == 401
    assert "more than one day" in response.json()["error"]


def test_puid_is_signed_decoded_so_an_encoded_one_in_the_signature_fails(client, settings):
    expires = int(time.time()) + 600
    api_key = settings.SANDBOX_GLANCE_API_KEY
    wrong = hmac.new(api_key.encode(), f"72agent%2071{expires}".encode(), hashlib.sha256)
    signature = base64.urlsafe_b64encode(wrong.digest()).decode().rstrip("=")
    response = call(client, f"Bearer GKEY 72&agent%207&$1${expires}${signature}")
    assert response.status_code == 401


def test_unknown_partner_is_401_and_other_group_is_403(client, settings):
    response = call(client, key(settings.SANDBOX_GLANCE_API_KEY, partner=99))
    assert response.status_code == 401
    response = call(
        client,
        key(settings.SANDBOX_GLANCE_API_KEY),
        url="/sandbox/glance/api/SessionInvitation/smsInvite/?groupid=73",
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "not valid JSON"),
        ([1, 2], "JSON object"),
        ({"smsPhone": "4155550134"}, "sessiontype"),
        ({"sessiontype": "1", "smsPhone": "4155550134"}, "sessiontype"),
        ({"sessiontype": True, "smsPhone": "4155550134"}, "sessiontype"),
        ({"sessiontype": 1}, "smsPhone"),
        ({"sessiontype": 1, "smsPhone": "12"}, "smsPhone"),
        ({"sessiontype": 1, "smsPhone": "4155550134", "sessionParams": "x"}, "sessionParams"),
    ],
)
def test_invalid_bodies_are_400_with_a_reason(client, settings, body, reason):
    response = call(client, key(settings.SANDBOX_GLANCE_API_KEY), body=body)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert not OutboxMessage.objects.exists()


def test_session_params_are_optional_and_recorded_empty(client, settings):
    body = {"sessiontype": 1, "smsPhone": "4155550134"}
    response = call(client, key(settings.SANDBOX_GLANCE_API_KEY), body=body)
    assert response.status_code == 200
    assert OutboxMessage.objects.get().session_params == {}


def test_missing_groupid_and_wrong_content_type_are_400(client, settings):
    auth = key(settings.SANDBOX_GLANCE_API_KEY)
    no_group = call(client, auth, url="/sandbox/glance/api/SessionInvitation/smsInvite/")
    assert no_group.status_code == 400
    odd_digits = call(
        client, auth, url="/sandbox/glance/api/SessionInvitation/smsInvite/?groupid=\u00b2"
    )
    assert odd_digits.status_code == 400
    form = call(
        client, auth, body="sessiontype=1", content_type="application/x-www-form-urlencoded"
    )
    assert form.status_code == 400


def test_only_post_is_allowed(client):
    assert client.get(URL).status_code == 405


@pytest.mark.usefixtures("signed_in_staff")
def test_outbox_as_json(client, settings):
    call(client, key(settings.SANDBOX_GLANCE_API_KEY))
    [message] = client.get("/sandbox/outbox/?format=json").json()["messages"]
    assert message["channel"] == "sms" and message["to"] == "111-000-0000"
