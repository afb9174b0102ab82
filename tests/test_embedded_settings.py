"""The embedded default (`make run`) on any port: PORTAL_BASE_URL, or PORT alone, is the one
source of every address that points at this server; and e-mail the portal sends itself is kept
in the sandbox outbox. Settings are computed at import, so each case runs a fresh interpreter."""

import re

import pytest

from tests.support.fresh_settings import make_env, manage, python_json

ORIGIN = "http://127.0.0.1:8123"

# Every setting that names this server while the sandbox is on.
ADDRESSES = """
import json
from django.conf import settings
names = [
    "PORTAL_BASE_URL", "SANDBOX_ORIGIN", "SANDBOX_BASE_URL", "SANDBOX_ONSYNC_BASE_URL",
    "SANDBOX_DIGITALSAMBA_BASE_URL", "SANDBOX_SMS_GATEWAY_URL", "SMS_GATEWAY_URL",
    "SMS_STATUS_CALLBACK_URL", "SANDBOX_POSTMARK_WEBHOOK_URL",
]
print(json.dumps({name: getattr(settings, name) for name in names}))
"""


def embedded(**variables: str | None) -> dict[str, str]:
    """The embedded default's environment: no broker, no shared cache, no database server."""
    cleared: dict[str, str | None] = dict.fromkeys(
        ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL", "ALLOWED_HOSTS")
    )
    return make_env("base", DEBUG="true", **{**cleared, **variables})


def test_portal_base_url_alone_moves_every_sandbox_and_callback_address():
    addresses = python_json(ADDRESSES, embedded(PORTAL_BASE_URL=ORIGIN + "/"))

    assert addresses == {
        "PORTAL_BASE_URL": ORIGIN,
        "SANDBOX_ORIGIN": ORIGIN,
        "SANDBOX_BASE_URL": f"{ORIGIN}/sandbox/glance",
        "SANDBOX_ONSYNC_BASE_URL": f"{ORIGIN}/sandbox/onsync/api/1",
        "SANDBOX_DIGITALSAMBA_BASE_URL": f"{ORIGIN}/sandbox/digitalsamba/api/v1",
        "SANDBOX_SMS_GATEWAY_URL": f"{ORIGIN}/sandbox/sms-gateway",
        "SMS_GATEWAY_URL": f"{ORIGIN}/sandbox/sms-gateway",
        "SMS_STATUS_CALLBACK_URL": f"{ORIGIN}/webhooks/sms-gateway/",
        "SANDBOX_POSTMARK_WEBHOOK_URL": f"{ORIGIN}/webhooks/email/postmark/",
    }


@pytest.mark.parametrize(("port", "origin"), [("8123", ORIGIN), (None, "http://127.0.0.1:8000")])
def test_without_it_every_address_follows_the_port_served(port, origin):
    addresses = python_json(ADDRESSES, embedded(PORT=port, PORTAL_BASE_URL=None))

    assert addresses["PORTAL_BASE_URL"] == addresses["SANDBOX_ORIGIN"] == origin
    assert all(url.startswith(f"{origin}/") for url in list(addresses.values())[2:]), addresses
    assert addresses["SMS_STATUS_CALLBACK_URL"] == f"{origin}/webhooks/sms-gateway/"


def test_the_sandbox_can_answer_elsewhere_while_callbacks_stay_with_the_portal():
    addresses = python_json(
        ADDRESSES, embedded(PORTAL_BASE_URL=ORIGIN, SANDBOX_ORIGIN="http://127.0.0.1:9000")
    )

    assert addresses["SANDBOX_BASE_URL"] == "http://127.0.0.1:9000/sandbox/glance"
    assert addresses["SMS_STATUS_CALLBACK_URL"] == f"{ORIGIN}/webhooks/sms-gateway/"
    assert addresses["SANDBOX_POSTMARK_WEBHOOK_URL"] == f"{ORIGIN}/webhooks/email/postmark/"


def test_seed_demo_makes_every_credential_and_login_from_portal_base_url(tmp_path):
    env = embedded(
        PORTAL_BASE_URL=ORIGIN,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DEMO_PASSWORD="demo-password-8123",
    )
    assert manage("migrate", "--noinput", "-v0", env=env).returncode == 0
    seeded = manage("seed_demo", env=env)

    assert seeded.returncode == 0, seeded.stderr
    credentials = re.findall(r"^credential (\S+): (\S+)$", seeded.stdout, re.MULTILINE)
    assert len(credentials) == 6
    assert all(url.startswith(f"{ORIGIN}/sandbox/") for _label, url in credentials), credentials
    assert "127.0.0.1:8000" not in seeded.stdout
    logins = re.findall(r"^login (\S+) +password (\S+)$", seeded.stdout, re.MULTILINE)
    assert logins == [
        ("admin", "demo-password-8123"),
        ("agent", "demo-password-8123"),
        ("supervisor", "demo-password-8123"),
    ]


EMAIL = """
import json
from django.conf import settings
print(json.dumps([settings.EMAIL_BACKEND, settings.SANDBOX_EMAIL_FORWARD_BACKEND]))
"""
CONSOLE = "invitations.channels.email.ConsoleEmailBackend"
OUTBOX = "sandbox.mail.OutboxEmailBackend"


@pytest.mark.parametrize(
    ("variables", "backends"),
    [
        # The embedded default: kept in the outbox, then printed with addresses masked.
        ({}, [OUTBOX, CONSOLE]),
        (
            {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
            [OUTBOX, "django.core.mail.backends.locmem.EmailBackend"],
        ),
        # Without the sandbox there is no outbox.
        ({"SANDBOX_ENABLED": "false"}, [CONSOLE, CONSOLE]),
        # A real mail server or provider delivers; the sandbox's Postmark keeps its own copy.
        (
            {"EMAIL_URL": "smtp://mail.example.com:25"},
            ["django.core.mail.backends.smtp.EmailBackend"] * 2,
        ),
        (
            {"EMAIL_BACKEND": "invitations.channels.email.PostmarkEmailBackend"},
            ["invitations.channels.email.PostmarkEmailBackend"] * 2,
        ),
    ],
)
def test_portal_email_goes_to_the_sandbox_outbox_only_instead_of_a_console(variables, backends):
    assert python_json(EMAIL, embedded(**variables)) == backends


def test_production_never_keeps_email_in_the_sandbox_outbox():
    env = make_env(DEBUG="true", SANDBOX_ENABLED="true", EMAIL_URL="consolemail://")

    assert python_json(EMAIL, env) == [CONSOLE, CONSOLE]
