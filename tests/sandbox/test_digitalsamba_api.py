"""The sandbox's Digital Samba REST API over real HTTP, against the documented contract
(facts.md §2.1, §2.2, §2.3, §2.6): requests built by hand, as the documentation shows them."""

import base64
import hashlib
import hmac
import json
import re
import time
import uuid

import pytest
import requests

from sandbox.models import DigitalSambaRoom, DigitalSambaWebhook
from tests.support.digitalsamba_wire import API, api_session, b64url, basic, key_of
from tests.support.sandbox import basic_auth

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
NOT_FOUND = {"message": "Not Found", "error": "not-found"}
UNAUTHENTICATED = {"message": "Unauthenticated.", "error": "unauthenticated"}
ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


@pytest.fixture
def api(live_server, settings):
    """api(method, path, **kwargs): a call to the sandbox team's API with its credentials."""
    session = api_session(settings)

    def call(method, path, **kwargs):
        return session.request(method, live_server.url + API + path, timeout=5, **kwargs)

    yield call
    session.close()


def create_room(api, **fields):
    fields.setdefault("privacy", "private")
    answer = api("POST", "/rooms", json=fields)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_create_a_private_room(api, live_server):
    room = create_room(api, description="Help with the printer", external_id="s-17")
    assert uuid.UUID(room["id"])
    assert re.fullmatch(r"[A-Za-z0-9]{15}", room["friendly_url"])
    assert room["privacy"] == "private"
    assert room["description"] == "Help with the printer"
    assert room["external_id"] == "s-17"
    assert room["room_url"] == f"{live_server.url}/sandbox/digitalsamba/room/{room['friendly_url']}"
    assert room["default_role"]["name"] == "speaker"
    assert set(room["default_role"]) == {"id", "name", "display_name"}
    assert [r["name"] for r in room["roles"]] == ["moderator", "speaker", "attendee"]
    assert room["webhooks"] == []
    assert ISO_Z.fullmatch(room["created_at"]) and ISO_Z.fullmatch(room["updated_at"])


def test_read_a_room_by_id_or_friendly_url(api):
    room = create_room(api, friendly_url="printer-help")
    assert api("GET", f"/rooms/{room['id']}").json() == room
    assert api("GET", "/rooms/printer-help").json() == room
    # Laravel's routes take no trailing slash; the sandbox tolerates one.
    assert api("GET", "/rooms/printer-help/").json() == room


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({}, {"privacy": ["The privacy field is required."]}),
        ({"privacy": "secret"}, {"privacy": ["The selected privacy is invalid."]}),
        (
            {"privacy": "private", "description": "ab"},
            {"description": ["The description field must be between 3 and 500 characters."]},
        ),
        (
            {"privacy": "private", "roles": ["moderator", "speaker"]},
            {"default_role": ["The default role field is required when roles is present."]},
        ),
        (
            {"privacy": "private", "webhooks": [str(uuid.uuid4())]},
            {"webhooks.0": ["The selected webhooks.0 is invalid."]},
        ),
    ],
)
def test_invalid_room_is_refused_with_laravels_body(api, fields, errors):
    answer = api("POST", "/rooms", json=fields)
    assert answer.status_code == 422
    assert answer.json() == {"message": next(iter(errors.values()))[0], "errors": errors}
    assert not DigitalSambaRoom.objects.exists()


def test_several_errors_are_counted_in_the_message(api):
    answer = api("POST", "/rooms", json={"description": "x", "friendly_url": "a b"})
    assert answer.status_code == 422
    body = answer.json()
    assert body["message"] == "The privacy field is required. (and 2 more errors)"
    assert set(body["errors"]) == {"privacy", "description", "friendly_url"}


def test_a_taken_friendly_url_is_refused(api):
    create_room(api, friendly_url="printer-help")
    answer = api("POST", "/rooms", json={"privacy": "public", "friendly_url": "printer-help"})
    assert answer.status_code == 422
    assert answer.json()["errors"] == {"friendly_url": ["The friendly url has already been taken."]}


def test_edit_a_room(api):
    room = create_room(api, description="Before")
    edited = api("PATCH", f"/rooms/{room['id']}", json={"description": "After"})
    assert edited.status_code == 200
    assert edited.json()["description"] == "After"
    assert edited.json()["privacy"] == "private"  # left as it was
    assert api("GET", f"/rooms/{room['id']}").json()["description"] == "After"
    refused = api("PATCH", f"/rooms/{room['id']}", json={"privacy": "open"})
    assert refused.status_code == 422
    assert api("GET", f"/rooms/{room['id']}").json()["privacy"] == "private"


def test_delete_a_room(api):
    room = create_room(api)
    deleted = api("DELETE", f"/rooms/{room['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert api("GET", f"/rooms/{room['id']}").json() == NOT_FOUND
    assert api("DELETE", f"/rooms/{room['id']}").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/rooms/no-such-room"),
        ("PATCH", f"/rooms/{uuid.uuid4()}"),
        ("POST", "/rooms/no-such-room/token"),
        ("GET", f"/sessions/{uuid.uuid4()}"),
        ("GET", "/sessions/not-a-uuid/participants"),
        ("POST", f"/sessions/{uuid.uuid4()}/end"),
        ("GET", f"/webhooks/{uuid.uuid4()}"),
        ("DELETE", "/webhooks/nope"),
        ("GET", "/no-such-endpoint"),
    ],
)
def test_unknown_resources_are_404(api, method, path):
    answer = api(method, path, json={})
    assert answer.status_code == 404
    assert answer.json() == NOT_FOUND


def test_list_rooms_paginated(api):
    made = [create_room(api, description=f"Room {i}")["id"] for i in range(5)]
    first = api("GET", "/rooms", params={"limit": 2}).json()
    # Newest first by default (`order=desc`); total_count counts them all.
    assert first["total_count"] == 5
    assert [r["id"] for r in first["data"]] == made[::-1][:2]
    second = api("GET", "/rooms", params={"limit": 2, "offset": 2}).json()
    assert [r["id"] for r in second["data"]] == made[::-1][2:4]
    oldest = api("GET", "/rooms", params={"order": "asc", "limit": 1}).json()
    assert [r["id"] for r in oldest["data"]] == made[:1]
    after = api("GET", "/rooms", params={"order": "asc", "after": made[2]}).json()
    assert [r["id"] for r in after["data"]] == made[3:]
    assert len(api("GET", "/rooms").json()["data"]) == 5


@pytest.mark.parametrize(
    ("params", "field", "text"),
    [
        ({"limit": 101}, "limit", "The limit field must not be greater than 100."),
        ({"limit": 0}, "limit", "The limit field must be at least 1."),
        ({"limit": "ten"}, "limit", "The limit field must be an integer."),
        ({"offset": -1}, "offset", "The offset field must be an integer."),
        ({"order": "up"}, "order", "The selected order is invalid."),
    ],
)
def test_bad_pagination_is_422(api, params, field, text):
    answer = api("GET", "/rooms", params=params)
    assert answer.status_code == 422
    assert answer.json() == {"message": text, "errors": {field: [text]}}


def test_the_three_documented_authentication_forms(live_server, settings):
    team = settings.SANDBOX_DIGITALSAMBA_TEAM_ID
    key = key_of(settings)
    pair = base64.b64encode(f"{team}:{key}".encode()).decode()
    for header in (basic(settings), f"Bearer {key}", f"Bearer {pair}"):
        answer = requests.get(
            live_server.url + API + "/rooms", headers={"Authorization": header}, timeout=5
        )
        assert answer.status_code == 200, header
        assert answer.json() == {"total_count": 0, "data": []}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-key"},
        {"Authorization": "Basic not-base64!"},
        basic_auth("5b7d1f0e-0000-0000-0000-000000000000", "sandbox-digitalsamba-developer-key"),
        basic_auth("5b7d1f0e-3c1a-4e8e-9a57-0d6c2b1f4a11", "wrong-key"),
        {"Authorization": "Token sandbox-digitalsamba-developer-key"},
    ],
    ids=["none", "bearer-wrong-key", "garbage", "other-team", "wrong-key", "other-scheme"],
)
def test_without_valid_credentials_nothing_happens(live_server, headers):
    created = requests.post(
        live_server.url + API + "/rooms", json={"privacy": "private"}, headers=headers, timeout=5
    )
    assert created.status_code == 401
    assert created.json() == UNAUTHENTICATED
    assert not DigitalSambaRoom.objects.exists()


def test_an_unsupported_method_is_405(api):
    answer = api("PUT", "/rooms", json={"privacy": "private"})
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET, POST"
    assert not DigitalSambaRoom.objects.exists()


def decoded(token):
    def part(text):
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))

    head, body, _ = token.split(".")
    return part(head), part(body)


def test_token_endpoint_signs_a_link(api, settings):
    room = create_room(api)
    answer = api("POST", f"/rooms/{room['friendly_url']}/token", json={"ud": "7", "u": "Ann"})
    assert answer.status_code == 200
    token = answer.json()["token"]
    assert answer.json()["link"] == f"{room['room_url']}?token={token}"
    header, claims = decoded(token)
    assert header == {"typ": "JWT", "alg": "HS256"}
    assert claims["td"] == settings.SANDBOX_DIGITALSAMBA_TEAM_ID
    assert (claims["rd"], claims["ud"], claims["u"]) == (room["id"], "7", "Ann")
    assert abs(claims["iat"] - time.time()) < 10
    # Signed with the developer key, as the documentation says (checked without the sandbox).
    head, body, signature = token.split(".")
    mac = hmac.new(key_of(settings).encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert signature == b64url(mac)


def test_token_exp_in_minutes_or_as_a_unix_time(api):
    room = create_room(api)
    in_minutes = api("POST", f"/rooms/{room['id']}/token", json={"exp": 30}).json()["token"]
    assert abs(decoded(in_minutes)[1]["exp"] - (time.time() + 1800)) < 10
    at = int(time.time()) + 99_999
    absolute = api("POST", f"/rooms/{room['id']}/token", json={"exp": at}).json()["token"]
    assert decoded(absolute)[1]["exp"] == at
    refused = api("POST", f"/rooms/{room['id']}/token", json={"role": "director"})
    assert refused.status_code == 422
    assert refused.json()["errors"] == {"role": ["The selected role is invalid."]}


def test_webhooks_create_read_edit_list_delete(api):
    created = api(
        "POST",
        "/webhooks",
        json={
            "endpoint": "https://portal.example/webhooks/digitalsamba/main/",
            "events": ["participant_joined", "session_ended"],
            "name": "Portal",
            "authorization_header": "s3cret",
        },
    )
    assert created.status_code == 200, created.text
    hook = created.json()
    assert uuid.UUID(hook["id"])
    assert hook == {
        "id": hook["id"],
        "endpoint": "https://portal.example/webhooks/digitalsamba/main/",
        "authorization_header": "s3cret",
        "name": "Portal",
        "events": ["participant_joined", "session_ended"],
        "created_at": hook["created_at"],
        "updated_at": hook["updated_at"],
    }
    assert api("GET", f"/webhooks/{hook['id']}").json() == hook

    # The list leaves out `events` (and the secret): read each one to see them.
    listed = api("GET", "/webhooks").json()
    assert listed["total_count"] == 1
    assert set(listed["data"][0]) == {"id", "endpoint", "name", "created_at", "updated_at"}

    edited = api("PATCH", f"/webhooks/{hook['id']}", json={"events": ["participant_left"]})
    assert edited.status_code == 200
    assert edited.json()["events"] == ["participant_left"]
    assert edited.json()["endpoint"] == hook["endpoint"]

    deleted = api("DELETE", f"/webhooks/{hook['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert api("GET", f"/webhooks/{hook['id']}").status_code == 404


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {},
            {
                "endpoint": ["The endpoint field is required."],
                "events": ["The events field is required."],
            },
        ),
        (
            {"endpoint": "ftp://portal.example/", "events": ["participant_joined"]},
            {"endpoint": ["The endpoint field must be a valid URL."]},
        ),
        (
            {"endpoint": "https://portal.example/" + "x" * 100, "events": ["session_ended"]},
            {"endpoint": ["The endpoint field must be between 3 and 100 characters."]},
        ),
        (
            {"endpoint": "https://portal.example/", "events": []},
            {"events": ["The events field is required."]},
        ),
        (
            {"endpoint": "https://portal.example/", "events": ["session_ended", "customer_joined"]},
            {"events.1": ["The selected events.1 is invalid."]},
        ),
    ],
)
def test_invalid_webhook_is_refused(api, fields, errors):
    answer = api("POST", "/webhooks", json=fields)
    assert answer.status_code == 422
    assert answer.json()["errors"] == errors
    assert not DigitalSambaWebhook.objects.exists()


def test_events_lists_the_documented_names(api):
    answer = api("GET", "/events")
    assert answer.status_code == 200
    assert set(answer.json()) >= {
        "participant_joined",
        "participant_left",
        "session_started",
        "session_ended",
        "recording_started",
        "recording_stopped",
        "recording_ready",
    }
