"""Pharos settings: every value comes from the environment (see README.md)."""

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config import broker
from config.env import (
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_log_level,
    env_proxy_ssl_header,
    env_regions,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VERSION = "0.1.0"

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "pharos-insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
PHAROS_BASE_URL = env_str("PHAROS_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [PHAROS_BASE_URL])

# --- Pharos ----------------------------------------------------------------------------
PHAROS_REGIONS = env_regions("PHAROS_REGIONS")
PHAROS_REGION = env_str("PHAROS_REGION")
if PHAROS_REGION is not None and PHAROS_REGION not in PHAROS_REGIONS:
    raise ImproperlyConfigured(
        f"PHAROS_REGION={PHAROS_REGION!r} is not one of PHAROS_REGIONS ({','.join(PHAROS_REGIONS)})"
    )
PHAROS_MIN_CHECK_FREQUENCY = env_int("PHAROS_MIN_CHECK_FREQUENCY", 10, minimum=1)
PHAROS_TICK_SECONDS = env_float("PHAROS_TICK_SECONDS", 1.0, minimum=0.05)
PHAROS_ALLOW_PRIVATE_TARGETS = env_bool("PHAROS_ALLOW_PRIVATE_TARGETS", False)
# Exceptions to the private-address guard (an operator's own service network), for probes
# and alert channels alike (probes.guard.AddressPolicy).
PHAROS_ALLOWED_NETWORKS = [n.strip() for n in env_str("PHAROS_ALLOWED_NETWORKS", "").split(",") if n.strip()]
PHAROS_PING_BODY_LIMIT = env_int("PHAROS_PING_BODY_LIMIT", 100_000, minimum=0)
# Seconds a client has to send a request body once the application starts reading it
# (config/edge.py); past them the request is answered 408 and the connection closed.
PHAROS_REQUEST_BODY_TIMEOUT = env_float("PHAROS_REQUEST_BODY_TIMEOUT", 30.0, minimum=0.1)
PHAROS_PINGS_KEPT = env_int("PHAROS_PINGS_KEPT", 100, minimum=1)
PHAROS_RESULT_RETENTION = env_int("PHAROS_RESULT_RETENTION", 48 * 3600, minimum=3600)
PHAROS_PROBE_CONCURRENCY = env_int("PHAROS_PROBE_CONCURRENCY", 100, minimum=1)
PHAROS_BATCH_SIZE = env_int("PHAROS_BATCH_SIZE", 100, minimum=1)
PHAROS_QUARANTINE_TARGETS = env_int("PHAROS_QUARANTINE_TARGETS", 10, minimum=1)
PHAROS_CANARY_URLS = env_list("PHAROS_CANARY_URLS", [], allow_empty=True)
PHAROS_TRUSTED_PROXIES = env_list("PHAROS_TRUSTED_PROXIES", [], allow_empty=True)
# Per team, so that no team can fill the scheduler and the region workers for all (teams.limits).
PHAROS_TEAM_MAX_MONITORS = env_int("PHAROS_TEAM_MAX_MONITORS", 10_000, minimum=0)
PHAROS_TEAM_MAX_HEARTBEATS = env_int("PHAROS_TEAM_MAX_HEARTBEATS", 10_000, minimum=0)
PHAROS_API_RATE_LIMIT = env_int("PHAROS_API_RATE_LIMIT", 600, minimum=0)  # requests per minute per token
PHAROS_METRICS_TOKEN = env_str("PHAROS_METRICS_TOKEN")
# Who hears about Pharos itself (a stuck pipeline, incidents that reached nobody): these
# addresses, else every active superuser with an email address (config.operators).
PHAROS_OPERATOR_EMAIL = env_list("PHAROS_OPERATOR_EMAIL", [], allow_empty=True)
# Pharos watching itself (config.pipeline, config.watchdog): when a part of the pipeline
# counts as stuck, and the watchdog process that mails the operators and pings an outside
# dead man's switch while everything is healthy.
PHAROS_WATCH_SCHEDULER_LAG = env_float("PHAROS_WATCH_SCHEDULER_LAG", 30.0, minimum=1)  # seconds
PHAROS_WATCH_SWEEP_LAG = env_float("PHAROS_WATCH_SWEEP_LAG", 60.0, minimum=1)  # seconds
PHAROS_WATCH_DELIVERY_LAG = env_float("PHAROS_WATCH_DELIVERY_LAG", 120.0, minimum=1)  # seconds
PHAROS_WATCH_INCONCLUSIVE_RATIO = env_float("PHAROS_WATCH_INCONCLUSIVE_RATIO", 0.2, minimum=0.01)
PHAROS_WATCHDOG_URL = env_str("PHAROS_WATCHDOG_URL", "")
PHAROS_WATCHDOG_INTERVAL = env_float("PHAROS_WATCHDOG_INTERVAL", 15.0, minimum=0.1)  # seconds
PHAROS_WATCHDOG_PING_INTERVAL = env_float("PHAROS_WATCHDOG_PING_INTERVAL", 60.0, minimum=0.1)  # seconds
PHAROS_WATCHDOG_GRACE = env_float("PHAROS_WATCHDOG_GRACE", 60.0, minimum=0.0)  # seconds after start
PHAROS_LOG_JSON = env_bool("PHAROS_LOG_JSON", False)
PHAROS_SMS_API_URL = env_str("PHAROS_SMS_API_URL", "https://api.twilio.com")
# Alert delivery (alerts/): provider endpoints are settings so tests point them at loopback.
PHAROS_SMS_ACCOUNT_SID = env_str("PHAROS_SMS_ACCOUNT_SID", "")
PHAROS_SMS_AUTH_TOKEN = env_str("PHAROS_SMS_AUTH_TOKEN", "")
PHAROS_SMS_FROM_NUMBER = env_str("PHAROS_SMS_FROM_NUMBER", "")
PHAROS_PAGERDUTY_URL = env_str("PHAROS_PAGERDUTY_URL", "https://events.pagerduty.com/v2/enqueue")
PHAROS_TELEGRAM_API_URL = env_str("PHAROS_TELEGRAM_API_URL", "https://api.telegram.org").rstrip("/")
PHAROS_ACK_LINK_MAX_AGE = env_int("PHAROS_ACK_LINK_MAX_AGE", 7 * 24 * 3600, minimum=60)  # seconds
PHAROS_ALERT_RETRY_SECONDS = env_float("PHAROS_ALERT_RETRY_SECONDS", 10.0, minimum=0.1)  # first backoff
PHAROS_ALERT_MAX_ATTEMPTS = env_int("PHAROS_ALERT_MAX_ATTEMPTS", 8, minimum=1)
PHAROS_ALERT_HTTP_TIMEOUT = env_float("PHAROS_ALERT_HTTP_TIMEOUT", 10.0, minimum=0.5)
# The alert sender (alerts/sender.py): seconds one delivery may take in all, deliveries at
# once, and deliveries at once to one destination (so a slow receiver cannot take them all).
PHAROS_ALERT_DEADLINE = env_float("PHAROS_ALERT_DEADLINE", 15.0, minimum=1.0)
PHAROS_ALERT_CONCURRENCY = env_int("PHAROS_ALERT_CONCURRENCY", 100, minimum=1)
PHAROS_ALERT_PER_DESTINATION = env_int("PHAROS_ALERT_PER_DESTINATION", 4, minimum=1)
# RDAP base for domain expiry (monitors.domains); rdap.org redirects to each registry's server.
PHAROS_RDAP_URL = env_str("PHAROS_RDAP_URL", "https://rdap.org").rstrip("/")

# --- Django ----------------------------------------------------------------------------
INSTALLED_APPS = [
    # Before the admin: its admin/base_site.html is the one every admin page extends.
    "console",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "teams",
    "alerts",
    "monitors",
    "heartbeats",
    "status",
]

MIDDLEWARE = [
    # Outermost, so it also sees what the CSRF check and Django's error pages answer.
    "config.jsonapi.everywhere.JsonErrorsUnderApi",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The admin's times in the viewer's zone (a cookie the console's pages set).
    "console.middleware.ViewerTimeZone",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it answers a locked-out login attempt itself.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
APPEND_SLASH = False

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

DATABASES = {"default": database_from_url(env_str("DATABASE_URL"), sqlite_default_path=BASE_DIR / "pharos.sqlite3")}
# Persistent connections: the ping endpoint and the workers would otherwise pay a
# connection set-up per request/task.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("PHAROS_DB_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["OPTIONS"] = {
        # Several processes share the quick-start database; wait for the lock instead of failing.
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
# Test runs that share one server pick their own database name (see tests/README.md).
DATABASES["default"]["TEST"] = {"NAME": env_str("PHAROS_TEST_DB_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Deployment hardening (all off by default for the quick start on http://127.0.0.1;
# deploy/ production examples turn them on; `manage.py check --deploy` is clean with them) --
SECURE_SSL_REDIRECT = env_bool("PHAROS_SSL_REDIRECT", False)
# Probes from inside (compose, Kubernetes) speak plain HTTP to gunicorn: a redirect would
# fail them. Pings skip the middleware (heartbeats.views.ping_route) and are never redirected either.
SECURE_REDIRECT_EXEMPT = [r"^api/healthcheck$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("PHAROS_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("PHAROS_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("PHAROS_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("PHAROS_SECURE_COOKIES", False)
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("PHAROS_PROXY_SSL_HEADER")

# --- Admin login throttle (django-axes) -------------------------------------------------
# After PHAROS_LOGIN_FAILURE_LIMIT failed logins for one username from one address, that
# pair is locked out for PHAROS_LOGIN_LOCKOUT_MINUTES. Username and address together:
# by username alone anyone could lock the operators out; by address alone, everyone
# behind one NAT would share a lock. The address is the one the ping endpoint records —
# X-Forwarded-For believed only from PHAROS_TRUSTED_PROXIES — so behind the proxy each
# client is counted apart, and a client cannot escape its count by forging the header.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("PHAROS_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("PHAROS_LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "config.login_throttle.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # its own start-up banner; lockouts are still logged at WARNING

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"

# --- Email (Django's own names) -------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Pharos <pharos@localhost>")

# --- REST framework ----------------------------------------------------------------------
REST_FRAMEWORK: dict[str, object] = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Pharos API",
    "DESCRIPTION": "Uptime monitors, heartbeats and incidents in Better Stack's Uptime API dialect.",
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    # Separate request/response components, so write-only attributes (auth_password) and
    # read-only ones (status) each appear only where they belong.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.jsonapi.schema.forbid_unknown_attributes",
    ],
    # Served by config/api_urls.py from drf-spectacular-sidecar: the docs work offline.
    "SWAGGER_UI_DIST": "/api/docs/assets",
    "SWAGGER_UI_FAVICON_HREF": "/api/docs/assets/favicon-32x32.png",
    "ENUM_NAME_OVERRIDES": {
        "AlertDaysEnum": "monitors.serializers.ALERT_DAY_CHOICES",
        "RotationIntervalEnum": "teams.models.RotationInterval",
        "OnCallUserTypeEnum": "teams.api.USER_TYPE_CHOICES",
        "ResourceStateEnum": "status.figures.RESOURCE_STATE_CHOICES",
        "AffectedStateEnum": "status.models.AffectedState",
        "PageStateEnum": "status.models.PageState",
    },
}

# --- Celery ----------------------------------------------------------------------------
try:
    _broker = broker.broker_settings()
except broker.BrokerConfigError as error:
    raise ImproperlyConfigured(str(error)) from None
CELERY_BROKER_URL = _broker["broker_url"]
CELERY_BROKER_TRANSPORT_OPTIONS = _broker["broker_transport_options"]

# --- Logging ---------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        # One JSON object per line with monitor / region / round fields (config/logging.py).
        "json": {"()": "config.logging.JsonFormatter"},
    },
    # A database error is logged without its message (it may quote secrets); plain lines
    # escape control characters so text from outside cannot forge a line (config/log_safety.py).
    "filters": {
        "database_errors": {"()": "config.log_safety.RedactDatabaseErrors"},
        "one_line": {"()": "config.log_safety.OneLinePerRecord"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if PHAROS_LOG_JSON else "plain",
            "filters": ["database_errors"] if PHAROS_LOG_JSON else ["database_errors", "one_line"],
        }
    },
    "root": {"handlers": ["console"], "level": env_log_level("LOG_LEVEL")},
    # httpx logs every request at INFO: routine traffic of the alert sender, not a state change.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}

# --- Cache -------------------------------------------------------------------------------
# Public status pages are served from it (status.page_cache): Redis when REDIS_URL is set,
# so every gunicorn worker shares one copy and one invalidation; in-process memory for the
# quick start (one process, nothing to share).
_CACHE_REDIS_URL = (env_str("REDIS_URL") or "").strip()
CACHES = {
    "default": (
        # Django's RedisCache, with one client per pool rather than per call (config/cache.py).
        {"BACKEND": "config.cache.ReusedClientRedisCache", "LOCATION": _CACHE_REDIS_URL, "KEY_PREFIX": "pharos"}
        if _CACHE_REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
