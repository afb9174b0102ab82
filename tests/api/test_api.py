"""The JSON API (/api/v1/) through Django's test client, with the in-memory provider twin.

It must behave as the agent pages do: the same services, the same visibility (someone else's
session is a 404), the same limits, with errors as JSON that change nothing.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, reverse
from django.utils import timezone

from invitations import services
from invitations.api import urls as api_urls
from invitations.models import ApiToken, AuditEvent, DeliveryStatus, Invitee, Session, Team
from invitations.providers.base import UpstreamRejected
from invitations.services import tokens

pytestmark = pytest.mark.django_db

SESSIONS = "/api/v1/sessions/"
NUMBER = "(415) 555-0134"
E164 = "+14155550134"
# Anything that would show the number in clear (the masked form keeps only "0134").
CLEAR_FORMS = ("4155550134", "555-0134", "555 0134")


class Api:
    """A test client that speaks JSON with a Bearer token."""

    def __init__(self, token: str | None, client: Client | None = None) -> None:
        self.client = client or Client()
        self.token = token

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def get(self, path, params=None, headers=None):
        return self.client.get(path, params or {}, headers=self.headers(headers))

    def post(self, path, body=None, *, raw=None, headers=None):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(
            path, data, content_type="application/json", headers=self.headers(headers)
        )

    def call(self, method, path, headers=None):
        return self.client.generic(method, path, headers=self.headers(headers))


def token_for(user) -> str:
    return tokens.api_token_create(user=user, name="crm", actor=None)[1]


@pytest.fixture
def api(agent, locmem_upstream) -> Api:
    return Api(token_for(agent))


@pytest.fixture
def run_deliveries(django_capture_on_commit_callbacks):
    """Deliveries run after commit, as with an in-process task; this runs them."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def create(api: Api, run_deliveries, destination=NUMBER, **body):
    """POST /sessions/ and let the delivery run. In tests it runs when the test's
    transaction would commit, after the answer: the answer shows the invitation queued, as
    it does with a Celery broker. (Served in-process without a broker, it is already sent.)"""
    with run_deliveries():
        return api.post(SESSIONS, {"destination": destination, **body})


def error_of(response):
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    return body["error"]


def nothing_sent(locmem_upstream):
    return (
        not Invitee.objects.exists()
        and not Session.objects.exists()
        and not (locmem_upstream.outbox)
    )


# --- Happy paths ------------------------------------------------------------------------------


def test_create_session_and_sms_invite(api, agent, locmem_upstream, run_deliveries):
    response = create(api, run_deliveries, name="Ann", ticket_reference="CASE-7")
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    session = Session.objects.get()
    invitee = Invitee.objects.get()
    assert response["Location"] == f"/api/v1/sessions/{session.pk}/"
    assert response.json()["invitees"][0]["status"] == "queued"
    body = api.get(response["Location"]).json()
    assert body["id"] == session.pk
    assert body["url"] == f"/api/v1/sessions/{session.pk}/"
    assert body["session_key"] == session.session_key != ""
    assert body["ticket_reference"] == "CASE-7"
    assert (body["credential"], body["provider"]) == ("test-glance", "glance")
    assert body["created_by"] == "ann"
    assert body["can_add_invitees"] is False
    assert body["ended_at"] is None
    [first] = body["invitees"]
    assert first["id"] == invitee.pk
    assert first["url"] == f"/api/v1/invitees/{invitee.pk}/"
    assert (first["channel"], first["name"], first["status"]) == ("sms", "Ann", "sent")
    assert first["masked_destination"] == "••• ••• 0134"
    assert first["expired"] is False
    assert first["expires_at"] is not None and first["expires_at"].endswith("Z")
    assert first["sent_at"] is not None
    assert first["can_resend"] is True
    assert "Join your support session" in first["message_text"]
    # The same service as the page: the provider got exactly one invitation.
    assert [r.destination for r in locmem_upstream.outbox] == [E164]
    assert invitee.destination == E164
    assert not any(form in response.content.decode() for form in CLEAR_FORMS)
    assert not any(form in json.dumps(body, ensure_ascii=False) for form in CLEAR_FORMS)


def test_read_session_and_invitee(api, locmem_upstream, run_deliveries):
    created = create(api, run_deliveries).json()
    session = api.get(created["url"])
    assert session.status_code == 200
    assert session.json()["invitees"][0]["status"] == "sent"
    stable = ("id", "url", "ticket_reference", "credential", "created_by", "created_at")
    assert {k: session.json()[k] for k in stable} == {k: created[k] for k in stable}
    invitee_url = created["invitees"][0]["url"]
    invitee = api.get(invitee_url)
    assert invitee.status_code == 200
    assert invitee.json() == session.json()["invitees"][0]


def test_resend_is_the_page_resend_audited_and_sent_again(
    api, agent, locmem_upstream, run_deliveries
):
    invitee_url = create(api, run_deliveries).json()["invitees"][0]["url"]
    invitee = Invitee.objects.get()
    with run_deliveries():
        response = api.post(f"{invitee_url}resend/")
    assert response.status_code == 200
    assert response.json()["status"] == "queued"
    after = api.get(invitee_url).json()
    assert (after["status"], after["attempts"]) == ("sent", 2)
    assert len(locmem_upstream.outbox) == 2
    event = AuditEvent.objects.get(action=AuditEvent.Action.INVITEE_RESENT)
    assert (event.actor, event.target) == (agent, f"invitee #{invitee.pk}")


def test_resend_while_sending_is_a_conflict(api, locmem_upstream, run_deliveries):
    invitee_url = create(api, run_deliveries).json()["invitees"][0]["url"]
    Invitee.objects.update(status=DeliveryStatus.SENDING)
    response = api.post(f"{invitee_url}resend/")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "not_allowed"
    assert "wait for it to finish" in error["message"]
    assert Invitee.objects.get().status == DeliveryStatus.SENDING
    assert len(locmem_upstream.outbox) == 1
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.INVITEE_RESENT).exists()


def test_failed_delivery_is_reported_and_can_be_resent(api, locmem_upstream, run_deliveries):
    locmem_upstream.pending_errors.append(
        UpstreamRejected("Glance rejected the invitation (400)", provider="glance", status_code=400)
    )
    url = create(api, run_deliveries).json()["invitees"][0]["url"]
    invitee = api.get(url).json()
    assert invitee["status"] == "failed"
    assert "rejected" in invitee["last_error"]
    assert invitee["can_resend"] is True
    with run_deliveries():
        api.post(f"{url}resend/")
    again = api.get(url).json()
    assert (again["status"], again["last_error"]) == ("sent", "")


def test_expired_invitation_says_so(api, locmem_upstream, run_deliveries):
    url = create(api, run_deliveries).json()["invitees"][0]["url"]
    Invitee.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    body = api.get(url).json()
    assert body["expired"] is True and body["status"] == "sent"


@pytest.fixture
def onsync_api(make_agent, portal_credential):
    """An agent whose OnSync-like credential can take more invitees into a session."""
    return Api(token_for(make_agent(username="pat", credential=portal_credential)))


def test_invite_another_person_into_the_same_session(onsync_api, run_deliveries):
    from django.core import mail

    session = create(onsync_api, run_deliveries, destination="ann@example.com").json()
    assert session["can_add_invitees"] is True
    with run_deliveries():
        response = onsync_api.post(
            f"{session['url']}invitees/", {"destination": "bo@example.com", "name": "Bo"}
        )
    assert response.status_code == 201
    body = response.json()
    assert response["Location"] == body["url"]
    assert (body["session_id"], body["channel"]) == (session["id"], "email")
    assert body["masked_destination"] == "b•••@example.com"
    body = onsync_api.get(body["url"]).json()
    assert body["status"] == "sent"
    assert body["personal_link"].endswith(f"/p/inv-{body['id']}")
    assert len(mail.outbox) == 2
    assert len(onsync_api.get(session["url"]).json()["invitees"]) == 2


def test_glance_sessions_take_no_more_invitees(api, locmem_upstream, run_deliveries):
    session = create(api, run_deliveries).json()
    response = api.post(f"{session['url']}invitees/", {"destination": "+442079460958"})
    assert response.status_code == 409
    assert "starts a new session with every invitation" in error_of(response)["message"]
    assert Invitee.objects.count() == 1 and len(locmem_upstream.outbox) == 1


def test_end_session_then_nothing_more_is_sent(onsync_api, locmem_upstream, run_deliveries):
    session = create(onsync_api, run_deliveries, destination="ann@example.com").json()
    invitee_url = session["invitees"][0]["url"]
    response = onsync_api.post(f"{session['url']}end/")
    assert response.status_code == 200
    body = response.json()
    assert body["ended_at_provider"] is True
    assert body["ended_at"] is not None and body["can_add_invitees"] is False
    assert body["invitees"][0]["can_resend"] is False
    assert locmem_upstream.ended == [body["session_key"]]
    event = AuditEvent.objects.get(action=AuditEvent.Action.SESSION_ENDED)
    assert event.actor_name == "pat"
    for late in (
        onsync_api.post(f"{session['url']}invitees/", {"destination": "bo@example.com"}),
        onsync_api.post(f"{invitee_url}resend/"),
        onsync_api.post(f"{session['url']}end/"),
    ):
        assert late.status_code == 409
        assert error_of(late)["code"] == "not_allowed"
    assert Invitee.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SESSION_ENDED).count() == 1


def test_end_a_glance_session_here_only(api, locmem_upstream, run_deliveries):
    session = create(api, run_deliveries).json()
    body = api.post(f"{session['url']}end/").json()
    assert body["ended_at_provider"] is False and body["ended_at"] is not None
    assert Session.objects.get().ended_at is not None


def test_session_list_is_paginated_and_filtered(api, locmem_upstream, run_deliveries):
    for n in range(3):
        create(api, run_deliveries, destination=f"+1415555010{n}", ticket_reference=f"T-{n}")
    locmem_upstream.pending_errors.append(
        UpstreamRejected("refused", provider="glance", status_code=400)
    )
    create(api, run_deliveries, destination="+14155550109", ticket_reference="T-9")

    first = api.get(SESSIONS, {"page_size": 3}).json()
    assert (first["count"], first["page"], first["pages"], first["page_size"]) == (4, 1, 2, 3)
    assert [s["ticket_reference"] for s in first["results"]] == ["T-9", "T-2", "T-1"]
    second = api.get(SESSIONS, {"page_size": 3, "page": 2}).json()
    assert [s["ticket_reference"] for s in second["results"]] == ["T-0"]
    failed = api.get(SESSIONS, {"status": "failed"}).json()
    assert [s["ticket_reference"] for s in failed["results"]] == ["T-9"]
    by_ticket = api.get(SESSIONS, {"ticket_reference": "T-1"}).json()
    assert [s["ticket_reference"] for s in by_ticket["results"]] == ["T-1"]
    for params, field in [
        ({"page": 3}, "page"),
        ({"page": "x"}, "page"),
        ({"page_size": 101}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"status": "lost"}, "status"),
    ]:
        response = api.get(SESSIONS, params)
        assert response.status_code == 400, params
        assert error_of(response)["field"] == field


def test_empty_list_parameters_mean_no_filter(api, locmem_upstream, run_deliveries):
    create(api, run_deliveries)
    response = api.get(
        SESSIONS, {"status": "", "ticket_reference": "", "page": "", "page_size": ""}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["page"], body["page_size"]) == (1, 1, 25)


def test_session_list_costs_the_same_queries_for_any_number_of_sessions(agent, credential):
    api = Api(token_for(agent))

    def make_sessions(count):
        for _ in range(count):
            session = Session.objects.create(
                credential=credential, created_by=agent, session_type=1
            )
            for n in range(2):
                Invitee.objects.create(
                    session=session, channel="sms", destination=f"+1415555{n:04d}"
                )

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = api.get(SESSIONS, {"page_size": 100})
        assert response.status_code == 200
        return len(captured), response.json()["count"]

    make_sessions(2)
    queries()  # the token's first use records last_used_at; later ones within a minute do not
    few = queries()
    make_sessions(20)
    assert queries() == (few[0], 22)


# --- Authentication: every failure is a 401 that changes nothing -------------------------------


def _assert_401(response, code):
    assert response.status_code == 401
    assert error_of(response)["code"] == code
    assert response["WWW-Authenticate"].startswith('Bearer realm="agentportal"')
    if code == "invalid_token":
        assert 'error="invalid_token"' in response["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "not_authenticated"),
        ("", "not_authenticated"),
        ("Bearer", "not_authenticated"),
        ("Basic YW5uOnB3", "not_authenticated"),
        ("Bearer ap_not-a-real-token-0000000000000000000000000", "invalid_token"),
        ("Bearer not-even-shaped-like-one", "invalid_token"),
        ("Bearer " + "ap_" + "x" * 5000, "invalid_token"),
    ],
)
def test_missing_or_bad_token_is_401_and_changes_nothing(
    authorization, code, agent, locmem_upstream, run_deliveries
):
    with run_deliveries():
        invitee = services.invitation_create(agent=agent, destination=NUMBER)
    headers = {"Authorization": authorization} if authorization is not None else {}
    client = Api(None)
    responses = [
        client.post(SESSIONS, {"destination": "+14155550199"}, headers=headers),
        client.get(SESSIONS, headers=headers),
        client.get(f"/api/v1/sessions/{invitee.session_id}/", headers=headers),
        client.post(f"/api/v1/invitees/{invitee.pk}/resend/", headers=headers),
        client.post(
            f"/api/v1/sessions/{invitee.session_id}/invitees/",
            {"destination": "+14155550199"},
            headers=headers,
        ),
        client.post(f"/api/v1/sessions/{invitee.session_id}/end/", headers=headers),
    ]
    for response in responses:
        _assert_401(response, code)
    assert Invitee.objects.count() == 1
    assert Invitee.objects.get().status == DeliveryStatus.SENT
    assert Session.objects.get().ended_at is None
    assert len(locmem_upstream.outbox) == 1
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.INVITEE_RESENT).exists()


def test_revoked_token_is_refused(agent, locmem_upstream):
    token, raw = tokens.api_token_create(user=agent, name="crm", actor=None)
    api = Api(raw)
    assert api.get(SESSIONS).status_code == 200
    tokens.api_token_revoke(token=token, actor=None)
    _assert_401(api.post(SESSIONS, {"destination": NUMBER}), "invalid_token")
    assert nothing_sent(locmem_upstream)


def test_inactive_users_token_is_refused(agent, locmem_upstream):
    api = Api(token_for(agent))
    agent.is_active = False
    agent.save()
    _assert_401(api.post(SESSIONS, {"destination": NUMBER}), "invalid_token")
    _assert_401(api.get(SESSIONS), "invalid_token")
    assert nothing_sent(locmem_upstream)


def test_expired_token_is_refused_saying_so(agent, locmem_upstream):
    token, raw = tokens.api_token_create(
        user=agent, name="crm", actor=None, expires_at=timezone.now() + timedelta(hours=1)
    )
    api = Api(raw)
    assert api.get(SESSIONS).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for response in (api.post(SESSIONS, {"destination": NUMBER}), api.get(SESSIONS)):
        _assert_401(response, "invalid_token")
        assert "The API token expired at" in error_of(response)["message"]
    assert nothing_sent(locmem_upstream)


def test_revoked_token_says_so(agent, locmem_upstream):
    token, raw = tokens.api_token_create(user=agent, name="crm", actor=None)
    tokens.api_token_revoke(token=token, actor=None)
    response = Api(raw).get(SESSIONS)
    _assert_401(response, "invalid_token")
    assert "revoked" in error_of(response)["message"]


def test_a_login_cookie_is_not_enough(agent, agent_client, locmem_upstream):
    """No cookie authentication, so a page on another site cannot make a browser post here."""
    response = Api(None, client=agent_client).post(SESSIONS, {"destination": NUMBER})
    _assert_401(response, "not_authenticated")
    assert nothing_sent(locmem_upstream)


def test_needs_no_csrf_token(agent, locmem_upstream):
    api = Api(token_for(agent), client=Client(enforce_csrf_checks=True))
    assert api.post(SESSIONS, {"destination": NUMBER}).status_code == 201


# --- Who sees what: the page's rules ----------------------------------------------------------

ROLES = [
    "owner",
    "other agent, same team",
    "supervisor, same team",
    "supervisor, other team",
    "superuser",
    "user without agent profile",
]
CAN_SEE = {"owner", "supervisor, same team", "superuser"}


@pytest.fixture
def world(make_team_agent, django_user_model, locmem_upstream, run_deliveries):
    red, blue = Team.objects.create(name="red"), Team.objects.create(name="blue")
    owner = make_team_agent(username="owner", team=red)
    users = {
        "owner": owner,
        "other agent, same team": make_team_agent(username="peer", team=red),
        "supervisor, same team": make_team_agent(username="sue", team=red, supervisor=True),
        "supervisor, other team": make_team_agent(username="bob", team=blue, supervisor=True),
        "superuser": django_user_model.objects.create_superuser("root", "r@example.com", "pw-x-1"),
        "user without agent profile": django_user_model.objects.create_user("nobody"),
    }
    with run_deliveries():
        invitee = services.invitation_create(agent=owner, destination=NUMBER)
    return {"users": users, "invitee": invitee}


@pytest.mark.parametrize("role", ROLES)
def test_sessions_by_role(world, role, locmem_upstream, run_deliveries):
    api = Api(token_for(world["users"][role]))
    invitee = world["invitee"]
    session_url = f"/api/v1/sessions/{invitee.session_id}/"
    invitee_url = f"/api/v1/invitees/{invitee.pk}/"
    listed = [s["id"] for s in api.get(SESSIONS).json()["results"]]
    if role in CAN_SEE:
        assert api.get(session_url).status_code == 200
        assert api.get(invitee_url).json()["masked_destination"] == "••• ••• 0134"
        assert listed == [invitee.session_id]
        with run_deliveries():
            resent = api.post(f"{invitee_url}resend/")
        assert resent.status_code == 200
        event = AuditEvent.objects.get(action=AuditEvent.Action.INVITEE_RESENT)
        assert event.actor == world["users"][role]
        assert len(locmem_upstream.outbox) == 2
        return
    responses = [
        api.get(session_url),
        api.get(invitee_url),
        api.post(f"{invitee_url}resend/"),
        api.post(f"{session_url}invitees/", {"destination": "+14155550199"}),
        api.post(f"{session_url}end/"),
    ]
    unknown = [
        api.get("/api/v1/sessions/999999/"),
        api.get("/api/v1/invitees/999999/"),
        api.post("/api/v1/invitees/999999/resend/"),
        api.post("/api/v1/sessions/999999/invitees/", {"destination": "+14155550199"}),
        api.post("/api/v1/sessions/999999/end/"),
    ]
    for theirs, missing in zip(responses, unknown, strict=True):
        # Someone else's and a missing one cannot be told apart.
        assert theirs.status_code == missing.status_code == 404
        assert theirs.content.replace(b"session", b"x").replace(b"invitee", b"x") == (
            missing.content.replace(b"session", b"x").replace(b"invitee", b"x")
        )
    assert listed == []
    assert Invitee.objects.count() == 1
    assert Invitee.objects.get().status == DeliveryStatus.SENT
    assert Session.objects.get().ended_at is None
    assert len(locmem_upstream.outbox) == 1
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.INVITEE_RESENT).exists()


def test_a_token_loses_at_once_what_its_user_loses(world):
    """A token carries no rights of its own: each request has the user's rights of that
    moment, so a superuser or supervisor who is demoted sees only their own sessions."""
    invitee = world["invitee"]
    root = world["users"]["superuser"]
    sue = world["users"]["supervisor, same team"]
    root_api, sue_api = Api(token_for(root)), Api(token_for(sue))
    session_url = f"/api/v1/sessions/{invitee.session_id}/"
    invitee_url = f"/api/v1/invitees/{invitee.pk}/"
    for api in (root_api, sue_api):
        assert api.get(session_url).status_code == 200
        assert api.get(invitee_url).status_code == 200
    root.is_superuser = False
    root.save()
    sue.groups.clear()
    for api in (root_api, sue_api):
        assert api.get(session_url).status_code == 404
        assert api.get(invitee_url).status_code == 404
        assert api.get(SESSIONS).json()["results"] == []
        assert api.post(f"{invitee_url}resend/").status_code == 404
    root.is_active = False
    root.save()
    _assert_401(root_api.get(SESSIONS), "invalid_token")


def test_user_without_agent_profile_is_told_what_is_missing(world, locmem_upstream):
    api = Api(token_for(world["users"]["user without agent profile"]))
    response = api.post(SESSIONS, {"destination": "+14155550100"})
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "not_configured"
    assert "is not set up as an agent" in error["message"]
    assert Session.objects.count() == 1


def test_supervisor_can_invite_into_a_team_members_session(
    make_team_agent, make_agent, settings, locmem_upstream, run_deliveries
):
    settings.UPSTREAM_CLIENTS = {"onsync": {"CLASS": "invitations.providers.locmem.LocmemClient"}}
    settings.SMS_BACKEND = "invitations.channels.sms.locmem.LocmemSmsBackend"
    credential, _ = services.credential_upsert(
        label="portal",
        provider="onsync",
        base_url="https://onsync.invalid/api/1",
        account="portal-account",
        api_key="t",
    )
    red = Team.objects.create(name="red")
    owner = make_agent(username="owner", credential=credential)
    sue = make_agent(username="sue", credential=credential)
    for user in (owner, sue):
        user.agent_profile.team = red
        user.agent_profile.save()
    sue.groups.add(Group.objects.get(name="Supervisors"))
    with run_deliveries():
        invitee = services.invitation_create(agent=owner, destination="ann@example.com")
    with run_deliveries():
        response = Api(token_for(sue)).post(
            f"/api/v1/sessions/{invitee.session_id}/invitees/", {"destination": "bo@example.com"}
        )
    assert response.status_code == 201
    assert Invitee.objects.filter(session_id=invitee.session_id).count() == 2


# --- Bad input: a 400 naming the field, and nothing created -----------------------------------


@pytest.mark.parametrize(
    ("body", "code", "field", "message"),
    [
        ("{not json", "invalid_json", None, "not valid JSON"),
        ("", "invalid_json", None, "must be a JSON object"),
        ('["+14155550134"]', "invalid_json", None, "must be a JSON object"),
        ({"destination": NUMBER, "phone": "x"}, "invalid_input", "phone", "Unknown field"),
        ({"destination": 4155550134}, "invalid_input", "destination", "must be a string"),
        ({"destination": "  "}, "invalid_input", "destination", "is required"),
        ({}, "invalid_input", "destination", "is required"),
        ({"destination": "12345"}, "invalid_input", "destination", "not a valid phone number"),
        ({"destination": "ann@example.com"}, "invalid_input", "destination", "cannot send"),
        (
            {"destination": "ann@example.com", "channel": "sms"},
            "invalid_input",
            "destination",
            "That is an e-mail address",
        ),
        ({"destination": NUMBER, "channel": "fax"}, "invalid_input", "channel", "auto, sms"),
        ({"destination": NUMBER, "name": "N" * 101}, "invalid_input", "name", "too long"),
        ({"destination": NUMBER, "session_type": True}, "invalid_input", "session_type", "integer"),
        ({"destination": NUMBER, "session_type": 40000}, "invalid_input", "session_type", "0 to"),
        ({"destination": NUMBER, "language": "xx"}, "invalid_input", "language", "Unknown lang"),
        ({"destination": NUMBER, "credential": "nope"}, "invalid_input", "credential", "'nope'"),
        (
            {"destination": NUMBER, "ticket_reference": "T" * 101},
            "invalid_input",
            "ticket_reference",
            "too long",
        ),
        (
            {"destination": NUMBER, "idempotency_key": 7},
            "invalid_input",
            "idempotency_key",
            "must be a string",
        ),
        (
            {"destination": NUMBER, "idempotency_key": "k" * 201},
            "invalid_input",
            "idempotency_key",
            "1 to 200",
        ),
        ({"destination": "+1 900 555 0199"}, "invalid_input", "destination", "premium-rate"),
    ],
)
def test_bad_input_is_400_with_the_field(api, body, code, field, message, locmem_upstream):
    response = api.post(SESSIONS, **({"raw": body} if isinstance(body, str) else {"body": body}))
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["field"]) == (code, field)
    assert message in error["message"]
    assert nothing_sent(locmem_upstream)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": "²"}, "page_size"),
        ({"page": "²"}, "page"),
        ({"page_size": "\u0661\u0660"}, "page_size"),  # Arabic-Indic 10: int() reads it
        ({"page_size": "9" * 5000}, "page_size"),
        ({"page": "9" * 5000}, "page"),
        ({"page_size": "99999999999999999999"}, "page_size"),
        ({"ticket_reference": "T\x00"}, "ticket_reference"),
    ],
)
def test_odd_list_parameters_are_400(api, params, field):
    response = api.get(SESSIONS, params)
    assert response.status_code == 400, params
    error = error_of(response)
    assert (error["code"], error["field"]) == ("invalid_input", field)
    if field.startswith("page"):
        assert "must be a number from 1 to" in error["message"]


NESTED_BODIES = {
    "brackets": "[" * 100_000,
    "objects": '{"a":' * 100_000,
    "in a field": '{"destination":' + "[" * 100_000,
}


@pytest.mark.parametrize("body", NESTED_BODIES.values(), ids=NESTED_BODIES.keys())
def test_deeply_nested_body_is_400(api, body, onsync_api, locmem_upstream, run_deliveries):
    session = create(onsync_api, run_deliveries, destination="ann@example.com").json()
    for client, path in [(api, SESSIONS), (onsync_api, f"{session['url']}invitees/")]:
        response = client.post(path, raw=body)
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "invalid_json"
        assert "nested too deeply" in error["message"]
    assert Invitee.objects.count() == 1


# JSON escapes: json.loads turns "\ud800" into a lone surrogate (no UTF-8 form) and "\u0000"
# into a NUL character (PostgreSQL refuses it in text).
UNSTORABLE = {"lone surrogate": r"\ud800", "low surrogate": r"x\udfff", "NUL": r"Ann\u0000"}


@pytest.mark.parametrize("text", UNSTORABLE.values(), ids=UNSTORABLE.keys())
@pytest.mark.parametrize(
    "field",
    ["destination", "name", "ticket_reference", "credential", "language", "channel"],
)
def test_unstorable_text_is_400_naming_the_field(api, field, text, locmem_upstream):
    body = {"destination": "+14155550134", field: "@@"}
    raw = json.dumps(body).replace('"@@"', f'"{text}"')
    response = api.post(SESSIONS, raw=raw)
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["field"]) == ("invalid_input", field)
    assert "NUL character or an unpaired surrogate" in error["message"]
    assert nothing_sent(locmem_upstream)


@pytest.mark.parametrize("text", UNSTORABLE.values(), ids=UNSTORABLE.keys())
def test_unstorable_text_in_an_invitee_or_a_field_name_is_400(onsync_api, text, run_deliveries):
    session = create(onsync_api, run_deliveries, destination="ann@example.com").json()
    url = f"{session['url']}invitees/"
    for raw, field in [
        (f'{{"destination": "{text}"}}', "destination"),
        (f'{{"destination": "bo@example.com", "name": "{text}"}}', "name"),
        (f'{{"destination": "bo@example.com", "{text}": 1}}', None),
        (f'{{"destination": "bo@example.com", "idempotency_key": "{text}"}}', "idempotency_key"),
    ]:
        response = onsync_api.post(url, raw=raw)
        assert response.status_code == 400, raw
        error = error_of(response)
        assert (error["code"], error["field"]) == ("invalid_input", field)
    response = onsync_api.post(
        url, {"destination": "bo@example.com"}, headers={"Idempotency-Key": "k\x00"}
    )
    assert response.status_code == 400
    assert error_of(response)["field"] == "idempotency_key"
    assert Invitee.objects.count() == 1


def test_messages_follow_the_requests_language(api, locmem_upstream):
    response = api.post(SESSIONS, {"destination": "12345"}, headers={"Accept-Language": "de"})
    assert response.status_code == 400
    assert "12345" in error_of(response)["message"]
    assert "not a valid phone number" not in error_of(response)["message"]


def test_oversized_body_is_refused(api, settings, locmem_upstream):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = api.post(SESSIONS, {"destination": NUMBER, "name": "x" * 200})
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"
    assert nothing_sent(locmem_upstream)


# --- Limits and idempotency -------------------------------------------------------------------


def test_rate_limit_is_429_with_retry_after(api, settings, locmem_upstream, run_deliveries):
    settings.RATE_LIMIT_PER_AGENT = "1/600"
    assert create(api, run_deliveries, destination="+14155550100").status_code == 201
    response = create(api, run_deliveries, destination="+14155550101")
    assert response.status_code == 429
    error = error_of(response)
    assert error["code"] == "rate_limited"
    assert "You have sent 1 invitation in the last 10 minutes, the most allowed" in error["message"]
    assert 1 <= int(response["Retry-After"]) <= 600
    assert Invitee.objects.count() == 1 and len(locmem_upstream.outbox) == 1


def test_resend_counts_against_the_destination_limit(
    api, settings, locmem_upstream, run_deliveries
):
    settings.RATE_LIMIT_PER_DESTINATION = "1/3600"
    url = create(api, run_deliveries).json()["invitees"][0]["url"]
    response = api.post(f"{url}resend/")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert Invitee.objects.get().status == DeliveryStatus.SENT
    assert len(locmem_upstream.outbox) == 1


@pytest.mark.parametrize("where", ["header", "body", "both"])
def test_repeated_idempotency_key_creates_one_invitee_and_one_message(
    api, where, locmem_upstream, run_deliveries
):
    headers = {"Idempotency-Key": "crm-42"} if where in ("header", "both") else None
    body = {"destination": NUMBER}
    if where in ("body", "both"):
        body["idempotency_key"] = "crm-42"
    with run_deliveries():
        first = api.post(SESSIONS, body, headers=headers)
        second = api.post(SESSIONS, body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Invitee.objects.count() == 1 and len(locmem_upstream.outbox) == 1
    assert (Invitee.objects.get().idempotency_key or "").startswith("api-")
    # Without a key, the same request is a new invitation.
    with run_deliveries():
        assert api.post(SESSIONS, {"destination": NUMBER}).status_code == 201
    assert Invitee.objects.count() == 2


def test_idempotency_keys_are_per_user_and_endpoint(
    api, make_agent, credential, locmem_upstream, run_deliveries
):
    other = Api(token_for(make_agent(username="bo", credential=credential)))
    headers = {"Idempotency-Key": "1"}
    with run_deliveries():
        assert api.post(SESSIONS, {"destination": NUMBER}, headers=headers).status_code == 201
        # Another user's "1" is another request, not someone else's invitee.
        assert other.post(SESSIONS, {"destination": NUMBER}, headers=headers).status_code == 201
    assert Invitee.objects.count() == 2


def test_differing_idempotency_keys_are_refused(api, locmem_upstream):
    response = api.post(
        SESSIONS,
        {"destination": NUMBER, "idempotency_key": "a"},
        headers={"Idempotency-Key": "b"},
    )
    assert response.status_code == 400
    assert error_of(response)["field"] == "idempotency_key"
    assert nothing_sent(locmem_upstream)


def test_idempotent_invite_into_a_session(onsync_api, run_deliveries):
    session = create(onsync_api, run_deliveries, destination="ann@example.com").json()
    url = f"{session['url']}invitees/"
    with run_deliveries():
        first = onsync_api.post(url, {"destination": "bo@example.com", "idempotency_key": "x"})
        again = onsync_api.post(url, {"destination": "bo@example.com", "idempotency_key": "x"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Invitee.objects.count() == 2


def test_no_answer_may_be_cached(api, onsync_api, settings, locmem_upstream, run_deliveries):
    """Answers carry session keys, join and personal links: no-store on every one, errors too."""
    created = create(onsync_api, run_deliveries, destination="ann@example.com")
    session = created.json()
    invitee_url = session["invitees"][0]["url"]
    with run_deliveries():
        answers = [
            created,
            onsync_api.get(SESSIONS),
            onsync_api.get(session["url"]),
            onsync_api.get(invitee_url),
            onsync_api.post(f"{session['url']}invitees/", {"destination": "bo@example.com"}),
            onsync_api.post(f"{invitee_url}resend/"),
        ]
    settings.RATE_LIMIT_PER_AGENT = "1/600"
    answers += [
        onsync_api.post(f"{session['url']}invitees/", {"destination": "cy@example.com"}),
        onsync_api.post(f"{session['url']}end/"),
        api.get(session["url"]),  # 404: another agent's
        api.post(SESSIONS, raw="{"),  # 400
        api.call("DELETE", SESSIONS),  # 405
        Api(None).get(SESSIONS),  # 401
        api.get("/api/v1/nothing/"),  # 404 outside the endpoints
    ]
    statuses = [answer.status_code for answer in answers]
    assert statuses == [201, 200, 200, 200, 201, 200, 429, 200, 404, 400, 405, 401, 404]
    for answer in answers:
        assert "no-store" in answer["Cache-Control"], answer.request["PATH_INFO"]


# --- Methods, paths, logs ---------------------------------------------------------------------


def test_wrong_method_is_405_with_allow(api, locmem_upstream):
    response = api.call("DELETE", SESSIONS)
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert error_of(response)["code"] == "method_not_allowed"
    assert api.get("/api/v1/invitees/1/resend/")["Allow"] == "POST"


def test_unknown_paths_are_json_404s(api):
    response = api.get("/api/v1/nothing/here/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    # Without the slash, a redirect would lose a POST's body: say what is wrong instead.
    response = api.post("/api/v1/sessions", {"destination": NUMBER})
    assert response.status_code == 404
    assert "end with a slash" in error_of(response)["message"]
    assert not Invitee.objects.exists()


def test_destinations_and_tokens_never_reach_the_logs(
    agent, locmem_upstream, run_deliveries, caplog
):
    """Checked before the handlers' redacting filter: the API never logs them at all."""
    raw = token_for(agent)
    api = Api(raw)
    caplog.set_level(logging.DEBUG)
    created = create(api, run_deliveries, name="Ann").json()
    url = created["invitees"][0]["url"]
    api.get(created["url"])
    api.get(url)
    with run_deliveries():
        api.post(f"{url}resend/")
    api.get(SESSIONS, {"ticket_reference": "x"})
    api.post(SESSIONS, {"destination": "(415) 555-01"})  # invalid: a 400
    Api("ap_wrong-token-but-long-enough-to-look-real-0000").get(SESSIONS)
    written = caplog.text
    assert f"api POST /api/v1/sessions/ user={agent.pk} -> 201" in caplog.text
    assert "api GET /api/v1/sessions/ user=- -> 401" in caplog.text
    for clear in (*CLEAR_FORMS, "555-01", "Ann", raw, raw[3:]):
        assert clear not in written


# --- The OpenAPI description is generated from the endpoints ---------------------------------

OPENAPI_URL = "/api/v1/openapi.json"
OPENAPI_FILE = Path(django_settings.BASE_DIR) / "docs" / "openapi.json"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
NOT_ENDPOINTS = {"openapi-json", "openapi-view", "api-root", "not-found"}


def openapi():
    """The document as served, to anyone: it holds no secret."""
    response = Client().get(OPENAPI_URL)
    assert response.status_code == 200
    return response.json()


def documented_routes() -> set[str]:
    routes = set()
    for pattern in api_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        if pattern.name in NOT_ENDPOINTS:
            continue
        route = str(pattern.pattern)
        routes.add("/api/v1/" + re.sub(r"<int:(\w+)>", r"{\1}", route))
    return routes


def test_openapi_parses_and_is_3_1(db):
    doc = openapi()
    assert doc["openapi"].startswith("3.1")
    schemes = doc["components"]["securitySchemes"]
    assert [scheme["scheme"] for scheme in schemes.values()] == ["bearer"]
    for operations in doc["paths"].values():
        for operation in operations.values():
            assert operation["security"] == [{name: []} for name in schemes]


def test_openapi_paths_are_exactly_the_url_patterns(db):
    assert set(openapi()["paths"]) == documented_routes()


def test_openapi_references_resolve(db):
    doc = openapi()
    text = json.dumps(doc)
    for ref in set(re.findall(r'"\$ref": "#/([^"]+)"', text)):
        node = doc
        for part in ref.split("/"):
            node = node[part]


def test_openapi_methods_are_exactly_the_allowed_ones(db):
    doc = openapi()
    client = Api(None)
    for path, operations in doc["paths"].items():
        url = re.sub(r"\{\w+\}", "1", path)
        for method in HTTP_METHODS:
            response = client.call(method.upper(), url)
            if method in operations:
                assert response.status_code == 401, (method, path)  # allowed, needs a token
                assert "401" in operations[method]["responses"]
            else:
                assert response.status_code == 405, (method, path)


def test_every_error_answer_is_documented_in_the_one_shape(db):
    doc = openapi()
    error = {"$ref": "#/components/schemas/ErrorOut"}
    for operations in doc["paths"].values():
        for operation in operations.values():
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    assert answer["content"]["application/json"]["schema"] == error


def test_the_file_in_docs_is_the_generated_document(db):
    """docs/openapi.json is for reading the API without running it; `make openapi` writes it."""
    out = StringIO()
    call_command(
        "export_openapi_schema", "--api=invitations.api.endpoints.api", "--indent=2", stdout=out
    )
    assert OPENAPI_FILE.read_text(encoding="utf-8").strip() == out.getvalue().strip(), (
        "docs/openapi.json is out of date: run `make openapi`"
    )


def test_the_document_needs_no_login_and_the_docs_need_staff(client, agent, django_user_model):
    assert Client().get(OPENAPI_URL).status_code == 200
    docs = "/api/v1/docs"
    anonymous = client.get(docs)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("admin:login"))
    client.force_login(agent)
    assert client.get(docs).status_code == 302  # an agent, not staff
    staff = django_user_model.objects.create_user("ops", is_staff=True)
    client.force_login(staff)
    page = client.get(docs)
    assert page.status_code == 200
    assert OPENAPI_URL.encode() in page.content


def test_reverse_gives_the_documented_urls():
    assert reverse("api:sessions") == SESSIONS
    assert reverse("api:invitee-resend", args=[3]) == "/api/v1/invitees/3/resend/"
