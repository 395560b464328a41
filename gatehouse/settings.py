"""Gatehouse settings: one module, read from environment variables.

Every value has a typed reader that fails loudly on a bad value (environs raises at import time),
and secrets may come from files: ``SECRET_KEY_FILE``, ``OKTA_API_TOKEN_FILE`` and so on.
With nothing set, Gatehouse runs on embedded defaults under ``var/``: SQLite and Celery's
filesystem transport, so ``make demo`` needs no database or broker server.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP  # type: ignore[import-not-found,unused-ignore]
from environs import Env

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env()


def secret(name: str, default: str = "") -> str:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    path = env.str(f"{name}_FILE", "")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc}") from exc
    return env.str(name, default)


VAR_DIR = Path(env.path("GATEHOUSE_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

TESTING = "pytest" in sys.modules or (len(sys.argv) > 1 and sys.argv[1] == "test")
DEBUG = env.bool("DEBUG", False)

SECRET_KEY = secret("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdef"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG or TESTING else [])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env.str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "bootstrap",
    "mozilla_django_oidc",
    "ninja",  # the API docs page serves Swagger UI from the package, not a CDN
    "core",
    "audit",
    "okta",
    "accounts",
    "approvals",
    "identity",
    "reviews",
    "assistant",
    "chat",
    "api",
    "gatehouse",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.request_size_limit",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "api.middleware.api_call_audit",
]

ROOT_URLCONF = "gatehouse.urls"
WSGI_APPLICATION = "gatehouse.wsgi.application"

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
                "django.template.context_processors.csp",
                "accounts.context_processors.roles",
                "approvals.context_processors.inbox",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.dj_db_url(
        "DATABASE_URL",
        default=f"sqlite:///{VAR_DIR / 'gatehouse.sqlite3'}",
        conn_max_age=env.int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: WAL lets readers run beside the writer, and
    # IMMEDIATE transactions make writers queue instead of failing with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "portal.User"

# --- Cache (also the rate-limit governor's shared state) ------------------------------------
REDIS_URL = env.str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", "gatehouse"),
            # Bounded waits: a Redis that stops answering must not hang Okta calls (the
            # rate-limit governor then paces on local state).
            "OPTIONS": {
                "socket_connect_timeout": env.float("REDIS_SOCKET_TIMEOUT", 2.0),
                "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT", 2.0),
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "gatehouse_cache",
        }
    }

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    _processed_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "store_processed": False,
        "control_folder": str(VAR_DIR / "celery" / "control"),
        # Kombu looks into the folder once a second by default, which with prefetch 1 lets a
        # worker take about one message a second per process: a tenth of a second instead.
        "polling_interval": 0.1,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# The queue this deployment's tasks go through: deployments (or a benchmark) sharing one broker
# keep apart by naming their own.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", "celery")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic tasks; each app appends its entries in its own section below.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

# --- Okta -----------------------------------------------------------------------------------
OKTA_ORG_URL = env.str("OKTA_ORG_URL", "").rstrip("/")
OKTA_API_TOKEN = secret("OKTA_API_TOKEN")
OKTA_CLIENT_ID = env.str("OKTA_CLIENT_ID", "")
OKTA_PRIVATE_KEY = secret("OKTA_PRIVATE_KEY")
OKTA_SCOPES = env.list(
    "OKTA_SCOPES",
    [
        "okta.users.manage",
        "okta.groups.manage",
        "okta.apps.manage",
        "okta.logs.read",
        "okta.roles.read",
        "okta.eventHooks.manage",
    ],
    delimiter=" ",
)
OKTA_TIMEOUT_SECONDS = env.float("OKTA_TIMEOUT_SECONDS", 20.0)
OKTA_CONCURRENCY_LIMIT = env.int("OKTA_CONCURRENCY_LIMIT", 20)
OKTA_MAX_RETRIES = env.int("OKTA_MAX_RETRIES", 6)
OKTA_EVENT_HOOK_SECRET = secret("OKTA_EVENT_HOOK_SECRET")
OKTA_EVENT_HOOK_MAX_BYTES = env.int("OKTA_EVENT_HOOK_MAX_BYTES", 1_048_576)

# Secrets stored in the database (connection settings) are encrypted with these Fernet keys;
# the first encrypts, all decrypt (rotation). In DEBUG/tests a key is derived from SECRET_KEY.
FIELD_ENCRYPTION_KEYS: list[str] = env.list("FIELD_ENCRYPTION_KEYS", [])
if not FIELD_ENCRYPTION_KEYS:
    secret_file_key = secret("FIELD_ENCRYPTION_KEY")
    if secret_file_key:
        FIELD_ENCRYPTION_KEYS = [secret_file_key]

# --- Audit streaming (audit/streaming.py): off unless a sink is named -------------------------
# An HTTPS endpoint that takes JSON Lines, signed with HMAC-SHA256 (X-Gatehouse-Signature).
AUDIT_STREAM_WEBHOOK_URL = env.str("AUDIT_STREAM_WEBHOOK_URL", "")
AUDIT_STREAM_WEBHOOK_SECRET = secret("AUDIT_STREAM_WEBHOOK_SECRET")
# A syslog collector taking RFC 5424 over TCP or TLS: tcp://host:port or tls://host:port.
AUDIT_STREAM_SYSLOG_URL = env.str("AUDIT_STREAM_SYSLOG_URL", "")
AUDIT_STREAM_BATCH = env.int("AUDIT_STREAM_BATCH", 500)  # events per POST / connection
AUDIT_STREAM_INTERVAL = env.float("AUDIT_STREAM_INTERVAL", 5.0)  # seconds between passes
AUDIT_STREAM_MAX_BACKOFF = env.float(
    "AUDIT_STREAM_MAX_BACKOFF", 300.0
)  # longest wait after failures

# --- Chat approvals (chat/): Slack is off unless both the bot token and signing secret are set --
# The bot token (xoxb-...) posts and updates approvers' messages; the signing secret checks
# every interaction Slack sends to /chat/slack/interactions/. SLACK_API_URL is for the emulator.
SLACK_BOT_TOKEN = secret("SLACK_BOT_TOKEN")
SLACK_SIGNING_SECRET = secret("SLACK_SIGNING_SECRET")
SLACK_API_URL = env.str("SLACK_API_URL", "https://slack.com/api/").rstrip("/") + "/"
SLACK_TIMEOUT_SECONDS = env.int("SLACK_TIMEOUT_SECONDS", 10)  # also for the Teams webhook
# Teams: notifications only, to one channel's incoming webhook (off unless set).
TEAMS_WEBHOOK_URL = secret("TEAMS_WEBHOOK_URL")

# --- REST API (/api/v1/) -------------------------------------------------------------------
API_RATE_LIMIT = env.str("API_RATE_LIMIT", "600/m")  # calls per token
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", 365)  # the longest a token may last

# --- Portal roles come from Okta group membership ------------------------------------------
GATEHOUSE_ADMIN_GROUP = env.str("GATEHOUSE_ADMIN_GROUP", "Gatehouse Admins")
GATEHOUSE_HELPDESK_GROUP = env.str("GATEHOUSE_HELPDESK_GROUP", "Gatehouse Helpdesk")
GATEHOUSE_AUDITOR_GROUP = env.str("GATEHOUSE_AUDITOR_GROUP", "Gatehouse Auditors")

# --- Sign-in (OIDC) -------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = ["accounts.auth.OktaOIDCBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
OIDC_OP_ISSUER = env.str("OIDC_OP_ISSUER", "").rstrip("/")
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", "gatehouse")
OIDC_RP_CLIENT_SECRET = secret("OIDC_RP_CLIENT_SECRET", "gatehouse-dev-secret" if DEBUG else "")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", "openid email profile")
# Endpoints left empty are discovered from the issuer's /.well-known/openid-configuration when
# someone signs in (accounts/oidc.py); set one to override what the provider announces.
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT_SECONDS", 10.0)  # discovery, token, userinfo and JWKS calls
OIDC_VERIFY_SSL = True
OIDC_AUTHENTICATE_CLASS = "accounts.oidc.AuthenticationRequestView"
OIDC_OP_LOGOUT_ENDPOINT = env.str("OIDC_OP_LOGOUT_ENDPOINT", "")
OIDC_CREATE_USER = True
OIDC_STORE_ID_TOKEN = False
OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = env.int("OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS", 15 * 60)
# PKCE (S256) on top of the client secret: a stolen authorization code is useless alone.
OIDC_USE_PKCE = env.bool("OIDC_USE_PKCE", True)
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
LOGIN_REDIRECT_URL_FAILURE = "/signin/refused/"
# The demo's local provider offers one-click sign-in as these people (login = email).
DEMO_PEOPLE: list[str] = env.list("DEMO_PEOPLE", [])

# --- Email ----------------------------------------------------------------------------------
# Django 6.1's MAILERS, configured from the same environment variables as before. In DEBUG
# nothing is sent: each message is logged, readable (gatehouse/mail.py).
_EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    "gatehouse.mail.LogBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
_EMAIL_OPTIONS: dict[str, object] = (
    {
        "host": env.str("EMAIL_HOST", "localhost"),
        "port": env.int("EMAIL_PORT", 25),
        "username": env.str("EMAIL_HOST_USER", ""),
        "password": secret("EMAIL_HOST_PASSWORD"),
        "use_tls": env.bool("EMAIL_USE_TLS", False),
    }
    if _EMAIL_BACKEND.endswith("smtp.EmailBackend")
    else {}
)
MAILERS = {"default": {"BACKEND": _EMAIL_BACKEND, "OPTIONS": _EMAIL_OPTIONS}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "Gatehouse <gatehouse@localhost>")

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- Security -------------------------------------------------------------------------------
# Sessions are kept in the database; with Redis, read through the cache (a page then asks
# PostgreSQL nothing to find its session).
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if REDIS_URL
    else "django.contrib.sessions.backends.db"
)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", 8 * 3600)
CSRF_FAILURE_VIEW = "core.views.csrf_failure"
CSRF_COOKIE_HTTPONLY = False  # htmx reads nothing from it: the token travels in hx-headers
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
_secure = env.bool("SECURE_COOKIES", not DEBUG and not TESTING)
SESSION_COOKIE_SECURE = _secure
CSRF_COOKIE_SECURE = _secure
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", _secure)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 31_536_000 if _secure else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _secure
SECURE_HSTS_PRELOAD = _secure
if env.bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF, *env.list("CSP_FORM_ACTION_EXTRA", [])],
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
# Any request body above this is refused (413) unread: file parts escape the limit above.
REQUEST_MAX_BYTES = env.int("REQUEST_MAX_BYTES", 4_194_304)
if max(DATA_UPLOAD_MAX_MEMORY_SIZE, OKTA_EVENT_HOOK_MAX_BYTES) > REQUEST_MAX_BYTES:
    raise ImproperlyConfigured(
        "REQUEST_MAX_BYTES must be at least DATA_UPLOAD_MAX_MEMORY_SIZE and "
        "OKTA_EVENT_HOOK_MAX_BYTES, so those limits keep their own answers."
    )

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True
# ISO dates and 24-hour times on every page (core/formats/en/formats.py).
FORMAT_MODULE_PATH = "core.formats"

# Read by people as well as machines: one line per event, noise filtered at its logger
# (gatehouse/logs.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "filters": {
        "static_files_served": {"()": "gatehouse.logs.StaticFilesServedFilter"},
        "no_hostname_warning": {"()": "gatehouse.logs.NoHostnameWarningFilter"},
        "permission_denied_one_line": {"()": "gatehouse.logs.PermissionDeniedOneLineFilter"},
        "periodic_task_lines": {"()": "gatehouse.logs.PeriodicTaskLinesFilter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler (DEBUG only) is dropped: its records reach the root's
        # handler anyway, so each was printed twice.
        "django": {"level": "INFO"},
        "django.request": {"filters": ["permission_denied_one_line"]},
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["static_files_served"],
        },
        "kombu.connection": {"filters": ["no_hostname_warning"]},
        "celery.worker.strategy": {"filters": ["periodic_task_lines"]},
        "celery.app.trace": {"filters": ["periodic_task_lines"]},
        "gatehouse.mail": {"level": "INFO"},  # development email, shown whatever LOG_LEVEL says
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "django.db.backends": {"level": "INFO"},
    },
}

# --- Approvals ------------------------------------------------------------------------------
APPROVALS_PENDING_EXPIRY_DAYS = env.int("APPROVALS_PENDING_EXPIRY_DAYS", 14)
APPROVALS_REMINDER_DAYS = env.int("APPROVALS_REMINDER_DAYS", 3)
APPROVALS_DURATION_CHOICES_DAYS: list[int] = env.list(
    "APPROVALS_DURATION_CHOICES_DAYS", [1, 7, 30, 90, 180, 365], subcast=int
)
CELERY_BEAT_SCHEDULE.update(
    {
        "approvals-expire-pending": {"task": "approvals.expire_pending", "schedule": 300.0},
        "approvals-revoke-due-grants": {"task": "approvals.revoke_due_grants", "schedule": 60.0},
        "approvals-remind-expiring": {"task": "approvals.remind_expiring", "schedule": 3600.0},
        "approvals-reconcile-fulfilment": {
            "task": "approvals.reconcile_fulfilment",
            "schedule": 60.0,
        },
    }
)

# --- Okta sync ------------------------------------------------------------------------------
OKTA_SYNC_INCREMENTAL_SECONDS = env.float("OKTA_SYNC_INCREMENTAL_SECONDS", 300.0)
OKTA_SYNC_FULL_SECONDS = env.float("OKTA_SYNC_FULL_SECONDS", 24 * 3600.0)
CELERY_BEAT_SCHEDULE.update(
    {
        "okta-sync-incremental": {
            "task": "okta.sync_incremental",
            "schedule": OKTA_SYNC_INCREMENTAL_SECONDS,
        },
        "okta-sync-full": {"task": "okta.sync_full", "schedule": OKTA_SYNC_FULL_SECONDS},
        "okta-hook-events-sweep": {"task": "okta.hook_events_sweep", "schedule": 60.0},
    }
)

# --- Okta operations (the outbox) -----------------------------------------------------------
OKTA_OPERATION_MAX_ATTEMPTS = env.int("OKTA_OPERATION_MAX_ATTEMPTS", 8)
OKTA_OPERATION_RUNNING_DEADLINE = env.int("OKTA_OPERATION_RUNNING_DEADLINE", 300)
OKTA_OPERATION_LOST_GRACE = env.int("OKTA_OPERATION_LOST_GRACE", 120)
CELERY_BEAT_SCHEDULE.update(
    {"okta-operations-reap": {"task": "okta.operations_reap", "schedule": 60.0}}
)

# --- Audit trail ----------------------------------------------------------------------------
# Trails longer than this are verified by a Celery task instead of inside the web request.
AUDIT_VERIFY_SYNC_LIMIT = env.int("AUDIT_VERIFY_SYNC_LIMIT", 20_000)
# Reverse proxies in front of Gatehouse that append to X-Forwarded-For (0: use REMOTE_ADDR).
AUDIT_TRUSTED_PROXY_COUNT = env.int("AUDIT_TRUSTED_PROXY_COUNT", 0)

# --- access reviews -------------------------------------------------------------------------
CELERY_BEAT_SCHEDULE.update({"reviews-run-due": {"task": "reviews.run_due", "schedule": 300.0}})
# Audit streaming runs only when a sink is configured.
if AUDIT_STREAM_WEBHOOK_URL or AUDIT_STREAM_SYSLOG_URL:
    CELERY_BEAT_SCHEDULE.update(
        {
            "audit-stream-deliver": {
                "task": "audit.stream_deliver",
                "schedule": AUDIT_STREAM_INTERVAL,
            }
        }
    )
