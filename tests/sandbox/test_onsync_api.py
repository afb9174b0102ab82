"""The sandbox enforces the OnSync contract; these requests are built by hand, not by our client."""

import json

import pytest

from sandbox.models import OnSyncParticipant, OnSyncSession, OutboxMessage

pytestmark = pytest.mark.django_db
BASE = "/sandbox/onsync"
ANN = {"name": "Ann Lee", "email": "ann@example.com", "reference": "inv-42"}


@pytest.fixture
def auth(settings):
    return {"HTTP_X_API_TOKEN": settings.SANDBOX_ONSYNC_API_TOKEN}


def send(client, method, path, body=None, headers=None, content_type="application/json"):
    data = body if isinstance(body, str) else json.dumps(body) if body is not None else ""
    return client.generic(method, BASE + path, data, content_type=content_type, **(headers or {}))


def create(client, auth, **body):
    body.setdefault("title", "Support session")
    response = send(client, "PUT", "/session", body, auth)
    assert response.status_code == 201, response.content
    return response.json()["session_id"]


def invitees(client, auth, session_id):
    response = send(client, "GET", f"/session/{session_id}/invitees", headers=auth)
    assert response.status_code == 200
    return response.json()["invitees"]


def test_create_read_and_list_invitees(client, auth):
    session_id = create(
        client, auth, title="Support session", session_type=1, invited_participants=[ANN]
    )
    assert session_id.startswith("s_") and len(session_id) == 14
    int(session_id[2:], 16)

    read = send(client, "GET", f"/session/{session_id}", headers=auth)
    assert read.status_code == 200
    assert read.json() == {
        "session_id": session_id,
        "title": "Support session",
        "session_type": 1,
        "session_link": f"http://testserver/sandbox/onsync/join/{session_id}/",
    }

    [ann] = invitees(client, auth, session_id)
    assert (ann["name"], ann["email"], ann["reference"], ann["email_sent"]) == (
        "Ann Lee",
        "ann@example.com",
        "inv-42",
        False,
    )
    prefix = f"http://testserver/sandbox/onsync/join/{session_id}/p/"
    assert ann["personal_session_link"].startswith(prefix)
    assert ann["personal_session_link"].endswith("/")
    assert not OutboxMessage.objects.exists()


def test_minimal_session_has_no_type_and_no_invitees(client, auth):
    session_id = create(client, auth)
    assert (
        send(client, "GET", f"/session/{session_id}", headers=auth).json()["session_type"] is None
    )
    assert invitees(client, auth, session_id) == []


def test_session_ids_and_personal_links_are_distinct(client, auth):
    first = create(client, auth, invited_participants=[{"name": "A"}, {"name": "B"}])
    second = create(client, auth)
    assert first != second
    links = [i["personal_session_link"] for i in invitees(client, auth, first)]
    assert len(set(links)) == 2


def test_optional_participant_fields_come_back_null(client, auth):
    session_id = create(client, auth, invited_participants=[{"name": "Bo"}])
    [bo] = invitees(client, auth, session_id)
    assert (bo["email"], bo["reference"], bo["email_sent"]) == (None, None, False)


def test_empty_reference_is_echoed_as_empty(client, auth):
    session_id = create(client, auth, invited_participants=[{"name": "Bo", "reference": ""}])
    assert invitees(client, auth, session_id)[0]["reference"] == ""


def test_send_email_invitation_true_puts_an_email_with_the_personal_link_in_the_outbox(
    client, auth
):
    ann = {**ANN, "send_email_invitation": True}
    bob = {"name": "Bob", "email": "bob@example.com", "send_email_invitation": False}
    session_id = create(client, auth, invited_participants=[ann, bob])
    listed = invitees(client, auth, session_id)
    assert [(i["name"], i["email_sent"]) for i in listed] == [("Ann Lee", True), ("Bob", False)]

    email = OutboxMessage.objects.get()
    assert (email.provider, email.channel, email.to, email.session_key, email.reference) == (
        "onsync",
        "email",
        "ann@example.com",
        session_id,
        "inv-42",
    )
    assert listed[0]["personal_session_link"] in email.body
    assert listed[1]["personal_session_link"] not in email.body


def test_send_email_invitation_false_sends_nothing(client, auth):
    create(client, auth, invited_participants=[{**ANN, "send_email_invitation": False}])
    assert not OutboxMessage.objects.exists()


def test_edit_appends_participants_in_order_and_may_change_the_title(client, auth):
    session_id = create(client, auth, invited_participants=[{"name": "First", "reference": "1"}])
    body = {
        "title": "Renamed",
        "invited_participants": [
            {"name": "Second", "reference": "2"},
            {"name": "Third", "reference": "3", "email": "t@example.com"},
        ],
    }
    response = send(client, "POST", f"/session/{session_id}", body, auth)
    assert response.status_code == 200
    assert response.json() == {"session_id": session_id}
    again = {"invited_participants": [{"name": "Fourth", "reference": "4"}]}
    assert send(client, "POST", f"/session/{session_id}", again, auth).status_code == 200

    listed = invitees(client, auth, session_id)
    assert [(i["name"], i["reference"]) for i in listed] == [
        ("First", "1"),
        ("Second", "2"),
        ("Third", "3"),
        ("Fourth", "4"),
    ]
    read = send(client, "GET", f"/session/{session_id}", headers=auth).json()
    assert read["title"] == "Renamed"


def test_edit_can_send_email_invitations(client, auth):
    session_id = create(client, auth)
    body = {"invited_participants": [{**ANN, "send_email_invitation": True}]}
    assert send(client, "POST", f"/session/{session_id}", body, auth).status_code == 200
    [email] = OutboxMessage.objects.filter(channel="email")
    assert email.session_key == session_id
    assert invitees(client, auth, session_id)[0]["email_sent"] is True


def test_edit_without_title_keeps_it(client, auth):
    session_id = create(client, auth, title="Kept")
    response = send(client, "POST", f"/session/{session_id}", {"invited_participants": []}, auth)
    assert response.status_code == 200
    assert OnSyncSession.objects.get(session_id=session_id).title == "Kept"


def test_fifty_participants_are_allowed(client, auth):
    people = [{"name": f"P{n}"} for n in range(50)]
    session_id = create(client, auth, invited_participants=people)
    assert len(invitees(client, auth, session_id)) == 50


LONG_REFERENCE = "r" * 65
PARTICIPANT_RULES = [
    ([{"email": "a@example.com"}], "name"),
    ([{"name": ""}], "name"),
    ([{"name": "x" * 101}], "name"),
    ([{"name": 7}], "name"),
    ([{"name": "Ann", "send_email_invitation": True}], "email is required"),
    ([{"name": "Ann", "email": "not-an-email", "send_email_invitation": True}], "email"),
    ([{"name": "Ann", "email": "not-an-email"}], "email"),
    ([{"name": "Ann", "email": 5}], "email"),
    ([{"name": "Ann", "email": None}], "email"),
    ([{"name": "Ann", "send_email_invitation": "true"}], "send_email_invitation"),
    ([{"name": "Ann", "send_email_invitation": 1}], "send_email_invitation"),
    ([{"name": "Ann", "reference": LONG_REFERENCE}], "reference"),
    ([{"name": "Ann", "reference": 42}], "reference"),
    (["Ann"], "must be an object"),
    ({"name": "Ann"}, "must be a list"),
    ([{"name": f"P{n}"} for n in range(51)], "at most 50"),
]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "title is required"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": 5}, "title"),
        ({"title": "ok", "session_type": "1"}, "session_type"),
        ({"title": "ok", "session_type": 1.5}, "session_type"),
        ({"title": "ok", "session_type": True}, "session_type"),
        ({"title": "ok", "session_type": None}, "session_type"),
        ({"title": "ok", "session_type": 2**40}, "session_type"),
        ("{not json", "not valid JSON"),
        ([], "JSON object"),
    ]
    + [({"title": "ok", "invited_participants": p}, reason) for p, reason in PARTICIPANT_RULES],
)
def test_create_with_an_invalid_body_is_400_with_a_reason(client, auth, body, reason):
    response = send(client, "PUT", "/session", body, auth)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert not OnSyncSession.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_a_bad_participant_rejects_the_whole_request(client, auth):
    people = [{"name": "Fine", "email": "f@example.com", "send_email_invitation": True}, {}]
    response = send(client, "PUT", "/session", {"title": "t", "invited_participants": people}, auth)
    assert response.status_code == 400
    assert "invited_participants[1].name" in response.json()["error"]
    assert not OnSyncParticipant.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "invited_participants is required"),
        ({"title": "", "invited_participants": []}, "title"),
        ({"title": None, "invited_participants": []}, "title"),
    ]
    + [({"invited_participants": p}, reason) for p, reason in PARTICIPANT_RULES],
)
def test_edit_with_an_invalid_body_is_400_and_changes_nothing(client, auth, body, reason):
    session_id = create(client, auth, title="Kept", invited_participants=[{"name": "Ann"}])
    response = send(client, "POST", f"/session/{session_id}", body, auth)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert OnSyncSession.objects.get().title == "Kept"
    assert OnSyncParticipant.objects.count() == 1


def test_body_must_be_sent_as_json(client, auth):
    response = send(client, "PUT", "/session", "title=x", auth, content_type="text/plain")
    assert response.status_code == 400
    assert "Content-Type" in response.json()["error"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/session"),
        ("POST", "/session/{id}"),
        ("GET", "/session/{id}"),
        ("GET", "/session/{id}/invitees"),
    ],
)
@pytest.mark.parametrize("token", [None, "", "wrong-token", "sandbox-onsync-token-000"])
def test_missing_or_wrong_token_is_401(client, auth, method, path, token):
    session_id = create(client, auth)
    headers = {} if token is None else {"HTTP_X_API_TOKEN": token}
    body = {"title": "t", "invited_participants": [{**ANN, "send_email_invitation": True}]}
    response = send(client, method, path.format(id=session_id), body, headers)
    assert response.status_code == 401
    assert response.json()["error"]
    assert OnSyncSession.objects.count() == 1
    assert not OnSyncParticipant.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_token_is_read_from_settings_at_request_time(client, settings):
    settings.SANDBOX_ONSYNC_API_TOKEN = "rotated"
    ok = send(client, "PUT", "/session", {"title": "t"}, {"HTTP_X_API_TOKEN": "rotated"})
    assert ok.status_code == 201


def test_an_empty_configured_token_matches_nothing(client, settings):
    settings.SANDBOX_ONSYNC_API_TOKEN = ""
    response = send(client, "PUT", "/session", {"title": "t"}, {"HTTP_X_API_TOKEN": ""})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/session/s_000000000000"), ("GET", "/session/s_000000000000/invitees")],
)
def test_unknown_session_is_404(client, auth, method, path):
    response = send(client, method, path, headers=auth)
    assert response.status_code == 404
    assert "unknown session" in response.json()["error"]


def test_editing_an_unknown_session_is_404_and_sends_nothing(client, auth):
    body = {"invited_participants": [{**ANN, "send_email_invitation": True}]}
    response = send(client, "POST", "/session/s_000000000000", body, auth)
    assert response.status_code == 404
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/session", "PUT"),
        ("POST", "/session", "PUT"),
        ("DELETE", "/session", "PUT"),
        ("PUT", "/session/{id}", "GET, POST, DELETE"),
        ("PATCH", "/session/{id}", "GET, POST, DELETE"),
        ("POST", "/session/{id}/invitees", "GET"),
        ("PUT", "/session/{id}/invitees", "GET"),
    ],
)
def test_wrong_method_is_405(client, auth, method, path, allowed):
    session_id = create(client, auth)
    response = send(client, method, path.format(id=session_id), {"title": "t"}, auth)
    assert response.status_code == 405
    assert response["Allow"] == allowed
    assert response.json()["error"]
    assert OnSyncSession.objects.count() == 1


def test_generic_join_page_names_the_session_and_asks_for_a_screen_name(client, auth):
    session_id = create(client, auth, title="<b>Printer</b> help")
    link = send(client, "GET", f"/session/{session_id}", headers=auth).json()["session_link"]
    page = client.get(link)
    assert page.status_code == 200
    html = page.content.decode()
    assert session_id in html
    assert 'name="screen_name"' in html
    assert "&lt;b&gt;Printer&lt;/b&gt; help" in html and "<b>Printer</b>" not in html

    joined = client.get(link, {"screen_name": "<i>Ann</i>"}).content.decode()
    assert "Joined session" in joined and "&lt;i&gt;Ann&lt;/i&gt;" in joined


def test_personal_join_page_greets_the_participant_by_name_escaped(client, auth):
    session_id = create(client, auth, invited_participants=[{"name": "<script>Ann</script>"}])
    [ann] = invitees(client, auth, session_id)
    page = client.get(ann["personal_session_link"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "&lt;script&gt;Ann&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "joined" in html.lower()


def test_join_pages_for_unknown_sessions_or_tokens_are_404(client, auth):
    first = create(client, auth, invited_participants=[{"name": "Ann"}])
    second = create(client, auth)
    token = invitees(client, auth, first)[0]["personal_session_link"].rstrip("/").rsplit("/", 1)[1]
    assert client.get(f"{BASE}/join/s_000000000000/").status_code == 404
    assert client.get(f"{BASE}/join/{first}/p/{token}/").status_code == 200
    assert client.get(f"{BASE}/join/{first}/p/not-a-token/").status_code == 404
    assert client.get(f"{BASE}/join/{second}/p/{token}/").status_code == 404


def test_a_failure_while_sending_leaves_no_half_made_session(client, auth, monkeypatch):
    def broken(**fields):
        raise RuntimeError("mail system down")

    monkeypatch.setattr(OutboxMessage.objects, "create", broken)
    people = [{"name": "Bo"}, {**ANN, "send_email_invitation": True}]
    with pytest.raises(RuntimeError):
        send(client, "PUT", "/session", {"title": "t", "invited_participants": people}, auth)
    assert not OnSyncSession.objects.exists()
    assert not OnSyncParticipant.objects.exists()


def test_delete_ends_the_session_and_its_links(client, auth):
    session_id = client.generic(
        "PUT", "/sandbox/onsync/session", json.dumps({"title": "t"}), "application/json", **auth
    ).json()["session_id"]
    assert client.delete(f"/sandbox/onsync/session/{session_id}", **auth).status_code == 204
    assert client.get(f"/sandbox/onsync/session/{session_id}", **auth).status_code == 404
    assert client.get(f"/sandbox/onsync/join/{session_id}/").status_code == 404
    assert client.delete(f"/sandbox/onsync/session/{session_id}", **auth).status_code == 404
    assert client.delete(f"/sandbox/onsync/session/{session_id}").status_code == 401
