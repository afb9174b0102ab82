"""Asking Glance whether the customer joined (services/presence_lookups.py): the claim that
bounds lookups to one per invitation per interval, which invitees are asked about at all, the
worker's task chain with a broker, and the reads that ask without one (the session page, its
live rows and the JSON API), with the real Glance client against `responses`."""

import logging
import time
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from django.urls import reverse
from django.utils import timezone

from invitations import services, tasks
from invitations.models import Channel, Invitee, Session
from invitations.services import tokens
from invitations.states import DeliveryStatus

S = DeliveryStatus
pytestmark = pytest.mark.django_db

BASE = "https://glance.invalid"
LOOKUP = f"{BASE}/services/SessionService.asmx/LookupPartnerSession2"
INVITE = f"{BASE}/api/SessionInvitation/smsInvite/"
XML = "text/xml; charset=utf-8"
NOT_STARTED = (
    '<?xml version="1.0"?><SessionInfo xmlns="http://www.glance.net/"><id>0</id></SessionInfo>'
)
STARTED = '<?xml version="1.0"?><SessionInfo xmlns="http://www.glance.net/"><id>4711</id><passcode>123456</passcode></SessionInfo>'


@pytest.fixture
def make_invitee(agent, credential):
    def make(status=S.SENT, *, session_key="123456", valid=True, ended=False, cred=None):
        now = timezone.now()
        session = Session.objects.create(
            credential=cred or credential,
            created_by=agent,
            session_type=1,
            session_key=session_key,
            ended_at=now if ended else None,
        )
        return Invitee.objects.create(
            session=session,
            channel=Channel.SMS,
            destination="+14155550134",
            name="Ann",
            status=status,
            sent_at=now - timedelta(minutes=1),
            expires_at=now + (timedelta(minutes=29) if valid else -timedelta(seconds=1)),
        )

    return make


def loaded(invitee):
    """The row as the pages and the API load it: with its session, credential and sender."""
    return Invitee.objects.select_related("session__credential", "session__created_by").get(
        pk=invitee.pk
    )


def lookups():
    return [c for c in responses.calls if c.request.url == LOOKUP]


def refresh(invitee):
    row = loaded(invitee)
    services.presence_refresh(invitees=[row])
    return row


def age_last_check(invitee, seconds):
    Invitee.objects.filter(pk=invitee.pk).update(
        presence_checked_at=timezone.now() - timedelta(seconds=seconds)
    )


# --- The claim: at most one lookup per invitation per interval --------------------------------


@responses.activate
def test_one_lookup_per_interval_however_often_it_is_read(make_invitee):
    responses.post(LOOKUP, body=NOT_STARTED, content_type=XML)
    invitee = make_invitee()
    refresh(invitee)
    refresh(invitee)
    refresh(invitee)
    assert len(lookups()) == 1
    age_last_check(invitee, 4)
    refresh(invitee)
    assert len(lookups()) == 1
    age_last_check(invitee, 5.01)
    refresh(invitee)
    assert len(lookups()) == 2
    fields = parse_qs(lookups()[0].request.body)
    assert fields["ssnkey"] == ["123456"]
    # Asked as the agent who sent the invitation.
    assert fields["partneruserid"] == ["ann-77"] and fields["partnerid"] == ["72"]
    assert Invitee.objects.get(pk=invitee.pk).status == S.SENT


@responses.activate
def test_the_interval_is_a_setting(make_invitee, settings):
    settings.GLANCE_LOOKUP_INTERVAL_SECONDS = 60
    responses.post(LOOKUP, body=NOT_STARTED, content_type=XML)
    invitee = make_invitee()
    refresh(invitee)
    age_last_check(invitee, 30)
    refresh(invitee)
    assert len(lookups()) == 1


@responses.activate
def test_two_readers_at_the_same_moment_ask_once(make_invitee):
    """Two processes holding the same due row: the conditional UPDATE lets one of them ask."""
    responses.post(LOOKUP, body=NOT_STARTED, content_type=XML)
    invitee = make_invitee()
    first, second = loaded(invitee), loaded(invitee)
    services.presence_refresh(invitees=[first])
    services.presence_refresh(invitees=[second])  # its copy still says "never asked"
    assert len(lookups()) == 1


@pytest.mark.parametrize(
    "case",
    ["joined", "left", "queued", "failed", "expired", "ended", "no session key", "other provider"],
)
@responses.activate
def test_who_is_never_asked_about(case, make_invitee, portal_credential, settings):
    settings.UPSTREAM_CLIENTS = {
        **settings.UPSTREAM_CLIENTS,
        "glance": {"CLASS": "invitations.providers.glance.GlanceClient"},
    }
    responses.post(LOOKUP, body=STARTED, content_type=XML)
    invitee = {
        "joined": lambda: make_invitee(S.JOINED),
        "left": lambda: make_invitee(S.LEFT),
        "queued": lambda: make_invitee(S.QUEUED),
        "failed": lambda: make_invitee(S.FAILED),
        "expired": lambda: make_invitee(valid=False),
        "ended": lambda: make_invitee(ended=True),
        "no session key": lambda: make_invitee(session_key=""),
        "other provider": lambda: make_invitee(cred=portal_credential),
    }[case]()
    before = Invitee.objects.values_list("status", "presence_checked_at").get(pk=invitee.pk)
    refresh(invitee)
    assert lookups() == []
    after = Invitee.objects.values_list("status", "presence_checked_at").get(pk=invitee.pk)
    assert after == before and after[1] is None


@pytest.mark.parametrize("status", [S.SENT, S.DELIVERED])
@responses.activate
def test_a_join_found_is_recorded(make_invitee, status):
    responses.post(LOOKUP, body=STARTED, content_type=XML)
    invitee = make_invitee(status)
    before = timezone.now()
    row = refresh(invitee)
    # The row the read shows is up to date, and so is the database.
    assert row.status == S.JOINED and row.joined_at >= before
    assert Invitee.objects.get(pk=invitee.pk).status == S.JOINED
    age_last_check(invitee, 60)
    refresh(invitee)
    assert len(lookups()) == 1  # found: never asked again


@responses.activate
def test_a_failed_lookup_changes_nothing_and_is_logged_without_the_key(make_invitee, caplog):
    responses.post(LOOKUP, status=403, body="Authentication failed", content_type="text/plain")
    invitee = make_invitee()
    with caplog.at_level(logging.WARNING):
        refresh(invitee)
    assert len(lookups()) == 2  # a refused key is replaced once
    assert Invitee.objects.get(pk=invitee.pk).status == S.SENT
    assert "presence lookup for invitee" in caplog.text and "403" in caplog.text
    for call in lookups():
        assert parse_qs(call.request.body)["loginkey"][0] not in caplog.text
    assert "test-api-key-7f3a9c1e5b" not in caplog.text  # the credential's API key


@responses.activate
def test_a_slow_provider_holds_a_read_no_longer_than_the_timeout(make_invitee, settings):
    settings.GLANCE_LOOKUP_TIMEOUT_SECONDS = 0.3

    def slow(_request):
        time.sleep(1.5)
        return (200, {"Content-Type": XML}, STARTED)

    responses.add_callback(responses.POST, LOOKUP, callback=slow)
    invitee = make_invitee()
    started = time.monotonic()
    row = refresh(invitee)
    assert time.monotonic() - started < 1.0
    assert row.status == S.SENT  # the late answer is dropped; a later read asks again
    time.sleep(1.5)  # let the pool thread finish before `responses` is switched off


# --- With a broker: the worker asks, reads do not ---------------------------------------------


@pytest.fixture
def broker(settings, monkeypatch):
    """A broker is configured: record the lookup tasks queued instead of running them."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    queued = []
    monkeypatch.setattr(
        tasks.poll_invitee_presence,
        "apply_async",
        lambda args, countdown: queued.append((args, countdown)),
    )
    return queued


@responses.activate
def test_a_sent_invitee_gets_its_first_round_an_interval_later(
    agent, credential, broker, django_capture_on_commit_callbacks
):
    responses.post(INVITE, json={"sessionKey": "654321", "invitationText": "Join https://g.x/j"})
    session = Session.objects.create(credential=credential, created_by=agent, session_type=1)
    invitee = Invitee.objects.create(
        session=session, channel=Channel.SMS, destination="+14155550134"
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.invitee_deliver(invitee_id=invitee.pk)
    assert Invitee.objects.get(pk=invitee.pk).status == S.SENT
    assert broker == [((invitee.pk, None), 5.0)]
    assert lookups() == []


def test_without_a_broker_nothing_is_queued(make_invitee, monkeypatch, settings):
    assert settings.CELERY_TASK_ALWAYS_EAGER
    queued = []
    monkeypatch.setattr(
        tasks.poll_invitee_presence, "apply_async", lambda *a, **k: queued.append(a)
    )
    services.presence_watch(invitee=make_invitee())
    assert queued == []


def test_providers_that_cannot_be_asked_get_no_task(make_invitee, portal_credential, broker):
    services.presence_watch(invitee=make_invitee(cred=portal_credential))
    assert broker == []


def run_round(invitee, last_checked, captured):
    with captured(execute=True):
        tasks.poll_invitee_presence(invitee.pk, last_checked)


@responses.activate
def test_each_round_asks_once_and_queues_the_next(
    make_invitee, broker, django_capture_on_commit_callbacks
):
    responses.post(LOOKUP, body=NOT_STARTED, content_type=XML)
    invitee = make_invitee()
    run_round(invitee, None, django_capture_on_commit_callbacks)
    checked = Invitee.objects.get(pk=invitee.pk).presence_checked_at
    assert checked is not None
    assert len(lookups()) == 1
    assert broker == [((invitee.pk, checked.isoformat()), 5.0)]

    # A duplicate of the first round (it expected no claim yet) stops without asking.
    run_round(invitee, None, django_capture_on_commit_callbacks)
    assert len(lookups()) == 1 and len(broker) == 1

    # The next round fired early: it waits the rest of the interval, without asking.
    run_round(invitee, checked.isoformat(), django_capture_on_commit_callbacks)
    assert len(lookups()) == 1
    (args, countdown) = broker[-1]
    assert args == (invitee.pk, checked.isoformat()) and 0 < countdown <= 5

    age_last_check(invitee, 5)
    aged = Invitee.objects.get(pk=invitee.pk).presence_checked_at
    assert aged is not None
    responses.replace(responses.POST, LOOKUP, body=STARTED, content_type=XML)
    run_round(invitee, aged.isoformat(), django_capture_on_commit_callbacks)
    assert len(lookups()) == 2
    assert Invitee.objects.get(pk=invitee.pk).status == S.JOINED
    assert len(broker) == 2  # found: the chain ends


@pytest.mark.parametrize("case", ["expired", "ended", "resent"])
@responses.activate
def test_the_chain_ends_when_there_is_nothing_to_wait_for(
    case, make_invitee, broker, django_capture_on_commit_callbacks
):
    responses.post(LOOKUP, body=STARTED, content_type=XML)
    invitee = make_invitee(valid=case != "expired", ended=case == "ended")
    if case == "resent":
        Invitee.objects.filter(pk=invitee.pk).update(status=S.QUEUED)
    run_round(invitee, None, django_capture_on_commit_callbacks)
    assert lookups() == [] and broker == []


@responses.activate
def test_a_failed_round_still_queues_the_next(
    make_invitee, broker, django_capture_on_commit_callbacks
):
    responses.post(LOOKUP, status=503)
    invitee = make_invitee()
    run_round(invitee, None, django_capture_on_commit_callbacks)
    assert len(lookups()) == 1 and len(broker) == 1
    assert Invitee.objects.get(pk=invitee.pk).status == S.SENT


@responses.activate
def test_with_a_broker_reads_do_not_ask(make_invitee, broker, agent_client):
    responses.post(LOOKUP, body=STARTED, content_type=XML)
    invitee = make_invitee()
    assert agent_client.get(invitee.session.get_absolute_url()).status_code == 200
    assert lookups() == []


# --- Without a broker: reading the session is enough -----------------------------------------


def joined_at_text(invitee):
    joined_at = Invitee.objects.get(pk=invitee.pk).joined_at
    return f"Joined {timezone.localtime(joined_at):%H:%M}"


@responses.activate
def test_the_live_rows_show_joined_and_offer_no_resend(make_invitee, agent_client):
    responses.post(LOOKUP, body=NOT_STARTED, content_type=XML)
    invitee = make_invitee()
    rows = reverse("invitations:session-invitees", args=[invitee.session_id])
    page = agent_client.get(invitee.session.get_absolute_url()).content.decode()
    resend = reverse("invitations:invitee-resend", args=[invitee.pk])
    assert "status-sent" in page and resend in page
    assert 'hx-trigger="every 500ms"' in page  # the rows keep polling while it may still join

    responses.replace(responses.POST, LOOKUP, body=STARTED, content_type=XML)
    age_last_check(invitee, 5)
    answer = agent_client.get(rows).content.decode()
    assert "status-joined" in answer and joined_at_text(invitee) in answer
    assert resend not in answer
    assert len(lookups()) == 2


@responses.activate
def test_the_session_page_asks_and_survives_a_failing_provider(make_invitee, agent_client):
    responses.post(LOOKUP, status=500, body="boom", content_type="text/plain")
    invitee = make_invitee()
    response = agent_client.get(invitee.session.get_absolute_url())
    assert response.status_code == 200 and len(lookups()) == 1
    assert "status-sent" in response.content.decode()


@responses.activate
@pytest.mark.parametrize("read", ["detail", "list"])
def test_reading_the_session_through_the_api_is_enough_to_see_joined(
    read, make_invitee, agent, client
):
    responses.post(LOOKUP, body=STARTED, content_type=XML)
    invitee = make_invitee()
    other = make_invitee(session_key="999999")  # on the list too: asked about as well
    _token, raw = tokens.api_token_create(user=agent, name="crm", actor=None)
    url = f"/api/v1/sessions/{invitee.session_id}/" if read == "detail" else "/api/v1/sessions/"
    answer = client.get(url, headers={"Authorization": f"Bearer {raw}"}).json()
    sessions = [answer] if read == "detail" else answer["results"]
    shown = {s["session_key"]: s["invitees"][0] for s in sessions}
    assert shown["123456"]["status"] == "joined"
    assert shown["123456"]["can_resend"] is False
    asked = sorted(parse_qs(c.request.body)["ssnkey"][0] for c in lookups())
    assert asked == (["123456", "999999"] if read == "list" else ["123456"])
    assert Invitee.objects.get(pk=other.pk).status == (S.JOINED if read == "list" else S.SENT)
