"""Settings for agentportal, read from the environment (and `.env`) through django-environ.

With no environment at all this is the embedded default that `make run` serves: SQLite,
tasks run in-process, the built-in sandbox as the upstream provider, e-mail to the console.
Every variable is listed in `.env.example`. OS environment variables win over `.env`.
"""

import base64
import hashlib
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

# A development key only exists while DEBUG is on; production must set its own.
SECRET_KEY = env.str("SECRET_KEY", default="") or (
    "django-insecure-development-only-key" if DEBUG else ""
)
if not SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY in the environment (DEBUG is off).")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The sandbox emulates the upstream providers over real HTTP; development and tests only.
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=DEBUG)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    # django-ninja: the JSON API; installed for its docs page's templates and static files.
    "ninja",
    "invitations",
]
if SANDBOX_ENABLED:
    INSTALLED_APPS.append("sandbox")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files from the WSGI server itself, so `make run`'s gunicorn needs nothing else.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Content-Security-Policy on every page (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The portal's own text in the agent's browser language, where a translation exists.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "invitations.web.middleware.AgentTimeZoneMiddleware",
    # Without a broker nothing else runs `requeue_stuck` (REQUEUE_STUCK_AUTOMATICALLY).
    "invitations.web.recovery.StuckDeliveryRecoveryMiddleware",
    "invitations.web.middleware.NoStoreWhenSignedInMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: locks out password guessing per username and address.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, reading the agent profile with the user.
    "invitations.web.auth_backends.AgentModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
# Hours until a locked-out username can try again from that address.
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Reverse proxies in front of the app that append the client's address to X-Forwarded-For
# (docs/production.md: nginx, 1). 0: the address the connection came from. The client
# address is taken from X-Forwarded-For by agentportal.proxy, trusting exactly this many hops.
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "agentportal.proxy.client_address"

# Check ids to silence, comma separated, e.g. invitations.W002 when no credential has the
# portal send SMS itself (docs/production.md).
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])

ROOT_URLCONF = "agentportal.urls"
WSGI_APPLICATION = "agentportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "invitations.web.context_processors.site",
                "invitations.web.context_processors.visibility",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default: WAL lets the server's threads (the portal and the sandbox it calls)
    # read while one writes, and with synchronous=NORMAL a commit does not wait for the disk
    # (a power cut may lose the last commits, never corrupt the file). Production uses
    # PostgreSQL.
    #
    # Every transaction takes the write lock when it begins (IMMEDIATE): a transaction that
    # read first and then wrote would otherwise fail at once with "database is locked" when
    # another process wrote in between, whatever the timeout. A writer waits up to `timeout`
    # seconds for the one before it (the web server's processes, commands, the sandbox).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        transaction_mode="IMMEDIATE",
        timeout=20,
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The embedded default keeps its cache in a table of the database (`migrate` creates it), so
# that every process on the machine (web server processes, commands) shares it: the dashboard
# drops its kept figures everywhere at once. Production sets CACHE_URL to Redis.
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://agentportal_cache")}

# The pages load scripts, styles and images from this site only, and run no inline script,
# style or event handler (templates/ and static/ keep them in files), so that injected markup
# cannot run. Enforced, not report-only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
    }
}

# A signed-in agent stays signed in for a working day (seconds), then logs in again.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=9 * 60 * 60)
# Django's database sessions, read with a query compiled once per process.
SESSION_ENGINE = "invitations.web.session_store"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "invitations:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Languages the portal writes customer messages in (built-in templates exist for these four);
# the first is the fallback for a language without a template.
CUSTOMER_LANGUAGES = env.list("CUSTOMER_LANGUAGES", default=["en", "de", "fr", "es"])
# The company name customers see in messages, unless the credential sets its own.
PORTAL_COMPANY_NAME = env.str("PORTAL_COMPANY_NAME", default="Customer Support")
# Longest SMS the portal sends, in parts (a part is 153 GSM-7 or 67 UCS-2 characters).
SMS_MAX_SEGMENTS = env.int("SMS_MAX_SEGMENTS", default=3)
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Without `collectstatic` (the embedded default), WhiteNoise serves straight from the apps'
# static folders; production serves the collected, hashed files instead.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

_email = env.email_url("EMAIL_URL", default="consolemail://")
if _email["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend":
    # consolemail:// prints through the portal's console backend, which masks addresses.
    _email["EMAIL_BACKEND"] = "invitations.channels.email.ConsoleEmailBackend"
vars().update(_email)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="agentportal <noreply@localhost>")

# --- Secrets at rest -------------------------------------------------------------------------
# Fernet keys, newest first, comma separated. Secrets are encrypted with the first key and
# decrypted with any of them, so a new key can be put in front and old ones removed later.
# Generate one with:
#   python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("Set FIELD_ENCRYPTION_KEYS in the environment (DEBUG is off).")
    # Stable across restarts so that a development database stays readable; never for production.
    FIELD_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(b"agentportal development key").digest()).decode()
    ]

# --- Upstream providers ----------------------------------------------------------------------
# Seconds to wait for a TCP connection and for the answer. A read timeout is ambiguous (the
# provider may have sent the SMS), so it is never retried blindly.
# A worker keeps its connection to a provider for the next delivery while it is idle at most
# this long (0: a new connection for every call). Keep it below the provider's keep-alive.
UPSTREAM_CONNECTION_REUSE_SECONDS = env.float("UPSTREAM_CONNECTION_REUSE_SECONDS", default=20)
UPSTREAM_CONNECT_TIMEOUT = env.float("UPSTREAM_CONNECT_TIMEOUT", default=3.05)
UPSTREAM_READ_TIMEOUT = env.float("UPSTREAM_READ_TIMEOUT", default=15.0)
# Seconds a whole call may take, connecting and reading included: the read timeout bounds each
# wait only, so a provider sending a byte a second would hold a delivery for ever. Running out
# after the request went is ambiguous, like a read timeout.
UPSTREAM_TOTAL_TIMEOUT = env.float(
    "UPSTREAM_TOTAL_TIMEOUT", default=UPSTREAM_CONNECT_TIMEOUT + UPSTREAM_READ_TIMEOUT + 2
)
# Largest answer read from a provider or the SMS gateway, in bytes (after decompression); a
# larger one is unreadable, which is ambiguous like any unreadable answer.
UPSTREAM_MAX_RESPONSE_BYTES = env.int("UPSTREAM_MAX_RESPONSE_BYTES", default=1_000_000)
# A fresh Glance login key is generated for every request and expires this many seconds later.
GLANCE_LOGIN_KEY_LIFETIME = env.int("GLANCE_LOGIN_KEY_LIFETIME", default=300)
# GSSNID and GJWT tokens are asked of Glance's Authorization Service for this many minutes
# (1 to 120) and kept in memory until a minute before they expire.
GLANCE_TOKEN_MINUTES = env.int("GLANCE_TOKEN_MINUTES", default=60)
# Whether the customer joined a Glance session is asked of Glance (LookupPartnerSession2) at
# most once per invitation per this many seconds, across all processes, while the invitation
# is sent and valid and its session not ended (invitations/services/presence_lookups.py).
GLANCE_LOOKUP_INTERVAL_SECONDS = env.float("GLANCE_LOOKUP_INTERVAL_SECONDS", default=5.0)
# Without a broker, the session page, its live rows and the API's session reads ask when a
# lookup is due, and wait at most this many seconds for the answers (a later one is dropped
# and asked again on a later read). With a broker a worker asks and reads never wait.
GLANCE_LOOKUP_TIMEOUT_SECONDS = env.float("GLANCE_LOOKUP_TIMEOUT_SECONDS", default=3.0)
# OnSync finds invitees only by e-mail address, so a customer invited by SMS is added as
# invitee-<reference>@<this domain>. OnSync never mails it (the portal sends the SMS); keep it
# a domain nobody receives mail for (.invalid never resolves).
ONSYNC_SMS_INVITEE_DOMAIN = env.str("ONSYNC_SMS_INVITEE_DOMAIN", default="sms.invalid")
# Provider name -> client class and its options; tests swap in the in-memory twin.
UPSTREAM_CLIENTS = {
    "glance": {
        "CLASS": "invitations.providers.glance.GlanceClient",
        "OPTIONS": {
            "login_key_lifetime": GLANCE_LOGIN_KEY_LIFETIME,
            "token_minutes": GLANCE_TOKEN_MINUTES,
        },
    },
    "onsync": {
        "CLASS": "invitations.providers.onsync.OnSyncClient",
        "OPTIONS": {"sms_invitee_domain": ONSYNC_SMS_INVITEE_DOMAIN},
    },
    "digitalsamba": {"CLASS": "invitations.providers.digitalsamba.DigitalSambaClient"},
}
# The portal's public address (scheme, host, port; no trailing slash), as providers reach it:
# Digital Samba's webhook is registered at PORTAL_BASE_URL/webhooks/digitalsamba/<label>/
# (at most 100 characters). Default: this server as `make run` serves it (on PORT). The one
# source of every address below that points at this server: the sandbox's URLs, the demo
# credentials and the callbacks the sandbox posts.
PORTAL_BASE_URL = env.str(
    "PORTAL_BASE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}"
).rstrip("/")
# Country assumed for phone numbers typed without a +country code.
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="US")

# --- Sandbox (development and tests) ----------------------------------------------------------
# The sandbox's own demo partner; `seed_demo` creates a credential that matches it.
# Where the sandbox answers: this server, so PORTAL_BASE_URL unless set apart. The sandbox's
# URLs below and the demo credentials start with it; the callbacks it posts go to the portal,
# at PORTAL_BASE_URL.
SANDBOX_ORIGIN = env.str("SANDBOX_ORIGIN", default=PORTAL_BASE_URL).rstrip("/")
SANDBOX_BASE_URL = env.str("SANDBOX_BASE_URL", default=f"{SANDBOX_ORIGIN}/sandbox/glance")
SANDBOX_GLANCE_GROUP_ID = env.int("SANDBOX_GLANCE_GROUP_ID", default=72)
SANDBOX_GLANCE_API_KEY = env.str("SANDBOX_GLANCE_API_KEY", default="sandbox-demo-api-key-0001")
# Glance addresses (for `glanceaddress~loginkey` tokens) of the demo partner's agents.
SANDBOX_GLANCE_ADDRESSES = env.list("SANDBOX_GLANCE_ADDRESSES", default=["agent.demo.glance.net"])
SANDBOX_ONSYNC_BASE_URL = env.str(
    "SANDBOX_ONSYNC_BASE_URL", default=f"{SANDBOX_ORIGIN}/sandbox/onsync/api/1"
)
# The sandbox OnSync's demo account: its login (the URL's account segment and the HTTP Basic
# user name) and password, as a real OnSync account has them.
SANDBOX_ONSYNC_ACCOUNT = env.str("SANDBOX_ONSYNC_ACCOUNT", default="demo-account")
SANDBOX_ONSYNC_PASSWORD = env.str("SANDBOX_ONSYNC_PASSWORD", default="sandbox-onsync-password-0001")
# The sandbox Digital Samba's one team: its id (a JWT's `td`, the HTTP Basic user name) and
# developer key (the API secret and the key personal links' JWTs are signed with).
SANDBOX_DIGITALSAMBA_TEAM_ID = env.str(
    "SANDBOX_DIGITALSAMBA_TEAM_ID", default="5b7d1f0e-3c1a-4e8e-9a57-0d6c2b1f4a11"
)
SANDBOX_DIGITALSAMBA_DEVELOPER_KEY = env.str(
    "SANDBOX_DIGITALSAMBA_DEVELOPER_KEY", default="sandbox-digitalsamba-developer-key"
)
SANDBOX_DIGITALSAMBA_BASE_URL = env.str(
    "SANDBOX_DIGITALSAMBA_BASE_URL", default=f"{SANDBOX_ORIGIN}/sandbox/digitalsamba/api/v1"
)
SANDBOX_SMS_GATEWAY_URL = env.str(
    "SANDBOX_SMS_GATEWAY_URL", default=f"{SANDBOX_ORIGIN}/sandbox/sms-gateway"
)
SANDBOX_SMS_GATEWAY_TOKEN = env.str("SANDBOX_SMS_GATEWAY_TOKEN", default="sandbox-sms-token-0001")

# --- Anti-abuse limits ------------------------------------------------------------------------
# "count/seconds", counted in the database, which every process shares
# (invitations/services/limits.py).
# Every entry point (page, API, commands, admin) goes through the same checks.
RATE_LIMIT_PER_AGENT = env.str("RATE_LIMIT_PER_AGENT", default="30/600")
RATE_LIMIT_PER_DESTINATION = env.str("RATE_LIMIT_PER_DESTINATION", default="3/3600")
# SMS pumping spreads over neighbouring numbers: count per number without its last 4 digits
# (its last 2 for numbers of 8 characters or fewer, such as +683 4001).
RATE_LIMIT_PER_PREFIX = env.str("RATE_LIMIT_PER_PREFIX", default="10/3600")

# --- The portal's own SMS delivery ------------------------------------------------------------
# Whether SMS and e-mail the portal sends itself may go to a backend that only prints or keeps
# them (console, in-memory, file): in development, yes. Otherwise such a message reaches
# nobody, so those channels are unavailable (the agent page says why, sending is refused) and
# `manage.py check` warns (invitations.W002, W003).
CONSOLE_DELIVERY_ALLOWED = DEBUG
# Dotted path of the SMS backend class. With the sandbox on, SMS go to its gateway emulator and
# show in /sandbox/outbox/; otherwise to the console until a gateway is configured.
SMS_BACKEND = env.str(
    "SMS_BACKEND",
    default="invitations.channels.sms.http.HttpSmsBackend"
    if SANDBOX_ENABLED
    else "invitations.channels.sms.console.ConsoleSmsBackend",
)
SMS_GATEWAY_URL = env.str(
    "SMS_GATEWAY_URL", default=SANDBOX_SMS_GATEWAY_URL if SANDBOX_ENABLED else ""
)
SMS_GATEWAY_TOKEN = env.str(
    "SMS_GATEWAY_TOKEN", default=SANDBOX_SMS_GATEWAY_TOKEN if SANDBOX_ENABLED else ""
)
# Sent with each SMS as the URL the gateway posts delivery receipts to. Empty: none asked for.
# With the sandbox on: the portal's own webhook, at PORTAL_BASE_URL.
SMS_STATUS_CALLBACK_URL = env.str(
    "SMS_STATUS_CALLBACK_URL",
    default=f"{PORTAL_BASE_URL}/webhooks/sms-gateway/" if SANDBOX_ENABLED else "",
)

# --- Delivery receipts (contracts: docs/upstream-contracts.md) ------------------------------
# The sandbox signs its SMS gateway's status callbacks with this secret, and posts them (and
# its Postmark webhooks) this many seconds after it accepted a message.
SANDBOX_SMS_GATEWAY_WEBHOOK_SECRET = env.str(
    "SANDBOX_SMS_GATEWAY_WEBHOOK_SECRET", default="sandbox-sms-webhook-secret-0001"
)
SANDBOX_RECEIPT_DELAY = env.float("SANDBOX_RECEIPT_DELAY", default=0.3)
# The sandbox's Postmark: its server token, where it posts tracking webhooks (the portal's,
# at PORTAL_BASE_URL), and their basic auth ("user:password").
SANDBOX_POSTMARK_SERVER_TOKEN = env.str(
    "SANDBOX_POSTMARK_SERVER_TOKEN", default="sandbox-postmark-token-0001"
)
SANDBOX_POSTMARK_WEBHOOK_URL = env.str(
    "SANDBOX_POSTMARK_WEBHOOK_URL", default=f"{PORTAL_BASE_URL}/webhooks/email/postmark/"
)
SANDBOX_EMAIL_WEBHOOK_SECRET = env.str(
    "SANDBOX_EMAIL_WEBHOOK_SECRET", default="sandbox:sandbox-email-webhook-0001"
)
# Shared with the SMS gateway, which signs every status callback with it (HMAC-SHA256).
# Empty: /webhooks/sms-gateway/ answers 503 and changes nothing.
SMS_GATEWAY_WEBHOOK_SECRET = env.str(
    "SMS_GATEWAY_WEBHOOK_SECRET",
    default=SANDBOX_SMS_GATEWAY_WEBHOOK_SECRET if SANDBOX_ENABLED else "",
)
# Callbacks stamped further than this many seconds from now are refused as replays.
SMS_GATEWAY_WEBHOOK_MAX_AGE = env.int("SMS_GATEWAY_WEBHOOK_MAX_AGE", default=300)
# The e-mail provider whose tracking webhook /webhooks/email/<esp>/ takes (django-anymail).
EMAIL_TRACKING_ESP = env.str("EMAIL_TRACKING_ESP", default="postmark")
# E-mail through the provider's API, so that its webhooks name our messages, e.g.
# EMAIL_BACKEND=invitations.channels.email.PostmarkEmailBackend with POSTMARK_SERVER_TOKEN.
if env.str("EMAIL_BACKEND", default=""):
    EMAIL_BACKEND = env.str("EMAIL_BACKEND")
# With the sandbox on, e-mail the portal would only print (or keep in memory) is also kept in
# the sandbox outbox, next to what the emulated providers "sent" (sandbox/mail.py), and then
# handed on to SANDBOX_EMAIL_FORWARD_BACKEND: the backend chosen above.
SANDBOX_EMAIL_FORWARD_BACKEND: str = EMAIL_BACKEND
if SANDBOX_ENABLED and SANDBOX_EMAIL_FORWARD_BACKEND in (
    "invitations.channels.email.ConsoleEmailBackend",
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
):
    EMAIL_BACKEND = "sandbox.mail.OutboxEmailBackend"
ANYMAIL = {
    # The basic auth ("user:password") the provider's webhook must send; empty: webhook off.
    "WEBHOOK_SECRET": env.str(
        "EMAIL_WEBHOOK_SECRET", default=SANDBOX_EMAIL_WEBHOOK_SECRET if SANDBOX_ENABLED else ""
    ),
    "POSTMARK_SERVER_TOKEN": env.str("POSTMARK_SERVER_TOKEN", default=""),
    "POSTMARK_API_URL": env.str("POSTMARK_API_URL", default="https://api.postmarkapp.com/"),
}

# --- Celery ----------------------------------------------------------------------------------
# No broker configured: tasks run in-process, right after the transaction that queued them.
CELERY_TASK_ALWAYS_EAGER = not env.str("CELERY_BROKER_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# A delivery is one HTTP call bounded by the timeouts above; these limits only catch a hang.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
# A task is acknowledged only after it ran, and one whose worker died is given back to the
# broker; the task claims its invitee first, so a second run never sends twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Tasks each pool process holds in reserve; more keeps the processes busy between short tasks,
# and a reserved task is still only acknowledged after it ran.
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=1)
# Redis redelivers a task not acknowledged within this many seconds. Retry countdowns
# (DELIVERY_RETRY_MAX_DELAY) must stay well below it.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Two queues: deliveries on the default one, the presence lookups (a round per sent Glance
# invitation every GLANCE_LOOKUP_INTERVAL_SECONDS, each an upstream call) on their own. A
# worker started without -Q takes both; one started with `-Q celery` only delivers, so
# that a bulk send's lookups never wait in line before its deliveries (docs/production.md).
CELERY_TASK_DEFAULT_QUEUE = "celery"
PRESENCE_QUEUE = "presence"
CELERY_TASK_QUEUES = (Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(PRESENCE_QUEUE))
CELERY_TASK_ROUTES = {"invitations.poll_invitee_presence": {"queue": PRESENCE_QUEUE}}
# Without this, Celery's Django fixup closes every database connection before and after each
# task, so every delivery opens a new one (about 10 ms on PostgreSQL) and CONN_MAX_AGE is
# ignored in workers. agentportal/celery.py closes old or broken connections around tasks
# instead, as Django does around requests; CONN_MAX_AGE=0 still closes them after each task.
CELERY_DB_REUSE_MAX = 1_000_000_000

# A delivery `sending` for longer than this many seconds was interrupted (its process died):
# `requeue_stuck` marks it `needs attention`, and queues again one `queued` as long. It must stay
# above the longest a delivery can take (a system check says so).
REQUEUE_STUCK_AFTER_SECONDS = env.float(
    "REQUEUE_STUCK_AFTER_SECONDS", default=120.0 if CELERY_TASK_ALWAYS_EAGER else 600.0
)
# Without a broker there is usually no cron running `requeue_stuck`: the portal runs it itself,
# at most once a minute per process, while it serves requests (invitations/web/recovery.py).
REQUEUE_STUCK_AUTOMATICALLY = env.bool(
    "REQUEUE_STUCK_AUTOMATICALLY", default=CELERY_TASK_ALWAYS_EAGER
)

# --- Delivery retries --------------------------------------------------------------------------
# Automatic retries need a broker (countdown tasks); in-process delivery fails at once and the
# agent resends. Only failures where the upstream certainly did not act are retried.
DELIVERY_AUTO_RETRY = env.bool("DELIVERY_AUTO_RETRY", default=not CELERY_TASK_ALWAYS_EAGER)
DELIVERY_MAX_ATTEMPTS = env.int("DELIVERY_MAX_ATTEMPTS", default=5)
DELIVERY_RETRY_BASE_DELAY = env.float("DELIVERY_RETRY_BASE_DELAY", default=2.0)
# Must stay well below the broker's visibility timeout (one hour on Redis): a countdown longer
# than that makes Redis deliver the task twice (celery issues 3270, 5935).
DELIVERY_RETRY_MAX_DELAY = env.float("DELIVERY_RETRY_MAX_DELAY", default=300.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact": {"()": "invitations.security.logfilters.RedactingFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # urllib3 logs request lines at DEBUG; keep it quiet even when LOG_LEVEL=DEBUG.
        "urllib3": {"level": "WARNING"},
        # runserver prints its own start-up lines; this one would repeat them.
        "django.utils.autoreload": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # Django's own loggers write through our filtered handler only (its default console
        # handler would print them a second time, unfiltered); runserver's request lines too,
        # since a CRM deep link carries a number.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
