"""Operator commands, run as `manage.py` would run them."""

import io
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from invitations.models import AgentProfile, DeliveryStatus, Invitee, PartnerCredential, Session
from sandbox.models import OutboxMessage

pytestmark = pytest.mark.django_db


def run(*args, **options):
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def test_seed_demo_is_idempotent_and_prints_logins(monkeypatch, settings):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    first = run("seed_demo")
    assert "credential demo-glance: http://127.0.0.1:8000/sandbox/glance" in first
    passwords = dict(
        (line.split()[1], line.split()[3])
        for line in first.splitlines()
        if line.startswith("login")
    )
    assert set(passwords) == {"admin", "agent", "supervisor"}
    second = run("seed_demo")
    assert "unchanged" in second
    users = get_user_model().objects
    assert users.count() == 3
    supervisor = users.get(username="supervisor")
    assert supervisor.check_password(passwords["supervisor"])
    assert supervisor.groups.filter(name="Supervisors").exists()
    assert supervisor.agent_profile.team == users.get(username="agent").agent_profile.team
    assert users.get(username="agent").check_password(passwords["agent"])
    assert users.get(username="admin").is_superuser
    credential = PartnerCredential.objects.get(label="demo-glance")
    assert credential.reveal_secret() == settings.SANDBOX_GLANCE_API_KEY
    onsync = {c.label: c for c in PartnerCredential.objects.filter(provider="onsync")}
    assert onsync["demo-onsync"].link_delivery == "provider"
    assert onsync["demo-onsync-portal"].link_delivery == "portal"
    for made in onsync.values():
        assert made.base_url == "http://127.0.0.1:8000/sandbox/onsync/api/1"
        assert made.account == settings.SANDBOX_ONSYNC_ACCOUNT
        assert made.auth_type == "basic"
        assert made.reveal_secret() == settings.SANDBOX_ONSYNC_PASSWORD
    minted = {c.label: c.auth_type for c in PartnerCredential.objects.filter(provider="glance")}
    assert minted == {
        "demo-glance": "gkey",
        "demo-glance-gjwt": "gjwt",
        "demo-glance-gssnid": "gssnid",
    }
    assert PartnerCredential.objects.count() == 6
    assert AgentProfile.objects.get(user__username="agent").default_credential == credential


def test_the_demo_agent_keeps_its_username_and_has_a_display_name(db):
    from invitations.models import name_for_customers

    run("seed_demo")
    agent = get_user_model().objects.get(username="agent")
    assert name_for_customers(agent) == "Maria"


def test_seed_demo_takes_the_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "a-demo-password-42")
    run("seed_demo")
    run("seed_demo")
    assert get_user_model().objects.get(username="agent").check_password("a-demo-password-42")


def test_add_credential_reads_the_key_from_an_environment_variable(monkeypatch):
    monkeypatch.setenv("ACME_KEY", "acme-api-key-123")
    out = run(
        "add_credential",
        "glance",
        "--label=acme",
        "--base-url=https://www.glance.net",
        "--group-id=72",
        "--api-key-env=ACME_KEY",
    )
    assert out == "credential acme created (secret set)\n"
    assert "acme-api-key-123" not in out
    assert PartnerCredential.objects.get(label="acme").reveal_secret() == "acme-api-key-123"


def test_add_credential_updates_and_reads_stdin(credential, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("rotated-key-456\n"))
    out = run(
        "add_credential",
        "glance",
        f"--label={credential.label}",
        "--base-url=https://eu.glance.net",
        "--group-id=5",
        "--api-key-stdin",
    )
    assert "updated" in out
    credential.refresh_from_db()
    assert credential.reveal_secret() == "rotated-key-456"
    assert credential.group_id == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--api-key-env=NOT_SET_ANYWHERE"], "NOT_SET_ANYWHERE is not set"),
        ([], "needs an API key or token"),
    ],
)
def test_add_credential_errors_are_clear(args, message):
    with pytest.raises(CommandError, match=message):
        run(
            "add_credential", "glance", "--label=x", "--base-url=https://a.b", "--group-id=1", *args
        )


def test_create_agent_with_password_from_environment(credential, monkeypatch):
    monkeypatch.setenv("AGENT_PW", "agent-password-xyz")
    out = run(
        "create_agent",
        "carol",
        "--puid=carol@acme",
        f"--credential={credential.label}",
        "--password-env=AGENT_PW",
    )
    assert out == "agent carol created\n"
    user = get_user_model().objects.get(username="carol")
    assert user.check_password("agent-password-xyz")
    assert (user.agent_profile.partner_user_id, user.agent_profile.default_credential) == (
        "carol@acme",
        credential,
    )
    again = run("create_agent", "carol", "--puid=carol-2")
    assert again == "agent carol updated\n"
    user.agent_profile.refresh_from_db()
    assert user.agent_profile.partner_user_id == "carol-2"
    assert user.agent_profile.default_credential == credential


def test_create_agent_names_the_agent_for_customers_never_by_username(db):
    from invitations.models import name_for_customers

    run("create_agent", "mhernandez", "--puid=m-1")
    user = get_user_model().objects.get(username="mhernandez")
    assert name_for_customers(user) == ""  # messages then say "your support agent"
    run("create_agent", "mhernandez", "--puid=m-1", "--first-name=María José")
    user.refresh_from_db()
    assert (user.first_name, name_for_customers(user)) == ("María José", "María José")
    run("create_agent", "mhernandez", "--puid=m-1", "--display-name=Maria")
    user.refresh_from_db()
    assert (user.first_name, name_for_customers(user)) == ("María José", "Maria")
    run("create_agent", "mhernandez", "--puid=m-2")  # left out: kept
    user.refresh_from_db()
    assert name_for_customers(user) == "Maria"


def test_create_agent_without_password_cannot_log_in(db):
    out = run("create_agent", "dan", "--puid=dan")
    assert "cannot log in" in out
    assert not get_user_model().objects.get(username="dan").has_usable_password()


def test_create_agent_with_unknown_credential_fails():
    with pytest.raises(CommandError, match="No credential labelled 'nope'"):
        run("create_agent", "eve", "--puid=eve", "--credential=nope")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_send_invitation_through_the_sandbox(make_agent, sandbox_credential):
    make_agent(username="ann", credential=sandbox_credential)
    out = run("send_invitation", "--agent=ann", "--sms=(415) 555-0134", "--name=Ann")
    session = Session.objects.get()
    # What the session page shows: Glance sent its own SMS, so there is no personal link.
    assert session.join_url.endswith(f"/sandbox/glance/join/{session.session_key}/")
    assert out == (
        f"session key: {session.session_key}\njoin link: {session.join_url}\nstatus: sent\n"
    )
    assert OutboxMessage.objects.get().session_key == session.session_key


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_send_invitation_rerun_with_the_same_key_sends_once(make_agent, sandbox_credential):
    make_agent(username="ann", credential=sandbox_credential)
    args = ("send_invitation", "--agent=ann", "--sms=+442079460958", "--idempotency-key=run-1")
    assert run(*args) == run(*args)
    assert OutboxMessage.objects.count() == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_send_invitation_delivery_failure_exits_non_zero(make_agent, make_credential, sandbox_url):
    bad = make_credential(label="bad", base_url=sandbox_url, api_key="wrong")
    make_agent(username="ann", credential=bad)
    with pytest.raises(CommandError, match=r"^Failed: Glance did not accept the credential 'bad'"):
        run("send_invitation", "--agent=ann", "--sms=(415) 555-0134")
    assert Invitee.objects.get().status == DeliveryStatus.FAILED


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_send_invitation_prints_the_link_the_portal_delivered(make_agent, digitalsamba_credential):
    make_agent(username="ann", credential=digitalsamba_credential)
    out = run("send_invitation", "--agent=ann", "--sms=(415) 555-0134")
    session = Session.objects.get()
    invitee = session.invitees.get()
    sent = OutboxMessage.objects.get()
    # A link into the private room with the customer's token, exactly as the SMS carried it.
    assert invitee.personal_link and invitee.personal_link in sent.body
    lines = out.splitlines()
    assert lines[0] == f"session key: {session.session_key}"
    assert f"personal link: {invitee.personal_link}" in lines
    assert lines[-1] == "status: sent"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_send_invitation_json_prints_the_whole_session(make_agent, digitalsamba_credential):
    make_agent(username="ann", credential=digitalsamba_credential)
    printed = json.loads(
        run("send_invitation", "--agent=ann", "--sms=(415) 555-0134", "--name=Ann", "--json")
    )
    session = Session.objects.get()
    invitee = session.invitees.get()
    assert printed["id"] == session.pk and printed["session_key"] == session.session_key
    assert printed["join_url"] == session.join_url
    assert (printed["credential"], printed["provider"]) == ("sandbox-ds", "digitalsamba")
    (person,) = printed["invitees"]
    assert person["status"] == "sent" and person["name"] == "Ann"
    assert person["personal_link"] == invitee.personal_link
    assert person["message_text"] == invitee.message_text
    assert person["masked_destination"] != invitee.destination


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_send_invitation_json_prints_a_failure_too_and_exits_non_zero(
    make_agent, make_credential, sandbox_url
):
    make_agent(username="ann", credential=make_credential(base_url=sandbox_url, api_key="wrong"))
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"^Failed: "):
        call_command("send_invitation", "--agent=ann", "--sms=(415) 555-0134", "--json", stdout=out)
    (person,) = json.loads(out.getvalue())["invitees"]
    assert person["status"] == "failed" and "did not accept" in person["last_error"]


def test_the_seeded_supervisor_logs_in_and_reaches_the_dashboard(client, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "a-demo-password-42")
    out = run("seed_demo")
    assert "login supervisor password a-demo-password-42" in out

    signed_in = client.post(
        "/accounts/login/",
        {"username": "supervisor", "password": "a-demo-password-42"},
        follow=True,
    )
    assert signed_in.wsgi_request.user.get_username() == "supervisor"
    home = signed_in.content.decode()
    dashboard = re.search(r'<a [^>]*href="([^"]+)"[^>]*>Dashboard</a>', home)
    assert dashboard, "no Dashboard link for the supervisor"
    page = client.get(dashboard[1])
    assert page.status_code == 200
    assert re.search(r"<h1[^>]*>Dashboard</h1>", page.content.decode())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--agent=nobody", "--sms=4155550134"], "No user 'nobody'"),
        (["--agent=ann", "--sms=12"], "'12' is not a valid phone number"),
        (["--agent=ann", "--sms=4155550134", "--credential=nope"], "No credential labelled"),
    ],
)
def test_send_invitation_bad_input_exits_non_zero_and_writes_nothing(agent, args, message):
    with pytest.raises(CommandError, match=message):
        run("send_invitation", *args)
    assert not Session.objects.exists()


def test_send_invitation_for_an_agent_without_puid(agent):
    agent.agent_profile.partner_user_id = ""
    agent.agent_profile.save()
    with pytest.raises(CommandError, match="has no partner user id"):
        run("send_invitation", "--agent=ann", "--sms=4155550134")


def test_command_errors_are_one_line_on_stderr_with_exit_status_1(manage):
    """A real process, as an operator's script sees it, on a database of its own."""
    for args in (["--agent=nobody-here", "--sms=+14155550134"], ["--agent=agent", "--sms=12"]):
        manage("seed_demo")
        result = manage("send_invitation", *args)
        assert result.returncode == 1
        assert result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("CommandError: ")


def test_credential_changes_from_commands_are_audited(monkeypatch):
    from invitations.models import AuditEvent

    monkeypatch.setenv("K", "first-key-123")
    args = [
        "add_credential",
        "glance",
        "--label=aud",
        "--base-url=https://glance.example",
        "--group-id=1",
    ]
    run(*args, "--api-key-env=K")
    run(*args)  # changes nothing, so records nothing (as a save in the admin that changes nothing)
    monkeypatch.setenv("K", "second-key-456")
    run(*args, "--api-key-env=K")
    events = list(AuditEvent.objects.order_by("id").values_list("actor_name", "action", "target"))
    assert events == [
        ("command", "credential_created", "credential aud"),
        ("command", "credential_changed", "credential aud"),
        ("command", "secret_changed", "credential aud"),
    ]
    assert not AuditEvent.objects.filter(details__contains="key-").exists()


def test_migrate_sets_up_the_cache_every_process_shares(manage):
    """The embedded default's cache is a database table that `migrate` (run by the fixture,
    on a fresh database) created: what one process keeps, another reads."""
    kept = manage("shell", "-c", "from django.core.cache import cache; cache.set('seen', 42)")
    assert kept.returncode == 0, kept.stderr
    read = manage(
        "shell", "-v0", "-c", "from django.core.cache import cache; print(cache.get('seen'))"
    )
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "42"


def test_seed_demo_adds_the_sandbox_digital_samba_team(settings):
    out = run("seed_demo")
    samba = PartnerCredential.objects.get(label="demo-digitalsamba")
    assert "credential demo-digitalsamba: http://127.0.0.1:8000/sandbox/digitalsamba/api/v1" in out
    assert samba.provider == "digitalsamba"
    assert samba.auth_type == "basic"
    assert samba.base_url == settings.SANDBOX_DIGITALSAMBA_BASE_URL
    assert samba.account == settings.SANDBOX_DIGITALSAMBA_TEAM_ID
    assert samba.reveal_secret() == settings.SANDBOX_DIGITALSAMBA_DEVELOPER_KEY
    assert samba.channels == ["sms", "email"] and samba.writes_messages


def test_add_credential_for_digital_samba_takes_the_team_id(monkeypatch):
    monkeypatch.setenv("DS_KEY", "ds-developer-key-77")
    out = run(
        "add_credential",
        "digitalsamba",
        "--label=acme-ds",
        "--base-url=https://api.digitalsamba.com/api/v1",
        "--team-id=5b7d1f0e-3c1a-4e8e-9a57-0d6c2b1f4a11",
        "--api-key-env=DS_KEY",
    )
    assert out == "credential acme-ds created (secret set)\n"
    samba = PartnerCredential.objects.get(label="acme-ds")
    assert samba.account == "5b7d1f0e-3c1a-4e8e-9a57-0d6c2b1f4a11"
    assert samba.auth_type == "basic"
    assert samba.reveal_secret() == "ds-developer-key-77"


def test_add_credential_for_digital_samba_needs_the_team_id(monkeypatch):
    monkeypatch.setenv("DS_KEY", "ds-developer-key-77")
    with pytest.raises(CommandError, match="need the Digital Samba team id"):
        run(
            "add_credential",
            "digitalsamba",
            "--label=acme-ds",
            "--base-url=https://api.digitalsamba.com/api/v1",
            "--api-key-env=DS_KEY",
        )


def test_seed_demo_on_another_port_moves_the_demo_credentials(settings):
    """A database seeded under `make run` is served again with `make run PORT=8123`."""
    run("seed_demo")
    origin = "http://127.0.0.1:8123"
    settings.SANDBOX_BASE_URL = f"{origin}/sandbox/glance"
    settings.SANDBOX_ONSYNC_BASE_URL = f"{origin}/sandbox/onsync/api/1"
    settings.SANDBOX_DIGITALSAMBA_BASE_URL = f"{origin}/sandbox/digitalsamba/api/v1"
    run("seed_demo")
    urls = set(PartnerCredential.objects.values_list("base_url", flat=True))
    assert urls == {
        settings.SANDBOX_BASE_URL,
        settings.SANDBOX_ONSYNC_BASE_URL,
        settings.SANDBOX_DIGITALSAMBA_BASE_URL,
    }
