"""`check_credentials` with the real clients against the sandbox over HTTP: right credentials
pass, wrong ones fail with the provider's reason, and no check ever sends anything."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from invitations.models import AuditEvent, PartnerCredential
from sandbox.models import OutboxMessage, SandboxRequest

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def check(*args):
    out = io.StringIO()
    try:
        call_command("check_credentials", *args, stdout=out)
    except CommandError as err:
        return out.getvalue(), str(err)
    return out.getvalue(), None


def assert_nothing_sent():
    assert not OutboxMessage.objects.exists()
    # Checks only read: OnSync was never asked to create, change or delete a session.
    assert not SandboxRequest.objects.filter(target="onsync").exclude(method="GET").exists()


def test_good_credentials_pass_and_nothing_is_sent(
    sandbox_credential, make_onsync_credential, make_credential, sandbox_url, settings
):
    make_onsync_credential(label="sandbox-onsync")
    make_credential(
        label="sandbox-gssnid",
        base_url=sandbox_url,
        api_key=settings.SANDBOX_GLANCE_API_KEY,
        auth_type="gssnid",
        auth_header="x-gssnid",
    )
    out, error = check()
    assert (out, error) == (
        "sandbox-glance: OK\nsandbox-gssnid: OK\nsandbox-onsync: OK\n",
        None,
    )
    assert PartnerCredential.objects.filter(last_checked_at__isnull=False).count() == 3
    # The checks did reach the sandbox: one request per credential, Glance's to its
    # Authorization Service (never smsInvite).
    assert sorted(SandboxRequest.objects.values_list("target", "method", "status")) == [
        ("glance", "POST", 200),
        ("glance", "POST", 200),
        ("onsync", "GET", 404),
    ]
    glance_paths = SandboxRequest.objects.filter(target="glance").values_list("path", flat=True)
    assert all("/AuthorizationService.svc/rest/Authorize" in path for path in glance_paths)
    assert_nothing_sent()


def test_wrong_keys_fail_with_the_providers_reason(
    make_credential, make_onsync_credential, sandbox_url
):
    make_credential(label="bad-glance", base_url=sandbox_url, api_key="wrong-api-key")
    make_onsync_credential(label="bad-onsync", password="wrong-password")
    out, error = check()
    glance, onsync = out.splitlines()
    # The sandbox answers 401 or 403 for a wrong login key, as Glance may.
    assert re.fullmatch(
        r"bad-glance: FAILED Glance's Authorization Service did not accept the credential "
        r"'bad-glance' \(40[13]: [^)]+\)\. An administrator should check its API key and "
        r"group id, and the agent's partner user id\.",
        glance,
    ), glance
    # OnSync's own words for the refusal sit in the brackets.
    assert onsync.startswith("bad-onsync: FAILED OnSync did not accept the credential ")
    assert "'bad-onsync' (401" in onsync
    assert onsync.endswith("). An administrator should check its account and password.")
    assert error == "2 of 2 credentials failed the check."
    assert "wrong-api-key" not in out and "wrong-password" not in out
    assert not PartnerCredential.objects.filter(last_checked_at__isnull=False).exists()
    details = AuditEvent.objects.filter(action=AuditEvent.Action.CREDENTIAL_CHECKED)
    assert sorted(e.target for e in details) == ["credential bad-glance", "credential bad-onsync"]
    assert_nothing_sent()


def test_a_base_url_that_is_not_the_provider_fails(make_onsync_credential, live_server):
    credential = make_onsync_credential(label="lost-onsync")
    credential.base_url = f"{live_server.url}/sandbox/nowhere"
    credential.save()
    out, error = check("--label=lost-onsync")
    assert out.startswith("lost-onsync: FAILED OnSync has no such service at the credential's")
    assert error == "1 of 1 credentials failed the check."


def test_address_form_checks_with_the_glance_address_of_an_agent(
    make_credential, make_agent, sandbox_url, settings
):
    credential = make_credential(
        label="by-address",
        base_url=sandbox_url,
        api_key=settings.SANDBOX_GLANCE_API_KEY,
        auth_type="gkey_address",
        unverified_address_form=True,
    )
    # Without an agent the placeholder puid is no Glance address the group knows.
    out, _ = check("--label=by-address")
    assert out.startswith("by-address: FAILED Glance did not accept the credential 'by-address'")
    assert "unknown glance address" in out

    make_agent(puid=settings.SANDBOX_GLANCE_ADDRESSES[0], credential=credential)
    assert check("--label=by-address") == ("by-address: OK\n", None)
    assert_nothing_sent()
