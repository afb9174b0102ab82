"""agentportal.settings.production, loaded in fresh interpreters with an explicit environment.

Settings are computed at import from the environment, so every case runs `manage.py` or a short
script in a subprocess whose environment holds only PATH, HOME and the variables under test.
"""

import json
import secrets

import pytest

from tests.support.fresh_settings import FERNET_KEY, REQUIRED, make_env, manage, python_json

# Where the portal sends its own SMS and e-mail; without them check --deploy warns (below).
DELIVERY = {
    "SMS_GATEWAY_URL": "https://sms-gateway.example.com/v1",
    "SMS_GATEWAY_TOKEN": "gateway-token",
    "EMAIL_URL": "smtp+tls://user:password@smtp.example.com:587",
}


def test_check_deploy_reports_no_issues():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=make_env(**DELIVERY))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_check_deploy_warns_when_the_portal_could_only_print_its_messages():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=make_env())

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert (
        "(invitations.W002) SMS_BACKEND (invitations.channels.sms.console.ConsoleSmsBackend)"
        in output
    )
    assert "Set SMS_GATEWAY_URL and SMS_GATEWAY_TOKEN" in output
    assert "(invitations.W003) EMAIL_BACKEND" in output
    assert "Set EMAIL_URL" in output


def test_a_deployment_without_portal_delivery_can_silence_the_warnings():
    env = make_env(SILENCED_SYSTEM_CHECKS="invitations.W002,invitations.W003")

    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("debug", [None, "true", "false"])
@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_missing_variable_stops_startup_and_is_named(name, debug):
    result = manage("check", env=make_env(**{name: None, "DEBUG": debug}))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("name", ["SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS"])
def test_blank_variable_counts_as_missing(name):
    result = manage("check", env=make_env(**{name: " ", "DEBUG": "true"}))

    assert result.returncode != 0
    assert name in result.stderr.strip().splitlines()[-1]


def test_invalid_encryption_key_is_named_by_position_not_echoed():
    bad_key = "not-a-fernet-key-" + secrets.token_hex(8)
    env = make_env(FIELD_ENCRYPTION_KEYS=f"{FERNET_KEY},{bad_key}")

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS: key #2 is not a valid Fernet key" in result.stderr
    assert bad_key not in result.stderr


DUMP = """
import json
from django.conf import settings
from django.urls import Resolver404, resolve
from agentportal.celery import app

try:
    resolve("/sandbox/outbox/")
    sandbox_routed = True
except Resolver404:
    sandbox_routed = False
database = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SECRET_KEY": settings.SECRET_KEY,
    "FIELD_ENCRYPTION_KEYS": settings.FIELD_ENCRYPTION_KEYS,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "INSTALLED_APPS": settings.INSTALLED_APPS,
    "SANDBOX_ENABLED": settings.SANDBOX_ENABLED,
    "sandbox_routed": sandbox_routed,
    "SMS_BACKEND": settings.SMS_BACKEND,
    "SMS_GATEWAY_URL": settings.SMS_GATEWAY_URL,
    "SMS_GATEWAY_TOKEN": settings.SMS_GATEWAY_TOKEN,
    "MIDDLEWARE": settings.MIDDLEWARE,
    "STATICFILES_BACKEND": settings.STORAGES["staticfiles"]["BACKEND"],
    "DATABASE": {k: database[k] for k in ("ENGINE", "NAME", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS")},
    "CACHE": settings.CACHES["default"],
    "celery": {
        "broker_url": app.conf.broker_url,
        "task_always_eager": app.conf.task_always_eager,
        "task_acks_late": app.conf.task_acks_late,
        "task_reject_on_worker_lost": app.conf.task_reject_on_worker_lost,
        "worker_prefetch_multiplier": app.conf.worker_prefetch_multiplier,
        "broker_transport_options": app.conf.broker_transport_options,
    },
}))
"""


def test_development_variables_are_ignored():
    """DEBUG=true, SANDBOX_ENABLED=true: still no debug, no sandbox, no sandbox SMS gateway."""
    env = make_env(DEBUG="true", SANDBOX_ENABLED="true")

    dump = python_json(DUMP, env)

    assert dump["DEBUG"] is False
    assert dump["SECRET_KEY"] == REQUIRED["SECRET_KEY"]
    assert dump["FIELD_ENCRYPTION_KEYS"] == [FERNET_KEY]
    assert dump["ALLOWED_HOSTS"] == ["portal.example.com"]
    assert "sandbox" not in dump["INSTALLED_APPS"]
    assert dump["SANDBOX_ENABLED"] is False
    assert dump["sandbox_routed"] is False
    assert dump["SMS_BACKEND"] == "invitations.channels.sms.console.ConsoleSmsBackend"
    assert dump["SMS_GATEWAY_URL"] == dump["SMS_GATEWAY_TOKEN"] == ""
    middleware = dump["MIDDLEWARE"]
    security = middleware.index("django.middleware.security.SecurityMiddleware")
    assert middleware[security + 1] == "whitenoise.middleware.WhiteNoiseMiddleware"
    assert dump["STATICFILES_BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert dump["DATABASE"] == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "db",
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
    assert dump["CACHE"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/1",
    }
    assert dump["celery"] == {
        "broker_url": "redis://127.0.0.1:1/0",
        "task_always_eager": False,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_transport_options": {"visibility_timeout": 3600},
    }


def test_base_settings_with_the_same_variables_do_route_the_sandbox():
    """Control for the test above: the sandbox check would notice a routed sandbox."""
    dump = python_json(DUMP, make_env("base", DEBUG="true", SANDBOX_ENABLED="true"))

    assert dump["sandbox_routed"] is True
    assert "sandbox" in dump["INSTALLED_APPS"]


def test_sms_gateway_from_the_environment_selects_the_http_backend():
    env = make_env(SMS_GATEWAY_URL="https://sms.example.com/v1", SMS_GATEWAY_TOKEN="t0ken")

    dump = python_json(DUMP, env)

    assert dump["SMS_BACKEND"] == "invitations.channels.sms.http.HttpSmsBackend"
    assert dump["SMS_GATEWAY_URL"] == "https://sms.example.com/v1"


def test_http_sms_backend_without_token_stops_startup():
    result = manage("check", env=make_env(SMS_GATEWAY_URL="https://sms.example.com/v1"))

    assert result.returncode != 0
    assert "SMS_GATEWAY_TOKEN" in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("cache_url", "named"),
    [
        ("locmemcache://", "a memory cache of each process"),
        ("filecache:///var/tmp/agentportal-cache", "files on one machine"),
        ("dummycache://", "no cache at all"),
    ],
)
def test_a_cache_the_processes_do_not_share_stops_startup(cache_url, named):
    result = manage("check", env=make_env(CACHE_URL=cache_url))

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line
    assert f"CACHE_URL names {named}" in last_line


def test_the_database_cache_is_shared_and_accepted():
    result = manage("check", env=make_env(CACHE_URL="dbcache://agentportal_cache"))

    assert result.returncode == 0, result.stderr


def test_retry_delay_longer_than_the_visibility_timeout_stops_startup():
    env = make_env(CELERY_VISIBILITY_TIMEOUT="600", DELIVERY_RETRY_MAX_DELAY="900")

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "DELIVERY_RETRY_MAX_DELAY" in result.stderr.strip().splitlines()[-1]


SERVE = """
import json
from django.test import Client

client = Client(HTTP_HOST="portal.example.com")
plain = client.get("/accounts/login/")
secure = {"HTTP_X_FORWARDED_PROTO": "https"}
login = client.get("/accounts/login/", **secure)
page = login.content.decode()
start = page.index("/static/admin/css/login.")
css_url = page[start : page.index('"', start)]
css = client.get(css_url, **secure)
sandbox = client.get("/sandbox/outbox/", **secure)
print(json.dumps({
    "plain": [plain.status_code, plain.headers.get("Location")],
    "login": [login.status_code, dict(login.headers)],
    "css_url": css_url,
    "css": [css.status_code, css.headers.get("Cache-Control")],
    "sandbox": sandbox.status_code,
}))
"""


def test_collectstatic_then_whitenoise_serves_hashed_files_over_https(tmp_path):
    static_root = tmp_path / "static"
    env = make_env(STATIC_ROOT=str(static_root))

    collected = manage("collectstatic", "--noinput", env=env)

    assert collected.returncode == 0, collected.stderr
    manifest = json.loads((static_root / "staticfiles.json").read_text())
    assert "portal/portal.css" in manifest["paths"]
    assert "admin/css/forms.css" in manifest["paths"]

    served = python_json(SERVE, env)

    assert served["plain"] == [301, "https://portal.example.com/accounts/login/"]
    status, headers = served["login"]
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert served["css_url"] == "/static/" + manifest["paths"]["admin/css/login.css"]
    assert served["css"][0] == 200
    assert "immutable" in served["css"][1]
    assert served["sandbox"] == 404


CLIENT_ADDRESS = """
import json
from axes.helpers import get_client_ip_address
from django.test import RequestFactory

request = RequestFactory().get(
    "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.7"
)
print(json.dumps({"address": get_client_ip_address(request)}))
"""


@pytest.mark.parametrize(
    ("proxies", "address"), [(None, "203.0.113.7"), ("2", "192.0.2.1"), ("0", "127.0.0.1")]
)
def test_login_throttling_counts_the_address_the_proxy_saw(proxies, address):
    """The documented nginx in front appends the client's address; by default the production
    settings trust exactly that one hop."""
    env = make_env(AXES_PROXY_COUNT=proxies)

    assert python_json(CLIENT_ADDRESS, env) == {"address": address}


def test_console_email_is_the_backend_that_masks_addresses():
    code = (
        "import json\nfrom django.conf import settings\nprint(json.dumps(settings.EMAIL_BACKEND))"
    )
    # With the sandbox on, it is the outbox's backend that hands on to this one
    # (tests/test_embedded_settings.py).
    env = make_env("base", DEBUG="true", SANDBOX_ENABLED="false", EMAIL_URL="consolemail://")

    assert python_json(code, env) == "invitations.channels.email.ConsoleEmailBackend"


def test_portal_base_url_must_be_https_in_production():
    result = manage("check", env=make_env(PORTAL_BASE_URL="http://portal.example.com"))

    assert result.returncode != 0
    assert "PORTAL_BASE_URL must start with https://" in result.stderr


def test_portal_base_url_in_production_is_read_from_the_environment():
    env = make_env(PORTAL_BASE_URL="https://portal.example.com/")
    script = (
        "import json\nfrom django.conf import settings\n"
        "print(json.dumps({'url': settings.PORTAL_BASE_URL}))"
    )
    assert python_json(script, env) == {"url": "https://portal.example.com"}
