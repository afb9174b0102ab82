"""Purging old personal data and erasing one person leave no trace of them anywhere in the
database: every table is read back after the fact and searched for their number in every
usual format, their address and their name."""

import io
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from invitations import services
from invitations.models import (
    AuditEvent,
    DeliveryAttempt,
    DeliveryReceipt,
    DeliveryStatus,
    Invitee,
    Session,
)
from invitations.security.redaction import destination_hash
from invitations.services import receipts

pytestmark = pytest.mark.django_db

NUMBER = "+447911123456"
# How people and systems write that number.
NUMBER_FORMS = [
    "+447911123456",
    "447911123456",
    "00447911123456",
    "+44 7911 123456",
    "+44 (0)7911 123456",
    "+44-7911-123-456",
    "07911 123456",
    "07911123456",
    "7911123456",
    "7911 123 456",
    "%2B447911123456",
]
ADDRESS = "Zoe.Q@example.com"
NAME = "Zoe Quartermaine"
OTHER_NUMBER = "+14155550134"
OTHER_NAME = "Bob Smith"


def invite(agent, destination, name, *, ticket, capture):
    with capture(execute=True):
        invitee = services.invitation_create(
            agent=agent, destination=destination, name=name, ticket_reference=ticket
        )
    invitee.refresh_from_db()
    return invitee


@pytest.fixture
def people(make_agent, portal_credential, django_capture_on_commit_callbacks):
    """Zoe, invited by SMS and by e-mail (messages written and sent by the portal), with a
    failed earlier attempt, a delivery receipt, and mentions in other texts; Bob, invited too,
    whose texts mention Zoe's number."""
    agent = make_agent(credential=portal_credential)
    capture = django_capture_on_commit_callbacks
    sms = invite(agent, "+44 7911 123456", NAME, ticket=f"{NAME} billing", capture=capture)
    email = invite(agent, ADDRESS, NAME, ticket="T-77", capture=capture)
    bob = invite(agent, OTHER_NUMBER, OTHER_NAME, ticket="T-78", capture=capture)
    assert NAME in sms.message_text and sms.personal_link and sms.provider_message_id
    assert (sms.status, email.status, bob.status) == ("sent", "sent", "sent")

    DeliveryAttempt.objects.create(
        invitee=sms,
        outcome="failed",
        http_status=400,
        error="Gateway refused 447911123456 (+44 (0)7911 123456, 07911123456).",
    )
    receipts.receipt_record(
        source=DeliveryReceipt.Source.SMS_GATEWAY,
        event_id="ev-1",
        message_id=sms.provider_message_id,
        status="failed",
        occurred_at=timezone.now(),
        detail="Handset +44 7911 123456 unreachable",
    )
    receipts.receipt_record(
        source=DeliveryReceipt.Source.EMAIL,
        event_id="ev-2",
        message_id=email.provider_message_id,
        status="bounced",
        occurred_at=timezone.now(),
        detail="550 5.1.1 <zoe.q@example.com>: Recipient address rejected",
    )
    Invitee.objects.filter(pk=bob.pk).update(
        last_error="Bob asked us to call 07911 123 456 instead."
    )
    DeliveryAttempt.objects.create(
        invitee=bob, outcome="failed", error="Wrong number? customer said 7911-123-456"
    )
    services.audit_record(
        actor=None,
        action=AuditEvent.Action.BULK_INVITE,
        target="retry-%2B447911123456.csv",
        details=f"retried {NAME} on 0044 7911 123456 and ZOE.Q@EXAMPLE.COM",
    )
    return sms, email, bob


def database_text():
    """Everything the database holds: `dumpdata`, and every row of every table as read by SQL."""
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    rows: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            rows.extend(repr(row) for row in cursor.fetchall())
    return dump.getvalue() + "\n" + "\n".join(rows)


def traces_of_zoe(text):
    found = [form for form in NUMBER_FORMS if form in text]
    if "7911123456" in re.sub(r"[-. ()/+]", "", text):
        found.append("the digits 7911123456 with separators")
    found += [f for f in (ADDRESS.lower(), "zoe.q%40example.com") if f in text.lower()]
    return found + ([NAME] if NAME.lower() in text.lower() else [])


def test_zoe_is_in_the_database_before(people):
    assert {"+447911123456", "447911123456", "07911123456", "7911123456", NAME} <= set(
        traces_of_zoe(database_text())
    )
    assert ADDRESS.lower() in traces_of_zoe(database_text())


def statistics():
    return {
        i.pk: (i.status, i.channel, i.attempts, i.sent_at, i.created_at)
        for i in Invitee.objects.all()
    }


# --- Purge ---------------------------------------------------------------------------------


def test_purge_leaves_no_trace_of_the_people_purged_and_keeps_the_statistics(
    people, django_capture_on_commit_callbacks
):
    zoe_sms, _zoe_email, _bob = people
    Session.objects.update(created_at=timezone.now() - timedelta(days=40))
    carl = invite(
        zoe_sms.session.created_by,
        "+14155550199",
        "Carl Jones",
        ticket="T-79",
        capture=django_capture_on_commit_callbacks,
    )
    before = statistics()

    out = io.StringIO()
    call_command("purge_personal_data", "--older-than=30", stdout=out)

    assert out.getvalue().startswith("3 invitees purged")
    text = database_text()
    assert traces_of_zoe(text) == []
    assert OTHER_NAME not in text and "4155550134" not in text
    assert statistics() == before
    assert list(DeliveryReceipt.objects.order_by("id").values_list("status", flat=True)) == [
        "failed",
        "bounced",
    ]
    carl.refresh_from_db()
    assert (carl.destination, carl.name, carl.session.ticket_reference) == (
        "+14155550199",
        "Carl Jones",
        "T-79",
    )
    assert "Carl Jones" in carl.message_text


# --- Erasure -------------------------------------------------------------------------------


def test_erasure_leaves_no_trace_of_the_person_whatever_the_age_and_says_what_it_erased(people):
    _zoe_sms, _zoe_email, bob = people
    before = statistics()

    out = io.StringIO()
    call_command("erase_personal_data", "--destination", "+44 (0)7911 123456", stdout=out)
    call_command("erase_personal_data", "--destination", "ZOE.Q@example.COM", stdout=out)

    assert out.getvalue().splitlines() == [
        "invitations blanked: 1",
        "their delivery attempts blanked: 2",
        "their delivery receipts blanked: 1",
        "ticket references cleared: 1",
        "other invitations mentioning them scrubbed: 1",
        "other delivery attempts mentioning them scrubbed: 1",
        "other delivery receipts mentioning them scrubbed: 0",
        "other sessions mentioning them scrubbed: 0",
        "audit events mentioning them scrubbed: 1",
        "invitations blanked: 1",
        "their delivery attempts blanked: 1",
        "their delivery receipts blanked: 1",
        "ticket references cleared: 1",
        "other invitations mentioning them scrubbed: 0",
        "other delivery attempts mentioning them scrubbed: 0",
        "other delivery receipts mentioning them scrubbed: 0",
        "other sessions mentioning them scrubbed: 0",
        "audit events mentioning them scrubbed: 1",
    ]
    assert traces_of_zoe(database_text()) == []
    assert statistics() == before
    bob.refresh_from_db()
    assert (bob.destination, bob.name, bob.session.ticket_reference) == (
        OTHER_NUMBER,
        OTHER_NAME,
        "T-78",
    )
    assert bob.last_error == "Bob asked us to call [erased] instead."
    assert OTHER_NAME in bob.message_text
    erasures = AuditEvent.objects.filter(action=AuditEvent.Action.PERSONAL_DATA_ERASED)
    assert sorted(e.target for e in erasures) == sorted(
        [
            f"destination #{destination_hash(NUMBER)}",
            f"destination #{destination_hash(ADDRESS.lower())}",
        ]
    )


def test_erasure_waits_for_a_delivery_under_way(people):
    zoe_sms, _email, _bob = people
    Invitee.objects.filter(pk=zoe_sms.pk).update(status=DeliveryStatus.SENDING)
    with pytest.raises(CommandError, match="still being delivered"):
        call_command("erase_personal_data", "--destination", NUMBER, stdout=io.StringIO())
    assert Invitee.objects.get(pk=zoe_sms.pk).destination == NUMBER


def test_erasure_refuses_what_is_neither_a_number_nor_an_address(db):
    with pytest.raises(CommandError, match="not a phone number"):
        call_command("erase_personal_data", "--destination", "Zoe", stdout=io.StringIO())


def test_the_admin_action_erases_the_person_after_asking(admin_client, people):
    zoe_sms, _email, bob = people
    changelist = reverse("admin:invitations_invitee_changelist")
    form = {"action": "erase_person", "_selected_action": [zoe_sms.pk]}

    asked = admin_client.post(changelist, form)
    assert asked.status_code == 200
    assert "This cannot be undone." in asked.content.decode()
    assert Invitee.objects.get(pk=zoe_sms.pk).destination == NUMBER

    done = admin_client.post(changelist, {**form, "post": "yes"}, follow=True)
    assert "Erased: ••• ••• 3456 (invitations blanked: 1;" in done.content.decode()
    zoe_sms.refresh_from_db()
    assert (zoe_sms.destination, zoe_sms.name, zoe_sms.message_text) == ("purged", "", "")
    bob.refresh_from_db()
    assert bob.last_error == "Bob asked us to call [erased] instead."
    [event] = AuditEvent.objects.filter(action=AuditEvent.Action.PERSONAL_DATA_ERASED)
    assert (event.actor_name, event.target) == ("admin", f"destination #{destination_hash(NUMBER)}")
