"""Digital Samba's webhook at /webhooks/digitalsamba/<label>/: who may post, what each event
changes, repeats and order. The participants lookup is stubbed here; tests/e2e has it live."""

import json
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from invitations import services
from invitations.models import Channel, Invitee, Session
from invitations.providers.base import UpstreamUnavailable
from invitations.providers.digitalsamba import DigitalSambaClient
from invitations.states import DeliveryStatus
from tests.support.digitalsamba import BASE, DEVELOPER_KEY, TEAM_ID

S = DeliveryStatus
SECRET = "webhook-secret-5b1e0c"
ROOM = "7b0f5f0e-3d2c-4a1b-8e9f-102132435465"
LIVE = "c1d2e3f4-0000-4000-8000-000000000001"
T0 = 1_790_000_000


@pytest.fixture
def samba(db):
    credential, _ = services.credential_upsert(
        label="acme-ds",
        provider="digitalsamba",
        base_url=BASE,
        account=TEAM_ID,
        api_key=DEVELOPER_KEY,
    )
    credential.set_webhook_secret(SECRET)
    credential.save()
    return credential


@pytest.fixture
def make_invitee(samba, make_agent):
    agent = make_agent(credential=samba)

    def make(status=S.SENT, room=ROOM, credential=None):
        session = Session.objects.create(
            credential=credential or samba, created_by=agent, session_type=1, session_key=room
        )
        return Invitee.objects.create(
            session=session, channel=Channel.SMS, destination="+14155550134", status=status
        )

    return make


@pytest.fixture
def lookups(monkeypatch):
    """The participants lookup, stubbed: participantId -> external id, and the calls made."""
    known: dict[str, str] = {}
    made: list[tuple[str, str]] = []

    def lookup(self, *, session_id, participant_id):
        made.append((session_id, participant_id))
        return known.get(participant_id)

    monkeypatch.setattr(DigitalSambaClient, "participant_external_id", lookup)
    return known, made


def event(kind, *, at=T0, room=ROOM, participant="p-1", **data):
    body = {"eventType": kind, "sessionId": LIVE, "roomId": room, "timestamp": at, "data": {}}
    if kind.startswith("participant_"):
        body["data"] = {"participantId": participant, "name": "Ann", "role": "speaker", **data}
    return body


def post(client, body, *, authorization=f"Bearer {SECRET}", label="acme-ds", raw=None):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    return client.post(
        reverse("webhook-digitalsamba", args=[label]),
        data=raw if raw is not None else json.dumps(body),
        content_type="application/json",
        **headers,
    )


def state(invitee):
    invitee.refresh_from_db()
    return invitee.status


def when(seconds):
    return datetime.fromtimestamp(seconds, tz=UTC)


@pytest.mark.parametrize("authorization", [f"Bearer {SECRET}", SECRET, f"bearer  {SECRET} "])
def test_the_secret_is_accepted_with_or_without_bearer(
    client, make_invitee, lookups, authorization
):
    invitee = make_invitee()
    lookups[0]["p-1"] = str(invitee.pk)

    response = post(client, event("participant_joined"), authorization=authorization)

    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert state(invitee) == S.JOINED
    assert invitee.joined_at == when(T0)
    assert lookups[1] == [(LIVE, "p-1")]


@pytest.mark.parametrize(
    ("authorization", "label"),
    [
        (None, "acme-ds"),
        ("Bearer wrong-secret", "acme-ds"),
        (f"Basic {SECRET}", "acme-ds"),
        ("", "acme-ds"),
        (f"Bearer {SECRET}", "no-such-credential"),
    ],
)
def test_without_the_right_secret_401_and_nothing_changes(
    client, make_invitee, lookups, authorization, label
):
    invitee = make_invitee()
    lookups[0]["p-1"] = str(invitee.pk)

    response = post(client, event("participant_joined"), authorization=authorization, label=label)

    assert response.status_code == 401
    assert "Authorization" in response.json()["error"]
    assert state(invitee) == S.SENT
    assert lookups[1] == []


def test_a_credential_without_a_webhook_secret_accepts_nothing(client, samba, make_invitee):
    samba.webhook_secret_ciphertext = ""
    samba.save()
    assert post(client, event("session_ended"), authorization="Bearer ").status_code == 401
    assert post(client, event("session_ended"), authorization="").status_code == 401


def test_only_post(client, samba):
    response = client.get(reverse("webhook-digitalsamba", args=["acme-ds"]))
    assert response.status_code == 405
    assert response["Allow"] == "POST"


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"'])
def test_a_body_that_is_not_a_json_object_is_400(client, make_invitee, raw):
    assert post(client, None, raw=raw).status_code == 400


def test_a_large_body_is_refused_before_it_is_read(client, samba):
    response = post(client, None, raw="{" + " " * 70_000 + "}")
    assert response.status_code == 413


def test_the_external_id_in_the_payload_is_used_without_a_lookup(client, make_invitee, lookups):
    invitee = make_invitee()
    body = event("participant_joined", external_id=str(invitee.pk))

    assert post(client, body).status_code == 200

    assert state(invitee) == S.JOINED
    assert lookups[1] == []


def test_join_leave_and_repeats_change_nothing_more(client, make_invitee, lookups):
    invitee = make_invitee(S.DELIVERED)
    lookups[0]["p-1"] = str(invitee.pk)
    joined, left = event("participant_joined", at=T0), event("participant_left", at=T0 + 60)

    for body in (joined, joined, left, left, joined):
        assert post(client, body).status_code == 200

    assert state(invitee) == S.LEFT
    assert (invitee.joined_at, invitee.left_at) == (when(T0), when(T0 + 60))


def test_a_leave_that_overtook_its_join_ends_as_left(client, make_invitee, lookups):
    invitee = make_invitee()
    lookups[0]["p-1"] = str(invitee.pk)

    post(client, event("participant_left", at=T0 + 60))
    post(client, event("participant_joined", at=T0))

    assert state(invitee) == S.LEFT
    assert (invitee.joined_at, invitee.left_at) == (when(T0), when(T0 + 60))


def test_session_ended_moves_the_rooms_joined_invitees_to_left(client, make_invitee, lookups):
    here, also_here = make_invitee(S.JOINED), make_invitee(S.JOINED)
    never_came, elsewhere = make_invitee(S.SENT), make_invitee(S.JOINED, room="other-room")
    for invitee in (here, also_here, elsewhere):
        Invitee.objects.filter(pk=invitee.pk).update(joined_at=when(T0))

    for _ in range(2):
        assert post(client, event("session_ended", at=T0 + 300)).status_code == 200

    assert [state(i) for i in (here, also_here, never_came, elsewhere)] == [
        S.LEFT,
        S.LEFT,
        S.SENT,
        S.JOINED,
    ]
    assert here.left_at == when(T0 + 300)


@pytest.mark.parametrize(
    "who",
    [
        "another room",
        "another credential",
        "unknown participant",
        "the agent",
        "not a number",
    ],
)
def test_people_the_portal_did_not_invite_into_that_room_change_nothing(
    client, make_invitee, lookups, who, make_credential
):
    invitee = make_invitee(room="other-room" if who == "another room" else ROOM)
    if who == "another credential":
        Session.objects.filter(pk=invitee.session_id).update(credential=make_credential())
    lookups[0]["p-1"] = {
        "unknown participant": "999999",
        "the agent": "agent-ann-77",
        "not a number": "42abc",
    }.get(who, str(invitee.pk))
    if who == "unknown participant":
        lookups[0].pop("p-1")

    response = post(client, event("participant_joined"))

    assert response.status_code == 200
    assert state(invitee) == S.SENT


@pytest.mark.parametrize("kind", ["session_started", "recording_ready", "", "participant_waiting"])
def test_other_events_are_acknowledged_and_ignored(client, make_invitee, lookups, kind):
    invitee = make_invitee()
    lookups[0]["p-1"] = str(invitee.pk)
    assert post(client, event(kind)).status_code == 200
    assert state(invitee) == S.SENT
    assert lookups[1] == []


def test_a_failed_lookup_is_503_and_changes_nothing(client, make_invitee, monkeypatch):
    invitee = make_invitee()

    def unavailable(self, **_):
        raise UpstreamUnavailable("Digital Samba is unavailable (503)", provider="digitalsamba")

    monkeypatch.setattr(DigitalSambaClient, "participant_external_id", unavailable)

    response = post(client, event("participant_joined"))

    assert response.status_code == 503
    assert state(invitee) == S.SENT


def test_a_missing_timestamp_counts_as_now(client, make_invitee, lookups):
    invitee = make_invitee()
    lookups[0]["p-1"] = str(invitee.pk)
    body = event("participant_joined")
    del body["timestamp"]
    before = datetime.now(UTC)

    assert post(client, body).status_code == 200

    assert state(invitee) == S.JOINED
    assert invitee.joined_at >= before.replace(microsecond=0)
