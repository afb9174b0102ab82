"""Production settings: `DJANGO_SETTINGS_MODULE=agentportal.settings.production`.

Everything in base.py applies, read from the same environment (and `.env`), except what is
overridden here. base.py decides some values at import from DEBUG, which defaults to true
there, and SANDBOX_ENABLED; this module recomputes every one of them, so the environment's
DEBUG and SANDBOX_ENABLED have no effect here. Variables without a development default
(SECRET_KEY, FIELD_ENCRYPTION_KEYS, ALLOWED_HOSTS, DATABASE_URL, CELERY_BROKER_URL,
CACHE_URL) must be set, or start-up fails with ImproperlyConfigured naming the variable.
See docs/production.md.
"""

from pathlib import Path

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from agentportal.settings.base import *  # noqa: F403
from agentportal.settings.base import (
    ANYMAIL,
    BASE_DIR,
    DELIVERY_RETRY_MAX_DELAY,
    INSTALLED_APPS,
    SANDBOX_EMAIL_FORWARD_BACKEND,
    env,
)


def _required(name: str) -> str:
    """The variable's value; ImproperlyConfigured if it is unset or blank."""
    value: str = env.str(name, default="").strip()
    if not value:
        raise ImproperlyConfigured(
            f"Set {name} in the environment: the production settings have no default for it."
        )
    return value


def _required_list(name: str) -> list[str]:
    items = [item.strip() for item in _required(name).split(",") if item.strip()]
    if not items:
        raise ImproperlyConfigured(f"Set {name} in the environment (comma separated).")
    return items


# --- Core ------------------------------------------------------------------------------------
DEBUG = False

# No development fallback: base.py's insecure key exists only while DEBUG is on.
SECRET_KEY = _required("SECRET_KEY")
# Previous keys, still accepted for sessions and signed values while they expire.
SECRET_KEY_FALLBACKS: list[str] = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = _required_list("ALLOWED_HOSTS")
# Only needed when the proxy changes the Host or the port the browser sees.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Secrets at rest -------------------------------------------------------------------------
# No derived development key: without the real keys the stored partner secrets are unreadable.
FIELD_ENCRYPTION_KEYS = _required_list("FIELD_ENCRYPTION_KEYS")
for _position, _key in enumerate(FIELD_ENCRYPTION_KEYS, start=1):
    try:
        Fernet(_key.encode())
    except ValueError as _err:
        # Never echo the key itself: say which one is wrong.
        raise ImproperlyConfigured(
            f"FIELD_ENCRYPTION_KEYS: key #{_position} is not a valid Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from _err

# --- The portal's public address ----------------------------------------------------------------
# Where providers post to (Digital Samba's webhook). No localhost default: a provider cannot
# reach it. Unset: Digital Samba credentials fail their check, saying so. Set: https only, as
# the webhook carries its secret in a header.
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="").strip().rstrip("/")
if PORTAL_BASE_URL and not PORTAL_BASE_URL.startswith("https://"):
    raise ImproperlyConfigured(
        "PORTAL_BASE_URL must start with https:// in production (the Digital Samba webhook "
        "carries its secret in a header), e.g. https://portal.example.com."
    )

# --- Sandbox: never in production --------------------------------------------------------------
# agentportal/urls.py mounts /sandbox/ only when SANDBOX_ENABLED.
SANDBOX_ENABLED = False
INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "sandbox"]
# Nor its outbox: e-mail goes straight to the backend EMAIL_URL (or EMAIL_BACKEND) names.
EMAIL_BACKEND = SANDBOX_EMAIL_FORWARD_BACKEND

# --- The portal's own SMS delivery ------------------------------------------------------------
# No sandbox gateway defaults. Without a gateway (or with EMAIL_URL left at the console), the
# SMS (e-mails) the portal would send itself would only be printed: those channels are
# unavailable to agents instead, and `check` warns (invitations/checks.py).
CONSOLE_DELIVERY_ALLOWED = False
_http_sms_backend = "invitations.channels.sms.http.HttpSmsBackend"
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env.str("SMS_GATEWAY_TOKEN", default="")
SMS_BACKEND = env.str(
    "SMS_BACKEND",
    default=_http_sms_backend
    if SMS_GATEWAY_URL
    else "invitations.channels.sms.console.ConsoleSmsBackend",
)
if _http_sms_backend == SMS_BACKEND:
    for _name, _value in (
        ("SMS_GATEWAY_URL", SMS_GATEWAY_URL),
        ("SMS_GATEWAY_TOKEN", SMS_GATEWAY_TOKEN),
    ):
        if not _value:
            raise ImproperlyConfigured(f"Set {_name} in the environment: HttpSmsBackend needs it.")

# --- Delivery receipts: off unless configured (README "Delivery receipts") --------------------
# No sandbox defaults: a webhook secret anyone can read in base.py would let anyone forge them.
SMS_STATUS_CALLBACK_URL = env.str("SMS_STATUS_CALLBACK_URL", default="")
SMS_GATEWAY_WEBHOOK_SECRET = env.str("SMS_GATEWAY_WEBHOOK_SECRET", default="")
ANYMAIL = {**ANYMAIL, "WEBHOOK_SECRET": env.str("EMAIL_WEBHOOK_SECRET", default="")}

# --- Storage ---------------------------------------------------------------------------------
# PostgreSQL, e.g. postgres://agentportal:password@127.0.0.1:5432/agentportal
DATABASES = {"default": env.db_url_config(_required("DATABASE_URL"))}
# Seconds a connection is kept for the next request; checked before reuse.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# One cache shared by every process on every machine (Redis, or the database's cache table):
# what one process changes in it, such as the dashboard's kept figures, all must see. A memory
# cache is per process, a file cache per machine, a dummy cache none at all: refused.
CACHES = {"default": env.cache_url_config(_required("CACHE_URL"))}
_NOT_SHARED_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache": "a memory cache of each process",
    "django.core.cache.backends.filebased.FileBasedCache": "files on one machine",
    "django.core.cache.backends.dummy.DummyCache": "no cache at all",
}
if CACHES["default"]["BACKEND"] in _NOT_SHARED_CACHES:
    raise ImproperlyConfigured(
        f"CACHE_URL names {_NOT_SHARED_CACHES[CACHES['default']['BACKEND']]}, which the "
        "processes of the portal do not share. Set it to Redis, e.g. redis://127.0.0.1:6379/1 "
        "(or dbcache://agentportal_cache for the database's cache table)."
    )

# --- Static files: collected by `collectstatic`, served by WhiteNoise ----------------------------
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# WhiteNoise is in base.py's MIDDLEWARE, right after SecurityMiddleware.
WHITENOISE_USE_FINDERS = False
WHITENOISE_AUTOREFRESH = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- HTTPS behind a TLS-terminating proxy -----------------------------------------------------
# The proxy must set (not pass through) X-Forwarded-Proto; Django trusts it for is_secure().
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The same proxy appends the client's address to X-Forwarded-For; login throttling counts per
# client address (agentportal.proxy). One proxy (nginx, docs/production.md) unless set.
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=1)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
# One year. Browsers that saw the header refuse plain HTTP to the host for that long; start
# lower (e.g. 300) while trying out a new host name. Any value above 0 passes check --deploy.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Celery: separate worker processes, a real broker ------------------------------------------
CELERY_BROKER_URL = _required("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = False
# Automatic retries are countdown tasks on the broker, which production always has.
DELIVERY_AUTO_RETRY = env.bool("DELIVERY_AUTO_RETRY", default=True)
# Acknowledge a task after it ran; give it back to the broker if its worker died. The task
# claims its invitee before calling the provider, so a second run never sends twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# On Redis a task not acknowledged within visibility_timeout seconds is delivered again, to
# another worker. That includes tasks waiting for a retry countdown (celery issues 3270 and
# 5935), so retry countdowns (DELIVERY_RETRY_MAX_DELAY) and task time limits must stay well
# below it.
_visibility_timeout: int = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": _visibility_timeout}
if _visibility_timeout < DELIVERY_RETRY_MAX_DELAY * 2:
    raise ImproperlyConfigured(
        "DELIVERY_RETRY_MAX_DELAY must be at most half of CELERY_VISIBILITY_TIMEOUT, "
        "or Redis delivers retried tasks twice."
    )
# worker_cancel_long_running_tasks_on_connection_loss stays off (Celery's default): a delivery
# cut off mid-call could not record whether the provider sent; letting it finish records the
# outcome, and a redelivered copy finds nothing left to deliver (the invitee is claimed).

# LOGGING: base.py's (console, LOG_LEVEL).
