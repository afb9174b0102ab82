"""The outbox lists every message the sandbox 'sent', and filters by channel."""

import pytest

from sandbox.models import OutboxMessage

# The outbox, fault control and request log are for signed-in staff (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signed_in_staff")]


@pytest.fixture
def messages(db):
    OutboxMessage.objects.create(
        provider="glance",
        channel="sms",
        to="4155550134",
        body="glance text",
        session_key="123456",
        session_params={"camera": "back"},
    )
    OutboxMessage.objects.create(
        provider="onsync", channel="email", to="ann@example.com", body="onsync mail"
    )
    OutboxMessage.objects.create(
        provider="sms-gateway",
        channel="sms",
        to="+14155550134",
        body="gateway text",
        reference="inv-42",
        message_id="m_abc",
    )


def test_json_lists_every_message_newest_first(client, messages):
    listed = client.get("/sandbox/outbox/?format=json").json()["messages"]
    assert [m["body"] for m in listed] == ["gateway text", "onsync mail", "glance text"]
    assert listed[0]["reference"] == "inv-42" and listed[0]["message_id"] == "m_abc"
    assert listed[2]["session_params"] == {"camera": "back"}


@pytest.mark.parametrize(
    ("channel", "bodies"),
    [("sms", ["gateway text", "glance text"]), ("email", ["onsync mail"])],
)
def test_json_filters_by_channel(client, messages, channel, bodies):
    listed = client.get("/sandbox/outbox/", {"format": "json", "channel": channel}).json()
    assert [m["body"] for m in listed["messages"]] == bodies
    assert {m["channel"] for m in listed["messages"]} == {channel}


def test_html_lists_everything_and_filters_by_channel(client, messages):
    everything = client.get("/sandbox/outbox/").content.decode()
    assert all(b in everything for b in ("glance text", "onsync mail", "gateway text"))
    emails = client.get("/sandbox/outbox/?channel=email").content.decode()
    assert "onsync mail" in emails
    assert "glance text" not in emails and "gateway text" not in emails
    texts = client.get("/sandbox/outbox/?channel=sms").content.decode()
    assert "glance text" in texts and "gateway text" in texts and "onsync mail" not in texts


def test_unknown_channel_is_400(client, messages):
    assert client.get("/sandbox/outbox/?channel=fax").status_code == 400
    response = client.get("/sandbox/outbox/?channel=fax&format=json")
    assert response.status_code == 400
    assert "channel" in response.json()["error"]


def test_empty_outbox(client):
    assert client.get("/sandbox/outbox/?format=json").json() == {"messages": []}
    assert "No messages yet." in client.get("/sandbox/outbox/").content.decode()


def test_html_is_on_the_admin_look_with_the_staff_users_links(client, messages):
    page = client.get("/sandbox/outbox/").content.decode()
    assert '<header id="header">' in page and "admin/css/base.css" in page
    assert "sandbox/outbox.css" in page
    assert "<h1>Sandbox outbox</h1>" in page
    assert "Log out" in page and 'id="nav-sidebar"' not in page
