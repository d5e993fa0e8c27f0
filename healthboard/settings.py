"""Healthboard settings: one file, configured from environment variables (12-factor).

Defaults work on a fresh machine: SQLite, Celery tasks run in-process. Set DATABASE_URL and
REDIS_URL for PostgreSQL and real Celery workers.
"""

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


# Off unless asked for: a server started without configuration must not show tracebacks or
# sign sessions with a key published in this file. `make run` and the tests turn it on.
DEBUG = env_bool("DEBUG", default=False)
# Only ever used with DEBUG on (development, the demo and the tests).
DEV_SECRET_KEY = "django-insecure-local-development-only"
SECRET_KEY = env_str("SECRET_KEY") or (DEV_SECRET_KEY if DEBUG else "")
if not DEBUG and (not SECRET_KEY or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured(
        "Refusing to start: DEBUG is off and SECRET_KEY is "
        + ("not set" if not SECRET_KEY else "a development key")
        + ". In production set SECRET_KEY to 50+ random characters (e.g. python -c "
        "'import secrets; print(secrets.token_urlsafe(64))'); on a development machine set "
        "DEBUG=true (make run does)."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "accounts",
    "scoring",
    "healthboard.tokens",
    "healthboard.pages",
    # django-ninja (the REST API): its Swagger UI is then served from static files, no CDN.
    "ninja",
    "healthboard.demo",
    "healthboard.bench",
    # Login throttling: failed logins per username and per address, lockouts, the admin to
    # unlock them.
    "axes",
    # Content-Security-Policy header (its system checks catch the old-style settings).
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the browser's Accept-Language (or the chooser's cookie) first, then the
    # one the signed-in user saved, which wins (healthboard/lib/language.py).
    "django.middleware.locale.LocaleMiddleware",
    "healthboard.lib.language.UserLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "healthboard.lib.sessions.SessionIdleMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as axes asks: turns a login refused for a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "healthboard.urls"
WSGI_APPLICATION = "healthboard.wsgi.application"

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
                "healthboard.lib.roles.roles_context",
                "healthboard.pages.actions.context.actions_nav",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The pages and the nightly run issue few, large, planned-once queries: PostgreSQL's JIT
    # compiles for longer than it saves on them (measured: +300 ms on the portfolio summary).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a Celery task writes scores; with WAL, synchronous
    # NORMAL is still corruption-safe and makes each commit far cheaper. A 64 MB page cache
    # (the default is 2 MB) keeps the score indexes in memory while a back-fill writes a
    # year of rows: measured, a fifth less time writing them.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The covering index on daily scores includes columns on PostgreSQL; SQLite (development)
# builds it without them, which is fine there.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The lockout check runs before the password is checked; ModelBackend then logs users in.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling: LOGIN_FAILURE_LIMIT wrong passwords lock the username (from anywhere) and
# the client address (for any username) for LOGIN_LOCKOUT_MINUTES; failures older than that
# no longer count, a successful login clears them, and an Admin can unlock sooner (Audit
# log → Sign-in lockouts). The address is the client's (healthboard/lib/clientip.py):
# behind a proxy set TRUSTED_PROXY_COUNT, or every client shares the proxy's address.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15)
AXES_COOLOFF_TIME = dt.timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = env_list("LOGIN_LOCKOUT_BY", "username,ip_address")
AXES_RESET_ON_SUCCESS = True
# Tries during a lockout do not restart it: the page's "try again in 15 minutes" holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "healthboard.pages.signin.views.locked_out"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_CLIENT_IP_CALLABLE = "healthboard.lib.clientip.client_ip"
# How many proxies of ours stand in front of the app (each appending to X-Forwarded-For).
# 0: none, X-Forwarded-For is ignored (a client could send any address in it).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# The audit log is kept for ever unless this says otherwise: it answers questions asked long
# after the fact (an incident found months later; audits that look back a year or more), its
# rows are small, and deleting evidence by default cannot be undone. With a number of days,
# `manage.py prune_audit` (a daily cron job) deletes what is older and records that it did.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 0) or None
# Days of signals `manage.py prune_signals` keeps (unset: all of them), never fewer than the
# scorecards and rules read (scoring/retention.py).
SIGNAL_RETENTION_DAYS = env_int("SIGNAL_RETENTION_DAYS", 0) or None
# Sessions end after this long without a request (healthboard/lib/sessions.py keeps an
# active one alive); a password change ends every other session of that user (Django's
# session auth hash).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 8 * 60)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
# Each named in its own language: the chooser lists them so a reader finds their own.
LANGUAGES = [
    ("en", "English"),
    ("id", "Bahasa Indonesia"),
    ("da", "Dansk"),
    ("pl", "Polski"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# Off: a number rendered into an attribute, a URL or JSON must not gain separators. Figures
# people read get theirs from |intcomma or the money filter, in the reader's locale.
USE_THOUSAND_SEPARATOR = False
# The installation's currency (ISO 4217: USD, EUR, DKK, PLN, IDR, ...): ARR and every amount
# shown in it, formatted for the reader's language (healthboard/lib/money.py).
CURRENCY = env_str("CURRENCY", "USD").strip().upper()

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# E-mail (the morning digests). Console backend unless an SMTP host is configured.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "healthboard@localhost")
# Seconds an SMTP connection may hang before the send fails (and the digest is retried later).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
# Where this site is reached from outside: the e-mails' links are absolute.
SITE_URL = env_str("SITE_URL", "http://localhost:8000")

# Security: on by default in production; SECURE_SSL_REDIRECT can be turned off behind a TLS
# proxy that already redirects, which then must send X-Forwarded-Proto.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    # Preloading is a promise to the browsers' lists that is slow to take back: opt in.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # check --deploy's reminder to preload: off on purpose unless asked for.
        SILENCED_SYSTEM_CHECKS.append("security.W021")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy, enforced (never report-only): scripts and styles only from our own
# static files, so an injected <script>, style or on…= handler does not run. The pages hold
# no inline script, style attribute or event handler; htmx is told not to inject its
# indicator <style> (base.html's htmx-config) and plotly.js finds its rules already loaded
# (static/vendor/plotly.css). Setting element.style from a script (CSSOM) stays allowed.
# img-src data: is the favicon; frame-ancestors repeats X_FRAME_OPTIONS for browsers that
# read only CSP.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# How long the app waits for Redis to answer one command (cache, result store) or accept a
# connection. Redis answers in a millisecond; one that does not answer in this long is down
# or hung (a stopped process, a lost network), and a web request must not wait on it: the
# callers take the error as "no cache" or "queue down" and say so (issue 14: within 2 s).
REDIS_TIMEOUT_SECONDS = float(os.environ.get("REDIS_TIMEOUT_SECONDS") or 0.3)

# The cache debounces re-scoring and counts API requests across processes, so it lives in
# Redis when there is one.
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL_CACHE,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
            },
        }
        if (REDIS_URL_CACHE := env_str("REDIS_URL"))
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Celery: with REDIS_URL unset, tasks run in-process so the demo works without a broker.
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A Redis that is down or hung (it accepts connections and answers nothing) fails a request
# within about a second, instead of 19 s or for ever: each wait on Redis is at most
# REDIS_TIMEOUT_SECONDS (Celery's defaults: 4 s to connect, 120 s for the result store's
# answers, for ever for the broker's), and each is tried twice, 0.2 s apart: the result
# store, asked first when a task is sent (it listens for the task's result), and the
# publish itself (default: four tries). Workers read their long BRPOP only once it is ready,
# so the broker's socket timeout does not cut it short.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
    }
}
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_TIMEOUT_SECONDS
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_TIMEOUT_SECONDS
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_TIMEOUT_SECONDS
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# A message a worker took and never acknowledged (late acknowledgement: the worker died)
# goes back to the queue after visibility_timeout. Longer than the longest task (a finalize
# or an analysis at a million accounts: minutes), or a task still running is handed out
# again; the nightly run does not wait for it: its watchdog sends stalled steps again.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 1800),
    "socket_timeout": REDIS_TIMEOUT_SECONDS,
}
# When the nightly recompute starts, in TIME_ZONE ("HH:MM").
NIGHTLY_SCORE_TIME = env_str("NIGHTLY_SCORE_TIME", "02:00")
# Accounts per chunk of the nightly run: one Celery task each.
SCORING_CHUNK_SIZE = env_int("SCORING_CHUNK_SIZE", 5000)
# The CTA rules after a nightly run: dealt into this many Celery tasks of about equal work, for
# as many workers to evaluate side by side (each reads the run's scores once; more parts than
# workers only repeat that).
RULES_PARTS = env_int("RULES_PARTS", 2)
# A running score run no step has moved for this long has its unfinished steps sent again
# (scoring.tasks.watch_runs, a beat every minute). Longer than the slowest chunk or
# finalize, or a step still running is sent twice (harmless, but work).
SCORING_WATCHDOG_SECONDS = env_int("SCORING_WATCHDOG_SECONDS", 180)
# The scorecard editor's what-if preview scores at most this many accounts: a scorecard with
# more is previewed on a random sample of this many, its figures scaled to all of them with
# their margin of error (scoring.editor.preview). 0: always every account. Each sampled
# account costs about 0.2 ms of aggregation: 5,000 keep the preview near 2 s at a million
# accounts, within ±1.4 points of the share changing band at worst (±0.5 at 3 %).
PREVIEW_SAMPLE_ACCOUNTS = env_int("PREVIEW_SAMPLE_ACCOUNTS", 5_000)
# Seconds to wait for more signals before re-scoring one account.
RESCORE_DEBOUNCE_SECONDS = env_int("RESCORE_DEBOUNCE_SECONDS", 5)

# REST API (/api/v1/): requests per token per window (answered 429 beyond), and how long
# an Idempotency-Key's first answer is kept for retries.
API_RATE_LIMIT = env_int("API_RATE_LIMIT", 1000)
API_RATE_WINDOW_SECONDS = env_int("API_RATE_WINDOW_SECONDS", 60)
API_IDEMPOTENCY_HOURS = env_int("API_IDEMPOTENCY_HOURS", 24)
# The largest request body the API reads (a batch of 10,000 signals with comments).
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 50 * 1024 * 1024)
# The score history's pages: ?limit= up to this many days.
NINJA_PAGINATION_MAX_LIMIT = 1000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Imports (CSV files and API batches): limits that refuse a file with a clear message.
IMPORT_MAX_FILE_BYTES = env_int("IMPORT_MAX_FILE_BYTES", 512 * 1024 * 1024)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 5_000_000)
# Longest cell (a survey comment, a ticket subject); shorter model fields keep their own.
IMPORT_MAX_FIELD_CHARS = env_int("IMPORT_MAX_FIELD_CHARS", 10_000)
# More bad rows than this and the file is most likely mis-read: reading stops.
IMPORT_MAX_ERRORS = env_int("IMPORT_MAX_ERRORS", 1_000)
# Rows read, checked and staged at a time: memory stays flat whatever the file's size.
IMPORT_BATCH_ROWS = env_int("IMPORT_BATCH_ROWS", 10_000)
# Files uploaded on the import page wait here between their preview and their import (the
# Celery workers read them: with workers on other machines, a directory all of them share).
IMPORT_UPLOAD_DIR = Path(env_str("IMPORT_UPLOAD_DIR") or BASE_DIR / "var" / "imports")
# An upload never imported is deleted after this many hours; rejected rows' files after days.
IMPORT_UPLOAD_KEEP_HOURS = env_int("IMPORT_UPLOAD_KEEP_HOURS", 24)
IMPORT_REJECTS_KEEP_DAYS = env_int("IMPORT_REJECTS_KEEP_DAYS", 30)
