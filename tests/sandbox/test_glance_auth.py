"""Glance's other credential forms: address GKEY tokens, and the GSSNID and GJWT tokens of the
Authorization Service."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.utils import timezone

from sandbox.models import GlanceToken, OutboxMessage
from tests.support.sandbox import glance_authorize_path, glance_credentials

pytestmark = pytest.mark.django_db
URL = "/sandbox/glance/api/SessionInvitation/smsInvite/?groupid=72"
BODY = {"sessiontype": 1, "smsPhone": "4155550134"}
ADDRESS = "agent.demo.glance.net"


def sign(api_key, message):
    mac = hmac.new(api_key.encode(), message.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def address_token(api_key, address=ADDRESS, group=72, expires=None, signed=None):
    expires = expires if expires is not None else int(time.time()) + 600
    message = signed if signed is not None else f"{group}{address}1{expires}"
    return f"Bearer GKEY {address}~$1${expires}${sign(api_key, message)}"


def call(client, url=URL, **headers):
    return client.post(url, data=json.dumps(BODY), content_type="application/json", **headers)


def test_address_token_signed_over_group_address_and_expiry_is_accepted(client, settings):
    response = call(client, HTTP_AUTHORIZATION=address_token(settings.SANDBOX_GLANCE_API_KEY))
    assert response.status_code == 200, response.content
    message = OutboxMessage.objects.get()
    assert message.partner_user_id == ADDRESS
    assert message.session_key == response.json()["sessionKey"]


def test_address_token_for_any_configured_address_is_accepted(client, settings):
    settings.SANDBOX_GLANCE_ADDRESSES = ["first.glance.net", "second.glance.net"]
    token = address_token(settings.SANDBOX_GLANCE_API_KEY, address="second.glance.net")
    assert call(client, HTTP_AUTHORIZATION=token).status_code == 200
    assert OutboxMessage.objects.get().partner_user_id == "second.glance.net"


@pytest.mark.parametrize(
    "signed",
    [
        "{address}1{expires}",  # without the group id
        "72{address}{expires}",  # without the version digit
        "{address}721{expires}",  # address and group swapped
        "72&{address}1{expires}",
    ],
)
def test_address_token_signed_over_another_string_is_401(client, settings, signed):
    expires = int(time.time()) + 600
    token = address_token(
        settings.SANDBOX_GLANCE_API_KEY,
        expires=expires,
        signed=signed.format(address=ADDRESS, expires=expires),
    )
    response = call(client, HTTP_AUTHORIZATION=token)
    assert response.status_code == 401
    assert "signature" in response.json()["error"]
    assert not OutboxMessage.objects.exists()


def test_address_token_signed_with_another_key_is_401(client):
    response = call(client, HTTP_AUTHORIZATION=address_token("not-the-partner-key"))
    assert response.status_code == 401
    assert "signature" in response.json()["error"]


def test_address_token_for_an_unknown_address_is_401(client, settings):
    token = address_token(settings.SANDBOX_GLANCE_API_KEY, address="stranger.glance.net")
    response = call(client, HTTP_AUTHORIZATION=token)
    assert response.status_code == 401
    assert "unknown glance address" in response.json()["error"]


def test_address_token_expiry_rules_match_the_partner_form(client, settings):
    api_key = settings.SANDBOX_GLANCE_API_KEY
    expired = address_token(api_key, expires=int(time.time()) - 1)
    too_long = address_token(api_key, expires=int(time.time()) + 2 * 86_400)
    assert "expired" in call(client, HTTP_AUTHORIZATION=expired).json()["error"]
    assert "more than one day" in call(client, HTTP_AUTHORIZATION=too_long).json()["error"]
    assert not OutboxMessage.objects.exists()


def test_address_token_with_a_malformed_key_is_401(client):
    response = call(client, HTTP_AUTHORIZATION=f"Bearer GKEY {ADDRESS}~$1$123$short")
    assert response.status_code == 401
    assert "malformed" in response.json()["error"]


def test_address_token_for_another_group_is_403(client, settings):
    url = "/sandbox/glance/api/SessionInvitation/smsInvite/?groupid=73"
    token = address_token(settings.SANDBOX_GLANCE_API_KEY)
    assert call(client, url=url, HTTP_AUTHORIZATION=token).status_code == 403


def authorize(client, settings, puid="ann-77", **query):
    """The Authorization Service's answer for `puid` (a fresh login key)."""
    response = client.post(
        glance_authorize_path(settings, **query),
        glance_credentials(settings, puid),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize(
    ("field", "header"),
    [
        ("gssnId", {"HTTP_AUTHORIZATION": "Bearer GSSNID {}"}),
        ("gssnId", {"HTTP_X_GSSNID": "{}"}),
        ("authToken", {"HTTP_AUTHORIZATION": "Bearer GJWT {}"}),
    ],
)
def test_issued_tokens_are_accepted_and_speak_for_their_agent(client, settings, field, header):
    token = authorize(client, settings)[field]
    name, value = next(iter(header.items()))
    response = call(client, **{name: value.format(token)})
    assert response.status_code == 200, response.content
    assert OutboxMessage.objects.get().partner_user_id == "ann-77"


@pytest.mark.parametrize("puid", ["a&b", "Ann Lee", "José Ñúñez-Ødegård", "a&b c=d%20é"])
def test_tokens_carry_any_partner_user_id(client, settings, puid):
    answer = authorize(client, settings, puid=puid)
    assert call(client, HTTP_AUTHORIZATION=f"Bearer GJWT {answer['authToken']}").status_code == 200
    assert call(client, HTTP_X_GSSNID=answer["gssnId"]).status_code == 200
    assert {m.partner_user_id for m in OutboxMessage.objects.all()} == {puid}


def test_each_agent_gets_tokens_of_their_own(client, settings):
    ann = authorize(client, settings, puid="ann-77")
    bob = authorize(client, settings, puid="bob-78")
    assert ann["gssnId"] != bob["gssnId"]
    call(client, HTTP_X_GSSNID=bob["gssnId"])
    assert OutboxMessage.objects.get().partner_user_id == "bob-78"


def test_expired_tokens_are_401(client, settings):
    answer = authorize(client, settings, duration=1)
    GlanceToken.objects.update(expires_at=timezone.now())
    for header in (
        {"HTTP_AUTHORIZATION": f"Bearer GJWT {answer['authToken']}"},
        {"HTTP_X_GSSNID": answer["gssnId"]},
    ):
        response = call(client, **header)
        assert response.status_code == 401
        assert "expired" in response.json()["error"]
    assert not OutboxMessage.objects.exists()


def test_tokens_this_sandbox_did_not_issue_are_401(client, settings):
    answer = authorize(client, settings)
    forged = answer["authToken"][:-4] + (
        "AAAA" if not answer["authToken"].endswith("AAAA") else "BBBB"
    )
    person, issued, _, group = answer["gssnId"].split(".")
    guessed = f"{person}.{issued}.{'x' * 43}.{group}"
    assert call(client, HTTP_AUTHORIZATION=f"Bearer GJWT {forged}").status_code == 401
    assert call(client, HTTP_X_GSSNID=guessed).status_code == 401
    assert not OutboxMessage.objects.exists()


def test_tokens_issued_for_another_service_are_401(client, settings):
    path = glance_authorize_path(settings).replace("service=webservices", "service=presence")
    body = glance_credentials(settings, "ann-77")
    answer = client.post(path, body, content_type="application/json").json()
    response = call(client, HTTP_X_GSSNID=answer["gssnId"])
    assert response.status_code == 401
    assert "webservices" in response.json()["error"]


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_AUTHORIZATION": "Bearer GSSNID wrong-token"},
        {"HTTP_X_GSSNID": "wrong-token"},
        {"HTTP_AUTHORIZATION": "Bearer GJWT wrong-token"},
        {"HTTP_X_GSSNID": ""},
    ],
)
def test_wrong_tokens_are_401_with_a_reason(client, headers):
    response = call(client, **headers)
    assert response.status_code == 401
    assert response.json()["error"]
    assert not OutboxMessage.objects.exists()


def test_tokens_are_not_interchangeable(client, settings):
    answer = authorize(client, settings)
    gjwt_as_gssnid = f"Bearer GSSNID {answer['authToken']}"
    gssnid_as_gjwt = f"Bearer GJWT {answer['gssnId']}"
    assert call(client, HTTP_AUTHORIZATION=gjwt_as_gssnid).status_code == 401
    assert call(client, HTTP_AUTHORIZATION=gssnid_as_gjwt).status_code == 401


def test_an_empty_token_matches_nothing(client, settings):
    authorize(client, settings)
    assert call(client, HTTP_AUTHORIZATION="Bearer GJWT ").status_code == 401


def test_authorization_header_decides_when_both_are_sent(client, settings):
    answer = authorize(client, settings)
    response = call(
        client, HTTP_AUTHORIZATION="Bearer GJWT wrong-token", HTTP_X_GSSNID=answer["gssnId"]
    )
    assert response.status_code == 401


def test_token_for_another_group_is_403(client, settings):
    gssnid = authorize(client, settings)["gssnId"]
    url = "/sandbox/glance/api/SessionInvitation/smsInvite/?groupid=73"
    response = call(client, url=url, HTTP_X_GSSNID=gssnid)
    assert response.status_code == 403
    assert not OutboxMessage.objects.exists()


def test_tokens_are_kept_as_digests_only(client, settings):
    answer = authorize(client, settings)
    stored = list(GlanceToken.objects.values_list("digest", flat=True))
    assert len(stored) == 2
    assert answer["authToken"] not in stored and answer["gssnId"] not in stored


def test_error_never_echoes_the_token(client):
    response = call(client, HTTP_AUTHORIZATION="Bearer GSSNID secret-looking-guess")
    assert "secret-looking-guess" not in response.content.decode()
