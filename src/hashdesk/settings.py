"""Django settings for Hashdesk, read from ``HASHDESK_*`` environment variables.

The defaults are the embedded single-node mode: SQLite in the data directory, a local event
channel and an SQLite-backed task queue. ``HASHDESK_DATABASE_URL`` and ``HASHDESK_REDIS_URL``
switch to PostgreSQL and Redis. ``HASHDESK_PRODUCTION=1`` refuses to start without an explicit
secret, allowed hosts and HTTPS. See docs/deploy.md.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import dj_database_url

from hashdesk.config import (
    ConfigurationError,
    data_dir,
    env_bool,
    env_int,
    env_list,
    env_str,
    secret_key,
)

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = data_dir()

PRODUCTION = env_bool("HASHDESK_PRODUCTION", False)
DEBUG = env_bool("HASHDESK_DEBUG", False)
if PRODUCTION and DEBUG:
    raise ConfigurationError("HASHDESK_DEBUG cannot be on in production mode")

SECRET_KEY = secret_key(DATA_DIR, production=PRODUCTION)

_allowed_hosts_raw = env_str("HASHDESK_ALLOWED_HOSTS")
if PRODUCTION and not _allowed_hosts_raw:
    raise ConfigurationError("production mode needs HASHDESK_ALLOWED_HOSTS")
ALLOWED_HOSTS = env_list(
    "HASHDESK_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"]
)

HTTPS = env_bool("HASHDESK_HTTPS", False)
if PRODUCTION and not HTTPS:
    raise ConfigurationError("production mode needs HASHDESK_HTTPS=1 (served behind TLS)")

# The address people use to reach Hashdesk, for links in mail and feeds.
PUBLIC_URL = env_str("HASHDESK_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

# Where `hashdesk run` / `hashdesk web` listen, and how many granian WSGI worker processes serve.
WEB_HOST = env_str("HASHDESK_WEB_HOST", "127.0.0.1")
WEB_PORT = env_int("HASHDESK_WEB_PORT", 8000)
WEB_WORKERS = env_int("HASHDESK_WEB_WORKERS", 2)
# Threads per web worker process running Django views (granian's blocking threads). A few per
# core is enough: views wait on the database briefly and more threads only contend for the GIL.
WEB_THREADS = env_int("HASHDESK_WEB_THREADS", 8)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "ninja",
    "hashdesk.core",
    "hashdesk.accounts",
    "hashdesk.audit",
    "hashdesk.catalog",
    "hashdesk.sla",
    "hashdesk.incidents",
    "hashdesk.notify",
    "hashdesk.wall",
    "hashdesk.chat",
    "hashdesk.knowledge",
    "hashdesk.changes",
    "hashdesk.problems",
    "hashdesk.insights",
    "hashdesk.search",
    "hashdesk.status",
    "oauth2_provider",
    "hashdesk.integrations.mail",
    "hashdesk.integrations.alertmanager",
    "hashdesk.integrations.mastodon",
    "hashdesk.integrations.slack",
    "hashdesk.integrations.oidc",
    "hashdesk.integrations.transfer",
    "hashdesk.web",
]

MIDDLEWARE = [
    "hashdesk.core.middleware.RequestIdMiddleware",
    "hashdesk.core.middleware.RefuseNulCharactersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "hashdesk.core.middleware.ContentSecurityPolicyMiddleware",
    "hashdesk.core.middleware.MetricsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "hashdesk.web.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "hashdesk.urls"
WSGI_APPLICATION = "hashdesk.wsgi.application"

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
                "hashdesk.web.context_processors.shell",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
_database_url = env_str("HASHDESK_DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
    DATABASES["default"].setdefault("OPTIONS", {})
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("HASHDESK_SQLITE_PATH", str(DATA_DIR / "hashdesk.sqlite3")),
            # A file (not memory) so that test helper processes such as the event server
            # open the same test database.
            "TEST": {"NAME": str(DATA_DIR / "test-hashdesk.sqlite3")},
            # Keep each worker thread's connection: opening the file and running the PRAGMAs
            # below on every request cost ~2-3 ms of each (docs/performance.md).
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                # IMMEDIATE: a writer takes the lock when its transaction starts, so two writers
                # queue on busy_timeout instead of failing on lock upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA busy_timeout=20000; PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, events and the task queue --------------------------------------------------
REDIS_URL = env_str("HASHDESK_REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("HASHDESK_REDIS_PREFIX", "hashdesk"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "hashdesk_cache",
        }
    }

# Prefix for Redis keys and channels, so several installations (or test runs) share one server.
REDIS_PREFIX = env_str("HASHDESK_REDIS_PREFIX", "hashdesk")

# The event server: where it listens, and the URL browsers use to reach it.
EVENT_SERVER_HOST = env_str("HASHDESK_EVENT_SERVER_HOST", "127.0.0.1")
EVENT_SERVER_PORT = env_int("HASHDESK_EVENT_SERVER_PORT", 8001)
EVENTS_PUBLIC_URL = env_str(
    "HASHDESK_EVENTS_URL", f"ws://{EVENT_SERVER_HOST}:{EVENT_SERVER_PORT}/ws/"
)
# In the embedded mode web processes wake the event server over this local UDP port.
EVENT_NOTIFY_PORT = env_int("HASHDESK_EVENT_NOTIFY_PORT", EVENT_SERVER_PORT + 1000)
EVENT_RETENTION_HOURS = env_int("HASHDESK_EVENT_RETENTION_HOURS", 72)
# The Mastodon streaming API (SSE) served by the event server process on a port of its own
# (docs/integrations/mastodon.md, "Streaming"); its URL is what /api/v1/instance reports.
MASTODON_STREAMING_PORT = env_int("HASHDESK_MASTODON_STREAMING_PORT", EVENT_SERVER_PORT + 1)
MASTODON_STREAMING_URL = env_str(
    "HASHDESK_MASTODON_STREAMING_URL", f"http://{EVENT_SERVER_HOST}:{MASTODON_STREAMING_PORT}"
)
# How often open streams check that their tokens still hold (revoked ones are closed).
MASTODON_STREAMING_RECHECK_SECONDS = env_int("HASHDESK_MASTODON_STREAMING_RECHECK_SECONDS", 60)


# Browser origins allowed to open a WebSocket (defaults to the public URL).
def _local_aliases(url: str) -> list[str]:
    """The same local origin under its other loopback names (127.0.0.1, localhost, [::1])."""
    names = ("127.0.0.1", "localhost", "[::1]")
    for name in names:
        if f"//{name}:" in url or url.endswith(f"//{name}"):
            return [url.replace(f"//{name}", f"//{other}") for other in names]
    return [url]


EVENT_ALLOWED_ORIGINS = env_list("HASHDESK_EVENT_ALLOWED_ORIGINS", _local_aliases(PUBLIC_URL))

HUEY_IMMEDIATE = env_bool("HASHDESK_TASKS_IMMEDIATE", False)
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": f"{REDIS_PREFIX}-tasks",
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": env_int("HASHDESK_WORKER_THREADS", 4), "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "hashdesk-tasks",
        "filename": str(DATA_DIR / "tasks.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": env_int("HASHDESK_WORKER_THREADS", 2), "worker_type": "thread"},
    }

OUTBOX_MAX_ATTEMPTS = env_int("HASHDESK_OUTBOX_MAX_ATTEMPTS", 8)
# Retry back-off: base * 2^(attempt-1), capped, with jitter (docs/operations.md).
OUTBOX_RETRY_BASE_SECONDS = env_int("HASHDESK_OUTBOX_RETRY_BASE_SECONDS", 30)
OUTBOX_RETRY_MAX_SECONDS = env_int("HASHDESK_OUTBOX_RETRY_MAX_SECONDS", 3600)
# A claimed row is not due again for this long: a worker that dies mid-delivery leaves its
# rows to another worker after the lease (docs/notifications.md, "Never lost").
OUTBOX_CLAIM_LEASE_SECONDS = env_int("HASHDESK_OUTBOX_CLAIM_LEASE_SECONDS", 300)

# --- Notifications and the status page (docs/notifications.md, docs/status.md) ----------------

# The status page needs no sign-in unless this is off.
STATUS_PAGE_PUBLIC = env_bool("HASHDESK_STATUS_PAGE_PUBLIC", True)
# The longest a status-page snapshot is reused; writes replace it at once (docs/status.md).
STATUS_SNAPSHOT_SECONDS = env_int("HASHDESK_STATUS_SNAPSHOT_SECONDS", 60)
# Outbound HTTP (webhooks, chat tools) refuses private, loopback and link-local addresses;
# networks listed here (CIDR, comma-separated) are allowed anyway, e.g. an internal chat server.
OUTBOUND_ALLOWED_NETWORKS = env_list("HASHDESK_OUTBOUND_ALLOWED_NETWORKS", [])
OUTBOUND_TIMEOUT_SECONDS = env_int("HASHDESK_OUTBOUND_TIMEOUT_SECONDS", 10)
# A webhook or chat tool failing this many deliveries in a row is disabled and its owner told.
NOTIFY_DISABLE_AFTER_FAILURES = env_int("HASHDESK_NOTIFY_DISABLE_AFTER_FAILURES", 10)
# Apprise URL schemes administrators may configure as chat tools (docs/notifications.md).
CHAT_TOOL_SCHEMES = env_list(
    "HASHDESK_CHAT_TOOL_SCHEMES",
    [
        "slack",  # Slack
        "workflow",  # Microsoft Teams (Power Automate workflows)
        "workflows",
        "mmost",  # Mattermost
        "mmosts",
        "matrix",  # Matrix
        "matrixs",
        "mastodon",  # Mastodon
        "mastodons",
        "toot",
        "toots",
        "tgram",  # Telegram
        "discord",  # Discord
        "rocket",  # Rocket.Chat
        "rockets",
        "zulip",  # Zulip
        "gchat",  # Google Chat
        "ntfy",  # ntfy
        "ntfys",
        "json",  # any JSON endpoint
        "jsons",
    ],
)
# Where replies to notification mails go: reply+<token>@this domain (issue 10 reads them).
NOTIFY_REPLY_DOMAIN = env_str("HASHDESK_REPLY_DOMAIN", "")

# --- Accounts and sign-in ---------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["hashdesk.accounts.backends.EmailBackend"]
LOGIN_URL = "accounts:sign-in"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "accounts:sign-in"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Lock-out: this many failed sign-ins for one account within the window lock it for the window.
SIGN_IN_MAX_FAILURES = env_int("HASHDESK_SIGN_IN_MAX_FAILURES", 5)
SIGN_IN_LOCKOUT_MINUTES = env_int("HASHDESK_SIGN_IN_LOCKOUT_MINUTES", 15)
API_TOKEN_MAX_DAYS = env_int("HASHDESK_API_TOKEN_MAX_DAYS", 365)
# OpenID Connect single sign-on (docs/integrations/oidc.md); off while the issuer is unset.
# The role map reads "provider-group=role,...": a group may be named twice for two roles.
OIDC_ISSUER = env_str("HASHDESK_OIDC_ISSUER")
OIDC_CLIENT_ID = env_str("HASHDESK_OIDC_CLIENT_ID")
OIDC_CLIENT_SECRET = env_str("HASHDESK_OIDC_CLIENT_SECRET")
OIDC_SCOPES = env_str("HASHDESK_OIDC_SCOPES", "openid email profile groups").split()
OIDC_GROUPS_CLAIM = env_str("HASHDESK_OIDC_GROUPS_CLAIM", "groups")
OIDC_ROLE_MAP = [
    tuple(part.strip() for part in item.split("=", 1))
    for item in env_list("HASHDESK_OIDC_ROLE_MAP", [])
]
OIDC_CREATE_USERS = env_bool("HASHDESK_OIDC_CREATE_USERS", True)
OIDC_PROVIDER_NAME = env_str("HASHDESK_OIDC_PROVIDER_NAME", "single sign-on")
OIDC_ONLY = env_bool("HASHDESK_OIDC_ONLY", False)
# Signing out of Hashdesk also signs out at the provider when it offers end_session_endpoint.
OIDC_PROVIDER_SIGN_OUT = env_bool("HASHDESK_OIDC_PROVIDER_SIGN_OUT", True)
# Called in order with the request before sign-out ends its session; the first address one
# returns is where the browser goes next (else LOGOUT_REDIRECT_URL). Keeps accounts free of
# the integrations that need it.
SIGN_OUT_REDIRECTS = ["hashdesk.integrations.oidc.sign_out.provider_sign_out_url"]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("HASHDESK_SESSION_HOURS", 12) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = False
CSRF_COOKIE_HTTPONLY = False  # the API's session clients read it to send X-CSRFToken
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = env_list("HASHDESK_CSRF_TRUSTED_ORIGINS", [PUBLIC_URL])
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("HASHDESK_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("HASHDESK_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("HASHDESK_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a domain-wide, hard-to-undo commitment (anyone may submit a domain
        # whose header says "preload"), so it stays the operator's explicit choice and
        # `check --deploy` does not nag about it.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    # Behind a TLS-terminating reverse proxy (docs/deploy.md).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_NAME = "__Host-hashdesk_session"
    CSRF_COOKIE_NAME = "__Host-hashdesk_csrf"
else:
    SESSION_COOKIE_NAME = "hashdesk_session"
    CSRF_COOKIE_NAME = "hashdesk_csrf"

# --- Mastodon client API: OAuth 2 by django-oauth-toolkit (docs/integrations/mastodon.md) ---------


def _mastodon_pkce_required(client_id: str) -> bool:
    # Imported when called: settings must not load models.
    from hashdesk.integrations.mastodon.scopes import pkce_required

    return pkce_required(client_id)


OAUTH2_PROVIDER = {
    "SCOPES_BACKEND_CLASS": "hashdesk.integrations.mastodon.scopes.MastodonScopes",
    "OAUTH2_VALIDATOR_CLASS": "hashdesk.integrations.mastodon.scopes.MastodonValidator",
    # PKCE: required of public clients; checked whenever a client sends a challenge (Mastodon
    # apps are confidential and many send none); only S256 is accepted.
    "PKCE_REQUIRED": _mastodon_pkce_required,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    # Tokens are kept as their SHA-256 only; Mastodon's tokens are long-lived, ours last as long
    # as a personal API token may.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": API_TOKEN_MAX_DAYS * 86400,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 600,
    "REQUEST_APPROVAL_PROMPT": "force",
    # https, an app's own scheme, or http to a loopback address only (RFC 8252): checked when
    # an app registers (mastodon.actions).
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # The issuer named in authorization responses (RFC 9207) and the RFC 8414 metadata.
    "OIDC_ISS_ENDPOINT": f"{PUBLIC_URL}/mastodon",
}
# Named so migrations that point at the toolkit's (swappable) application can resolve it.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"

# Requests larger than this are refused with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("HASHDESK_MAX_REQUEST_BYTES", 2 * 1024 * 1024)

# --- Rate limits (per client, fixed window; stored in the cache so every process shares them) --
RATE_LIMITS = {
    "sign-in": (env_int("HASHDESK_RATE_SIGN_IN_PER_MINUTE", 20), 60),
    "password-reset": (env_int("HASHDESK_RATE_PASSWORD_RESET_PER_HOUR", 10), 3600),
    "api-read": (env_int("HASHDESK_RATE_API_READ_PER_MINUTE", 6000), 60),
    "api-write": (env_int("HASHDESK_RATE_API_WRITE_PER_MINUTE", 600), 60),
    # Wall posts (docs/wall.md): per person, and per address against scripted floods.
    "wall_post": (env_int("HASHDESK_RATE_WALL_POST_PER_MINUTE", 10), 60),
    "wall_post_ip": (env_int("HASHDESK_RATE_WALL_POST_IP_PER_MINUTE", 60), 60),
    # A batch of up to 500 posts (integrations, imports) counts once, in its own bucket.
    "wall_post_batch": (env_int("HASHDESK_RATE_WALL_POST_BATCH_PER_MINUTE", 30), 60),
    # Images uploaded for wall posts (docs/wall.md, "Images"), per person.
    "wall_media": (env_int("HASHDESK_RATE_WALL_MEDIA_PER_MINUTE", 30), 60),
    # Mastodon apps (docs/integrations/mastodon.md): registrations and token requests per address.
    "mastodon_apps": (env_int("HASHDESK_RATE_MASTODON_APPS_PER_HOUR", 30), 3600),
    "mastodon_token": (env_int("HASHDESK_RATE_MASTODON_TOKEN_PER_MINUTE", 30), 60),
    # Chat messages per person (docs/chat.md): a quick typist sends a few a minute; a script
    # or a stuck client far more.
    "chat_message": (env_int("HASHDESK_RATE_CHAT_MESSAGE_PER_MINUTE", 60), 60),
    # Files uploaded into chat rooms (docs/chat.md, "Attachments"), per person.
    "chat_attachment": (env_int("HASHDESK_RATE_CHAT_ATTACHMENT_PER_MINUTE", 20), 60),
    # Messages per Slack-compatible incoming webhook (docs/integrations/slack.md).
    "slack_hook": (env_int("HASHDESK_RATE_SLACK_HOOK_PER_MINUTE", 60), 60),
    # Status page email subscriptions (docs/status.md): per client address, and per mailbox so
    # that nobody floods someone's inbox with confirmation mails.
    "status_subscribe_ip": (env_int("HASHDESK_RATE_STATUS_SUBSCRIBE_IP_PER_HOUR", 20), 3600),
    "status_subscribe_address": (
        env_int("HASHDESK_RATE_STATUS_SUBSCRIBE_ADDRESS_PER_HOUR", 3),
        3600,
    ),
    # Imports (docs/integrations/transfer.md): each check or apply of a file, per administrator;
    # a person's own data export, per person.
    "transfer_import": (env_int("HASHDESK_RATE_IMPORT_PER_HOUR", 60), 3600),
    "transfer_personal_export": (env_int("HASHDESK_RATE_PERSONAL_EXPORT_PER_HOUR", 5), 3600),
    # Inbound mail per sender address (docs/integrations/mail.md): cuts off a looping peer.
    "inbound_mail": (env_int("HASHDESK_RATE_INBOUND_MAIL_PER_HOUR", 60), 3600),
    # Refused Mastodon streaming connections (bad or missing token) per client address.
    "mastodon_stream_refused": (60, 60),
    # Notifications per Alertmanager receiver (docs/integrations/alertmanager.md).
    "alertmanager": (env_int("HASHDESK_RATE_ALERTMANAGER_PER_MINUTE", 300), 60),
}
# The largest Alertmanager notification accepted (docs/integrations/alertmanager.md).
ALERTMANAGER_MAX_BYTES = env_int("HASHDESK_ALERTMANAGER_MAX_BYTES", 8 * 1024 * 1024)
RATE_LIMITS_ENABLED = env_bool("HASHDESK_RATE_LIMITS", True)

# --- Incidents (docs/incidents.md) --------------------------------------------------------------
# Priority from "impact,urgency" (1 high .. 3 low) to P1..P5; validated by incidents.priority.
INCIDENT_PRIORITY_MATRIX = json.loads(
    env_str(
        "HASHDESK_INCIDENT_PRIORITY_MATRIX",
        json.dumps(
            {"1,1": 1, "1,2": 2, "1,3": 3, "2,1": 2, "2,2": 3, "2,3": 4, "3,1": 3, "3,2": 4}
            | {"3,3": 5}
        ),
    )
)
# The impact policy: each rule raises the suggested impact to its level once met.
INCIDENT_IMPACT_POLICY = json.loads(
    env_str(
        "HASHDESK_INCIDENT_IMPACT_POLICY",
        json.dumps(
            {
                "high": {"affected_users": 25, "sites": 3, "departments": 3, "vip": True},
                "medium": {"affected_users": 5, "sites": 2, "departments": 2, "vip": False},
            }
        ),
    )
)
INCIDENT_AUTO_CLOSE_DAYS = env_int("HASHDESK_INCIDENT_AUTO_CLOSE_DAYS", 7)
# Answers on the wall (docs/wall.md, "Answers and reputation"): an award is confirmed when its
# beneficiary raised no ticket on the question's service for this long after earning it.
WALL_DEFLECTION_WINDOW = timedelta(hours=env_int("HASHDESK_WALL_DEFLECTION_WINDOW_HOURS", 48))
# Knowledge articles (docs/knowledge.md): a published article is due for review this long after.
KNOWLEDGE_REVIEW_DAYS = env_int("HASHDESK_KNOWLEDGE_REVIEW_DAYS", 180)


def _announce_before(raw: list[str]) -> list[timedelta]:
    try:
        leads = [timedelta(hours=float(hours)) for hours in raw]
    except ValueError as exc:
        raise ConfigurationError(
            f"HASHDESK_CHANGE_ANNOUNCE_BEFORE_HOURS must be hours, like 72,1; got {raw!r}"
        ) from exc
    if any(lead < timedelta(minutes=1) for lead in leads):
        raise ConfigurationError("HASHDESK_CHANGE_ANNOUNCE_BEFORE_HOURS must be positive hours")
    return leads


# Changes (docs/changes.md, "Communication"): a scheduled change is announced this many hours
# before it starts (besides at start, at completion or failure, and on a move or cancellation).
CHANGE_ANNOUNCE_BEFORE = _announce_before(
    env_list("HASHDESK_CHANGE_ANNOUNCE_BEFORE_HOURS", ["72", "1"])
)
# Changes (docs/changes.md, "Correlation with incidents"): incidents on a change's affected
# services this long after it started are scored as possibly caused by it.
CHANGE_CORRELATION_WINDOW = timedelta(hours=env_int("HASHDESK_CHANGE_CORRELATION_HOURS", 48))
# Attachments (docs/incidents.md, "Attachments"): the bytes live here, outside every static or
# web root, under random names, and are served only through a permission check. Scaled out,
# every web host must see the same directory (shared storage; docs/deploy.md).
ATTACHMENTS_DIR = Path(env_str("HASHDESK_ATTACHMENTS_DIR") or DATA_DIR / "attachments")
ATTACHMENT_MAX_BYTES = env_int("HASHDESK_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
# File name extensions people may attach; each must be one incidents.attachments can verify.
_ATTACHMENT_TYPES = (
    "png jpg jpeg gif webp pdf txt log csv json xml yaml yml md docx xlsx pptx odt ods odp"
)
ATTACHMENT_TYPES = env_list("HASHDESK_ATTACHMENT_TYPES", _ATTACHMENT_TYPES.split())
# Images on wall posts (docs/wall.md, "Images"): PNG, JPEG, GIF and WebP, re-encoded without
# metadata. Never more than ATTACHMENT_MAX_BYTES, the most any upload may hold.
WALL_MEDIA_MAX_BYTES = env_int("HASHDESK_WALL_MEDIA_MAX_BYTES", 8 * 1024 * 1024)
# Files in chat rooms (docs/chat.md, "Attachments"): the types of ATTACHMENT_TYPES, at most this
# size (never more than ATTACHMENT_MAX_BYTES, the most any upload may hold).
CHAT_ATTACHMENT_MAX_BYTES = env_int("HASHDESK_CHAT_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
# Uploaded files above this size wait on disk (Django's temporary files) rather than in memory;
# the first handler stops keeping a file's bytes once it is over ATTACHMENT_MAX_BYTES, so an
# oversized upload is read to the end but never stored whole.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_HANDLERS = [
    "hashdesk.core.uploads.UploadSizeCap",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Mail ---------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("HASHDESK_FROM_EMAIL", "Hashdesk <hashdesk@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env_str("HASHDESK_SMTP_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("HASHDESK_SMTP_PORT", 25)
    EMAIL_HOST_USER = env_str("HASHDESK_SMTP_USER")
    EMAIL_HOST_PASSWORD = env_str("HASHDESK_SMTP_PASSWORD")
    EMAIL_USE_TLS = env_bool("HASHDESK_SMTP_STARTTLS", False)
    EMAIL_USE_SSL = env_bool("HASHDESK_SMTP_SSL", False)
    EMAIL_TIMEOUT = env_int("HASHDESK_SMTP_TIMEOUT", 20)
else:
    # Embedded mode without a mail server: messages are written as files under var/mail.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(DATA_DIR / "mail")

# --- Inbound mail (docs/integrations/mail.md) ---------------------------------------------------
# `hashdesk smtpd` listens here; `hashdesk run` starts it too when HASHDESK_SMTPD_PORT is set.
SMTPD_HOST = env_str("HASHDESK_SMTPD_HOST", "127.0.0.1")
SMTPD_PORT = env_int("HASHDESK_SMTPD_PORT", 2525)
SMTPD_IN_RUN = bool(env_str("HASHDESK_SMTPD_PORT"))
# A message larger than this is refused during DATA (552), before it is stored anywhere.
INBOUND_MAIL_MAX_BYTES = env_int("HASHDESK_INBOUND_MAIL_MAX_BYTES", 25 * 1024 * 1024)
# Domains whose addresses Hashdesk accepts mail for (default: the reply domain); others get 550.
INBOUND_MAIL_DOMAINS = env_list("HASHDESK_INBOUND_MAIL_DOMAINS", [])
# Mail from an address with no account: reject (550), create (a requester account) or ignore.
INBOUND_MAIL_UNKNOWN_SENDERS = env_str("HASHDESK_INBOUND_MAIL_UNKNOWN_SENDERS", "reject")
if INBOUND_MAIL_UNKNOWN_SENDERS not in ("reject", "create", "ignore"):
    raise ConfigurationError(
        "HASHDESK_INBOUND_MAIL_UNKNOWN_SENDERS must be reject, create or ignore"
    )
# The service (slug) of a new mail when neither its address, its hashtags nor its text say one.
INBOUND_MAIL_DEFAULT_SERVICE = env_str("HASHDESK_INBOUND_MAIL_DEFAULT_SERVICE", "")
# Attachments kept per mail (each also within ATTACHMENT_MAX_BYTES and ATTACHMENT_TYPES).
INBOUND_MAIL_MAX_ATTACHMENTS = env_int("HASHDESK_INBOUND_MAIL_MAX_ATTACHMENTS", 10)

# --- Internationalisation and static files ----------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("HASHDESK_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = str(DATA_DIR / "static")
# WhiteNoise expects the directory to exist even before the first collectstatic.
(DATA_DIR / "static").mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = str(DATA_DIR / "media")

# --- Logging ------------------------------------------------------------------------------------
LOG_FORMAT = env_str("HASHDESK_LOG_FORMAT", "json" if PRODUCTION else "console")
LOG_LEVEL = env_str("HASHDESK_LOG_LEVEL", "INFO").upper()
LOGGING_CONFIG = None  # hashdesk.core.logging configures structlog + stdlib in apps.ready()

# Prometheus: worker processes share counters through files in this directory.
METRICS_DIR = DATA_DIR / "metrics"
# Who may read /metrics: addresses or networks (CIDR), as seen in REMOTE_ADDR.
METRICS_ALLOW = env_list("HASHDESK_METRICS_ALLOW", ["127.0.0.1", "::1"])
# Probes and scrapers talk plain HTTP to the process, not through the TLS proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

NINJA_PAGINATION_PER_PAGE = 50
