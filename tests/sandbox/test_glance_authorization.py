"""The sandbox Glance's Authorization Service: what it answers, and what it refuses."""

import base64
import hmac
import json
import re
import time
from datetime import UTC, datetime

import pytest

from sandbox.models import GlanceToken
from tests.support.sandbox import glance_authorize_path, glance_credentials, glance_login_key

pytestmark = pytest.mark.django_db
# api.glance.cx's sample answer, keys only.
SAMPLE_FIELDS = {
    "VServer",
    "applicationSettings",
    "authTokeExp",
    "authToken",
    "coloSelectUrl",
    "glanceAddress",
    "groupId",
    "gssnId",
    "isTrial",
    "message",
    "planTimeout",
    "planTitle",
    "privilegeString",
    "service",
}
GLANCE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z")


def post(client, settings, body, **query):
    return client.post(glance_authorize_path(settings, **query), body, "application/json")


def unpadded(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def jwt_parts(token):
    header, payload, signature = token.split(".")
    return json.loads(unpadded(header)), json.loads(unpadded(payload)), signature


def test_answer_has_the_documented_shape(client, settings):
    before = time.time()
    response = post(client, settings, glance_credentials(settings, "ann-77"), duration=90)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert set(answer) == SAMPLE_FIELDS
    assert answer["groupId"] == 72
    assert answer["isTrial"] is False
    assert answer["planTimeout"] == 0
    assert answer["VServer"] is None and answer["message"] is None

    assert GLANCE_TIME.fullmatch(answer["authTokeExp"])
    expires = datetime.fromisoformat(answer["authTokeExp"][:26] + "+00:00")
    assert before + 90 * 60 - 1 <= expires.timestamp() <= time.time() + 90 * 60

    person, issued, random, group = answer["gssnId"].split(".")
    assert person.isdigit() and group == "72"
    assert before - 1 <= int(issued) <= time.time()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", random)


def test_auth_token_is_an_hs256_jwt_for_the_agent(client, settings):
    answer = post(client, settings, glance_credentials(settings, "ann-77")).json()
    header, claims, signature = jwt_parts(answer["authToken"])
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert claims["groupId"] == 72
    assert claims["puid"] == "ann-77"
    expires = datetime.fromisoformat(answer["authTokeExp"][:26] + "+00:00")
    assert claims["exp"] == int(expires.timestamp())
    assert str(claims["personId"]) == answer["gssnId"].split(".")[0]
    # Signed with a secret of the sandbox's own, not with the partner's API key.
    signing_input = answer["authToken"].rpartition(".")[0].encode()
    with_api_key = hmac.new(settings.SANDBOX_GLANCE_API_KEY.encode(), signing_input, "sha256")
    assert len(unpadded(signature)) == 32
    assert unpadded(signature) != with_api_key.digest()


def test_person_id_is_stable_per_agent_and_tokens_are_fresh(client, settings):
    first = post(client, settings, glance_credentials(settings, "ann-77")).json()
    again = post(client, settings, glance_credentials(settings, "ann-77")).json()
    other = post(client, settings, glance_credentials(settings, "bob-78")).json()
    assert first["gssnId"].split(".")[0] == again["gssnId"].split(".")[0]
    assert first["gssnId"].split(".")[0] != other["gssnId"].split(".")[0]
    assert first["gssnId"] != again["gssnId"]
    assert first["authToken"] != again["authToken"]


@pytest.mark.parametrize("puid", ["a&b", "Ann Lee", "José Ñúñez-Ødegård", "100%=é&x"])
def test_partner_user_id_is_signed_as_it_is(client, settings, puid):
    answer = post(client, settings, glance_credentials(settings, puid)).json()
    assert jwt_parts(answer["authToken"])[1]["puid"] == puid
    assert set(GlanceToken.objects.values_list("partner_user_id", flat=True)) == {puid}


def test_partner_id_may_be_a_string_of_digits(client, settings):
    body = json.loads(glance_credentials(settings, "ann-77"))
    body["partnerid"] = "72"
    assert post(client, settings, json.dumps(body)).status_code == 200


@pytest.mark.parametrize("duration", [1, 120])
def test_duration_bounds_are_accepted(client, settings, duration):
    response = post(client, settings, glance_credentials(settings, "ann-77"), duration=duration)
    assert response.status_code == 200


@pytest.mark.parametrize("duration", ["0", "121", "-5", "60.5", "sixty", ""])
def test_duration_out_of_bounds_is_400(client, settings, duration):
    path = glance_authorize_path(settings).replace("duration=60", f"duration={duration}")
    response = client.post(path, glance_credentials(settings, "ann-77"), "application/json")
    assert response.status_code == 400
    assert "duration" in response.json()["message"]
    assert not GlanceToken.objects.exists()


@pytest.mark.parametrize(
    ("drop", "reason"),
    [("service=webservices", "service"), ("site=production", "site"), ("groupid=72", "groupid")],
)
def test_missing_query_parameters_are_400(client, settings, drop, reason):
    path = glance_authorize_path(settings).replace(drop, "")
    response = client.post(path, glance_credentials(settings, "ann-77"), "application/json")
    assert response.status_code == 400
    assert reason in response.json()["message"]


@pytest.mark.parametrize("body", ["", "{}", '{"service": "x"}'])
def test_no_credentials_is_401(client, settings, body):
    response = post(client, settings, body)
    assert response.status_code == 401
    assert response.json() == {"message": "credentials are missing"}


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ({"api_key": "not-the-partner-key"}, "signature"),
        ({"expires": int(time.time()) - 1}, "expired"),
        ({"expires": int(time.time()) + 2 * 86_400}, "more than one day"),
    ],
)
def test_bad_login_keys_are_403(client, settings, key, reason):
    response = post(client, settings, glance_credentials(settings, "ann-77", **key))
    assert response.status_code == 403
    assert reason in response.json()["message"]
    assert not GlanceToken.objects.exists()


def test_key_signed_for_another_agent_is_403(client, settings):
    body = json.loads(glance_credentials(settings, "ann-77"))
    body["partneruserid"] = "bob-78"
    response = post(client, settings, json.dumps(body))
    assert response.status_code == 403
    assert "signature" in response.json()["message"]


def test_malformed_login_key_is_403(client, settings):
    body = {"partnerid": 72, "partneruserid": "ann-77", "loginkey": "$1$123$short"}
    response = post(client, settings, json.dumps(body))
    assert response.status_code == 403
    assert "malformed" in response.json()["message"]


def test_unknown_partner_is_403(client, settings):
    key = glance_login_key(settings, "ann-77")
    body = {"partnerid": 99, "partneruserid": "ann-77", "loginkey": key}
    response = post(client, settings, json.dumps(body), group=99)
    assert response.status_code == 403
    assert "unknown partner" in response.json()["message"]


def test_credentials_of_another_group_are_403(client, settings):
    response = post(client, settings, glance_credentials(settings, "ann-77"), group=73)
    assert response.status_code == 403
    assert "another group" in response.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"partnerid": 72, "partneruserid": "ann-77"},
        {"partnerid": "x", "partneruserid": "ann-77", "loginkey": "k"},
        {"partnerid": 72, "partneruserid": "", "loginkey": "k"},
        {"partnerid": 72, "partneruserid": "a" * 129, "loginkey": "k"},
        {"partnerid": True, "partneruserid": "ann-77", "loginkey": "k"},
        {"username": "agent.demo.glance.net", "password": "secret"},
    ],
)
def test_invalid_credentials_are_400(client, settings, body):
    response = post(client, settings, json.dumps(body))
    assert response.status_code == 400
    assert response.json()["message"]


@pytest.mark.parametrize(
    ("body", "content_type"), [("[]", "application/json"), ("{", "application/json")]
)
def test_bodies_that_are_not_a_json_object_are_400(client, settings, body, content_type):
    path = glance_authorize_path(settings)
    assert client.post(path, body, content_type).status_code == 400


def test_form_bodies_are_400(client, settings):
    path = glance_authorize_path(settings)
    response = client.post(path, {"partnerid": "72"})
    assert response.status_code == 400
    assert "Content-Type" in response.json()["message"]


def test_only_post_is_allowed(client, settings):
    assert client.get(glance_authorize_path(settings)).status_code == 405


def test_errors_never_echo_the_login_key(client, settings):
    body = glance_credentials(settings, "ann-77", api_key="not-the-partner-key")
    response = post(client, settings, body)
    assert json.loads(body)["loginkey"] not in response.content.decode()


def test_expired_tokens_are_dropped_when_new_ones_are_issued(client, settings):
    post(client, settings, glance_credentials(settings, "ann-77"))
    GlanceToken.objects.update(expires_at=datetime.now(UTC))
    post(client, settings, glance_credentials(settings, "bob-78"))
    assert set(GlanceToken.objects.values_list("partner_user_id", flat=True)) == {"bob-78"}
