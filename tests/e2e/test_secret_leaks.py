"""The partner API key and the login keys made from it appear nowhere a person or a log sees."""

import io
import logging
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from invitations.models import AuditEvent, DeliveryAttempt, Invitee, PartnerCredential, Session
from invitations.providers.glance import GlanceClient

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CANARY = "LEAK-CANARY-9b1f4e7d2c"
LOGIN_KEY_SHAPE = re.compile(r"\$1\$\d+\$")


def test_api_key_and_login_keys_never_leak(
    settings,
    live_server,
    sandbox_url,
    make_credential,
    make_agent,
    admin_client,
    caplog,
    monkeypatch,
):
    settings.SANDBOX_GLANCE_API_KEY = CANARY
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)

    login_keys: list[str] = []
    original = GlanceClient._login_key

    def recording(self, partner_user_id):
        key = original(self, partner_user_id)
        login_keys.append(key)
        return key

    monkeypatch.setattr(GlanceClient, "_login_key", recording)

    good = make_credential(label="good", base_url=sandbox_url, api_key=CANARY)
    bad = make_credential(label="bad", base_url=sandbox_url, api_key=CANARY + "-wrong")
    agent = make_agent(username="ann", credential=good, password="pw-for-ann-123")
    make_agent(username="bob", credential=bad)

    seen: list[str] = []

    def command(*args):
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command(*args, stdout=out, stderr=err)
        except Exception as error:  # the message is output too
            seen.append(str(error))
        seen.extend([out.getvalue(), err.getvalue()])

    command("send_invitation", "--agent=ann", "--sms=(415) 555-0134")
    command("send_invitation", "--agent=bob", "--sms=(415) 555-0135")
    command("seed_demo")
    command("check_credentials")
    command("rotate_encryption_key")
    monkeypatch.setenv("NEW_KEY", CANARY)
    command(
        "add_credential",
        "glance",
        "--label=good",
        f"--base-url={sandbox_url}",
        "--group-id=72",
        "--api-key-env=NEW_KEY",
    )

    client = admin_client
    pages = [reverse("invitations:home"), "/sandbox/outbox/", "/sandbox/outbox/?format=json"]
    pages += [s.get_absolute_url() for s in Session.objects.all()]
    for model in (
        "partnercredential",
        "agentprofile",
        "session",
        "invitee",
        "deliveryattempt",
        "auditevent",
    ):
        pages.append(reverse(f"admin:invitations_{model}_changelist"))
    for credential in PartnerCredential.objects.all():
        pages.append(reverse("admin:invitations_partnercredential_change", args=[credential.pk]))
    for invitee in Invitee.objects.all():
        pages.append(reverse("admin:invitations_invitee_change", args=[invitee.pk]))
    client.force_login(agent)
    seen.extend(client.get(page).content.decode() for page in pages[:1])
    client.force_login(make_agent(username="root", password="x-root-pw-1"))
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username="root").update(is_staff=True, is_superuser=True)
    seen.extend(client.get(page).content.decode() for page in pages)
    for model, ids in (("session", Session.objects.all()), ("invitee", Invitee.objects.all())):
        export = client.post(
            reverse(f"admin:invitations_{model}_changelist"),
            {"action": "export_csv", "_selected_action": [str(o.pk) for o in ids]},
        )
        assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
        seen.append(b"".join(export.streaming_content).decode())
    seen.extend(AuditEvent.objects.values_list("details", flat=True))

    seen.extend(Invitee.objects.values_list("last_error", flat=True))
    seen.extend(DeliveryAttempt.objects.values_list("error", flat=True))
    seen.extend(record.getMessage() for record in caplog.records)
    seen.append(caplog.text)

    # The flow really ran: one sent, one refused, and keys were generated for each call.
    assert Invitee.objects.filter(status="sent").count() == 1
    assert Invitee.objects.filter(status="failed").count() == 1
    # Two invitations (smsInvite), then check_credentials for the five Glance credentials (the
    # Authorization Service): this test's good and bad ones, and seed_demo's GKEY, GJWT and
    # GSSNID ones; and one session lookup (LookupPartnerSession2) when the sent invitation's
    # session page is read.
    assert len(login_keys) == 8

    everything = "\n".join(seen)
    assert CANARY not in everything
    for key in login_keys:
        assert key.split("$")[-1] not in everything
    assert not LOGIN_KEY_SHAPE.search(everything)
