"""The session list's search and filters (selectors.sessions_matching): a number however it is
typed, every key a session had, and the agent and date filters within what the user sees."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime

import pytest
from django.utils import timezone

from invitations import selectors
from invitations.models import DeliveryStatus, Invitee, Session, SessionKey

pytestmark = pytest.mark.django_db


def session(agent, *, ticket, destination="+14155550134", name="", key="", channel="sms"):
    found = Session.objects.create(
        credential=agent.agent_profile.default_credential,
        created_by=agent,
        session_type=1,
        ticket_reference=ticket,
        session_key=key,
    )
    if key:
        SessionKey.objects.create(session=found, key=key)
    Invitee.objects.create(
        session=found,
        name=name,
        channel=channel,
        destination=destination,
        status=DeliveryStatus.SENT,
    )
    return found


def tickets(user, **filters):
    return {s.ticket_reference for s in selectors.sessions_matching(user=user, **filters)}


@pytest.fixture
def numbers(people):
    ann = people["ann"]
    session(ann, ticket="T-us", destination="+14155550134", name="Ann Lee")
    session(ann, ticket="T-us-other", destination="+14155550199")
    session(ann, ticket="T-uk", destination="+447911123456")
    session(ann, ticket="T-mail", destination="bo@example.com", channel="email", name="Bo")
    return ann


@pytest.mark.parametrize(
    "typed",
    ["(415) 555-0134", "415-555-0134", "+1 415 555 0134", "4155550134", "+14155550134", "0134"],
)
def test_a_number_is_found_however_it_is_typed(numbers, typed):
    assert tickets(numbers, text=typed) == {"T-us"}


def test_part_of_a_number_finds_every_number_containing_its_digits(numbers):
    assert tickets(numbers, text="555-01") == {"T-us", "T-us-other"}
    assert tickets(numbers, text="+44 7911 123456") == {"T-uk"}
    assert tickets(numbers, text="7911 123") == {"T-uk"}
    # A whole number that nobody was invited at finds nothing, not its parts' neighbours.
    assert tickets(numbers, text="(415) 555-0177") == set()


def test_the_number_is_read_in_the_default_region(numbers, settings):
    settings.PHONE_DEFAULT_REGION = "GB"
    # National form with its trunk 0: only its E.164 form is in the stored number.
    assert tickets(numbers, text="07911 123456") == {"T-uk"}


def test_names_tickets_and_addresses_are_found_as_before(numbers):
    assert tickets(numbers, text="ann lee") == {"T-us"}
    assert tickets(numbers, text="t-UK") == {"T-uk"}
    assert tickets(numbers, text="BO@EXAMPLE") == {"T-mail"}
    assert tickets(numbers, text="nobody") == set()
    assert tickets(numbers, text="   ") == {"T-us", "T-us-other", "T-uk", "T-mail"}


def test_every_key_a_session_had_finds_it(people):
    ann = people["ann"]
    resent = session(ann, ticket="T-resent", key="223763")
    SessionKey.objects.create(session=resent, key="419015")  # the key before the resend
    session(ann, ticket="T-other", key="555111")
    assert tickets(ann, text="419015") == {"T-resent"}
    assert tickets(ann, text="223763") == {"T-resent"}
    # As the session page groups it for reading aloud.
    assert tickets(ann, text="419 015") == {"T-resent"}
    assert tickets(ann, text="9015") == {"T-resent"}


def test_a_key_only_on_the_session_is_found_too(people):
    """A session written without its SessionKey row (bulk loads, old data)."""
    ann = people["ann"]
    found = session(ann, ticket="T-bare")
    Session.objects.filter(pk=found.pk).update(session_key="ABC-778")
    assert tickets(ann, text="abc-778") == {"T-bare"}


def test_a_search_never_reaches_past_what_the_user_sees(people):
    session(people["ann"], ticket="T-ann", key="100200")
    session(people["cy"], ticket="T-cy", key="100200")
    assert tickets(people["ann"], text="100 200") == {"T-ann"}
    assert tickets(people["sue"], text="100200") == {"T-ann"}  # red's supervisor
    assert tickets(people["root"], text="100200") == {"T-ann", "T-cy"}


def test_the_agent_filter_narrows_within_what_the_user_sees(people):
    session(people["ann"], ticket="T-ann")
    session(people["sue"], ticket="T-sue")
    session(people["cy"], ticket="T-cy")
    assert tickets(people["sue"]) == {"T-ann", "T-sue"}
    assert tickets(people["sue"], agent_id=people["ann"].pk) == {"T-ann"}
    # Another team's agent: nothing, rather than their sessions.
    assert tickets(people["sue"], agent_id=people["cy"].pk) == set()
    # An agent sees only their own whatever they ask for.
    assert tickets(people["ann"], agent_id=people["sue"].pk) == set()
    assert tickets(people["root"], agent_id=people["cy"].pk) == {"T-cy"}


def test_the_date_filter_takes_whole_local_days(people):
    ann = people["ann"]
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    started = {
        # 23:30 UTC on 1 March is 00:30 on 2 March in Berlin.
        "T-late": datetime(2026, 3, 1, 23, 30, tzinfo=UTC),
        "T-2nd": datetime(2026, 3, 2, 12, 0, tzinfo=berlin),
        "T-3rd-last-minute": datetime(2026, 3, 3, 23, 59, tzinfo=berlin),
        "T-4th": datetime(2026, 3, 4, 0, 0, tzinfo=berlin),
    }
    for ticket, at in started.items():
        Session.objects.filter(pk=session(ann, ticket=ticket).pk).update(created_at=at)
    with timezone.override(berlin):
        assert tickets(ann, created_from=date(2026, 3, 2), created_to=date(2026, 3, 2)) == {
            "T-late",
            "T-2nd",
        }
        assert tickets(ann, created_from=date(2026, 3, 3)) == {"T-3rd-last-minute", "T-4th"}
        assert tickets(ann, created_to=date(2026, 3, 3)) == {
            "T-late",
            "T-2nd",
            "T-3rd-last-minute",
        }
    with timezone.override(UTC):
        assert tickets(ann, created_to=date(2026, 3, 1)) == {"T-late"}


def test_filters_combine(people):
    ann, sue = people["ann"], people["sue"]
    session(ann, ticket="T-ann", name="Lee")
    session(sue, ticket="T-sue", name="Lee")
    failed = session(ann, ticket="T-ann-failed", name="Lee")
    failed.invitees.update(status=DeliveryStatus.FAILED)
    assert tickets(sue, text="lee", agent_id=ann.pk) == {"T-ann", "T-ann-failed"}
    assert tickets(sue, text="lee", agent_id=ann.pk, status="failed") == {"T-ann-failed"}
    assert tickets(sue, text="lee", created_to=date(2000, 1, 1)) == set()


def test_search_terms():
    terms = selectors.search_terms(" (415) 555-0134 ")
    assert (terms.text, terms.digits, terms.number) == (
        "(415) 555-0134",
        "4155550134",
        "+14155550134",
    )
    terms = selectors.search_terms("555-01")
    assert (terms.digits, terms.number) == ("55501", "")
    assert selectors.search_terms("T-42") == selectors.SearchTerms("T-42")
    assert selectors.search_terms("ann@example.com").digits == ""
