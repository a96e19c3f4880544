"""The one settings module. Every deployment choice is an environment variable (see README).

Two modes:
- embedded (the default, `make run`): SQLite, objects on the file system, in-memory channel layer,
  all under ``EKESSAI_DATA_DIR`` (``var/``); no service needed.
- production (``EKESSAI_MODE=production``): SECRET_KEY, DATABASE_URL, REDIS_URL and MinIO are
  required, and start-up stops naming whichever is missing.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config import env

BASE_DIR = Path(__file__).resolve().parent.parent

MODE = env.string("EKESSAI_MODE", "embedded", hint="embedded or production")
if MODE not in {"embedded", "production"}:
    raise ImproperlyConfigured(
        f"Environment variable EKESSAI_MODE has an invalid value ({MODE!r}): "
        "expected embedded or production"
    )
PRODUCTION = MODE == "production"
_required = env._MISSING if PRODUCTION else None

DATA_DIR: Path = env.path("EKESSAI_DATA_DIR", BASE_DIR / "var")
DEBUG = env.boolean("DEBUG", False)
# Demo accounts (seed_demo) may log in only in demo mode; production turns it off by default.
DEMO_MODE = env.boolean("EKESSAI_DEMO", not PRODUCTION)


def _embedded_secret_key() -> str:
    """A per-installation key kept under var/, so that no secret ever sits in the repository."""
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.touch(mode=0o600)
    key_file.write_text(key)
    return key


SECRET_KEY = env.string("SECRET_KEY", _required, hint="a long random string") or (
    _embedded_secret_key()
)
ALLOWED_HOSTS = env.strings("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.strings("CSRF_TRUSTED_ORIGINS", [])
# Where people and outside validators reach this deployment: absolute links in e-mail, the CRL
# distribution point in certificates. No trailing slash.
SITE_URL: str = env.string("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "channels",
    "org",
    "api",
    "storage",
    "documents",
    "workflow",
    "notifications",
    "signing",
    "audit",
    "retention",
    "jobs",
    "frontend",
    "analytics",
    "meetings",
    "briefings",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "csp",
    "security",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Cache-Control: no-store for signed-in pages and the API (shared office PCs).
    "security.caching.NoStoreMiddleware",
    "security.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Hostile input (control characters, deep or huge JSON, out-of-range numbers): 400/413.
    "api.inputs.InputLimitsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "config.db_availability.DatabaseAvailabilityMiddleware",
    "security.middleware.SessionSecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.context.AuditContextMiddleware",
    "api.errors.ApiErrorMiddleware",
    # When an approver first opens a task's document (decision analytics' waiting time).
    "analytics.middleware.FirstViewMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASES = {
    "default": env.database("DATABASE_URL", _required)
    or {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA_DIR / "ekessai.sqlite3"}
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a management command writes.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL;"
else:
    # A bounded pool per process (psycopg_pool through Django): the connections a process holds
    # never grow with its requests. Under ASGI, persistent connections (CONN_MAX_AGE) were kept
    # per request context: 20 clients for 15 s left 87 open and PostgreSQL refused the rest.
    # Django refuses CONN_MAX_AGE with a pool; a request's connection goes back to the pool when
    # the request ends. Each connection is checked as it leaves the pool (CONN_HEALTH_CHECKS),
    # so a PostgreSQL restart costs a reconnect, not a failed request.
    _pool_min = env.integer("DATABASE_POOL_MIN", 2, minimum=0)
    _pool_max = env.integer("DATABASE_POOL_MAX", 8, minimum=1)
    if _pool_max < _pool_min:
        raise ImproperlyConfigured(
            f"DATABASE_POOL_MAX ({_pool_max}) must not be below DATABASE_POOL_MIN ({_pool_min})"
        )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": _pool_min,
        "max_size": _pool_max,
        # How long a request waits for a connection before it is answered 503
        # database_unavailable (config.db_availability): the pool is exhausted or PostgreSQL down.
        "timeout": env.integer("DATABASE_POOL_TIMEOUT", 5, minimum=1),
        "max_idle": 300,
    }
# Requests one server process runs in Django at once (config.http_handler); the others wait in
# the order they came. Each holds at most one database connection, so the threads stay below the
# pool's size (a connection is left for the WebSocket consumers). Threads share the interpreter
# lock: they cover a request's waits on PostgreSQL, processes (WEB_WORKERS) use the cores.
_pool_bound: int | None = DATABASES["default"].get("OPTIONS", {}).get("pool", {}).get("max_size")
WEB_THREADS = env.integer(
    "WEB_THREADS", max(1, min(4, _pool_bound - 1)) if _pool_bound else 4, minimum=1
)
if _pool_bound and _pool_bound < WEB_THREADS:
    raise ImproperlyConfigured(
        f"WEB_THREADS ({WEB_THREADS}) must not be above DATABASE_POOL_MAX ({_pool_bound}): "
        "each thread holds a database connection while it serves a request"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and cache ---------------------------------------------------------------
REDIS_URL = env.redis_url("REDIS_URL", _required)
if REDIS_URL:
    # The pub/sub layer: DESIGN.md section 5 (the core Redis layer is ~5x slower at p99).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CACHES = {
        # Django's, with one Redis client per process rather than one per call (config.redis_cache).
        "default": {"BACKEND": "config.redis_cache.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Counters every process and every management command must see alike (login lockout, pending
# security-key challenges): Redis, or without it a table in the database, never
# one process's memory (`manage.py unlock_login` must unlock what the server counted). The table
# is made by security's migration 0002.
CACHES["shared"] = (
    CACHES["default"]
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "ekessai_cache"}
)

# --- Background jobs: Celery on Redis (jobs.queue, config.celery) ------------------------------
# Without Redis there is no broker: tasks run in the process that sends them, through the same
# code (the embedded default needs no service). With Redis, `celery -A config worker` runs them
# and `celery -A config beat` starts the periodic ones below.
CELERY_BROKER_URL = env.redis_url("CELERY_BROKER_URL", REDIS_URL) or "memory://"
CELERY_TASK_ALWAYS_EAGER = env.boolean("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged once done, and given back if its worker dies: jobs are at least once.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "Asia/Tokyo"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Jobs whose send was lost (a process died after the commit, the broker was away) or whose
    # retry is due.
    "jobs-sweep": {"task": "jobs.sweep", "schedule": 60.0},
    # The operators' commands, also runnable from cron (README, "Periodic jobs").
    "send-reminders": {
        "task": "jobs.periodic",
        "schedule": 15 * 60.0,
        "args": ("send_reminders",),
    },
    # Open tasks follow posts and absences (workflow.personnel): changes dated in advance (the
    # April 1 人事異動) at 00:00 Tokyo time, absences within minutes of their start.
    "apply-personnel-changes": {
        "task": "jobs.periodic",
        "schedule": crontab(minute="*/5"),
        "args": ("apply_personnel_changes",),
    },
    # Route and 専決規程 versions whose day has come (workflow.designer), at 00:00 Tokyo time.
    "apply-route-versions": {
        "task": "jobs.periodic",
        "schedule": crontab(minute=0, hour=0),
        "args": ("apply_route_versions",),
    },
    # Briefings (説明モード) whose presenter has been away 10 minutes end (briefings.services).
    "end-abandoned-briefings": {
        "task": "jobs.periodic",
        "schedule": 60.0,
        "args": ("end_abandoned_briefings",),
    },
    # Decision analytics: the closed months not rolled up yet (analytics.rollups), nightly.
    "roll-up-analytics": {
        "task": "jobs.periodic",
        "schedule": crontab(minute=30, hour=0),
        "args": ("roll_up_analytics",),
    },
    "anchor-audit": {"task": "jobs.periodic", "schedule": 3600.0, "args": ("anchor_audit",)},
    "apply-retention": {"task": "jobs.periodic", "schedule": 3600.0, "args": ("apply_retention",)},
    "renew-timestamps": {
        "task": "jobs.periodic",
        "schedule": 24 * 3600.0,
        "args": ("renew_timestamps",),
    },
}

# --- Object storage -------------------------------------------------------------------------------
MINIO_ENDPOINT = env.host_port("MINIO_ENDPOINT", _required)
if MINIO_ENDPOINT:
    OBJECT_STORE = {
        "BACKEND": "minio",
        "ENDPOINT": MINIO_ENDPOINT,
        "ACCESS_KEY": env.string("MINIO_ACCESS_KEY"),
        "SECRET_KEY": env.string("MINIO_SECRET_KEY"),
        "BUCKET": env.string("MINIO_BUCKET", "ekessai", hint="an S3 bucket name"),
        "SECURE": env.boolean("MINIO_SECURE", True),
        "REGION": env.string("MINIO_REGION", None),
        # Records that must not change are written under Object Lock when the bucket allows it.
        "OBJECT_LOCK": env.boolean("MINIO_OBJECT_LOCK", True),
        "TIMEOUT": env.integer("MINIO_TIMEOUT", 30, minimum=1),
    }
else:
    OBJECT_STORE = {"BACKEND": "filesystem", "ROOT": DATA_DIR / "objects"}

# --- Documents ------------------------------------------------------------------------------------
# Uploads stream to disk and are hashed on the way (documents.uploads); limits are enforced there.
FILE_UPLOAD_HANDLERS = ["documents.uploads.HashingUploadHandler"]
DOCUMENT_LIMITS = {
    "max_file_bytes": env.integer("MAX_FILE_MB", 200, minimum=1) * 1024**2,
    "max_document_bytes": env.integer("MAX_DOCUMENT_MB", 1024, minimum=1) * 1024**2,
}

# --- Signing --------------------------------------------------------------------------------------
# Every action on a task signs the decision record (signing/, workflow/sealing.py). The keys and
# the TSA are configured by the EKESSAI_PKI_DIR, EKESSAI_KEY_PASSPHRASE and TSA_* variables (see
# signing/conf.py). Only the workflow benchmark turns signing off, to measure the workflow alone.
SIGN_APPROVALS = env.boolean("SIGN_APPROVALS", True)
# The internal TSA at /tsa/ answers signed-in users and Bearer clients only, unless this is set.
TSA_HTTP_PUBLIC = env.boolean("TSA_HTTP_PUBLIC", False)

# --- Notifications --------------------------------------------------------------------------------
# WebSocket connections one user may hold at once (a further one is closed with code 4429).
NOTIFICATIONS_MAX_CONNECTIONS_PER_USER = env.integer(
    "NOTIFICATIONS_MAX_CONNECTIONS_PER_USER", 5, minimum=1
)
# An open task reminds its approver after this many hours, and their superior after the second.
REMINDER_AFTER_HOURS = env.integer("REMINDER_AFTER_HOURS", 24, minimum=1)
# Mail to people who are not connected. Without EMAIL_HOST the messages are written as files
# under var/mail/ (nothing tries a mail server that is not there, on every request).
EMAIL_HOST = env.string("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env.integer("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env.string("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env.string("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", True)
    EMAIL_TIMEOUT = env.integer("EMAIL_TIMEOUT", 10, minimum=1)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = DATA_DIR / "mail"
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "ekessai@localhost")
ESCALATE_AFTER_HOURS = env.integer("ESCALATE_AFTER_HOURS", 72, minimum=1)

# --- Authentication -------------------------------------------------------------------------------
AUTH_USER_MODEL = "org.User"
AUTHENTICATION_BACKENDS = ["security.lockout.LockoutBackend", "org.auth.DemoAwareModelBackend"]
LOGIN_URL = "frontend:login"
LOGIN_REDIRECT_URL = "frontend:home"
LOGOUT_REDIRECT_URL = "frontend:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.boolean("SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = env.integer("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
# Sessions are read from the database on every request, not through the cache (cached_db): a
# session deleted there (an operator ending every session in an incident, a cleanup) must end at
# once, and with the cache in front it would live on until the cache expired
# (tests/security/test_socket_session.py). It costs a browser request one SELECT by primary key.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Security: second factors, step-up, idle sessions, lockout, CSP (security/) ---------------
# Approving and signing need a second factor no older than this (step-up).
MFA_STEP_UP_MINUTES = env.integer("MFA_STEP_UP_MINUTES", 15, minimum=1)
# Whether a user with no second factor may approve at all. Off in demo mode (the demo users have
# none); a role an administrator marks "MFA required" (security.RoleMfaPolicy) always needs one.
MFA_STEP_UP_REQUIRES_DEVICE = env.boolean("MFA_STEP_UP_REQUIRES_DEVICE", not DEMO_MODE)
# A browser session unused for this long is signed out (sliding; telework laptops left open).
SESSION_IDLE_MINUTES = env.integer("SESSION_IDLE_MINUTES", 30, minimum=1)
# Login lockout: failures per user name and per client address (an office shares one address
# behind its NAT, hence the higher limit), counted over and locked for LOGIN_LOCKOUT_MINUTES.
LOGIN_MAX_FAILURES_PER_USER = env.integer("LOGIN_MAX_FAILURES_PER_USER", 5, minimum=1)
LOGIN_MAX_FAILURES_PER_IP = env.integer("LOGIN_MAX_FAILURES_PER_IP", 50, minimum=1)
LOGIN_LOCKOUT_MINUTES = env.integer("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
# Reverse proxies in front of the application: the client address is taken from
# X-Forwarded-For, this many entries from the right (0: REMOTE_ADDR itself).
TRUSTED_PROXY_COUNT = env.integer("TRUSTED_PROXY_COUNT", 1 if PRODUCTION else 0, minimum=0)
OTP_TOTP_ISSUER = env.string("MFA_ISSUER", "e-Kessai", hint="the name shown in authenticator apps")
OTP_WEBAUTHN_RP_NAME = OTP_TOTP_ISSUER
OTP_WEBAUTHN_RP_ID_CALLABLE = "security.webauthn.relying_party_id"
# Browser origins that security keys are registered for; https, or http://localhost for trials.
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.strings(
    "WEBAUTHN_ORIGINS",
    [o for o in CSRF_TRUSTED_ORIGINS if o.startswith("https://")]
    or ([f"https://{ALLOWED_HOSTS[0]}"] if PRODUCTION else ["http://localhost:8000"]),
)
# Security keys and passkeys are a second factor here, never a login on their own.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "worker-src": ["'self'", "blob:"],  # the pdf.js worker
        "connect-src": ["'self'"],  # ws:/wss: of the same origin are added per request
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
    }
}
if PRODUCTION:
    SECURE_HSTS_SECONDS = env.integer("HSTS_SECONDS", 365 * 24 * 3600, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("HSTS_INCLUDE_SUBDOMAINS", False)

# --- API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "api.authentication.TokenScopePermission",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        # DRF's, with the text parts checked like every input (control characters: 400).
        "api.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["security.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "token": env.string("API_TOKEN_RATE", "600/min", hint="requests/period, e.g. 600/min")
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
KNOX_TOKEN_MODEL = "api.ApiToken"  # noqa: S105  (a model name, not a secret)
# knox's own migrations create its default token table even when the model is swapped; that
# orphan table would point at users and block flushing them. Our token table is api's.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Bearer",
    "TOKEN_TTL": timedelta(days=env.integer("API_TOKEN_TTL_DAYS", 90, minimum=1)),
    "TOKEN_PREFIX": "ek_",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "e-kessai API",
    "DESCRIPTION": "電子決裁 — electronic approval and document workflow",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema is the contract (issue 17): OpenAPI 3.1, with the errors of every operation.
    "OAS_VERSION": "3.1.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
    # Fields of the same name with other choices (status, kind, action, level) would otherwise
    # get names with a hash, and rename the enums already published.
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "documents.models.Status",
        "ActionEnum": "retention.models.DisposalAction",
        "LevelEnum": ["reminder", "escalation"],
        "RouteStatusEnum": "workflow.models.RouteStatus",
        "StageStatusEnum": "workflow.models.StageStatus",
        "TaskStatusEnum": "workflow.models.SlotStatus",
        "TaskKindEnum": "workflow.models.SlotKind",
        "StageModeEnum": "workflow.models.StageMode",
        "StageRoleEnum": "workflow.models.StageRole",
        "HistoryActionEnum": "workflow.models.ActionKind",
        "ApproverRuleKindEnum": "workflow.models.RuleKind",
        "RelativeLevelEnum": "workflow.models.RelativeLevel",
        "TaskActionEnum": "workflow.responses.TASK_ACTION_CHOICES",
        "DocumentActionEnum": "workflow.responses.DOCUMENT_ACTION_CHOICES",
        "DeviationEnum": "workflow.responses.DEVIATION_CHOICES",
    },
}

# --- Internationalisation: Japanese first, English second ---------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", "INFO")},
    # Celery says INFO for every task that succeeds: one line per e-mail and per decision.
    "loggers": {"daphne": {"level": "WARNING"}, "celery.app.trace": {"level": "WARNING"}},
}
