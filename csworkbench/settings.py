"""Settings for csworkbench, read from the environment with safe local defaults.

With no environment at all, the app runs on a SQLite file with tasks executed in-process:
that is the embedded default `make demo` uses. Production sets DATABASE_URL (PostgreSQL),
CELERY_BROKER_URL (Redis), SECRET_KEY, DEBUG=0, ALLOWED_HOSTS and EMAIL_URL.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import dj_email_url
import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

# Settings come from the environment, read and cast by django-environ. A `.env` file beside
# manage.py is read first (it never overrides what the environment already says). A variable that
# is set but empty — as a `.env` file often leaves `DATABASE_URL=` — means its default.
environ.Env.read_env(BASE_DIR / ".env")
env = environ.Env()
env.ENVIRON = {name: value for name, value in os.environ.items() if value.strip()}

DEBUG = env.bool("DEBUG", default=True)
# The fallback key only ever serves a local demo: production refuses to start without one.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-local-demo-key-never-use-in-production"  # noqa: S105
# Comma-separated, spaces around the commas allowed.
ALLOWED_HOSTS = [
    host.strip()
    for host in env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
    if host.strip()
]
CSRF_TRUSTED_ORIGINS = [
    origin.strip() for origin in env.list("CSRF_TRUSTED_ORIGINS", default=[]) if origin.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "template_partials",
    "csp",
    "axes",
    # The rooms, bottom to top (docs/development.md): the kernel, the domain, the shell, the demo.
    "csworkbench.core",
    "accounts",
    "health",
    "ingest",
    "interviews",
    "playbooks",
    "csworkbench.shell",
    "csworkbench.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every view needs a login unless it is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so it can turn a locked-out login attempt into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "csworkbench.urls"
WSGI_APPLICATION = "csworkbench.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csworkbench.shell.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env.str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env.int("DB_CONN_MAX_AGE", default=60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's planner assumes by default that a random read costs four sequential ones (a
    # spinning disk), so to join a page's few thousand rows it would rather read a whole table of
    # 50,000 accounts than probe an index. On SSDs, or a database that fits in memory, 1.1 is the
    # usual figure. PG_RANDOM_PAGE_COST=server keeps whatever the server is configured with.
    _random_page_cost = env.str("PG_RANDOM_PAGE_COST", default="1.1")
    if _random_page_cost.lower() != "server":
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
            f"-c random_page_cost={float(_random_page_cost)}"
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# The pages send the CSRF token from the template (hx-headers on <body>); no script reads the cookie.
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

# Login throttling (django-axes): a username tried from one address is locked out after
# AXES_FAILURE_LIMIT failures for AXES_COOLOFF_MINUTES; a successful login clears the count.
# The address itself is locked out after AXES_IP_FAILURE_LIMIT failures over all usernames
# (higher: an office shares one address), so it cannot try one password on many usernames.
AUTHENTICATION_BACKENDS = [
    "csworkbench.shell.lockout.ThrottledLoginBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_IP_FAILURE_LIMIT = env.int("AXES_IP_FAILURE_LIMIT", default=30)
AXES_COOLOFF_MINUTES = env.int("AXES_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "csworkbench.shell.lockout.PairAndAddressHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "csworkbench.shell.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# Behind N reverse proxies, the client address is the Nth address from the right of
# X-Forwarded-For; with none (the default) it is the connection's own address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "csworkbench.shell.lockout.client_address"

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("zh-hant", _("Traditional Chinese")),
    ("zh-hans", _("Simplified Chinese")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Chinese numbers grouped by three with commas, as the teams' billing systems print them.
FORMAT_MODULE_PATH = ["csworkbench.core.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Taipei")
USE_I18N = True
USE_TZ = True

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

MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "/media/"
# The integration API accepts up to 10,000 rows a request; anything larger is refused with 413.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=8 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=200 * 1024 * 1024)

_email = dj_email_url.parse(env.str("EMAIL_URL", default="console://"))
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="csworkbench <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Absolute links in emails and chat messages point here.
# Without SITE_URL, the address `make demo` / `make serve` listen on (PORT), so the survey links in
# the emails of `PORT=8101 make demo` point at port 8101.
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}").rstrip("/")

# The cache (report pages): per process by default; set CACHE_URL (e.g. redis://127.0.0.1:6379/2)
# so every gunicorn worker shares one copy instead of each computing the reports itself.
CACHE_URL = env.str("CACHE_URL", default="")
if CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}

# Celery: no broker configured means tasks run in-process, synchronously.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# A request that queues work must not hang on a broker that is down (kombu's default is to keep
# trying for seconds): one quick retry, then the task waits in the outbox (csworkbench.core.outbox).
_BROKER_CONNECT_TIMEOUT = env.float("CELERY_BROKER_CONNECT_TIMEOUT", default=2)
CELERY_BROKER_CONNECTION_TIMEOUT = _BROKER_CONNECT_TIMEOUT
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# Redis redelivers the task of a worker that died after this many seconds (kombu's default, an
# hour); a restarted worker re-queues its interrupted imports at once (ingest.jobs).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
    "socket_connect_timeout": _BROKER_CONNECT_TIMEOUT,
}
CELERY_BEAT_SCHEDULE = {
    # After midnight in the team's time zone, once the day's metrics have arrived.
    "nightly-health-run": {
        "task": "health.tasks.nightly_health_run",
        "schedule": crontab(hour=env.int("HEALTH_RUN_HOUR", default=2), minute=15),
    },
    # SLA breaches escalate to the managers within a few minutes of the due time.
    "escalate-sla-breaches": {"task": "playbooks.tasks.escalate_sla_breaches", "schedule": 300.0},
    "wake-snoozed-tasks": {"task": "playbooks.tasks.wake_snoozed_tasks", "schedule": 300.0},
    # Emails and chat posts still pending two hours on (a lost task, a broker outage) go again.
    "requeue-stuck-deliveries": {"task": "playbooks.tasks.requeue_stuck_deliveries", "schedule": 1800.0},
    # Tasks written to the outbox while the broker was down go once it is back.
    "send-outbox": {"task": "csworkbench.tasks.send_outbox", "schedule": 60.0},
    # Imports whose worker died mid-way are queued again (a restarted worker does it at once);
    # the task is ingest.tasks.requeue_interrupted_imports, which keeps the name it had in accounts.
    "requeue-interrupted-imports": {"task": "accounts.tasks.requeue_interrupted_imports", "schedule": 300.0},
    # Used one-time form tokens are kept as long as a token lives (csworkbench.core.idempotency).
    "prune-used-form-tokens": {"task": "csworkbench.tasks.prune_used_form_tokens", "schedule": 3600.0},
}

DJANGO_TABLES2_TEMPLATE = "tables/htmx_table.html"

# Headers every response carries, debug or not (SecurityMiddleware and XFrameOptionsMiddleware).
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): everything from our own origin, no inline script or
# style, no plugins, no framing, forms post only to us. The charts are inline SVG, which needs
# no img-src exception; htmx's indicator style lives in app.css (includeIndicatorStyles false).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Failed logins and lockouts are warnings; every successful login at INFO is noise.
    "loggers": {"axes": {"level": env.str("AXES_LOG_LEVEL", default="WARNING")}},
}
