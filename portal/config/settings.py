"""Django settings for the ChatBoard portal. Every value comes from the environment
(see .env.example); the defaults are the development stack that `make run` starts."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from portal.config.env import env_bool, env_choice, env_int, env_list, env_str
from portal.webchat import converse_dist
from stack.addresses import AddressError, Addresses

BASE_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BASE_DIR.parent
RUNTIME_DIR = Path(env_str("CHATBOARD_RUNTIME_DIR", str(REPO_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", required=True)

# The XMPP domain: every account is <username>@XMPP_DOMAIN; rooms are on XMPP_MUC_DOMAIN.
try:
    XMPP_ADDRESSES = Addresses.from_env(os.environ)
except AddressError as error:
    raise ImproperlyConfigured(str(error)) from None
XMPP_DOMAIN = XMPP_ADDRESSES.domain
XMPP_MUC_DOMAIN = XMPP_ADDRESSES.muc
XMPP_TOKEN_SECRET = env_str("XMPP_TOKEN_SECRET", required=True)
XMPP_TOKEN_LIFETIME = min(env_int("XMPP_TOKEN_LIFETIME", 300), 300)
PROSODY_HOST = env_str("PROSODY_HOST", "127.0.0.1")
PROSODY_C2S_PORT = env_int("PROSODY_C2S_PORT", 5222)
PROSODY_HTTP_PORT = env_int("PROSODY_HTTP_PORT", 5280)
# Prosody's websocket as the browser reaches it: a path ("/xmpp-websocket") means the
# portal's own origin behind the proxy; empty means ws://PROSODY_HOST:PROSODY_HTTP_PORT.
XMPP_WEBSOCKET_URL = env_str("XMPP_WEBSOCKET_URL", "")
# SCRAM iteration count for the credentials the portal derives for Prosody.
XMPP_SCRAM_ITERATIONS = env_int("XMPP_SCRAM_ITERATIONS", 10000)

# The public host name of the portal and web chat (production: behind the proxy,
# over HTTPS). Host and origin checks follow from it unless set explicitly.
WEB_HOST = env_str("CHATBOARD_WEB_HOST")
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", [WEB_HOST] if WEB_HOST else ["localhost", "127.0.0.1", "[::1]"]
)
CSRF_TRUSTED_ORIGINS = env_list(
    "DJANGO_CSRF_TRUSTED_ORIGINS", [f"https://{WEB_HOST}"] if WEB_HOST else []
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "portal.accounts",
    "portal.outbox",
    "portal.status",
    "portal.profiles",
    "portal.webchat",
    "csp",
    "portal.rooms",
    "portal.audit",
    "portal.invites",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "portal.config.urls"
WSGI_APPLICATION = "portal.config.wsgi.application"

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
                "portal.invites.context_processors.invites",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{RUNTIME_DIR / 'portal.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        # A kept connection is checked before reuse: a database restart costs the
        # requests in flight, not a restart of the portal.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The bridge writes to the same file from another process: WAL lets readers
    # and the writer proceed side by side, IMMEDIATE avoids upgrade deadlocks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(RUNTIME_DIR / "test-portal.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-allauth
ACCOUNT_ADAPTER = "portal.accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "optional")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PRESERVE_USERNAME_CASING = False
ACCOUNT_RATE_LIMITS = {
    "login_failed": env_str("ACCOUNT_RATE_LIMIT_LOGIN_FAILED", "10/m/ip,5/5m/key"),
    "signup": env_str("ACCOUNT_RATE_LIMIT_SIGNUP", "20/m/ip"),
}
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
# Who may sign up: open (anyone), invite (only with an invite link) or closed (nobody;
# staff make accounts in the admin). Checked by accounts.adapter.
SIGNUP_MODE = env_choice("ACCOUNT_SIGNUP", "open", ("open", "invite", "closed"))
# Whether people who are not staff may create invite links too.
INVITES_BY_MEMBERS = env_bool("INVITES_BY_MEMBERS", False)
# Names nobody may register, on top of the built-in list in accounts.usernames.
RESERVED_USERNAMES = env_list("CHATBOARD_RESERVED_USERNAMES")

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"ChatBoard <noreply@{XMPP_DOMAIN}>")

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env_str("REDIS_URL")}
        if env_str("REDIS_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = RUNTIME_DIR / "static"
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "portal.webchat.finders.ConverseFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Production serves collected, hashed, gzipped files cached for a year.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "portal.webchat.storage.StaticStorage"
    },
}
WHITENOISE_ADD_HEADERS_FUNCTION = converse_dist.add_cache_headers
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("CHATBOARD_MEDIA_ROOT", str(RUNTIME_DIR / "media")))
# Avatar uploads above either limit are refused before their pixels are decoded.
AVATAR_MAX_BYTES = env_int("AVATAR_MAX_BYTES", 10 * 1024 * 1024)
AVATAR_MAX_PIXELS = env_int("AVATAR_MAX_PIXELS", 40_000_000)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Production runs behind the proxy (Caddy), which terminates TLS and says so in
# X-Forwarded-Proto; everything below is off in development (DJANGO_DEBUG=true).
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # The container healthcheck asks over plain HTTP from inside.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
    ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"
    # Rate limits by the client's address, which the proxy appends to X-Forwarded-For.
    ALLAUTH_TRUSTED_PROXY_COUNT = env_int("ALLAUTH_TRUSTED_PROXY_COUNT", 1)

# Content-Security-Policy: the portal's pages and the web chat (Converse.js),
# all served from this origin, and nothing else. The chat's XMPP websocket (see
# XMPP_WEBSOCKET_URL above): in production on this origin, which the proxy forwards
# to Prosody; in development Prosody's own port, known only once it has started.
if XMPP_WEBSOCKET_URL.startswith("/"):
    CHAT_WEBSOCKET_SOURCES = [f"wss://{WEB_HOST}{XMPP_WEBSOCKET_URL}"] if WEB_HOST else []
elif XMPP_WEBSOCKET_URL:
    CHAT_WEBSOCKET_SOURCES = [XMPP_WEBSOCKET_URL]
else:
    CHAT_WEBSOCKET_SOURCES = [f"ws://{PROSODY_HOST}:*"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Converse's components set style attributes at run time.
        "style-src": ["'self'", "'unsafe-inline'"],
        # Avatars arrive as data: URIs, previews of files being shared as blob: URLs.
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", *CHAT_WEBSOCKET_SOURCES],
        "worker-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Outbox: how a failing row is retried before it is parked for a human.
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)
OUTBOX_CLAIM_SECONDS = env_int("OUTBOX_CLAIM_SECONDS", 30)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
