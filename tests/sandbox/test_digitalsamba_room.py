"""The sandbox Digital Samba's room page and its webhook deliveries, over real HTTP: personal
links carry JWTs signed here (tests.support.digitalsamba_wire), deliveries reach a small HTTP server
the test starts."""

import json
import socket
import time
import uuid

import pytest
import requests

from sandbox.models import DigitalSambaParticipant, DigitalSambaSession
from tests.support.digitalsamba_wire import API, api_session, jwt, key_of, room_token
from tests.support.stub_servers import capture_server, redirect_server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
EVERY_EVENT = ["participant_joined", "participant_left", "session_started", "session_ended"]


@pytest.fixture
def api(live_server, settings):
    session = api_session(settings)

    def call(method, path, **kwargs):
        answer = session.request(method, live_server.url + API + path, timeout=5, **kwargs)
        assert answer.status_code < 400, answer.text
        return answer

    yield call
    session.close()


@pytest.fixture
def receiver():
    with capture_server() as stub:
        yield stub


def subscribe(api, url, events=EVERY_EVENT, **fields):
    return api("POST", "/webhooks", json={"endpoint": url, "events": events, **fields}).json()


def private_room(api, **fields):
    fields.setdefault("description", "Printer help")
    return api("POST", "/rooms", json={"privacy": "private", **fields}).json()


def open_link(room, token, **params):
    return requests.get(room["room_url"], params={"token": token, **params}, timeout=10)


def leave(room, token, page):
    participant = page.text.split('name="participant" value="')[1].split('"')[0]
    return requests.post(
        f"{room['room_url']}?token={token}", data={"participant": participant}, timeout=10
    )


def deliveries(stub):
    return [json.loads(r.body) for r in stub.received]


def events(stub):
    return [d["eventType"] for d in deliveries(stub)]


def test_a_personal_link_joins_and_is_delivered_as_documented(api, receiver, settings):
    subscribe(api, receiver.url + "/hook", authorization_header="hook-secret")
    room = private_room(api)
    page = open_link(room, room_token(settings, room, ud="42", u="Ann Lee", role="speaker"))
    assert page.status_code == 200
    assert "You are in Printer help as Ann Lee (speaker)" in page.text
    assert "<script" not in page.text and "style=" not in page.text  # the app's CSP

    [session] = api("GET", "/sessions", params={"room_id": room["id"], "live": "true"}).json()[
        "data"
    ]
    assert (session["live"], session["participants_live"]) == (True, 1)
    people = api("GET", f"/sessions/{session['id']}/participants").json()
    assert people["total_count"] == 1
    [ann] = people["data"]
    assert ann == {
        "id": ann["id"],
        "external_id": "42",
        "session_id": session["id"],
        "room_id": room["id"],
        "room_external_id": None,
        "room_is_deleted": False,
        "name": "Ann Lee",
        "role": "speaker",
        "friendly_url": room["friendly_url"],
        "join_time": ann["join_time"],
        "leave_time": None,
        "live": True,
    }
    assert time.strptime(ann["join_time"], "%Y-%m-%d %H:%M:%S")

    assert events(receiver) == ["session_started", "participant_joined"]
    started, joined = receiver.received
    for delivered in (started, joined):
        assert delivered.method == "POST"
        assert delivered.path == "/hook"
        assert delivered.headers["Content-Type"] == "application/json"
        assert delivered.headers["Authorization"] == "Bearer hook-secret"
    body = json.loads(joined.body)
    assert body == {
        "eventType": "participant_joined",
        "sessionId": session["id"],
        "roomId": room["id"],
        "timestamp": body["timestamp"],
        # No external id: the documentation does not promise one.
        "data": {"participantId": ann["id"], "name": "Ann Lee", "role": "speaker"},
    }
    assert isinstance(body["timestamp"], int) and abs(body["timestamp"] - time.time()) < 30
    assert json.loads(started.body)["data"] == {}


def test_leave_delivers_participant_left_then_session_ended(api, receiver, settings):
    subscribe(api, receiver.url)
    room = private_room(api)
    token = room_token(settings, room)
    page = open_link(room, token)
    left = leave(room, token, page)
    assert left.status_code == 200
    assert "You left Printer help" in left.text
    assert events(receiver) == [
        "session_started",
        "participant_joined",
        "participant_left",
        "session_ended",
    ]
    participant = DigitalSambaParticipant.objects.get()
    assert participant.leave_time is not None
    assert DigitalSambaSession.objects.get().end_time is not None
    [session] = api("GET", "/sessions").json()["data"]
    assert (session["live"], session["participants_live"], session["end_time"] is None) == (
        False,
        0,
        False,
    )
    [record] = api("GET", f"/sessions/{session['id']}/participants").json()["data"]
    assert record["live"] is False and record["leave_time"]
    # Leaving twice is leaving once.
    assert leave(room, token, page).status_code == 200
    assert len(receiver.received) == 4


def test_the_session_lives_on_while_someone_is_in_it(api, receiver, settings):
    subscribe(api, receiver.url)
    room = private_room(api)
    ann = room_token(settings, room, ud="42", u="Ann")
    bob = room_token(settings, room, ud="43", u="Bob")
    ann_page = open_link(room, ann)
    open_link(room, bob)
    leave(room, ann, ann_page)
    assert events(receiver) == [
        "session_started",
        "participant_joined",
        "participant_joined",
        "participant_left",
    ]
    [session] = api("GET", "/sessions", params={"live": "true"}).json()["data"]
    live = api("GET", f"/sessions/{session['id']}/participants", params={"live": "true"}).json()
    assert [p["external_id"] for p in live["data"]] == ["43"]
    stats = api("GET", f"/sessions/{session['id']}").json()
    assert (stats["session_live"], stats["live_participants"]) == (True, 1)
    assert stats["max_concurrent_participants"] == 2


def test_opening_the_link_again_is_a_rejoin(api, settings):
    room = private_room(api)
    token = room_token(settings, room)
    open_link(room, token)
    open_link(room, token)
    assert DigitalSambaSession.objects.count() == 1
    assert list(DigitalSambaParticipant.objects.values_list("external_id", flat=True)) == [
        "42",
        "42",
    ]


def test_rd_may_be_the_friendly_url_and_role_a_role_id(api, settings):
    room = private_room(api)
    moderator = next(r for r in room["roles"] if r["name"] == "moderator")
    token = room_token(settings, room, rd=room["friendly_url"], ud="agent-3", role=moderator["id"])
    page = open_link(room, token)
    assert page.status_code == 200
    assert "(moderator)" in page.text


def bad_tokens(settings, room, other_room):
    now = int(time.time())
    team = settings.SANDBOX_DIGITALSAMBA_TEAM_ID
    key = key_of(settings)
    claims = {"td": team, "rd": room["id"], "ud": "42", "u": "Ann", "exp": now + 600}
    good = jwt(claims, key)
    head, _, signature = good.split(".")
    return {
        "no token": "",
        "garbage": "not-a-token",
        "wrong key": jwt(claims, "another-developer-key"),
        "tampered": f"{head}.{jwt({**claims, 'ud': '43'}, key).split('.')[1]}.{signature}",
        "expired": jwt({**claims, "exp": now - 5}, key),
        "not yet valid": jwt({**claims, "nbf": now + 300}, key),
        "other team": jwt({**claims, "td": str(uuid.uuid4())}, key),
        "no team": jwt({k: v for k, v in claims.items() if k != "td"}, key),
        "other room": jwt({**claims, "rd": other_room["id"]}, key),
        "alg none": f"{jwt(claims, key, {'alg': 'none', 'typ': 'JWT'}).rsplit('.', 1)[0]}.",
        "alg HS512": jwt(claims, key, {"alg": "HS512", "typ": "JWT"}),
        "unknown role": jwt({**claims, "role": "director"}, key),
    }


def test_bad_tokens_are_refused_and_nothing_is_recorded(api, receiver, settings):
    subscribe(api, receiver.url)
    room = private_room(api)
    other_room = private_room(api)
    for reason, token in bad_tokens(settings, room, other_room).items():
        page = open_link(room, token)
        assert page.status_code == 403, reason
        assert "This room is private" in page.text, reason
    assert not DigitalSambaSession.objects.exists()
    assert not DigitalSambaParticipant.objects.exists()
    assert receiver.received == []


def test_without_a_name_the_page_asks_for_one(api, settings):
    room = private_room(api)
    token = room_token(settings, room, u=None)
    asked = open_link(room, token)
    assert asked.status_code == 200
    assert 'name="name"' in asked.text
    assert not DigitalSambaParticipant.objects.exists()
    joined = open_link(room, token, name="Ann Lee")
    assert "as Ann Lee (speaker)" in joined.text
    assert DigitalSambaParticipant.objects.get().name == "Ann Lee"


def test_a_public_room_needs_no_token(api):
    room = api("POST", "/rooms", json={"privacy": "public", "description": "Open door"}).json()
    assert 'name="name"' in requests.get(room["room_url"], timeout=5).text
    joined = requests.get(room["room_url"], params={"name": "Walk-in"}, timeout=5)
    assert "You are in Open door as Walk-in (speaker)" in joined.text


def test_only_subscribed_events_are_delivered(api, settings):
    with capture_server() as joins, capture_server() as endings:
        subscribe(api, joins.url, events=["participant_joined"], authorization_header="")
        subscribe(api, endings.url, events=["session_ended", "recording_ready"])
        room = private_room(api)
        token = room_token(settings, room)
        leave(room, token, open_link(room, token))
        assert events(joins) == ["participant_joined"]
        assert "Authorization" not in joins.received[0].headers
        assert events(endings) == ["session_ended"]


def test_a_rooms_webhooks_narrow_who_hears_about_it(api, settings):
    with capture_server() as chosen, capture_server() as other:
        hook = subscribe(api, chosen.url)
        subscribe(api, other.url)
        narrowed = private_room(api, webhooks=[hook["id"]])
        assert narrowed["webhooks"] == [hook["id"]]
        open_link(narrowed, room_token(settings, narrowed))
        assert events(chosen) == ["session_started", "participant_joined"]
        assert other.received == []
        everyone = private_room(api)
        open_link(everyone, room_token(settings, everyone))
        assert len(chosen.received) == 4
        assert len(other.received) == 2


def test_end_session_makes_everyone_leave(api, receiver, settings):
    subscribe(api, receiver.url)
    room = private_room(api)
    open_link(room, room_token(settings, room, ud="42"))
    open_link(room, room_token(settings, room, ud="43"))
    [session] = api("GET", "/sessions").json()["data"]
    ended = api("POST", f"/sessions/{session['id']}/end")
    assert (ended.status_code, ended.content) == (200, b"")
    assert events(receiver)[3:] == ["participant_left", "participant_left", "session_ended"]
    people = api("GET", f"/sessions/{session['id']}/participants").json()["data"]
    assert [p["live"] for p in people] == [False, False]
    assert api("GET", f"/sessions/{session['id']}").json()["session_live"] is False
    # Ending it again changes nothing.
    api("POST", f"/sessions/{session['id']}/end")
    assert len(receiver.received) == 6


def test_deleting_a_room_ends_its_session_and_refuses_later_joins(api, receiver, settings):
    subscribe(api, receiver.url)
    room = private_room(api)
    token = room_token(settings, room)
    open_link(room, token)
    deleted = api("DELETE", f"/rooms/{room['id']}")
    assert deleted.status_code == 204
    assert events(receiver)[2:] == ["participant_left", "session_ended"]
    again = open_link(room, token)
    assert again.status_code == 404
    assert "Room not found" in again.text
    assert DigitalSambaParticipant.objects.count() == 1
    # Its sessions stay, and say that the room is gone.
    [session] = api("GET", "/sessions").json()["data"]
    assert (session["room_is_deleted"], session["live"]) == (True, False)


def test_deleting_a_live_rooms_resources_is_refused(api, settings, live_server):
    room = private_room(api)
    open_link(room, room_token(settings, room))
    refused = api_session(settings).delete(
        live_server.url + API + f"/rooms/{room['id']}", json={"delete_resources": True}, timeout=5
    )
    assert refused.status_code == 422
    assert refused.json() == {"message": "Cannot delete resources of a live room."}
    assert DigitalSambaSession.objects.get().end_time is None


def test_deliveries_never_follow_redirects(api, receiver, settings):
    with redirect_server(receiver.url + "/stolen") as redirecting:
        subscribe(api, redirecting.url)
        room = private_room(api)
        page = open_link(room, room_token(settings, room))
    assert page.status_code == 200
    assert len(redirecting.received) == 2
    assert receiver.received == []


def test_an_unreachable_webhook_does_not_change_the_page(api, settings):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    subscribe(api, f"http://127.0.0.1:{port}/hook")
    room = private_room(api)
    page = open_link(room, room_token(settings, room))
    assert page.status_code == 200
    assert DigitalSambaParticipant.objects.count() == 1
