"""A credential's stored secret goes only where it was entered for: a new base URL or group id
needs the secret again in the same save (admin, command and service alike), and the audit
event names both the fields changed and the new secret."""

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from invitations import services
from invitations.errors import InvalidInput
from invitations.models import AuditEvent, PartnerCredential

pytestmark = pytest.mark.django_db

REFUSED = "Enter the secret again to change the"


@pytest.fixture
def staff_client(db) -> Client:
    """A staff user who may only view and change credentials: no superuser, no other rights."""
    user = get_user_model().objects.create_user("ops", password="ops-password-123")
    user.is_staff = True
    user.save()
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["change_partnercredential", "view_partnercredential"]
        )
    )
    client = Client()
    client.force_login(user)
    return client


def admin_form(credential: PartnerCredential, **changes: str) -> dict[str, str]:
    """The credential's change form as stored, with `changes`; the secret left blank."""
    form = {
        "provider": credential.provider,
        "label": credential.label,
        "base_url": credential.base_url,
        "group_id": "" if credential.group_id is None else str(credential.group_id),
        "account": credential.account,
        "auth_type": credential.auth_type,
        "auth_header": credential.auth_header,
        "session_params": json.dumps(credential.session_params)
        if credential.session_params
        else "",
        "link_delivery": credential.link_delivery,
        "session_type": str(credential.session_type),
        "is_active": "on",
        "secret": "",
    }
    return {**form, **changes}


def change_url(credential: PartnerCredential) -> str:
    return reverse("admin:invitations_partnercredential_change", args=[credential.pk])


def stored(credential: PartnerCredential) -> tuple[str, int | None, str]:
    fresh = PartnerCredential.objects.get(pk=credential.pk)
    return fresh.base_url, fresh.group_id, fresh.reveal_secret()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"base_url": "https://attacker.example"}, "base URL"),
        ({"group_id": "99"}, "group id"),
        ({"base_url": "https://attacker.example", "group_id": "99"}, "base URL and group id"),
    ],
)
def test_admin_refuses_a_new_base_url_or_group_id_without_the_secret(
    staff_client, credential, change, named
):
    before = stored(credential)
    response = staff_client.post(change_url(credential), admin_form(credential, **change))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"{REFUSED} {named}:" in html
    assert stored(credential) == before
    assert not AuditEvent.objects.filter(actor_name="ops").exists()


def test_an_onsync_account_changes_only_with_its_password(staff_client):
    credential, _ = services.credential_upsert(
        label="acme-onsync",
        provider="onsync",
        base_url="https://onsync.invalid/api/1",
        account="acme",
        api_key="acme-password-1",
    )
    response = staff_client.post(change_url(credential), admin_form(credential, account="other"))
    assert response.status_code == 200
    assert f"{REFUSED} account:" in response.content.decode()
    credential.refresh_from_db()
    assert (credential.account, credential.reveal_secret()) == ("acme", "acme-password-1")

    response = staff_client.post(
        change_url(credential),
        admin_form(credential, account="other", secret="other-password-2"),
    )
    assert response.status_code == 302
    credential.refresh_from_db()
    assert (credential.account, credential.reveal_secret()) == ("other", "other-password-2")


def test_admin_saves_a_new_base_url_with_the_secret_and_the_audit_names_both(
    staff_client, credential
):
    response = staff_client.post(
        change_url(credential),
        admin_form(credential, base_url="https://eu.glance.net", secret="eu-api-key-1"),
    )
    assert response.status_code == 302
    assert stored(credential) == ("https://eu.glance.net", 72, "eu-api-key-1")
    events = AuditEvent.objects.filter(actor_name="ops").order_by("id")
    assert list(events.values_list("actor_name", "action", "details")) == [
        ("ops", "credential_changed", "changed: base_url; secret replaced"),
        ("ops", "secret_changed", ""),
    ]


def test_admin_keeps_the_secret_for_other_changes(staff_client, credential):
    response = staff_client.post(change_url(credential), admin_form(credential, session_type="4"))
    assert response.status_code == 302
    assert stored(credential) == ("https://glance.invalid", 72, credential.reveal_secret())
    assert PartnerCredential.objects.get(pk=credential.pk).session_type == 4


class _Recorder(BaseHTTPRequestHandler):
    """A host somebody else controls: records every request it gets."""

    seen: list[str] = []

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        self.seen.append(f"{self.command} {self.path}\n{self.headers}\n{body}")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_DELETE = _record

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def other_host():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.seen
    server.shutdown()
    server.server_close()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_test_connection_after_a_refused_change_goes_to_the_old_base_url(
    staff_client, make_onsync_credential, other_host, settings
):
    from sandbox.models import SandboxRequest

    credential = make_onsync_credential(label="acme-onsync")
    sandbox_base_url = credential.base_url
    elsewhere, seen_elsewhere = other_host

    response = staff_client.post(change_url(credential), admin_form(credential, base_url=elsewhere))
    assert f"{REFUSED} base URL:" in response.content.decode()

    response = staff_client.post(
        reverse("admin:invitations_partnercredential_changelist"),
        {"action": "test_connection", "_selected_action": [str(credential.pk)]},
        follow=True,
    )
    assert "OnSync accepted the credential." in response.content.decode()
    assert stored(credential)[0] == sandbox_base_url
    assert SandboxRequest.objects.filter(target="onsync").count() == 1
    assert seen_elsewhere == []
    assert settings.SANDBOX_ONSYNC_PASSWORD not in "".join(seen_elsewhere)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_add_credential_needs_the_key_again_for_a_new_base_url(credential, monkeypatch):
    before = stored(credential)
    args = ["add_credential", "glance", f"--label={credential.label}", "--group-id=72"]
    with pytest.raises(CommandError, match=f"{REFUSED} base URL:"):
        run(*args, "--base-url=https://attacker.example")
    assert stored(credential) == before
    assert not AuditEvent.objects.filter(action="credential_changed").exists()

    monkeypatch.setenv("NEW_KEY", "eu-api-key-2")
    out = run(*args, "--base-url=https://eu.glance.net", "--api-key-env=NEW_KEY")
    assert out == f"credential {credential.label} updated (secret set)\n"
    assert stored(credential) == ("https://eu.glance.net", 72, "eu-api-key-2")
    changed = AuditEvent.objects.get(action="credential_changed")
    assert (changed.actor_name, changed.details) == (
        "command",
        "changed: base_url; secret replaced",
    )


def test_credential_upsert_needs_the_key_again_for_a_new_group_id(credential):
    before = stored(credential)
    with pytest.raises(InvalidInput, match=f"{REFUSED} group id:"):
        services.credential_upsert(
            label=credential.label, provider="glance", base_url=credential.base_url, group_id=99
        )
    assert stored(credential) == before

    services.credential_upsert(
        label=credential.label,
        provider="glance",
        base_url=credential.base_url,
        group_id=99,
        api_key="group-99-key",
    )
    assert stored(credential) == ("https://glance.invalid", 99, "group-99-key")
    changed = AuditEvent.objects.filter(action="credential_changed").get()
    assert changed.details == "changed: group_id; secret replaced"
