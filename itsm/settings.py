"""Settings, read from the environment.

With DATABASE_URL / REDIS_URL unset, the embedded PostgreSQL and Redis under ``var/`` are used
(started on demand, see ``itsm.embedded``). Production mode (DEBUG off, HTTPS_ONLY on, the
default when DEBUG is off) passes ``manage.py check --deploy``.
"""

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
VAR_DIR = Path(os.environ.get("ITSM_VAR_DIR", BASE_DIR / "var")).resolve()


def _secret_key() -> str:
    """SECRET_KEY from the environment; in a checkout without one, a key generated once under var/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# --------------------------------------------------------------------------- applications

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "itsm",
    "people",
    "configuration",
    "servicelevels",
    "incidents",
    "events",
    "problems",
    "knowledge",
    "dashboards",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

# Machine endpoints served with only the security headers, the host check and X-Frame-Options of
# the middleware above, their view resolved once (itsm/handlers.py): event ingestion by source token.
LEAN_PATHS = ["/api/v1/events/", "/api/v1/events/alertmanager/"]

ROOT_URLCONF = "itsm.urls"
WSGI_APPLICATION = "itsm.wsgi.application"
AUTH_USER_MODEL = "people.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

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
                "itsm.context_processors.shell",
            ],
        },
    },
]

# --------------------------------------------------------------------------- data stores


def _database_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    from itsm import embedded

    return embedded.database_url()


def _redis_url() -> str:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    from itsm import embedded

    return embedded.redis_url()


DATABASES = {"default": dj_database_url.parse(_database_url(), conn_max_age=60, conn_health_checks=True)}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Model choice lists iterate with .iterator(); in autocommit a server-side cursor costs a DECLARE,
# FETCHes and a CLOSE per list (the queue page's filter and bulk forms: ~45 round trips instead of
# ~12). Client-side cursors also keep the app usable behind PgBouncer in transaction pooling.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = _redis_url()


def _kombu_url(url: str) -> str:
    """kombu spells a unix-socket Redis URL ``redis+socket://``; redis-py spells it ``unix://``."""
    if url.startswith("unix://"):
        path, _, query = url[len("unix://") :].partition("?")
        db = dict(part.split("=", 1) for part in query.split("&") if "=" in part).get("db", "0")
        return f"redis+socket://{path}?virtual_host={db}"
    return url


CACHES = {
    "default": {
        "BACKEND": "itsm.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "itsm"),
        "TIMEOUT": 300,
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --------------------------------------------------------------------------- Celery
# Lessons measured in shared/PERFORMANCE.md: reuse DB connections in workers, acks_late with
# reject_on_worker_lost, prefetch 1, and never a long ETA (timers live in PostgreSQL).

CELERY_BROKER_URL = _kombu_url(REDIS_URL)
CELERY_RESULT_BACKEND = _kombu_url(REDIS_URL)
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = "default"
# Queues by kind of work; a deployment may run dedicated workers per queue (see README).
CELERY_TASK_ROUTES = {
    "itsm.tasks.*": {"queue": "default"},
    "events.tasks.*": {"queue": "events"},
    "servicelevels.tasks.*": {"queue": "timers"},
}
CELERY_WORKER_QUEUES = env_list("CELERY_QUEUES", "default,events,timers")
# Connections are reused for this many tasks before being recycled (the Django fixup closes
# them after every task otherwise: 232 vs 1,076 tasks/s measured).
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "200"))
# How often beat sweeps the SLA clocks: the longest a due warning or breach waits to be recorded.
SLA_SWEEP_SECONDS = float(os.environ.get("SLA_SWEEP_SECONDS", "15"))
# Problem managers get one digest of the problems proposed in each period (problems.tasks.candidate_digest,
# which first sweeps repeated alerts whose candidate task never ran).
PROBLEMS_CANDIDATE_DIGEST_MINUTES = float(os.environ.get("PROBLEMS_CANDIDATE_DIGEST_MINUTES", "60"))
# How often the trend page's weekly rollup of complete weeks is rebuilt (problems.tasks.refresh_trends).
PROBLEMS_TRENDS_REFRESH_MINUTES = float(os.environ.get("PROBLEMS_TRENDS_REFRESH_MINUTES", "60"))
CELERY_BEAT_SCHEDULE = {
    "kernel-heartbeat": {"task": "itsm.tasks.beat_heartbeat", "schedule": 30.0},
    "kernel-deliver-notifications": {"task": "itsm.tasks.deliver_notifications", "schedule": 60.0},
    "servicelevels-sweep": {"task": "servicelevels.tasks.sweep_clocks", "schedule": SLA_SWEEP_SECONDS},
    "incidents-auto-close": {"task": "incidents.tasks.auto_close_resolved", "schedule": 3600.0},
    "incidents-stakeholder-updates": {"task": "incidents.tasks.remind_stakeholder_updates", "schedule": 60.0},
    "events-sweep-unprocessed": {"task": "events.tasks.sweep_unprocessed", "schedule": 60.0},
    "events-expire-old": {"task": "events.tasks.expire_old", "schedule": 86400.0},
    "problems-reassessments-due": {"task": "problems.tasks.reassessments_due", "schedule": 3600.0},
    "problems-detect-recurring": {"task": "problems.tasks.detect_recurring", "schedule": 3600.0},
    "problems-candidate-digest": {
        "task": "problems.tasks.candidate_digest",
        "schedule": PROBLEMS_CANDIDATE_DIGEST_MINUTES * 60,
    },
    "problems-refresh-trends": {
        "task": "problems.tasks.refresh_trends",
        "schedule": PROBLEMS_TRENDS_REFRESH_MINUTES * 60,
    },
    "knowledge-reviews-due": {"task": "knowledge.tasks.reviews_due", "schedule": 3600.0},
    "dashboards-refresh-facts": {
        "task": "dashboards.tasks.refresh_facts",
        "schedule": float(os.environ.get("DASHBOARDS_REFRESH_SECONDS", "60")),
    },
    "events-run-checks": {
        "task": "events.tasks.run_checks",
        "schedule": float(os.environ.get("EVENTS_CHECK_TICK_SECONDS", "10")),
    },
}

# Dashboards: how long a computed table is kept (it is dropped anyway at the next facts refresh).
DASHBOARDS_CACHE_SECONDS = int(os.environ.get("DASHBOARDS_CACHE_SECONDS", "300"))
# After each refresh, cache the default dashboards of the managers signed in within this many days (0: off).
DASHBOARDS_PREWARM_DAYS = int(os.environ.get("DASHBOARDS_PREWARM_DAYS", "1"))

# Days a resolved incident waits for its caller to confirm before it closes on its own [INC-10].
INCIDENT_AUTO_CLOSE_DAYS = int(os.environ.get("INCIDENT_AUTO_CLOSE_DAYS", "5"))
# The most incidents POST /api/v1/incidents/batch/ logs in one request (one transaction).
INCIDENT_BATCH_MAX = int(os.environ.get("INCIDENT_BATCH_MAX", "100"))

# --------------------------------------------------------------------------- REST API

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an unauthenticated request gets 401 with WWW-Authenticate: Token.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["itsm.api.permissions.IsStaffRole"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "itsm.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "itsm.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ITSM service desk API",
    "DESCRIPTION": "REST API of the ITIL 4 service desk. Authenticate with a session or "
    "`Authorization: Token <key>` (python manage.py drf_create_token <user>).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI served from the drf-spectacular-sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --------------------------------------------------------------------------- passwords, i18n

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --------------------------------------------------------------------------- files

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Attachments are never served from MEDIA_URL: only through the permission-checked download view.
MEDIA_URL = "/media-not-served/"
# Self-help portal: how many incidents and comments one person may send through the portal (pages
# and its API) per hour; 0 turns a limit off. Over it: 429 with a message (portal/ratelimit.py).
PORTAL_RATE_LIMITS = {
    "incident": (int(os.environ.get("PORTAL_INCIDENTS_PER_HOUR", "10")), 3600),
    "comment": (int(os.environ.get("PORTAL_COMMENTS_PER_HOUR", "30")), 3600),
}
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))
ATTACHMENT_ALLOWED_EXTENSIONS = env_list(
    "ATTACHMENT_ALLOWED_EXTENSIONS",
    "txt,log,csv,json,xml,yaml,yml,pdf,png,jpg,jpeg,gif,webp,docx,xlsx,pptx,odt,ods,zip,eml,msg",
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --------------------------------------------------------------------------- e-mail

if os.environ.get("EMAIL_URL"):
    from urllib.parse import unquote, urlparse

    _email = urlparse(os.environ["EMAIL_URL"])
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email.hostname or "localhost"
    EMAIL_PORT = _email.port or (465 if _email.scheme == "smtps" else 587 if "tls" in _email.scheme else 25)
    EMAIL_HOST_USER = unquote(_email.username or "")
    EMAIL_HOST_PASSWORD = unquote(_email.password or "")
    EMAIL_USE_SSL = _email.scheme == "smtps"
    EMAIL_USE_TLS = _email.scheme in {"smtp+tls", "submission"}
elif os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
else:
    # No mail server configured: mails are written to var/mail, one file per message.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
# The address people use to reach this installation; links in e-mails start with it.
SITE_URL = os.environ.get("SITE_URL", f"http://localhost:{os.environ.get('PORT', '8000')}").rstrip("/")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "servicedesk@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --------------------------------------------------------------------------- security
# HTTPS_ONLY defaults to on in production (DEBUG off); `make run` turns it off for plain http on
# loopback. Behind a TLS-terminating proxy, set it on and let the proxy send X-Forwarded-Proto.

HTTPS_ONLY = env_bool("HTTPS_ONLY", not DEBUG)
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000")) if HTTPS_ONLY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
SECURE_HSTS_PRELOAD = HTTPS_ONLY
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS_ONLY else None
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
FORM_RENDERER = "itsm.forms.FormRenderer"  # selects rendered in Python (itsm/forms.py)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
