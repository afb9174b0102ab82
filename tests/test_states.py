"""The delivery state machine (invitations/states.py): every group against an explicit table,
every allowed transition walked through the code that makes it, a disallowed one refused, and
the copies that used to drift (the session page, the API, the service, `send_invitation`)
asking the one rule."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from invitations import services, states
from invitations.errors import NotAllowed
from invitations.models import (
    PURGED_DESTINATIONS,
    Channel,
    DeliveryAttempt,
    DeliveryReceipt,
    Invitee,
    Session,
)
from invitations.providers import base
from invitations.services import delivery, receipts, tokens
from invitations.states import DeliveryStatus, Outcome

S = DeliveryStatus
NUMBER = "+14155550134"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# The groups each state belongs to, and what the dashboard counts it as. A new state or a new
# group fails the tests below until it is written here.
EXPECTED: dict[DeliveryStatus, tuple[set[str], Outcome]] = {
    S.QUEUED: ({"IN_FLIGHT"}, Outcome.PENDING),
    S.SENDING: ({"IN_FLIGHT"}, Outcome.PENDING),
    S.SENT: (
        {
            "FINAL",
            "RESENDABLE",
            "SUCCESSFUL",
            "AWAITING_RECEIPT",
            "RECEIPT_APPLICABLE",
            "PRESENCE_APPLICABLE",
        },
        Outcome.SENT,
    ),
    S.DELIVERED: (
        {
            "FINAL",
            "RESENDABLE",
            "SUCCESSFUL",
            "RECEIPT_OUTCOMES",
            "RECEIPT_APPLICABLE",
            "PRESENCE_APPLICABLE",
            "DELIVERY_CONFIRMED",
        },
        Outcome.SENT,
    ),
    S.BOUNCED: (
        {"FINAL", "RESENDABLE", "UNSUCCESSFUL", "RECEIPT_OUTCOMES", "RECEIPT_APPLICABLE"},
        Outcome.FAILED,
    ),
    S.FAILED: (
        {"FINAL", "RESENDABLE", "UNSUCCESSFUL", "RECEIPT_OUTCOMES", "RECEIPT_APPLICABLE"},
        Outcome.FAILED,
    ),
    S.NEEDS_ATTENTION: ({"FINAL", "RESENDABLE", "UNSUCCESSFUL"}, Outcome.NEEDS_ATTENTION),
    S.JOINED: (
        {"FINAL", "SUCCESSFUL", "PRESENT_ONCE", "PRESENCE_APPLICABLE", "DELIVERY_CONFIRMED"},
        Outcome.SENT,
    ),
    S.LEFT: (
        {"FINAL", "SUCCESSFUL", "PRESENT_ONCE", "PRESENCE_APPLICABLE", "DELIVERY_CONFIRMED"},
        Outcome.SENT,
    ),
}
EXPECTED_TRANSITIONS = {
    (S.QUEUED, S.SENDING),
    (S.QUEUED, S.QUEUED),
    (S.SENDING, S.SENT),
    (S.SENDING, S.FAILED),
    (S.SENDING, S.NEEDS_ATTENTION),
    (S.SENDING, S.QUEUED),
    *((final, S.QUEUED) for final in (S.SENT, S.DELIVERED, S.BOUNCED, S.FAILED)),
    (S.NEEDS_ATTENTION, S.QUEUED),
    *(
        (current, settled)
        for current in (S.SENT, S.DELIVERED, S.BOUNCED, S.FAILED)
        for settled in (S.DELIVERED, S.BOUNCED, S.FAILED)
    ),
    *((current, present) for current in (S.SENT, S.DELIVERED) for present in (S.JOINED, S.LEFT)),
    (S.JOINED, S.LEFT),
    (S.LEFT, S.JOINED),
}
ALL_TRANSITIONS = sorted(
    (current, new) for current, targets in states.TRANSITIONS.items() for new in targets
)


def groups() -> dict[str, frozenset[str]]:
    """Every group states.py declares (each module-level frozenset)."""
    return {name: value for name, value in vars(states).items() if isinstance(value, frozenset)}


# --- The declarations ------------------------------------------------------------------------


def test_every_state_is_in_the_table_the_transitions_and_the_outcomes():
    """Adding a state is a one-place change, and these say where that place is incomplete."""
    assert set(EXPECTED) == set(DeliveryStatus)
    assert set(states.TRANSITIONS) == set(DeliveryStatus)
    assert set(states.OUTCOME) == set(DeliveryStatus)
    assert all(targets <= set(DeliveryStatus) for targets in states.TRANSITIONS.values())


def test_each_state_is_in_exactly_its_groups():
    declared = groups()
    assert set(declared) == set().union(*(names for names, _outcome in EXPECTED.values()))
    for status, (names, _outcome) in EXPECTED.items():
        assert {name for name, members in declared.items() if status in members} == names, status


def test_each_state_counts_as_its_outcome_on_the_dashboard():
    assert {status: states.OUTCOME[status] for status in EXPECTED} == {
        status: outcome for status, (_names, outcome) in EXPECTED.items()
    }
    # Pending is exactly in flight, and success exactly what the dashboard counts as sent.
    assert {s for s, o in states.OUTCOME.items() if o == Outcome.PENDING} == states.IN_FLIGHT
    assert {s for s, o in states.OUTCOME.items() if o == Outcome.SENT} == states.SUCCESSFUL


def test_the_transitions_are_the_expected_ones_and_agree_with_the_groups():
    assert set(ALL_TRANSITIONS) == EXPECTED_TRANSITIONS
    assert all(states.allowed(current, S.QUEUED) for current in states.RESENDABLE)
    for current in states.RECEIPT_APPLICABLE:
        assert all(states.allowed(current, settled) for settled in states.RECEIPT_OUTCOMES)
    # Every state can be reached from the first one.
    reached, frontier = {S.QUEUED}, [S.QUEUED]
    while frontier:
        for new in states.TRANSITIONS[frontier.pop()] - reached:
            reached.add(new)
            frontier.append(new)
    assert reached == set(DeliveryStatus)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.QUEUED, S.SENT),  # never without the claim
        (S.QUEUED, S.DELIVERED),
        (S.SENDING, S.DELIVERED),  # a receipt waits until the delivery is recorded
        (S.NEEDS_ATTENTION, S.DELIVERED),  # nothing known went out for a receipt to settle
        (S.SENT, S.SENDING),
        (S.DELIVERED, S.NEEDS_ATTENTION),
        (S.JOINED, S.DELIVERED),  # a late receipt is kept, not applied
        (S.LEFT, S.BOUNCED),
        (S.JOINED, S.QUEUED),  # never resent once the customer joined
        (S.BOUNCED, S.JOINED),  # presence only after a message that went out
        (S.NEEDS_ATTENTION, S.JOINED),
        ("opened", S.QUEUED),  # not a state
        (S.SENT, "opened"),
    ],
)
def test_a_disallowed_transition_is_refused(current, new):
    assert not states.allowed(current, new)


# --- Every transition, made by the code that makes it -----------------------------------------


@pytest.fixture
def make_invitee(agent, credential, locmem_upstream):
    def make(status, **fields):
        session = Session.objects.create(credential=credential, created_by=agent, session_type=1)
        invitee = Invitee.objects.create(
            session=session, channel=Channel.SMS, destination=NUMBER, status=status, **fields
        )
        DeliveryAttempt.objects.create(invitee=invitee, provider_message_id="m_1")
        return invitee

    return make


@pytest.fixture
def seen_while_sending(monkeypatch):
    """The invitee's stored status at the moment the provider is called."""
    seen: list[str] = []
    send = delivery._send

    def spy(invitee, *rest):
        seen.append(Invitee.objects.get(pk=invitee.pk).status)
        return send(invitee, *rest)

    monkeypatch.setattr(delivery, "_send", spy)
    return seen


def _deliver(invitee, locmem_upstream, settings, new):
    """queued -> sending -> `new`: the provider answers as the outcome needs."""
    errors = {
        S.SENT: None,
        S.FAILED: base.UpstreamRejected("no such agent", provider="x", status_code=400),
        S.NEEDS_ATTENTION: base.UpstreamTimeout("no answer", provider="x"),
        S.QUEUED: base.UpstreamUnavailable("busy", provider="x", status_code=503),
    }
    if (error := errors[new]) is not None:
        locmem_upstream.pending_errors.append(error)
    settings.DELIVERY_AUTO_RETRY = new == S.QUEUED
    settings.DELIVERY_MAX_ATTEMPTS = 4
    services.invitee_deliver(invitee_id=invitee.pk)


def _receipt(invitee, new):
    receipts.receipt_record(
        source=DeliveryReceipt.Source.SMS_GATEWAY,
        event_id=f"evt-{invitee.pk}",
        message_id="m_1",
        status=new,
        occurred_at=T0 + timedelta(minutes=1),
    )


@pytest.mark.parametrize(("current", "new"), ALL_TRANSITIONS)
def test_every_allowed_transition_is_made_by_the_code(
    current, new, make_invitee, agent, locmem_upstream, settings, seen_while_sending
):
    # Failed by a receipt carries its time; failed while sending has none (no receipt applies).
    invitee = make_invitee(
        S.QUEUED if current == S.SENDING else current,
        provider_message_id="m_1",
        receipt_at=T0 if current in states.RECEIPT_OUTCOMES else None,
    )
    if current == S.SENDING or (current, new) == (S.QUEUED, S.SENDING):
        _deliver(invitee, locmem_upstream, settings, new if current == S.SENDING else S.SENT)
        assert seen_while_sending == [S.SENDING]
        if current == S.QUEUED:
            return  # the claim: the provider was called with the invitee sending
    elif (current, new) == (S.QUEUED, S.QUEUED):
        Invitee.objects.filter(pk=invitee.pk).update(updated_at=T0)
        assert services.invitees_requeue_stuck(older_than=timedelta(minutes=5))["requeued"] == 1
    elif current in states.RESENDABLE and new == S.QUEUED:
        services.invitee_resend(invitee=invitee, actor=agent)
    elif current in states.RECEIPT_APPLICABLE and new in states.RECEIPT_OUTCOMES:
        _receipt(invitee, new)
    elif current in states.PRESENCE_APPLICABLE and new in states.PRESENT_ONCE:
        at = T0 + timedelta(minutes=2)
        if current == S.LEFT:
            Invitee.objects.filter(pk=invitee.pk).update(left_at=T0)
        if current == S.JOINED:
            Invitee.objects.filter(pk=invitee.pk).update(joined_at=T0)
        assert services.invitee_record_presence(invitee=invitee, event=new, at=at)
    else:
        pytest.fail(f"No scenario here makes {current} -> {new}: add the code path's test.")
    invitee.refresh_from_db()
    assert invitee.status == new


def test_an_interrupted_delivery_needs_attention(make_invitee):
    """sending -> needs_attention also by the reaper, for a worker that died mid-call."""
    invitee = make_invitee(S.SENDING)
    Invitee.objects.filter(pk=invitee.pk).update(updated_at=T0)
    assert services.invitees_requeue_stuck(older_than=timedelta(minutes=5))["interrupted"] == 1
    invitee.refresh_from_db()
    assert invitee.status == S.NEEDS_ATTENTION
    assert states.allowed(S.SENDING, invitee.status)


def test_the_code_refuses_what_the_table_refuses(make_invitee, agent, locmem_upstream):
    needs_attention = make_invitee(S.NEEDS_ATTENTION, provider_message_id="m_1")
    _receipt(needs_attention, S.DELIVERED)
    queued = make_invitee(S.QUEUED)
    with pytest.raises(NotAllowed):
        services.invitee_resend(invitee=queued, actor=agent)
    sent = make_invitee(S.SENT)
    services.invitee_deliver(invitee_id=sent.pk)
    assert [i.status for i in Invitee.objects.order_by("pk")] == [
        S.NEEDS_ATTENTION,
        S.QUEUED,
        S.SENT,
    ]
    assert not locmem_upstream.outbox


# --- The copies that drifted -----------------------------------------------------------------


def _situation(invitee, situation):
    if situation == "purged":
        Invitee.objects.filter(pk=invitee.pk).update(destination=PURGED_DESTINATIONS[Channel.SMS])
    elif situation == "ended":
        Session.objects.filter(pk=invitee.session_id).update(ended_at=timezone.now())
    invitee.refresh_from_db()


@pytest.mark.parametrize("situation", ["as it is", "purged", "ended"])
@pytest.mark.parametrize("status", list(DeliveryStatus))
def test_page_api_and_service_agree_on_resend(
    status, situation, make_invitee, agent, agent_client, client
):
    """One rule: the session page offers Resend exactly when the API says can_resend and the
    service accepts it. (The page offered it for purged invitees, which the service refused.)"""
    invitee = make_invitee(status)
    _situation(invitee, situation)
    expected = status in states.RESENDABLE and situation == "as it is"

    page = agent_client.get(reverse("invitations:session-detail", args=[invitee.session_id]))
    offered = reverse("invitations:invitee-resend", args=[invitee.pk]) in page.content.decode()
    token = tokens.api_token_create(user=agent, name="crm", actor=None)[1]
    answer = client.get(
        f"/api/v1/invitees/{invitee.pk}/", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        services.invitee_resend(invitee=invitee, actor=agent)
        accepted = True
    except NotAllowed:
        accepted = False

    assert (offered, answer.json()["can_resend"], accepted) == (expected, expected, expected)


@pytest.mark.parametrize(
    ("settled", "outcome"),
    [
        (S.DELIVERED, "status: delivered"),
        (S.BOUNCED, "Bounced: The carrier reported the SMS undelivered"),
    ],
)
def test_send_invitation_wait_takes_a_receipt_that_came_first_as_final(
    settled, outcome, agent, locmem_upstream, monkeypatch, capsys
):
    """A fast receipt settles the invitation before `--wait` first looks: delivered is success,
    bounced a failure with its reason; neither is "still" anything."""
    create = services.invitation_create

    def create_then_settle(**kwargs):
        invitee = create(**kwargs)
        Invitee.objects.filter(pk=invitee.pk).update(
            status=settled,
            last_error=receipts.failure_text(Channel.SMS, settled, ""),
        )
        return invitee

    monkeypatch.setattr(services, "invitation_create", create_then_settle)
    args = ["send_invitation", f"--agent={agent.username}", f"--sms={NUMBER}", "--wait"]
    if settled in states.SUCCESSFUL:
        call_command(*args, "--timeout=1")
        assert outcome in capsys.readouterr().out
    else:
        with pytest.raises(CommandError, match=f"^{outcome}"):
            call_command(*args, "--timeout=1")
