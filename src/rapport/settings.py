"""Settings for rapport, read from the environment only (see docs/configuration.md)."""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("RAPPORT_DATA_DIR", "var")).resolve()

DEBUG = env_flag("RAPPORT_DEBUG")
# A development key so a laptop needs no setup; `rapport check --deploy` flags it.
SECRET_KEY = os.environ.get("RAPPORT_SECRET_KEY") or "django-insecure-rapport-development-key"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "rapport.tenancy",
    "rapport.customers",
    "rapport.identity",
    "rapport.consent",
    "rapport.preferences",
    "rapport.timeline",
    "rapport.events",
    "rapport.privacy",
    "rapport.loyalty",
    "rapport.commerce",
    "rapport.pets",
    "rapport.ingest",
    "rapport.jobs",
    "rapport.insights",
    "rapport.segments",
    "rapport.cli",
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
    "rapport.middleware.RejectNulMiddleware",
    "rapport.idempotency.IdempotencyMiddleware",
]

ROOT_URLCONF = "rapport.urls"
WSGI_APPLICATION = "rapport.wsgi.application"
ASGI_APPLICATION = "rapport.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_from_environment() -> dict:
    """PostgreSQL (or any dj-database-url URL) from DATABASE_URL, else SQLite in DATA_DIR."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "rapport.sqlite3",
        "OPTIONS": {
            # Writers take the lock when they begin, so two of them queue instead of failing.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA busy_timeout=20000;"
                "PRAGMA foreign_keys=ON;"
            ),
        },
    }


DATABASES = {"default": database_from_environment()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

REDIS_URL = os.environ.get("REDIS_URL") or None
RABBITMQ_URL = os.environ.get("RABBITMQ_URL") or None


def email_from_environment(url: str | None) -> dict:
    """Django email settings from EMAIL_URL: smtp://user:pass@host:port, smtps://…, console://."""
    if not url:
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    parts = urlsplit(url)
    if parts.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme not in {"smtp", "smtps", "submission"}:
        raise ImproperlyConfigured(
            f"EMAIL_URL scheme {parts.scheme!r} is not smtp, smtps or console"
        )
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": parts.port or {"smtp": 25, "smtps": 465, "submission": 587}[parts.scheme],
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": parts.scheme == "smtps",
        "EMAIL_USE_TLS": parts.scheme == "submission",
    }


globals().update(email_from_environment(os.environ.get("EMAIL_URL")))
DEFAULT_FROM_EMAIL = os.environ.get("RAPPORT_FROM_EMAIL", "rapport@localhost")
# Where customers reach rapport: unsubscribe and confirmation links start with it.
RAPPORT_PUBLIC_URL = os.environ.get("RAPPORT_PUBLIC_URL", "http://127.0.0.1:8000")
if os.environ.get("RAPPORT_CONSENT_CONFIRMATION_MAX_AGE"):
    RAPPORT_CONSENT_CONFIRMATION_MAX_AGE = int(os.environ["RAPPORT_CONSENT_CONFIRMATION_MAX_AGE"])

NINJA_PAGINATION_MAX_LIMIT = 500

# Where analytics read order history: a dotted path to an OrderHistoryBackend class
# (docs/commerce.md); empty means rapport.commerce's own orders.
RAPPORT_ORDER_HISTORY_BACKEND = os.environ.get("RAPPORT_ORDER_HISTORY_BACKEND", "")

# Events out: webhooks and the broker (docs/events.md).
RAPPORT_EVENTS_EXCHANGE = os.environ.get("RAPPORT_EVENTS_EXCHANGE") or "rapport.events"
# Development only: lets webhooks reach private, loopback and link-local addresses.
RAPPORT_WEBHOOK_ALLOW_PRIVATE = env_flag("RAPPORT_WEBHOOK_ALLOW_PRIVATE")
RAPPORT_WEBHOOK_ALLOWED_HOSTS = env_list("RAPPORT_WEBHOOK_ALLOWED_HOSTS", "")
for _name in (
    "RAPPORT_WEBHOOK_TIMEOUT",
    "RAPPORT_WEBHOOK_MAX_ATTEMPTS",
    "RAPPORT_WEBHOOK_RETRY_BASE",
    "RAPPORT_WEBHOOK_RETRY_CAP",
    "RAPPORT_WEBHOOK_LEASE",
    "RAPPORT_EVENTS_BROKER_TIMEOUT",
):
    if os.environ.get(_name):
        globals()[_name] = float(os.environ[_name])

# Events in: the RabbitMQ queue `rapport consume` reads, bound with "#" to a topic exchange;
# what cannot apply goes to <queue>.dead (docs/ingest.md).
RAPPORT_INBOUND_QUEUE = os.environ.get("RAPPORT_INBOUND_QUEUE") or "rapport.inbound"
RAPPORT_INBOUND_EXCHANGE = os.environ.get("RAPPORT_INBOUND_EXCHANGE") or "rapport.inbound"

# Uploaded files: CSV imports wait there for their worker (docs/ingest.md).
MEDIA_ROOT = DATA_DIR / "media"
if os.environ.get("RAPPORT_IMPORT_MAX_MB"):
    RAPPORT_IMPORT_MAX_MB = int(os.environ["RAPPORT_IMPORT_MAX_MB"])

# Background jobs: the task backend, the worker and the periodic schedule (docs/jobs.md).
TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
_task_backend = os.environ.get("RAPPORT_TASKS_BACKEND") or "database"
if _task_backend not in TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"RAPPORT_TASKS_BACKEND {_task_backend!r} is not one of {', '.join(TASK_BACKENDS)}"
    )
TASKS = {"default": {"BACKEND": TASK_BACKENDS[_task_backend], "QUEUES": ["default"]}}
# Periodic tasks: {"task": dotted path, "every": seconds} or {"task": …, "daily_at": "HH:MM"} (UTC).
RAPPORT_SCHEDULE = {
    "dispatch-outbox": {"task": "rapport.events.tasks.dispatch_outbox", "every": 5},
    "deliver-webhooks": {"task": "rapport.events.tasks.deliver_webhooks", "every": 5},
    "expire-points": {"task": "rapport.loyalty.tasks.expire_points", "daily_at": "03:00"},
    "prune-jobs": {"task": "rapport.jobs.tasks.prune_finished", "daily_at": "04:00"},
    "recalculate-insights": {
        "task": "rapport.insights.tasks.recalculate_insights",
        "daily_at": "02:00",
    },
    "refresh-segments": {"task": "rapport.segments.tasks.refresh_segments", "every": 3600},
}
if os.environ.get("RAPPORT_JOBS_KEEP_DAYS"):
    RAPPORT_JOBS_KEEP_DAYS = int(os.environ["RAPPORT_JOBS_KEEP_DAYS"])


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("RAPPORT_LOG_LEVEL", "WARNING")},
}
