"""What staff can do from the admin beyond editing: resend, test connections, export, and the
audit trail of their credential changes."""

import csv
import io

import pytest
from django.contrib.messages import constants
from django.urls import reverse

from invitations import services
from invitations.models import (
    AuditEvent,
    DeliveryAttempt,
    DeliveryStatus,
    Invitee,
    PartnerCredential,
    Session,
)
from invitations.providers.base import UpstreamAuthError

pytestmark = pytest.mark.django_db

CREDENTIAL_FORM = {
    "provider": "glance",
    "label": "acme",
    "base_url": "https://www.glance.net",
    "group_id": "72",
    "auth_type": "gkey",
    "auth_header": "authorization",
    "session_params": "",
    "link_delivery": "portal",
    "session_type": "1",
    "is_active": "on",
    "secret": "",
}


def changelist(model):
    return reverse(f"admin:invitations_{model}_changelist")


def run_action(client, model, action, objects, **extra):
    return client.post(
        changelist(model),
        {"action": action, "_selected_action": [o.pk for o in objects]},
        **extra,
    )


def shown_messages(response):
    return [(m.level, str(m)) for m in response.context["messages"]]


def audit(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


@pytest.fixture
def sent(agent, locmem_upstream, django_capture_on_commit_callbacks):
    """Three invitations: two finished (sent, failed), one still queued."""
    with django_capture_on_commit_callbacks(execute=True):
        first = services.invitation_create(agent=agent, destination="(415) 555-0134", name="Ann")
        second = services.invitation_create(agent=agent, destination="(415) 555-0135")
    Invitee.objects.filter(pk=second.pk).update(status=DeliveryStatus.FAILED)
    third = services.invitation_create(
        agent=agent, destination="(415) 555-0136", ticket_reference="=HYPERLINK(1)"
    )
    return [first, second, third]


def test_resend_queues_finished_invitations_and_refuses_the_rest(
    admin_client, admin_user, sent, locmem_upstream, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client, "invitee", "resend", sent, follow=True)
    assert shown_messages(response) == [
        (
            constants.WARNING,
            "2 invitations queued to be sent again. 1 refused: This invitation is queued; "
            "wait for it to finish before resending.",
        )
    ]
    assert [r.destination for r in locmem_upstream.outbox] == [
        "+14155550134",
        "+14155550135",
        "+14155550134",
        "+14155550135",
    ]
    events = audit(AuditEvent.Action.INVITEE_RESENT)
    assert [(e.actor, e.target) for e in events] == [
        (admin_user, f"invitee #{sent[0].pk}"),
        (admin_user, f"invitee #{sent[1].pk}"),
    ]


def test_resend_refuses_invitations_whose_personal_data_was_purged(
    admin_client, sent, locmem_upstream
):
    Invitee.objects.filter(pk=sent[0].pk).update(destination="purged", name="")
    response = run_action(admin_client, "invitee", "resend", sent[:1], follow=True)
    assert shown_messages(response) == [
        (
            constants.WARNING,
            "0 invitations queued to be sent again. 1 refused: Its personal data was purged, "
            "so it cannot be sent again.",
        )
    ]
    assert Invitee.objects.get(pk=sent[0].pk).status == DeliveryStatus.SENT


def test_test_connection_reports_each_credential(
    admin_client, admin_user, make_credential, locmem_upstream
):
    bad, good = make_credential(label="a-bad"), make_credential(label="b-good")
    locmem_upstream.pending_errors.append(
        UpstreamAuthError("Glance did not accept the credential 'a-bad'.", provider="glance")
    )
    response = run_action(
        admin_client, "partnercredential", "test_connection", [bad, good], follow=True
    )
    assert shown_messages(response) == [
        (constants.ERROR, "a-bad: Glance did not accept the credential 'a-bad'."),
        (constants.SUCCESS, "b-good: Glance accepted the credential."),
    ]
    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.last_checked_at is None and good.last_checked_at is not None
    events = audit(AuditEvent.Action.CREDENTIAL_CHECKED)
    assert [(e.actor, e.target, e.details) for e in events] == [
        (admin_user, "credential a-bad", "Glance did not accept the credential 'a-bad'."),
        (admin_user, "credential b-good", "ok"),
    ]


def export(client, model, objects):
    response = run_action(client, model, "export_csv", objects)
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    return response, list(csv.DictReader(io.StringIO(body))), body


def test_invitee_export_masks_destinations_and_holds_no_secret(admin_client, sent, credential):
    response, rows, body = export(admin_client, "invitee", sent)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="invitees-')
    assert response["Content-Disposition"].endswith('.csv"')
    assert [(r["destination"], r["status"], r["agent"], r["credential"]) for r in rows] == [
        ("••• ••• 0134", "sent", "ann", "test-glance"),
        ("••• ••• 0135", "failed", "ann", "test-glance"),
        ("••• ••• 0136", "queued", "ann", "test-glance"),
    ]
    assert rows[0]["session_key"] == Session.objects.get(invitees=sent[0]).session_key != ""
    for leak in ("+1415", "Ann", "locmem.invalid", credential.reveal_secret()):
        assert leak not in body


def test_session_export_lists_invitees_masked_and_defuses_formulas(admin_client, sent):
    sessions = Session.objects.order_by("pk")
    _, rows, body = export(admin_client, "session", sessions)
    assert [(r["destinations"], r["statuses"], r["invitees"]) for r in rows] == [
        ("••• ••• 0134", "sent", "1"),
        ("••• ••• 0135", "failed", "1"),
        ("••• ••• 0136", "queued", "1"),
    ]
    # A ticket typed as a formula must not run when the file is opened in a spreadsheet.
    assert rows[2]["ticket_reference"] == "'=HYPERLINK(1)"
    assert "+1415" not in body and "join" not in body


def test_adding_a_credential_is_audited_without_the_secret(admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:invitations_partnercredential_add"),
        {**CREDENTIAL_FORM, "secret": "first-secret-value"},
    )
    assert response.status_code == 302
    [event] = AuditEvent.objects.all()
    assert (event.actor, event.action, event.target, event.details) == (
        admin_user,
        AuditEvent.Action.CREDENTIAL_CREATED,
        "credential acme",
        "glance credential, secret set",
    )


def test_changing_a_credential_records_field_names_and_a_new_secret(admin_client, admin_user):
    admin_client.post(
        reverse("admin:invitations_partnercredential_add"), {**CREDENTIAL_FORM, "secret": "one"}
    )
    credential = PartnerCredential.objects.get(label="acme")
    url = reverse("admin:invitations_partnercredential_change", args=[credential.pk])

    # A new base URL needs the secret again (refused here, nothing recorded).
    admin_client.post(url, {**CREDENTIAL_FORM, "session_type": "2"})
    admin_client.post(url, {**CREDENTIAL_FORM, "session_type": "2"})
    admin_client.post(url, {**CREDENTIAL_FORM, "base_url": "https://eu.glance.net"})
    admin_client.post(
        url,
        {
            **CREDENTIAL_FORM,
            "base_url": "https://eu.glance.net",
            "session_type": "3",
            "secret": "two-secret",
        },
    )

    events = [(e.actor, e.action, e.details) for e in AuditEvent.objects.order_by("id")[1:]]
    assert events == [
        (admin_user, AuditEvent.Action.CREDENTIAL_CHANGED, "changed: session_type"),
        (
            admin_user,
            AuditEvent.Action.CREDENTIAL_CHANGED,
            "changed: base_url, session_type; secret replaced",
        ),
        (admin_user, AuditEvent.Action.SECRET_CHANGED, ""),
    ]
    assert not AuditEvent.objects.filter(details__contains="two-secret").exists()
    credential.refresh_from_db()
    assert credential.reveal_secret() == "two-secret"


def test_audit_events_are_listed_and_cannot_be_edited(admin_client, admin_user):
    event = services.audit_record(
        actor=admin_user, action=AuditEvent.Action.SECRETS_REENCRYPTED, details="2 secrets"
    )
    services.audit_record(actor=None, action=AuditEvent.Action.BULK_INVITE, target="list.csv")
    url = changelist("auditevent")
    html = admin_client.get(url, {"action__exact": "bulk_invite"}).content.decode()
    assert "list.csv" in html and "2 secrets" not in html
    assert "list.csv" in admin_client.get(url, {"q": "list"}).content.decode()
    assert admin_client.get(reverse("admin:invitations_auditevent_add")).status_code == 403
    change = reverse("admin:invitations_auditevent_change", args=[event.pk])
    assert admin_client.get(change).status_code == 200  # view only
    admin_client.post(change, {"details": "rewritten"})
    delete = reverse("admin:invitations_auditevent_delete", args=[event.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.details == "2 secrets"


def test_delivery_attempts_show_masked_destination_session_and_agent(admin_client, sent):
    DeliveryAttempt.objects.exclude(invitee=sent[0]).delete()
    html = admin_client.get(changelist("deliveryattempt")).content.decode()
    session = Session.objects.get(invitees=sent[0])
    assert "••• ••• 0134" in html and session.session_key in html and ">ann<" in html
    assert "+14155550134" not in html


def test_purged_invitees_show_as_purged(admin_client, sent):
    Invitee.objects.filter(pk=sent[0].pk).update(destination="purged")
    assert Invitee.objects.get(pk=sent[0].pk).masked_destination == "(purged)"
    html = admin_client.get(changelist("deliveryattempt")).content.decode()
    assert "(purged)" in html


def test_invitees_filter_by_provider_and_agent(admin_client, sent, make_agent, credential):
    other = make_agent(username="bob", puid="bob-1", credential=credential)
    services.invitation_create(agent=other, destination="(415) 555-0199")
    url = changelist("invitee")
    by_bob = admin_client.get(url, {"session__created_by__id__exact": other.pk}).content.decode()
    assert "+14155550199" in by_bob and "+14155550134" not in by_bob
    glance = admin_client.get(url, {"session__credential__provider__exact": "glance"})
    assert "+14155550199" in glance.content.decode()
    onsync = admin_client.get(url, {"session__credential__provider__exact": "onsync"})
    assert "+14155550199" not in onsync.content.decode()
    sessions = admin_client.get(
        changelist("session"), {"created_by__id__exact": other.pk}
    ).content.decode()
    assert "1 session" in sessions
