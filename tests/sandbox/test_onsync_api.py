"""The sandbox answers as OnSync does (facts.md §1); these requests are built by hand, as
OnSync's clients build them, not by our client."""

import json
from urllib.parse import quote, urlencode

import pytest
import requests

from sandbox.models import OnSyncParticipant, OnSyncSession, OutboxMessage
from tests.support.sandbox import basic_auth, onsync_api, onsync_auth, rest_data, xml_answer

pytestmark = pytest.mark.django_db
FORM = "application/x-www-form-urlencoded"
JSON = "/format/json"


def person(email="ann@example.com", first="Ann", last="Lee", **extra):
    return {"email": email, "first_name": first, "last_name": last, **extra}


@pytest.fixture
def send(client, settings):
    """send(method, path, body): a request to the demo account's API, with its credentials."""

    def send(method, path, body="", *, content_type=FORM, headers=None, version=1):
        return client.generic(
            method,
            onsync_api(settings, version) + path,
            body,
            content_type=content_type,
            headers=onsync_auth(settings) if headers is None else headers,
        )

    return send


def create(send, **fields):
    fields.setdefault("topic", "Support session")
    response = send("PUT", "/session/format/json", rest_data(fields))
    assert response.status_code == 201, response.content
    assert response.json()["message"] == "Session added"
    return response.json()["id"]


def invitees(send, session_id):
    response = send("GET", f"/invitees/id/{session_id}{JSON}")
    assert response.status_code == 200, response.content
    return response.json()


def nothing_happened():
    return not OnSyncSession.objects.exists() and not OutboxMessage.objects.exists()


def test_create_read_and_list_invitees_in_json(send, settings):
    fields = {
        "topic": "Printer help",
        "duration": 30,
        "start_time": "2031-05-04 09:30:00",
        "timezone": "UP1",
        "friendly_url": "printer-help",
        "invited_participants": [person(role=2, send_email_invitation=False)],
    }
    created = send("PUT", "/session/format/json", rest_data(fields))
    assert created.status_code == 201
    assert created["Content-Type"] == "application/json"
    session_id = created.json()["id"]
    assert created.json() == {"message": "Session added", "id": session_id}
    assert isinstance(session_id, int)

    read = send("GET", f"/session/id/{session_id}/format/json")
    assert read.status_code == 200
    assert read.json() == {
        "id": session_id,
        "topic": "Printer help",
        "duration": 30,
        "start_time": "2031-05-04 09:30:00",
        "timezone": "UP1",
        "friendly_url": "printer-help",
        "session_link": "http://testserver/sandbox/onsync/go/demo-account/printer-help/",
    }

    ann = invitees(send, session_id)["participants"]
    token = OnSyncParticipant.objects.get().token
    assert ann == {
        "id": OnSyncParticipant.objects.get().pk,
        "email": "ann@example.com",
        "first_name": "Ann",
        "last_name": "Lee",
        "role": 2,
        "personal_session_link": f"http://testserver/sandbox/onsync/join/{token}/",
    }


def test_defaults_of_a_minimal_session(send):
    session_id = create(send)
    read = send("GET", f"/session/id/{session_id}{JSON}").json()
    assert (read["duration"], read["timezone"]) == (60, "UTC")
    assert len(read["start_time"]) == 19 and read["friendly_url"]
    assert invitees(send, session_id) == {}


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("path", ["/session", "/session/", "/session/format/json/"])
def test_both_api_versions_and_any_trailing_slash(send, version, path):
    response = send("PUT", path, rest_data({"topic": "t"}), version=version)
    assert response.status_code == 201
    session_id = OnSyncSession.objects.get().pk
    assert send("GET", f"/session/id/{session_id}/", version=version).status_code == 200


ANN_TOPIC = "Q&A + help: 100% rest_data=x"
ANN_SESSION = {"topic": ANN_TOPIC, "timezone": "UTC+2", "invited_participants": [person()]}
ANN_JSON = json.dumps(ANN_SESSION)
ANN_FORM = {
    "topic": ANN_TOPIC,
    "timezone": "UTC+2",
    "invited_participants[0][email]": "ann@example.com",
    "invited_participants[0][first_name]": "Ann",
    "invited_participants[0][last_name]": "Lee",
}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        # As every client sends it: the JSON as it is, whatever the Content-Type says.
        (rest_data(ANN_SESSION), FORM),
        (rest_data(ANN_SESSION), "application/json"),
        (rest_data(ANN_SESSION), "text/html"),
        ("rest_data=" + ANN_JSON + "&input_type=json", "text/plain"),
        # URL-encoded JSON, also before input_type.
        (urlencode({"input_type": "json", "rest_data": ANN_JSON}), FORM),
        ("rest_data=" + quote(ANN_JSON) + "&input_type=json", FORM),
        # Plain form fields, participants nested as PHP nests them.
        (urlencode({**ANN_FORM, "invited_participants[0][role]": "2"}), FORM),
        (urlencode(ANN_FORM), "application/json"),
    ],
)
def test_create_accepts_both_body_encodings(send, body, content_type):
    response = send("PUT", "/session/format/json", body, content_type=content_type)
    assert response.status_code == 201, response.content
    created = OnSyncSession.objects.get()
    assert (created.topic, created.timezone) == (ANN_TOPIC, "UTC+2")
    [ann] = created.participants.all()
    assert (ann.email, ann.first_name, ann.last_name, ann.role) == (
        "ann@example.com",
        "Ann",
        "Lee",
        2,
    )


def test_plain_form_fields_carry_several_participants_in_key_order(send):
    body = urlencode(
        {
            "topic": "t",
            "invited_participants[1][email]": "bo@example.com",
            "invited_participants[1][first_name]": "Bo",
            "invited_participants[1][last_name]": " ",
            "invited_participants[1][send_email_invitation]": "0",
            "invited_participants[0][email]": "ann@example.com",
            "invited_participants[0][first_name]": "Ann",
            "invited_participants[0][last_name]": "Lee",
            "invited_participants[0][role]": "1",
            "invited_participants[0][send_email_invitation]": "false",
        }
    )
    session_id = send("PUT", "/session/format/json", body).json()["id"]
    listed = invitees(send, session_id)
    assert listed["moderators"]["email"] == "ann@example.com"
    assert listed["participants"]["email"] == "bo@example.com"
    assert not OutboxMessage.objects.exists()


def test_answers_are_xml_without_format_json(send):
    created = send("PUT", "/session", rest_data({"topic": "<b>t</b>", "friendly_url": "x1"}))
    assert created.status_code == 201
    assert created["Content-Type"] == "application/xml; charset=utf-8"
    root = xml_answer(created.content)
    assert root.tag == "xml"
    assert root.findtext("message") == "Session added"
    session_id = int(root.findtext("id", ""))

    read = xml_answer(send("GET", f"/session/id/{session_id}").content)
    assert read.findtext("topic") == "<b>t</b>"
    assert read.findtext("session_link") == "http://testserver/sandbox/onsync/go/demo-account/x1/"
    body = rest_data({"id": session_id, "invited_participants": [person()]})
    updated = xml_answer(send("POST", "/session/format/xml", body).content)
    assert (updated.findtext("message"), updated.findtext("id")) == (
        "Session updated",
        str(session_id),
    )
    deleted = send("DELETE", "/session", f"id={session_id}")
    assert xml_answer(deleted.content).findtext("message") == "Session was deleted"

    missing = send("GET", f"/session/id/{session_id}")
    assert missing.status_code == 404
    assert xml_answer(missing.content).findtext("status") == "0"
    assert xml_answer(missing.content).findtext("error")


def test_invitees_are_grouped_by_role_with_one_member_groups_as_one_object(send):
    people = [
        person("mod@example.com", role=1, send_email_invitation=False),
        person("p1@example.com", role=2, send_email_invitation=False),
        person("p2@example.com", role="2", send_email_invitation=False),
    ]
    session_id = create(send, invited_participants=people)

    listed = invitees(send, session_id)
    assert list(listed) == ["moderators", "participants"]  # no observers: left out
    assert listed["moderators"]["email"] == "mod@example.com"
    assert [p["email"] for p in listed["participants"]] == ["p1@example.com", "p2@example.com"]

    root = xml_answer(send("GET", f"/invitees/id/{session_id}").content)
    assert [e.tag for e in root] == ["moderators", "participants"]
    [moderator] = root.findall("moderators/item")
    assert moderator.findtext("email") == "mod@example.com"
    assert moderator.findtext("personal_session_link", "").startswith("http://testserver/")
    emails = [i.findtext("email") for i in root.findall("participants/item")]
    assert emails == ["p1@example.com", "p2@example.com"]


def test_an_observer_group(send):
    session_id = create(send, invited_participants=[person(role=3, send_email_invitation=False)])
    assert list(invitees(send, session_id)) == ["observers"]


def test_edit_adds_invitees_and_keeps_the_ones_already_invited(send):
    session_id = create(send, invited_participants=[person(send_email_invitation=False)])
    ann_link = invitees(send, session_id)["participants"]["personal_session_link"]
    body = {"id": session_id, "invited_participants": [person("bo@example.com", "Bo", " ")]}
    response = send("POST", "/session/format/json", rest_data(body))
    assert response.status_code == 200
    assert response.json() == {"message": "Session updated", "id": session_id}

    listed = invitees(send, session_id)["participants"]
    assert [p["email"] for p in listed] == ["ann@example.com", "bo@example.com"]
    assert listed[0]["personal_session_link"] == ann_link
    assert listed[0]["personal_session_link"] != listed[1]["personal_session_link"]


def test_edit_changes_only_the_fields_it_carries(send):
    session_id = create(send, topic="Kept", duration=45)
    response = send("POST", "/session", f"id={session_id}&duration=90")
    assert response.status_code == 200
    read = send("GET", f"/session/id/{session_id}{JSON}").json()
    assert (read["topic"], read["duration"]) == ("Kept", 90)


def test_an_address_already_invited_is_not_added_twice_but_mailed_again(send):
    session_id = create(send, invited_participants=[person(send_email_invitation=True)])
    again = person("ANN@example.com", "Annie", "L", send_email_invitation=True)
    body = rest_data({"id": str(session_id), "invited_participants": [again]})
    assert send("POST", "/session/format/json", body).status_code == 200
    listed = invitees(send, session_id)["participants"]
    assert (listed["email"], listed["first_name"]) == ("ann@example.com", "Ann")
    emails = OutboxMessage.objects.order_by("id")
    assert [m.to for m in emails] == ["ann@example.com", "ann@example.com"]
    assert emails[0].body == emails[1].body


def test_send_email_invitation_true_mails_the_personal_link(send):
    people = [
        person(send_email_invitation=True),
        person("bo@example.com", "Bo", "Ng", send_email_invitation=False),
        person("cy@example.com", "Cy", "Ode", send_email_invitation=0),
    ]
    session_id = create(send, topic="Printer help", invited_participants=people)
    listed = invitees(send, session_id)["participants"]

    email = OutboxMessage.objects.get()
    assert (email.provider, email.channel, email.to, email.session_key) == (
        "onsync",
        "email",
        "ann@example.com",
        str(session_id),
    )
    assert "Hello Ann Lee" in email.body and "Printer help" in email.body
    assert listed[0]["personal_session_link"] in email.body
    assert all(p["personal_session_link"] not in email.body for p in listed[1:])


@pytest.mark.parametrize("value", [True, 1, "1", "true"])
def test_every_spelling_of_true_mails(send, value):
    create(send, invited_participants=[person(send_email_invitation=value)])
    assert OutboxMessage.objects.get().to == "ann@example.com"


@pytest.mark.parametrize("value", [False, 0, "0", "false"])
def test_every_spelling_of_false_mails_nothing(send, value):
    create(send, invited_participants=[person(send_email_invitation=value)])
    assert not OutboxMessage.objects.exists()


def test_without_send_email_invitation_the_invitee_is_mailed(send):
    create(send, invited_participants=[person()])
    assert OutboxMessage.objects.get().to == "ann@example.com"


@pytest.mark.parametrize("address", ["invitee-inv-7@sms.invalid", "x@SMS.INVALID", "y@a.b.invalid"])
def test_addresses_under_invalid_are_never_mailed(send, address):
    session_id = create(send, invited_participants=[person(address, send_email_invitation=True)])
    assert invitees(send, session_id)["participants"]["email"] == address
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize("tz", ["UTC", "UP1", "UM5", "UP575", "UM95", "UTC+2", "UTC-05:30"])
def test_timezones_clients_send_are_accepted(send, tz):
    assert send("PUT", "/session", rest_data({"topic": "t", "timezone": tz})).status_code == 201


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, "topic is required"),
        ({"topic": ""}, "topic"),
        ({"topic": 5}, "topic"),
        ({"topic": "x" * 256}, "topic"),
        ({"topic": "t", "duration": "sixty"}, "duration"),
        ({"topic": "t", "duration": 1.5}, "duration"),
        ({"topic": "t", "duration": True}, "duration"),
        ({"topic": "t", "duration": 0}, "duration"),
        ({"topic": "t", "start_time": "2031-05-04 09:30"}, "start_time"),
        ({"topic": "t", "start_time": "2031-05-04T09:30:00"}, "start_time"),
        ({"topic": "t", "start_time": "2031-13-04 09:30:00"}, "start_time"),
        ({"topic": "t", "timezone": "Europe/Paris"}, "timezone"),
        ({"topic": "t", "timezone": "UP99"}, "timezone"),
        ({"topic": "t", "friendly_url": "a/b"}, "friendly_url"),
        ({"topic": "t", "invited_participants": {"email": "a@example.com"}}, "must be a list"),
        ({"topic": "t", "invited_participants": ["ann@example.com"]}, "must be an object"),
    ]
    + [
        ({"topic": "t", "invited_participants": people}, reason)
        for people, reason in [
            ([{"first_name": "A", "last_name": "B"}], "email"),
            ([person("not-an-email")], "email"),
            ([person(first="")], "first_name"),
            ([{"email": "a@example.com", "first_name": "A"}], "last_name"),
            ([person(role=4)], "role"),
            ([person(role=0)], "role"),
            ([person(role="observer")], "role"),
            ([person(send_email_invitation="yes")], "send_email_invitation"),
            ([person(send_email_invitation=2)], "send_email_invitation"),
            ([person(f"p{n}@example.com") for n in range(51)], "at most 50"),
        ]
    ],
)
def test_create_with_an_invalid_body_is_400_with_a_reason(send, fields, reason):
    response = send("PUT", "/session/format/json", rest_data(fields))
    assert response.status_code == 400
    assert response.json()["status"] is False
    assert reason in response.json()["error"]
    assert nothing_happened()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("input_type=json&rest_data={not json", "rest_data is not valid JSON"),
        ("input_type=json&rest_data=[1, 2]", "JSON object"),
        ("input_type=json&rest_data=", "rest_data is not valid JSON"),
        (b"topic=\xff", "UTF-8"),
    ],
)
def test_an_unreadable_body_is_400(send, body, reason):
    response = send("PUT", "/session/format/json", body)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert nothing_happened()


def test_a_bad_participant_rejects_the_whole_request(send):
    people = [person(send_email_invitation=True), person("bo@example.com", role=9)]
    response = send(
        "PUT", "/session/format/json", rest_data({"topic": "t", "invited_participants": people})
    )
    assert response.status_code == 400
    assert "invited_participants[1].role" in response.json()["error"]
    assert nothing_happened()


def test_a_friendly_url_is_unique_per_account(send):
    create(send, friendly_url="help")
    response = send(
        "PUT", "/session/format/json", rest_data({"topic": "t", "friendly_url": "help"})
    )
    assert response.status_code == 400
    assert "friendly_url" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"invited_participants": [person()]}, "id is required"),
        ({"id": "one"}, "id must be an integer"),
        ({"id": "{id}", "topic": ""}, "topic"),
        ({"id": "{id}", "invited_participants": [person("nope")]}, "email"),
    ],
)
def test_edit_with_an_invalid_body_is_400_and_changes_nothing(send, body, reason):
    session_id = create(
        send, topic="Kept", invited_participants=[person(send_email_invitation=False)]
    )
    body = {k: session_id if v == "{id}" else v for k, v in body.items()}
    response = send("POST", "/session/format/json", rest_data(body))
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert OnSyncSession.objects.get().topic == "Kept"
    assert OnSyncParticipant.objects.count() == 1


def test_editing_an_unknown_session_is_404_and_mails_nothing(send):
    body = rest_data({"id": 999, "invited_participants": [person(send_email_invitation=True)]})
    response = send("POST", "/session/format/json", body)
    assert response.status_code == 404
    assert response.json() == {"status": False, "error": "Session not found"}
    assert nothing_happened()


@pytest.mark.parametrize(
    "body",
    [lambda n: rest_data({"id": n}), lambda n: f"id={n}", lambda n: rest_data({"id": str(n)})],
)
def test_delete_ends_the_session_and_its_links(send, client, body):
    session_id = create(send, friendly_url="gone", invited_participants=[person()])
    token = OnSyncParticipant.objects.get().token
    response = send("DELETE", "/session/format/json", body(session_id))
    assert response.status_code == 200
    assert response.json() == {"message": "Session was deleted"}
    assert send("GET", f"/session/id/{session_id}{JSON}").status_code == 404
    assert send("GET", f"/invitees/id/{session_id}{JSON}").status_code == 404
    assert client.get("/sandbox/onsync/go/demo-account/gone/").status_code == 404
    assert client.get(f"/sandbox/onsync/join/{token}/").status_code == 404
    assert send("DELETE", "/session/format/json", body(session_id)).status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/session/id/0/format/json", "/session/id/999/format/json", "/session/id/abc/format/json",
     "/invitees/id/0/format/json", "/invitees/id/99999999999999999999999/format/json"],
)  # fmt: skip
def test_unknown_sessions_are_404(send, path):
    """`GET .../session/id/0` is how a client tells that its credentials work."""
    response = send("GET", path)
    assert response.status_code == 404
    assert response.json() == {"status": False, "error": "Session not found"}


def test_sessions_belong_to_their_account(send, settings):
    session_id = create(send)
    settings.SANDBOX_ONSYNC_ACCOUNT = "other-account"
    assert send("GET", f"/session/id/{session_id}{JSON}").status_code == 404


def test_credentials_are_read_from_settings_at_request_time(send, settings):
    settings.SANDBOX_ONSYNC_PASSWORD = "rotated"
    assert send("PUT", "/session", rest_data({"topic": "t"})).status_code == 201


@pytest.mark.parametrize(
    ("account", "headers"),
    [
        ("demo-account", {}),
        ("demo-account", basic_auth("demo-account", "wrong-password")),
        ("demo-account", basic_auth("demo-account", "")),
        ("demo-account", basic_auth("other-account", "sandbox-onsync-password-0001")),
        # The path's account must be the Basic user, and that user the sandbox's account.
        ("other-account", basic_auth("demo-account", "sandbox-onsync-password-0001")),
        ("other-account", basic_auth("other-account", "sandbox-onsync-password-0001")),
        ("demo-account", {"Authorization": "Bearer sandbox-onsync-password-0001"}),
        ("demo-account", {"Authorization": "Basic not-base64!"}),
        ("demo-account", {"Authorization": "Basic ZGVtby1hY2NvdW50"}),  # no colon
        ("demo-account", {"X-API-Token": "sandbox-onsync-password-0001"}),
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/session/format/json"),
        ("POST", "/session/format/json"),
        ("DELETE", "/session/format/json"),
        ("GET", "/session/id/{id}/format/json"),
        ("GET", "/invitees/id/{id}/format/json"),
        ("GET", "/session/id/0/format/json"),
    ],
)
def test_bad_credentials_are_401_and_change_nothing(client, send, method, path, account, headers):
    session_id = create(send)
    body = rest_data({"id": session_id, "topic": "t", "invited_participants": [person()]})
    response = client.generic(
        method,
        f"/sandbox/onsync/api/1/{account}" + path.format(id=session_id),
        body,
        content_type=FORM,
        headers=headers,
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="OnSync"'
    assert response.json()["status"] is False and response.json()["error"]
    assert OnSyncSession.objects.get().topic == "Support session"
    assert not OnSyncParticipant.objects.exists() and not OutboxMessage.objects.exists()


def test_a_401_without_format_json_is_xml(send):
    response = send("GET", "/session/id/1", headers=basic_auth("demo-account", "nope"))
    assert response.status_code == 401
    assert xml_answer(response.content).findtext("error")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/session/format/json", "PUT, POST, DELETE"),
        ("PATCH", "/session/format/json", "PUT, POST, DELETE"),
        ("PUT", "/session/id/{id}/format/json", "GET"),
        ("DELETE", "/session/id/{id}/format/json", "GET"),
        ("POST", "/invitees/id/{id}/format/json", "GET"),
    ],
)
def test_other_methods_are_405(send, method, path, allowed):
    session_id = create(send)
    response = send(method, path.format(id=session_id), rest_data({"topic": "t"}))
    assert response.status_code == 405
    assert response["Allow"] == allowed
    assert response.json()["status"] is False
    assert OnSyncSession.objects.count() == 1


def test_generic_join_page_names_the_session_and_asks_for_a_screen_name(client, send):
    session_id = create(send, topic="<b>Printer</b> help")
    link = send("GET", f"/session/id/{session_id}{JSON}").json()["session_link"]
    page = client.get(link)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="screen_name"' in html and 'name="password"' not in html
    assert "&lt;b&gt;Printer&lt;/b&gt; help" in html and "<b>Printer</b>" not in html
    joined = client.get(link, {"screen_name": "<i>Ann</i>"}).content.decode()
    assert "Joined session" in joined and "&lt;i&gt;Ann&lt;/i&gt;" in joined


def test_generic_join_page_asks_for_the_session_password(client, send):
    session_id = create(send, password="s3cret")
    link = send("GET", f"/session/id/{session_id}{JSON}").json()["session_link"]
    assert 'name="password"' in client.get(link).content.decode()
    wrong = client.get(link, {"screen_name": "Ann", "password": "nope"}).content.decode()
    assert "Wrong session password" in wrong and "Joined session" not in wrong
    right = client.get(link, {"screen_name": "Ann", "password": "s3cret"}).content.decode()
    assert "Joined session" in right


def test_personal_join_page_greets_the_invitee_by_name_escaped(client, send):
    people = [person(first="<script>Ann</script>", last=" ", send_email_invitation=False)]
    session_id = create(send, invited_participants=people)
    link = invitees(send, session_id)["participants"]["personal_session_link"]
    page = client.get(link)
    assert page.status_code == 200
    html = page.content.decode()
    assert "&lt;script&gt;Ann&lt;/script&gt;" in html and "<script>" not in html
    assert "joined" in html.lower()
    assert client.get("/sandbox/onsync/join/not-a-token/").status_code == 404
    assert client.get("/sandbox/onsync/go/demo-account/no-such-session/").status_code == 404


def test_a_failure_while_mailing_leaves_no_half_made_session(send, monkeypatch):
    def broken(**fields):
        raise RuntimeError("mail system down")

    monkeypatch.setattr(OutboxMessage.objects, "create", broken)
    people = [person("bo@example.com", send_email_invitation=False), person()]
    with pytest.raises(RuntimeError):
        send("PUT", "/session", rest_data({"topic": "t", "invited_participants": people}))
    assert not OnSyncSession.objects.exists()
    assert not OnSyncParticipant.objects.exists()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_client_round_trip_over_http(live_server, settings):
    """Create, add, read, list and delete as OnSync's clients do it, over a real connection."""
    api = live_server.url + onsync_api(settings)
    user, password = settings.SANDBOX_ONSYNC_ACCOUNT, settings.SANDBOX_ONSYNC_PASSWORD
    with requests.Session() as http:
        http.auth = (user, password)
        http.headers["Content-Type"] = FORM
        ann = person(send_email_invitation=False)
        body = rest_data({"topic": "Q&A", "invited_participants": [ann]})
        created = http.put(f"{api}/session/format/json", data=body, timeout=5)
        assert created.status_code == 201
        session_id = created.json()["id"]
        bo = person("bo@example.com", "Bo", " ", send_email_invitation=True)
        body = rest_data({"id": session_id, "invited_participants": [bo]})
        assert http.post(f"{api}/session/format/json", data=body, timeout=5).json() == {
            "message": "Session updated",
            "id": session_id,
        }
        read = http.get(f"{api}/session/id/{session_id}", timeout=5)
        assert xml_answer(read.content).findtext("topic") == "Q&A"
        listed = http.get(f"{api}/invitees/id/{session_id}/format/json", timeout=5).json()
        assert [p["email"] for p in listed["participants"]] == ["ann@example.com", "bo@example.com"]
        assert OutboxMessage.objects.get().to == "bo@example.com"
        body = rest_data({"id": session_id})
        assert http.delete(f"{api}/session/format/json", data=body, timeout=5).status_code == 200
        assert http.get(f"{api}/session/id/0/format/json", timeout=5).status_code == 404
        http.auth = (user, "wrong")
        refused = http.get(f"{api}/session/id/0/format/json", timeout=5)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == 'Basic realm="OnSync"'
