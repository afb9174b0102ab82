"""The Digital Samba client: the requests it sends (facts.md §2), the tokens it signs, how it
keeps one webhook, and how it maps each failure to a typed error."""

import base64
import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import responses

from invitations.providers.base import (
    InvitationRequest,
    ProviderAccount,
    UpstreamAuthError,
    UpstreamConfigurationError,
    UpstreamError,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamServerError,
    UpstreamUnavailable,
)
from invitations.providers.digitalsamba import (
    WEBHOOK_EVENTS,
    DigitalSambaClient,
    UpstreamNothingSent,
)
from tests.support.digitalsamba import (
    BASE,
    DEVELOPER_KEY,
    NOT_FOUND,
    TEAM_ID,
    FakeDigitalSamba,
    decode_hs256,
    token_of,
)

BASIC = "Basic " + base64.b64encode(f"{TEAM_ID}:{DEVELOPER_KEY}".encode()).decode()
VALID_UNTIL = datetime(2031, 5, 4, 12, 30, 15, 900000, tzinfo=UTC)
ENDPOINT = "https://portal.example.com/webhooks/digitalsamba/acme/"
HOOK_SECRET = "hook-secret-9d2f"


def make_client(**fields: Any) -> DigitalSambaClient:
    values = {
        "label": "unit-ds",
        "base_url": BASE + "/",  # the trailing slash must not double up in paths
        "auth_type": "basic",
        "secret": DEVELOPER_KEY,
        "account": TEAM_ID,
        **fields,
    }
    return DigitalSambaClient(account=ProviderAccount(**values))


def request(**fields: Any) -> InvitationRequest:
    values = {
        "channel": "sms",
        "destination": "+14155550134",
        "agent_id": "ann-77",
        "session_type": 1,
        "name": "Zoë Ünal",
        "participant_id": "42",
        "valid_until": VALID_UNTIL,
        **fields,
    }
    return InvitationRequest(**values)


def calls() -> list[tuple[str | None, str | None]]:
    return [(call.request.method, call.request.url) for call in responses.calls]


@responses.activate
def test_a_new_session_is_a_private_room_and_the_link_carries_a_signed_token():
    fake = FakeDigitalSamba().install()
    before = int(time.time())

    result = make_client().send_invitation(request())

    [room] = fake.rooms.values()
    assert result.session_key == room["id"]
    assert result.sent_by_provider is False
    assert calls() == [("POST", f"{BASE}/rooms")]
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == BASIC
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.body is not None
    body = json.loads(sent.body)
    assert body["privacy"] == "private"
    assert 3 <= len(body["description"]) <= 500
    assert result.personal_link.startswith(room["room_url"] + "?token=")
    header, claims = decode_hs256(token_of(result.personal_link), DEVELOPER_KEY)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert claims["td"] == TEAM_ID
    assert claims["rd"] == room["id"]
    assert claims["ud"] == "42"
    assert claims["u"] == "Zoë Ünal"
    assert claims["role"] == "speaker"
    assert before <= claims["iat"] <= time.time()
    # Never later than the invitation's validity: whole seconds, rounded down.
    assert claims["exp"] == int(VALID_UNTIL.timestamp())


@responses.activate
def test_another_invitee_gets_a_token_for_the_same_room_and_no_room_is_created():
    fake = FakeDigitalSamba().install()
    first = make_client().send_invitation(request())

    second = make_client().send_invitation(
        request(session_key=first.session_key, participant_id="43", name="")
    )

    assert second.session_key == first.session_key
    assert len(fake.rooms) == 1
    assert calls()[1] == ("GET", f"{BASE}/rooms/{first.session_key}")
    _, claims = decode_hs256(token_of(second.personal_link), DEVELOPER_KEY)
    assert claims["ud"] == "43"
    assert "u" not in claims  # no name: Digital Samba asks the person for one


@responses.activate
def test_a_room_deleted_upstream_is_reported_as_gone():
    responses.get(f"{BASE}/rooms/r-1", json=NOT_FOUND, status=404)
    with pytest.raises(UpstreamNotFound, match="Room r-1 no longer exists at Digital Samba"):
        make_client().send_invitation(request(session_key="r-1"))


@responses.activate
def test_a_created_room_without_room_url_keeps_the_room_and_nothing_was_sent():
    responses.post(f"{BASE}/rooms", json={"id": "r-9"})
    with pytest.raises(UpstreamNothingSent) as caught:
        make_client().send_invitation(request())
    assert caught.value.session_key == "r-9"
    assert "answered 200 with no room_url" in str(caught.value)
    assert "Nothing was sent to the customer" in str(caught.value)
    assert "may or may not" not in str(caught.value)
    assert caught.value.retryable and not caught.value.ambiguous


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "words"),
    [
        (401, {"message": "Unauthenticated."}, {}, UpstreamAuthError, "team id and developer key"),
        (403, {"message": "Forbidden"}, {}, UpstreamAuthError, "refused the request (403"),
        (
            429,
            {
                "message": "Too Many Attempts. You may try again in 38 seconds.",
                "error": "rate-limit",
            },
            {"retry-after": "38"},
            UpstreamUnavailable,
            "Try again in 38 s",
        ),
        (
            422,
            {"message": "The privacy field is required.", "errors": {"privacy": ["required"]}},
            {},
            UpstreamRejected,
            "The privacy field is required.",
        ),
        (500, {"message": "Server Error"}, {}, UpstreamServerError, "internal error (500"),
        (503, {"message": "Down"}, {}, UpstreamUnavailable, "unavailable (503)"),
    ],
)
@responses.activate
def test_failures_map_to_typed_errors(status, body, headers, error, words):
    responses.post(f"{BASE}/rooms", json=body, status=status, headers=headers)
    with pytest.raises(error, match=re.escape(words)) as caught:
        make_client().send_invitation(request())
    assert caught.value.status_code == status
    assert DEVELOPER_KEY not in str(caught.value)
    if status == 429:
        assert caught.value.retryable and caught.value.retry_after == 38


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"body": "<html>ok</html>", "status": 200}, "a body that is not JSON"),
        ({"body": requests.exceptions.ReadTimeout("slow")}, "did not answer within 15 s"),
        ({"body": requests.exceptions.ConnectionError("reset")}, "broke before it answered"),
    ],
)
@responses.activate
def test_a_lost_or_unreadable_answer_sent_nothing_to_the_customer(answer, words):
    responses.post(f"{BASE}/rooms", **answer)
    with pytest.raises(UpstreamError, match=words) as caught:
        make_client().send_invitation(request())
    assert not caught.value.ambiguous  # Digital Samba sends nothing itself
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"auth_type": "gkey"}, "team id and developer key"),
        ({"link_delivery": "provider"}, "sends no invitations itself"),
    ],
)
def test_misconfigured_credentials_are_refused_before_any_call(fields, words):
    with pytest.raises(UpstreamConfigurationError, match=words):
        make_client(**fields)


@responses.activate
def test_without_team_id_nothing_is_sent():
    with pytest.raises(UpstreamConfigurationError, match="team id and developer key"):
        make_client(account=" ").send_invitation(request())
    assert calls() == []


def test_an_invitation_without_the_invitees_id_or_validity_is_refused():
    with pytest.raises(UpstreamConfigurationError, match="invitee's id and validity"):
        make_client().send_invitation(request(participant_id=""))
    with pytest.raises(UpstreamConfigurationError, match="invitee's id and validity"):
        make_client().send_invitation(request(valid_until=None))


@responses.activate
def test_check_reads_one_room():
    responses.get(f"{BASE}/rooms", json={"total_count": 8096, "data": []})
    make_client().check(agent_id="ann-77")
    assert calls() == [("GET", f"{BASE}/rooms?limit=1")]
    assert responses.calls[0].request.headers["Authorization"] == BASIC


@responses.activate
def test_check_with_a_wrong_key_fails():
    responses.get(f"{BASE}/rooms", json={"message": "Unauthenticated."}, status=401)
    with pytest.raises(UpstreamAuthError, match="did not accept the credential 'unit-ds'"):
        make_client().check(agent_id="ann-77")


@responses.activate
def test_end_session_deletes_the_room_and_a_gone_room_counts_as_ended():
    responses.delete(f"{BASE}/rooms/r-1", status=204)
    responses.delete(f"{BASE}/rooms/r-2", json=NOT_FOUND, status=404)
    assert make_client().end_session("r-1") is True
    assert make_client().end_session("r-2") is True


@responses.activate
def test_end_session_with_a_404_from_elsewhere_fails():
    responses.delete(f"{BASE}/rooms/r-1", body="nothing here", status=404)
    with pytest.raises(UpstreamRejected, match="no such service"):
        make_client().end_session("r-1")


@responses.activate
def test_agent_entry_is_a_short_lived_moderator_link():
    fake = FakeDigitalSamba().install()
    room = make_client().send_invitation(request()).session_key

    entry = make_client().agent_entry(session_key=room, agent_id="ann-77", agent_name="Ann Lee")

    assert entry.fields == {}  # a GET: the token is the room's own way in
    assert entry.url.startswith(fake.rooms[room]["room_url"] + "?token=")
    _, claims = decode_hs256(token_of(entry.url), DEVELOPER_KEY)
    assert claims["role"] == "moderator"
    assert claims["ud"] == "agent-ann-77"
    assert claims["u"] == "Ann Lee"
    assert claims["rd"] == room
    assert 590 <= claims["exp"] - time.time() <= 600


@responses.activate
def test_participants_are_read_page_by_page_to_find_the_external_id():
    fake = FakeDigitalSamba().install()
    fake.participants["s-1"] = [
        {"id": f"p-{n}", "external_id": str(n), "room_id": "r-1"} for n in range(150)
    ]
    client = make_client()
    assert client.participant_external_id(session_id="s-1", participant_id="p-149") == "149"
    assert [call.request.url for call in responses.calls] == [
        f"{BASE}/sessions/s-1/participants?limit=100&offset=0",
        f"{BASE}/sessions/s-1/participants?limit=100&offset=100",
    ]
    assert client.participant_external_id(session_id="s-1", participant_id="p-x") is None
    assert client.participant_external_id(session_id="s-9", participant_id="p-1") is None


# --- webhooks ----------------------------------------------------------------------------------


def ensure(fake: FakeDigitalSamba, known_id: str = "") -> str:
    return make_client().ensure_webhook(
        endpoint=ENDPOINT, secret=HOOK_SECRET, name="agentportal acme", known_id=known_id
    )


def ours(fake: FakeDigitalSamba) -> list[dict[str, Any]]:
    return [hook for hook in fake.webhooks.values() if hook["endpoint"] == ENDPOINT]


@responses.activate
def test_a_webhook_is_created_when_none_is_ours():
    fake = FakeDigitalSamba().install()
    foreign = fake.add_webhook(endpoint="https://other.example.com/hook", events=["x"])

    hook_id = ensure(fake)

    [hook] = ours(fake)
    assert hook["id"] == hook_id
    assert sorted(hook["events"]) == sorted(WEBHOOK_EVENTS)
    assert hook["authorization_header"] == HOOK_SECRET
    assert hook["name"] == "agentportal acme"
    assert foreign in fake.webhooks  # someone else's is left alone
    posted = [c.request for c in responses.calls if c.request.method == "POST"]
    assert posted[0].headers["Authorization"] == BASIC


@responses.activate
def test_exactly_one_after_many_runs_and_nothing_changes_once_right():
    fake = FakeDigitalSamba().install()
    first = ensure(fake)
    for _ in range(3):
        assert ensure(fake, known_id=first) == first
        assert ensure(fake) == first  # found by its endpoint too
    assert len(ours(fake)) == 1
    methods = [c.request.method for c in responses.calls]
    assert methods.count("POST") == 1
    assert "PATCH" not in methods and "DELETE" not in methods


@responses.activate
def test_the_list_omits_events_so_the_kept_webhook_is_read_and_repaired():
    fake = FakeDigitalSamba().install()
    hook_id = fake.add_webhook(
        endpoint=ENDPOINT, events=["participant_joined"], authorization_header=HOOK_SECRET
    )

    assert ensure(fake) == hook_id

    assert ("GET", f"{BASE}/webhooks/{hook_id}") in calls()
    assert sorted(fake.webhooks[hook_id]["events"]) == sorted(WEBHOOK_EVENTS)


@pytest.mark.parametrize(
    "change",
    [
        {"endpoint": "https://old-portal.example.com/webhooks/digitalsamba/acme/"},
        {"authorization_header": "someone-elses-secret"},
    ],
)
@responses.activate
def test_ours_pointing_elsewhere_or_with_another_secret_is_repaired(change):
    fake = FakeDigitalSamba().install()
    hook_id = fake.add_webhook(
        **{
            "endpoint": ENDPOINT,
            "events": list(WEBHOOK_EVENTS),
            "authorization_header": HOOK_SECRET,
            **change,
        }
    )

    assert ensure(fake, known_id=hook_id) == hook_id

    assert fake.webhooks[hook_id]["endpoint"] == ENDPOINT
    assert fake.webhooks[hook_id]["authorization_header"] == HOOK_SECRET
    assert len(fake.webhooks) == 1


@responses.activate
def test_duplicates_are_deleted_keeping_the_known_one():
    fake = FakeDigitalSamba().install()
    hooks = [fake.add_webhook(endpoint=ENDPOINT, events=["session_ended"]) for _ in range(3)]

    assert ensure(fake, known_id=hooks[1]) == hooks[1]

    assert list(fake.webhooks) == [hooks[1]]
    assert sorted(fake.webhooks[hooks[1]]["events"]) == sorted(WEBHOOK_EVENTS)


@responses.activate
def test_a_known_webhook_deleted_upstream_is_created_again():
    fake = FakeDigitalSamba().install()
    gone = ensure(fake)
    fake.webhooks.clear()

    again = ensure(fake, known_id=gone)

    assert again != gone
    assert [hook["id"] for hook in ours(fake)] == [again]


@responses.activate
def test_webhooks_are_found_across_pages():
    fake = FakeDigitalSamba().install()
    for n in range(120):
        fake.add_webhook(endpoint=f"https://other.example.com/{n}", events=["x"])
    mine = fake.add_webhook(
        endpoint=ENDPOINT, events=list(WEBHOOK_EVENTS), authorization_header=HOOK_SECRET
    )

    assert ensure(fake) == mine
    assert len(fake.webhooks) == 121


def test_the_agent_token_lifetime_follows_the_option():
    client = make_client()
    assert client.agent_token_seconds == 600
    assert (
        DigitalSambaClient(account=make_client().account, agent_token_minutes=2).agent_token_seconds
        == 120
    )


def test_token_expiry_is_never_after_the_validity():
    # A validity that ends mid-second is rounded down, not up.
    valid_until = datetime.now(UTC) + timedelta(minutes=30, microseconds=999999)
    with responses.RequestsMock() as mock:
        mock.post(f"{BASE}/rooms", json={"id": "r-1", "room_url": "https://t.ds.invalid/r"})
        link = make_client().send_invitation(request(valid_until=valid_until)).personal_link
    _, claims = decode_hs256(token_of(link), DEVELOPER_KEY)
    assert claims["exp"] <= valid_until.timestamp()
