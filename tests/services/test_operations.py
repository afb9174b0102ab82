"""The operator toolbox: credential checks, bulk invitations, purging personal data and
re-encrypting secrets, through the commands an operator runs and the services behind them."""

import base64
import csv
import io
import json
import re
from datetime import timedelta

import pytest
import responses
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from invitations import services
from invitations.channels.sms import locmem as sms_locmem
from invitations.models import (
    AuditEvent,
    DeliveryAttempt,
    DeliveryStatus,
    Invitee,
    PartnerCredential,
    Session,
)
from invitations.providers.base import (
    InvitationRequest,
    ProviderAccount,
    UpstreamAuthError,
    UpstreamConfigurationError,
    UpstreamRejected,
    UpstreamUnavailable,
)
from invitations.providers.glance import GlanceClient
from invitations.providers.onsync import OnSyncClient
from invitations.security import crypto
from invitations.services.bulk import BulkRow

pytestmark = pytest.mark.django_db

LOCMEM = {"CLASS": "invitations.providers.locmem.LocmemClient"}


def run(*args, **options):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


@pytest.fixture
def upstream(locmem_upstream, settings):
    """Both providers answered by the in-memory twin; portal-sent SMS kept in memory."""
    settings.UPSTREAM_CLIENTS = {"glance": LOCMEM, "onsync": LOCMEM}
    settings.SMS_BACKEND = "invitations.channels.sms.locmem.LocmemSmsBackend"
    sms_locmem.outbox.clear()
    yield locmem_upstream
    sms_locmem.outbox.clear()


def make_onsync(label="acme-onsync", link_delivery="portal"):
    credential, _ = services.credential_upsert(
        label=label,
        provider="onsync",
        base_url="https://onsync.invalid/api/1",
        account="acme",
        api_key="onsync-password-123",
        link_delivery=link_delivery,
    )
    return credential


def audit(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- Credential checks: the clients ------------------------------------------------------------

GLANCE_AUTHORIZE_URL = "https://glance.invalid/services/AuthorizationService.svc/rest/Authorize"
GLANCE_URL = "https://glance.invalid/api/SessionInvitation/smsInvite/"
ONSYNC_URL = "https://onsync.invalid/api/1/unit-account/session/id/0/format/json"


def glance_client(auth_type="gkey", **extra):
    account = ProviderAccount(
        label="unit",
        base_url="https://glance.invalid",
        group_id=72,
        auth_type=auth_type,
        secret="unit-glance-key",
        **{"unverified_address_form": auth_type == "gkey_address", **extra},
    )
    return GlanceClient(account=account)


def onsync_client():
    account = ProviderAccount(
        label="unit",
        base_url="https://onsync.invalid/api/1/",
        auth_type="basic",
        account="unit-account",
        secret="unit-onsync-password",
    )
    return OnSyncClient(account=account)


@responses.activate
def test_glance_check_asks_the_authorization_service_and_invites_nobody():
    responses.post(GLANCE_AUTHORIZE_URL, json={"authToken": "jwt", "gssnId": "1.2.3.72"})
    glance_client().check(agent_id="ann 1")
    (call,) = responses.calls
    assert str(call.request.url).startswith(
        f"{GLANCE_AUTHORIZE_URL}?groupid=72&service=webservices"
    )
    assert json.loads(call.request.body or "")["partneruserid"] == "ann 1"


@responses.activate
def test_glance_address_form_check_sends_an_empty_body_and_takes_400_as_accepted():
    responses.post(GLANCE_URL, status=400, json={"error": "sessiontype is required"})
    glance_client("gkey_address").check(agent_id="ann.glance.net")
    sent = responses.calls[0].request
    assert sent.url == f"{GLANCE_URL}?groupid=72"
    assert sent.body == b"{}"
    assert sent.headers["Authorization"].startswith("Bearer GKEY ann.glance.net~$1$")


@responses.activate
def test_glance_address_form_speaks_as_the_credentials_address_when_it_has_one():
    responses.post(GLANCE_URL, status=400, json={"error": "sessiontype is required"})
    glance_client("gkey_address", glance_address=" joe.glance.net ").check(agent_id="ann-77")
    sent = responses.calls[0].request
    assert sent.headers["Authorization"].startswith("Bearer GKEY joe.glance.net~$1$")


@responses.activate
def test_glance_address_form_sends_nothing_unless_it_is_allowed():
    client = glance_client("gkey_address", unverified_address_form=False)
    with pytest.raises(UpstreamConfigurationError, match=r"unverified.*Nothing was sent"):
        client.check(agent_id="ann.glance.net")
    with pytest.raises(UpstreamConfigurationError, match="Unverified address form"):
        client.send_invitation(
            InvitationRequest(
                channel="sms", destination="+442079460958", agent_id="ann", session_type=1
            )
        )
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("status", "error_type", "words"),
    [
        (401, UpstreamAuthError, "did not accept the credential 'unit' (401: bad key)"),
        # 403 is Glance's other word for a refused credential.
        (403, UpstreamAuthError, "did not accept the credential 'unit' (403: bad key)"),
        (404, UpstreamRejected, "base URL"),
        (503, UpstreamUnavailable, "unavailable (503)"),
    ],
)
@responses.activate
def test_glance_check_maps_refusals_like_any_call(status, error_type, words):
    responses.post(GLANCE_AUTHORIZE_URL, status=status, json={"error": "bad key"})
    with pytest.raises(error_type, match=words.replace("(", r"\(").replace(")", r"\)")):
        glance_client().check(agent_id="ann")


@responses.activate
def test_onsync_check_reads_a_session_that_cannot_exist():
    responses.get(ONSYNC_URL, status=404, json={"status": False, "error": "Session not found"})
    onsync_client().check(agent_id="")
    sent = responses.calls[0].request
    basic = base64.b64encode(b"unit-account:unit-onsync-password").decode()
    assert (sent.method, sent.headers["Authorization"]) == ("GET", f"Basic {basic}")


@responses.activate
def test_onsync_check_refused_token_and_wrong_base_url_fail():
    responses.get(ONSYNC_URL, status=401, json={"status": False, "error": "Unauthorized"})
    with pytest.raises(UpstreamAuthError, match="did not accept the credential 'unit'"):
        onsync_client().check(agent_id="")
    # A 404 page that is not OnSync's JSON error: something else lives at the base URL.
    responses.replace(responses.GET, ONSYNC_URL, status=404, body="<h1>Not Found</h1>")
    with pytest.raises(UpstreamRejected, match="base URL"):
        onsync_client().check(agent_id="")


# --- Credential checks: the service and the command ---------------------------------------------


def test_check_speaks_for_an_agent_of_the_credential_and_records_it(upstream, agent, credential):
    result = services.credential_check(credential=credential, actor=None)
    assert result == services.CheckResult(ok=True, message="Glance accepted the credential.")
    assert upstream.checks == [("test-glance", "ann-77")]
    assert upstream.outbox == []
    credential.refresh_from_db()
    assert credential.last_checked_at is not None
    [event] = audit(AuditEvent.Action.CREDENTIAL_CHECKED)
    assert (event.actor_name, event.target, event.details) == (
        "command",
        "credential test-glance",
        "ok",
    )


def test_check_without_agents_uses_a_placeholder_puid(upstream, credential):
    assert services.credential_check(credential=credential, actor=None).ok
    assert upstream.checks == [("test-glance", services.CHECK_AGENT_ID)]


def test_a_refused_check_reports_the_redacted_reason(upstream, credential):
    upstream.pending_errors.append(
        UpstreamAuthError(
            "Glance did not accept the credential 'test-glance' (401: bad Bearer GKEY 72&a&$1$9$x)",
            provider="glance",
            status_code=401,
        )
    )
    result = services.credential_check(credential=credential, actor=None)
    assert not result.ok
    assert result.message.startswith("Glance did not accept the credential 'test-glance'")
    assert "$1$9$x" not in result.message
    credential.refresh_from_db()
    assert credential.last_checked_at is None
    [event] = audit(AuditEvent.Action.CREDENTIAL_CHECKED)
    assert event.details == result.message


def test_configuration_problems_become_a_failed_check(upstream, credential, settings):
    PartnerCredential.objects.filter(pk=credential.pk).update(secret_ciphertext="")
    credential.refresh_from_db()
    assert services.credential_check(credential=credential, actor=None) == (
        services.CheckResult(ok=False, message="locmem needs a secret and an agent id.")
    )
    credential.set_secret("key")
    credential.save()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    result = services.credential_check(credential=credential, actor=None)
    assert not result.ok and "cannot be decrypted" in result.message
    settings.UPSTREAM_CLIENTS = {}
    result = services.credential_check(credential=credential, actor=None)
    assert not result.ok and "UPSTREAM_CLIENTS has no entry" in result.message


def test_check_credentials_prints_one_line_per_active_credential(upstream, make_credential):
    make_credential(label="a-bad")
    make_credential(label="b-good")
    make_credential(label="c-off", is_active=False)
    # Credentials are checked in label order; the twin refuses the first check.
    upstream.pending_errors.append(
        UpstreamAuthError("Glance did not accept the credential 'a-bad'.", provider="glance")
    )
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 credentials failed the check"):
        call_command("check_credentials", stdout=out)
    assert out.getvalue().splitlines() == [
        "a-bad: FAILED Glance did not accept the credential 'a-bad'.",
        "b-good: OK",
    ]
    assert [label for label, _ in upstream.checks] == ["b-good"]


def test_check_credentials_with_a_label_checks_only_that_one_even_if_disabled(
    upstream, make_credential
):
    make_credential(label="a-good")
    make_credential(label="c-off", is_active=False)
    assert run("check_credentials", "--label=c-off") == "c-off: OK\n"
    assert upstream.checks == [("c-off", services.CHECK_AGENT_ID)]
    with pytest.raises(CommandError, match="No credential labelled 'nope'"):
        run("check_credentials", "--label=nope")


def test_check_credentials_checks_onsync_credentials_too(upstream):
    make_onsync()
    assert run("check_credentials") == "acme-onsync: OK\n"


# --- Bulk invitations --------------------------------------------------------------------------


def write_csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def read_results(path):
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


@pytest.mark.django_db(transaction=True)
def test_bulk_invite_sends_each_row_once_even_when_run_again(upstream, agent, tmp_path):
    source = write_csv(
        tmp_path / "customers.csv",
        "Phone,Name,Ticket\n(415) 555-0134,Ann Lee,T-1\n+44 20 7946 0958,Bob,T-2\n415 555 0135,,\n",
    )
    first = run("bulk_invite", str(source), "--agent=ann")
    assert first.splitlines() == [
        "3 queued, 0 already invited, 0 failed validation",
        f"results: {source}.results.csv",
    ]
    assert [r.destination for r in upstream.outbox] == [
        "+14155550134",
        "+442079460958",
        "+14155550135",
    ]
    results = read_results(tmp_path / "customers.csv.results.csv")
    assert [(r["line"], r["destination"], r["status"], r["error"]) for r in results] == [
        ("2", "••• ••• 0134", "sent", ""),
        ("3", "••• ••• 0958", "sent", ""),
        ("4", "••• ••• 0135", "sent", ""),
    ]
    keys = [r["session_key"] for r in results]
    assert all(keys) and set(keys) == set(Session.objects.values_list("session_key", flat=True))
    ann = Invitee.objects.get(destination="+14155550134")
    assert (ann.name, ann.session.ticket_reference) == ("Ann Lee", "T-1")

    again = run("bulk_invite", str(source), "--agent=ann")
    assert again.splitlines()[0] == "0 queued, 3 already invited, 0 failed validation"
    assert len(upstream.outbox) == 3 and Invitee.objects.count() == 3
    results = read_results(tmp_path / "customers.csv.results.csv")
    assert [(r["status"], r["session_key"]) for r in results] == [
        ("already invited (sent)", key) for key in keys
    ]
    events = audit(AuditEvent.Action.BULK_INVITE)
    assert [(e.actor_name, e.target) for e in events] == [("command", "customers.csv")] * 2
    assert events[0].details == (
        "agent ann, credential test-glance: 3 queued, 0 already invited, 0 failed validation"
    )


def test_bulk_invite_reports_bad_rows_and_still_invites_the_good_ones(
    upstream, agent, tmp_path, django_capture_on_commit_callbacks
):
    source = write_csv(
        tmp_path / "list.csv",
        "phone,email,name\n"
        "4155550134,,Ann\n"
        "12,,Bad Number\n"
        ",ann@example.com,Mail Only\n"
        ",,Nobody\n"
        "4155550135,,Extra,field\n"
        f"4155550136,,{'x' * 101}\n"
        "+442079460958,bob@example.com,Bob\n",
    )
    out = io.StringIO()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(CommandError, match="5 of 7 rows were not accepted"),
    ):
        call_command("bulk_invite", str(source), "--agent=ann", stdout=out)
    assert out.getvalue().splitlines() == [
        "line 3: '••• ••• 12' is not a valid phone number. Enter a mobile number with its "
        "country code, e.g. +44 7911 123456, or (415) 555-0134.",
        "line 4: Credential 'test-glance' cannot send E-mail invitations; it sends SMS.",
        "line 5: No phone number or e-mail address.",
        "line 6: More fields than the 3 columns named in the first line.",
        "line 7: The name is too long (100 characters at most).",
        "2 queued, 0 already invited, 5 failed validation",
        f"results: {source}.results.csv",
    ]
    # The Glance credential sends SMS, so Bob's row went to his phone.
    assert sorted(r.destination for r in upstream.outbox) == ["+14155550134", "+442079460958"]
    results = read_results(tmp_path / "list.csv.results.csv")
    assert [(r["line"], r["status"]) for r in results] == [
        ("2", "queued"),
        ("3", "invalid"),
        ("4", "invalid"),
        ("5", "invalid"),
        ("6", "invalid"),
        ("7", "invalid"),
        ("8", "queued"),
    ]
    assert results[1]["destination"] == "••• ••• 12"
    assert results[1]["error"].startswith("'••• ••• 12' is not a valid phone number.")


def test_bulk_invite_picks_the_channel_the_credential_sends(
    upstream, make_agent, tmp_path, django_capture_on_commit_callbacks
):
    make_agent(credential=make_onsync(link_delivery="provider"))
    source = write_csv(
        tmp_path / "list.csv", "phone,email\n4155550134,ann@Example.COM\n4155550135,\n"
    )
    with pytest.raises(CommandError, match="1 of 2 rows were not accepted"):
        run("bulk_invite", str(source), "--agent=ann")
    invitee = Invitee.objects.get()
    assert (invitee.channel, invitee.destination) == ("email", "ann@example.com")
    [_, phone_only] = read_results(tmp_path / "list.csv.results.csv")
    assert phone_only["error"] == (
        "Credential 'acme-onsync' cannot send SMS invitations; it sends E-mail."
    )


def test_bulk_invite_repeated_person_same_ticket_is_invited_once_other_ticket_again(
    upstream, agent, tmp_path
):
    source = write_csv(
        tmp_path / "list.csv",
        "phone,ticket\n4155550134,T-1\n(415) 555-0134,T-1\n4155550134,T-2\n",
    )
    out = run("bulk_invite", str(source), "--agent=ann")
    assert out.splitlines()[0] == "2 queued, 1 already invited, 0 failed validation"
    assert sorted(Session.objects.values_list("ticket_reference", flat=True)) == ["T-1", "T-2"]


def test_bulk_invite_looks_up_earlier_invitations_once_per_file_not_once_per_row(
    upstream, agent, settings
):
    settings.RATE_LIMIT_PER_DESTINATION = settings.RATE_LIMIT_PER_PREFIX = "1000/3600"
    rows = [BulkRow(line=n + 2, phone=f"+1415555{n:04d}") for n in range(30)]
    with CaptureQueriesContext(connection) as queries:
        report = services.invitations_bulk_create(agent=agent, rows=[*rows, rows[0]])
    assert (report.count("queued"), report.count("already invited")) == (30, 1)
    lookups = [q["sql"] for q in queries.captured_queries if '"idempotency_key" IN' in q["sql"]]
    assert len(lookups) == 1


def test_bulk_invite_refuses_rows_over_a_rate_limit_and_sends_them_on_a_later_run(
    upstream, agent, tmp_path, settings
):
    settings.RATE_LIMIT_PER_DESTINATION = "1/3600"
    source = write_csv(tmp_path / "list.csv", "phone,ticket\n4155550134,T-1\n4155550134,T-2\n")
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 rows were not accepted"):
        call_command("bulk_invite", str(source), "--agent=ann", stdout=out)
    refused, summary = out.getvalue().splitlines()[:2]
    assert re.fullmatch(
        r"line 3: This number was invited 1 time in the last hour; try again after \d\d:\d\d "
        r"or ask the customer for another number\.",
        refused,
    )
    assert summary == "1 queued, 0 already invited, 0 failed validation, 1 refused by rate limits"
    assert [r["status"] for r in read_results(tmp_path / "list.csv.results.csv")] == [
        "queued",
        "refused",
    ]
    settings.RATE_LIMIT_PER_DESTINATION = "5/3600"
    out = run("bulk_invite", str(source), "--agent=ann")
    assert out.splitlines()[0] == "1 queued, 1 already invited, 0 failed validation"


def test_bulk_invite_is_not_held_to_the_agents_own_rate_limit(upstream, agent, tmp_path, settings):
    settings.RATE_LIMIT_PER_AGENT = "1/600"
    source = write_csv(tmp_path / "list.csv", "phone\n4155550134\n+442079460958\n3125550100\n")
    out = run("bulk_invite", str(source), "--agent=ann")
    assert out.splitlines()[0] == "3 queued, 0 already invited, 0 failed validation"


def test_bulk_invite_dry_run_applies_the_credentials_sms_rules(
    upstream, agent, credential, tmp_path
):
    credential.allowed_countries = "US"
    credential.save()
    source = write_csv(tmp_path / "list.csv", "phone\n4155550134\n+44 20 7946 0958\n")
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 rows were not accepted"):
        call_command("bulk_invite", str(source), "--agent=ann", "--dry-run", stdout=out)
    assert out.getvalue().splitlines()[0] == (
        "line 3: SMS to GB numbers are not allowed with this credential (allowed: US)."
    )


def test_bulk_invite_dry_run_validates_and_writes_nothing(upstream, agent, tmp_path):
    source = write_csv(tmp_path / "list.csv", "phone\n4155550134\n12\n4155550135\n")
    results_path = tmp_path / "out" / "dry.csv"
    results_path.parent.mkdir()
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 3 rows were not accepted"):
        call_command(
            "bulk_invite",
            str(source),
            "--agent=ann",
            "--dry-run",
            f"--results={results_path}",
            stdout=out,
        )
    assert out.getvalue().splitlines()[1:] == [
        "Dry run: 2 would be queued, 0 already invited, 1 failed validation; nothing was sent.",
        f"results: {results_path}",
    ]
    assert [r["status"] for r in read_results(results_path)] == [
        "would be queued",
        "invalid",
        "would be queued",
    ]
    assert not Session.objects.exists() and not Invitee.objects.exists()
    assert not audit(AuditEvent.Action.BULK_INVITE)
    assert upstream.outbox == []


def test_bulk_invite_dry_run_knows_who_was_already_invited(upstream, agent, tmp_path):
    source = write_csv(tmp_path / "list.csv", "phone\n4155550134\n4155550135\n")
    source.with_name("first.csv").write_text("phone\n4155550134\n")
    run("bulk_invite", str(source.with_name("first.csv")), "--agent=ann")
    out = run("bulk_invite", str(source), "--agent=ann", "--dry-run")
    assert out.splitlines()[0] == (
        "Dry run: 1 would be queued, 1 already invited, 0 failed validation; nothing was sent."
    )
    assert Invitee.objects.count() == 1


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_bulk_invite_draws_a_progress_bar_on_a_terminal_only(upstream, agent, tmp_path):
    source = write_csv(tmp_path / "list.csv", "phone\n4155550134\n4155550135\n4155550136\n")
    terminal = Terminal()
    call_command("bulk_invite", str(source), "--agent=ann", stdout=io.StringIO(), stderr=terminal)
    assert "3/3" in terminal.getvalue() and "100%" in terminal.getvalue()
    # The bar redraws one line; Django's newline after every write would break it.
    assert "\n" not in terminal.getvalue().rstrip("\n")

    piped = io.StringIO()
    call_command("bulk_invite", str(source), "--agent=ann", stdout=io.StringIO(), stderr=piped)
    assert piped.getvalue() == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "The file is empty"),
        ("name,ticket\nAnn,T-1\n", "must name a 'phone' or an 'email' column"),
        ("phone,fone\n4155550134,x\n", "Unknown column 'fone'"),
        ("phone,Phone\n1,2\n", "named twice"),
        ("phone\n", "has no rows"),
    ],
)
def test_bulk_invite_rejects_a_file_it_cannot_read(agent, tmp_path, content, message):
    source = write_csv(tmp_path / "list.csv", content)
    with pytest.raises(CommandError, match=message):
        run("bulk_invite", str(source), "--agent=ann")
    assert not (tmp_path / "list.csv.results.csv").exists()
    assert not Invitee.objects.exists()


def test_bulk_invite_for_an_agent_who_cannot_send_writes_nothing(make_agent, tmp_path):
    make_agent(credential=None)
    source = write_csv(tmp_path / "list.csv", "phone\n4155550134\n")
    with pytest.raises(CommandError, match="has no default credential"):
        run("bulk_invite", str(source), "--agent=ann")
    assert not (tmp_path / "list.csv.results.csv").exists()
    with pytest.raises(CommandError, match="No user 'nobody'"):
        run("bulk_invite", str(source), "--agent=nobody")
    with pytest.raises(CommandError, match="Cannot read"):
        run("bulk_invite", str(tmp_path / "missing.csv"), "--agent=ann")


def test_bulk_invite_exits_1_with_one_line_on_stderr(manage, tmp_path):
    """As an operator's script sees it: a real process on a database of its own."""
    assert manage("seed_demo").returncode == 0
    source = write_csv(tmp_path / "list.csv", "phone\n4155550134\n12\n")
    result = manage("bulk_invite", str(source), "--agent=agent", "--dry-run")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "CommandError: 1 of 2 rows were not accepted; fix them and run the same file again "
        "(rows already invited are skipped)."
    ]
    assert "Dry run: 1 would be queued" in result.stdout
    ok = write_csv(tmp_path / "ok.csv", "phone\n4155550134\n")
    assert manage("bulk_invite", str(ok), "--agent=agent", "--dry-run").returncode == 0


# --- Purging personal data ---------------------------------------------------------------------


def make_session(agent, credential, *, days_ago, invitees):
    session = Session.objects.create(
        credential=credential,
        created_by=agent,
        session_type=1,
        session_key=f"key-{days_ago}",
        join_url="https://join.invalid/s/123456",
        ticket_reference="T-42",
    )
    Session.objects.filter(pk=session.pk).update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )
    made = []
    for index, (channel, destination, status) in enumerate(invitees):
        invitee = Invitee.objects.create(
            session=session,
            name="Ann Lee",
            channel=channel,
            destination=destination,
            status=status,
            attempts=2,
            last_error=f"Glance rejected {destination}",
            message_text="Join: https://join.invalid/s/123456",
            personal_link="https://join.invalid/s/123456/p/abc",
            idempotency_key=f"{days_ago}-{index}",
            sent_at=timezone.now() if status == DeliveryStatus.SENT else None,
        )
        DeliveryAttempt.objects.create(
            invitee=invitee, outcome="failed", http_status=400, error=f"bad {destination}"
        )
        made.append(invitee)
    return session, made


def test_purge_removes_personal_data_of_old_sessions_and_keeps_the_statistics(agent, credential):
    old, (sms, email) = make_session(
        agent,
        credential,
        days_ago=40,
        invitees=[
            ("sms", "+14155550134", DeliveryStatus.SENT),
            ("email", "ann@example.com", DeliveryStatus.FAILED),
        ],
    )
    recent, (fresh,) = make_session(
        agent, credential, days_ago=5, invitees=[("sms", "+14155550135", DeliveryStatus.SENT)]
    )
    before = {i.pk: (i.status, i.attempts, i.sent_at, i.created_at) for i in Invitee.objects.all()}

    assert run("purge_personal_data", "--older-than=30") == (
        "2 invitees purged; join links and ticket references of 1 sessions cleared.\n"
    )

    sms.refresh_from_db()
    email.refresh_from_db()
    for invitee in (sms, email):
        assert (
            invitee.name,
            invitee.personal_link,
            invitee.message_text,
            invitee.last_error,
            invitee.idempotency_key,
        ) == ("", "", "", "", None)
        assert invitee.masked_destination == "(purged)"
    assert (sms.channel, sms.destination) == ("sms", "purged")
    assert (email.channel, email.destination) == ("email", "purged@purged.invalid")
    old.refresh_from_db()
    assert (old.join_url, old.ticket_reference, old.session_key) == ("", "", "key-40")
    assert {
        i.pk: (i.status, i.attempts, i.sent_at, i.created_at) for i in Invitee.objects.all()
    } == (before)
    assert list(
        DeliveryAttempt.objects.filter(invitee__session=old).values_list("error", "http_status")
    ) == [("", 400), ("", 400)]

    fresh.refresh_from_db()
    recent.refresh_from_db()
    assert (fresh.destination, fresh.name, recent.ticket_reference) == (
        "+14155550135",
        "Ann Lee",
        "T-42",
    )
    assert DeliveryAttempt.objects.get(invitee=fresh).error == "bad +14155550135"

    [event] = audit(AuditEvent.Action.PERSONAL_DATA_PURGED)
    assert (event.target, event.details) == (
        "sessions older than 30 days",
        "2 invitees, 1 sessions",
    )
    assert "+1415" not in event.details

    assert run("purge_personal_data", "--older-than=30").startswith("0 invitees purged")


def test_purge_leaves_invitations_still_being_delivered(agent, credential):
    make_session(
        agent, credential, days_ago=3, invitees=[("sms", "+14155550134", DeliveryStatus.QUEUED)]
    )
    assert run("purge_personal_data", "--older-than=1").startswith("0 invitees purged; ")
    assert Invitee.objects.get().destination == "+14155550134"
    assert Session.objects.get().ticket_reference == "T-42"


def test_purge_dry_run_counts_and_changes_nothing(agent, credential):
    make_session(
        agent, credential, days_ago=40, invitees=[("sms", "+14155550134", DeliveryStatus.SENT)]
    )
    out = run("purge_personal_data", "--older-than=30", "--dry-run")
    assert out.startswith("Dry run: 1 invitees would be purged")
    assert Invitee.objects.get().destination == "+14155550134"
    assert DeliveryAttempt.objects.get().error == "bad +14155550134"
    assert not audit(AuditEvent.Action.PERSONAL_DATA_PURGED)


@pytest.mark.parametrize("days", ["0", "-3"])
def test_purge_refuses_less_than_a_day(agent, credential, days):
    make_session(
        agent, credential, days_ago=40, invitees=[("sms", "+14155550134", DeliveryStatus.SENT)]
    )
    with pytest.raises(CommandError, match="at least one day"):
        run("purge_personal_data", f"--older-than={days}")
    assert Invitee.objects.get().destination == "+14155550134"


# --- Re-encrypting secrets ---------------------------------------------------------------------


def test_rotate_leaves_secrets_readable_after_the_old_key_is_removed(settings, make_credential):
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [key_a]
    make_credential(label="one", api_key="secret-one")
    make_credential(label="two", api_key="secret-two")
    settings.FIELD_ENCRYPTION_KEYS = [key_b, key_a]

    assert run("rotate_encryption_key") == "2 credential secrets re-encrypted with the first key.\n"

    settings.FIELD_ENCRYPTION_KEYS = [key_b]
    secrets = {c.label: c.reveal_secret() for c in PartnerCredential.objects.all()}
    assert secrets == {"one": "secret-one", "two": "secret-two"}
    [event] = audit(AuditEvent.Action.SECRETS_REENCRYPTED)
    assert event.details == "2 secrets re-encrypted with the first key"


def test_rotate_with_an_unreadable_secret_names_it_and_changes_nothing(settings, make_credential):
    key_a, key_b, lost = (Fernet.generate_key().decode() for _ in range(3))
    settings.FIELD_ENCRYPTION_KEYS = [lost]
    make_credential(label="orphan", api_key="x")
    settings.FIELD_ENCRYPTION_KEYS = [key_a]
    make_credential(label="fine", api_key="y")
    before = dict(PartnerCredential.objects.values_list("label", "secret_ciphertext"))
    settings.FIELD_ENCRYPTION_KEYS = [key_b, key_a]

    with pytest.raises(CommandError, match="credential 'orphan' cannot be decrypted"):
        run("rotate_encryption_key")

    assert dict(PartnerCredential.objects.values_list("label", "secret_ciphertext")) == before
    assert not audit(AuditEvent.Action.SECRETS_REENCRYPTED)


def test_rotate_with_a_malformed_key_is_a_clear_error(settings, credential):
    settings.FIELD_ENCRYPTION_KEYS = [*settings.FIELD_ENCRYPTION_KEYS, "not-a-key"]
    with pytest.raises(CommandError, match="key #2 is not a valid Fernet key"):
        run("rotate_encryption_key")


def test_crypto_rotate_reencrypts_under_the_first_key(settings):
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [key_a]
    old = crypto.encrypt("s3cret")
    settings.FIELD_ENCRYPTION_KEYS = [key_b, key_a]
    new = crypto.rotate(old)
    assert Fernet(key_b.encode()).decrypt(new.encode()) == b"s3cret"
    settings.FIELD_ENCRYPTION_KEYS = [key_b]
    with pytest.raises(crypto.SecretUnreadable):
        crypto.rotate(old)
