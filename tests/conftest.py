import os

import pytest

from invitations import services
from invitations.models import PartnerCredential, Team
from invitations.providers import glance, http, locmem
from tests.support.sandbox import STAFF_PASSWORD, STAFF_USERNAME

API_KEY = "test-api-key-7f3a9c1e5b"


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Each test starts with an empty cache. The suite runs in one process, most of it without
    a database, so a memory cache stands in for the embedded default's database cache; the
    tests that start processes of their own (`manage`, servers) use the real default.

    A fixture, not agentportal/settings/test.py: the test database is migrated under the
    embedded default's cache, so that `migrate` makes its cache table there as it does for
    users (tests/stack checks it on PostgreSQL)."""
    from django.core.cache import cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def no_kept_upstream_connections():
    """Kept upstream connections would hold a live server's request threads open after the
    test; every test starts and ends without any."""
    yield
    http.close_kept_connections()


@pytest.fixture(autouse=True)
def no_cached_glance_tokens():
    """Glance tokens are cached per process; a token from one test's upstream must not serve
    another test."""
    glance.tokens.clear()
    yield
    glance.tokens.clear()


@pytest.fixture
def locmem_upstream(settings):
    """Route every provider to the in-memory twin; yields its outbox."""
    settings.UPSTREAM_CLIENTS = {"glance": {"CLASS": "invitations.providers.locmem.LocmemClient"}}
    locmem.reset()
    yield locmem
    locmem.reset()


@pytest.fixture
def make_credential(db):
    def make(label="test-glance", base_url="https://glance.invalid", api_key=API_KEY, **extra):
        credential, _ = services.credential_upsert(
            label=label, provider="glance", base_url=base_url, group_id=72, api_key=api_key
        )
        for field, value in extra.items():
            setattr(credential, field, value)
        credential.save()
        return credential

    return make


@pytest.fixture
def credential(make_credential) -> PartnerCredential:
    return make_credential()


@pytest.fixture
def make_agent(db):
    def make(username="ann", puid="ann-77", credential=None, password="correct-horse-battery"):
        user, _ = services.agent_upsert(
            username=username, partner_user_id=puid, credential=credential, password=password
        )
        return user

    return make


@pytest.fixture
def manage(tmp_path):
    """Runs `manage.py` in a real process on a migrated SQLite database of its own, with the
    embedded default's settings (a database cache every process shares), not the tests'."""
    import subprocess
    import sys

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "agentportal.settings.base",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
    }

    def run(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )

    assert run("migrate", "-v0").returncode == 0
    return run


@pytest.fixture
def make_team_agent(make_agent, credential):
    """An agent on `team`, in the Supervisors group when `supervisor`."""
    from django.contrib.auth.models import Group

    def make(*, username, team, supervisor=False):
        user = make_agent(username=username, credential=credential)
        user.agent_profile.team = team
        user.agent_profile.save()
        if supervisor:
            user.groups.add(Group.objects.get(name="Supervisors"))
        return user

    return make


@pytest.fixture
def people(make_agent, make_team_agent, credential, django_user_model):
    """Agents and supervisors on two teams, a supervisor without a team, a staff member, a
    superuser and a user without a profile: who sees what on the dashboard and session lists.
    A module may define its own `people` instead."""
    from django.contrib.auth.models import Group

    red, blue = Team.objects.create(name="red"), Team.objects.create(name="blue")
    supervisors = Group.objects.get(name="Supervisors")

    def agent(username, team, supervisor=False):
        return make_team_agent(username=username, team=team, supervisor=supervisor)

    loner = make_agent(username="lone-sup", credential=credential)
    loner.groups.add(supervisors)  # a supervisor without a team has nobody to supervise
    staff = make_agent(username="op", credential=credential)
    staff.is_staff = True
    staff.save()
    return {
        "ann": agent("ann", red),
        "sue": agent("sue", red, supervisor=True),
        "cy": agent("cy", blue),
        "bob": agent("bob", blue, supervisor=True),
        "lone-sup": loner,
        "op": staff,
        "root": django_user_model.objects.create_superuser("root", "r@example.com", "pw-x-1"),
        "nobody": django_user_model.objects.create_user("nobody"),
    }


@pytest.fixture
def portal_credential(db, settings, locmem_upstream) -> PartnerCredential:
    """An OnSync-like credential on the in-memory client whose messages the portal writes and
    delivers (SMS through the in-memory SMS backend, e-mail through Django's test outbox)."""
    from invitations.channels.sms import locmem as sms_outbox

    settings.UPSTREAM_CLIENTS = {
        "glance": {"CLASS": "invitations.providers.locmem.LocmemClient"},
        "onsync": {"CLASS": "invitations.providers.locmem.LocmemClient"},
    }
    settings.SMS_BACKEND = "invitations.channels.sms.locmem.LocmemSmsBackend"
    sms_outbox.outbox.clear()
    credential, _ = services.credential_upsert(
        label="portal",
        provider="onsync",
        base_url="https://onsync.invalid/api/1",
        account="portal-account",
        api_key="t",
    )
    return credential


@pytest.fixture
def agent(make_agent, credential):
    return make_agent(credential=credential)


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def sandbox_url(live_server, settings):
    """The sandbox's Glance base URL on the live test server."""
    return f"{live_server.url}/sandbox/glance"


@pytest.fixture
def sandbox_sms_gateway(live_server, settings):
    """Portal-sent SMS go to the sandbox's SMS gateway on the live test server."""
    settings.SMS_BACKEND = "invitations.channels.sms.http.HttpSmsBackend"
    settings.SMS_GATEWAY_URL = f"{live_server.url}/sandbox/sms-gateway"
    settings.SMS_GATEWAY_TOKEN = settings.SANDBOX_SMS_GATEWAY_TOKEN


@pytest.fixture
def make_onsync_credential(db, live_server, settings):
    def make(label="sandbox-onsync", link_delivery="portal", password=None):
        credential, _ = services.credential_upsert(
            label=label,
            provider="onsync",
            base_url=f"{live_server.url}/sandbox/onsync/api/1",
            account=settings.SANDBOX_ONSYNC_ACCOUNT,
            api_key=password or settings.SANDBOX_ONSYNC_PASSWORD,
            link_delivery=link_delivery,
        )
        return credential

    return make


@pytest.fixture
def digitalsamba_credential(live_server, settings, sandbox_sms_gateway) -> PartnerCredential:
    """The sandbox's Digital Samba team on the live test server; its webhooks come back to the
    live server, and the links it makes go out through the sandbox's SMS gateway."""
    settings.PORTAL_BASE_URL = live_server.url
    credential, _ = services.credential_upsert(
        label="sandbox-ds",
        provider="digitalsamba",
        base_url=f"{live_server.url}/sandbox/digitalsamba/api/v1",
        account=settings.SANDBOX_DIGITALSAMBA_TEAM_ID,
        api_key=settings.SANDBOX_DIGITALSAMBA_DEVELOPER_KEY,
    )
    return credential


@pytest.fixture
def sandbox_credential(make_credential, sandbox_url, settings):
    return make_credential(
        label="sandbox-glance", base_url=sandbox_url, api_key=settings.SANDBOX_GLANCE_API_KEY
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped test is a failure: a missing service must not pass unnoticed."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (CI=true), which counts as a failure: {report.longrepr}"


@pytest.fixture
def staff_user(django_user_model):
    """The sandbox's own pages (outbox, fault control, request log, manual receipts) are for
    signed-in staff; `tests.support.sandbox.staff_session` signs in as this user over HTTP."""
    return django_user_model.objects.create_user(
        STAFF_USERNAME, password=STAFF_PASSWORD, is_staff=True
    )


@pytest.fixture
def signed_in_staff(client, staff_user):
    client.force_login(staff_user)
    return client
