"""Configuration: defaults, then ``instance/config.py``, then environment variables.

Environment variables win so that a deployment (gunicorn + PostgreSQL) never needs to edit files.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

# Settings read from the environment, with the function that parses each one.
_ENV_SETTINGS = {
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "MAIL_SERVER": str,
    "MAIL_PORT": int,
    "MAIL_USERNAME": str,
    "MAIL_PASSWORD": str,
    "MAIL_USE_TLS": lambda v: v.lower() in {"1", "true", "yes", "on"},
    "MAIL_USE_SSL": lambda v: v.lower() in {"1", "true", "yes", "on"},
    "MAIL_DEFAULT_SENDER": str,
    "MAIL_BACKEND": str,
    "MAX_UPLOAD_MB": int,
    "UPLOAD_FOLDER": str,
    "RATELIMIT_STORAGE_URI": str,
    "SERVER_NAME": str,
    "BASE_URL": str,
    "TRUSTED_PROXIES": int,
    "PREFERRED_URL_SCHEME": str,
    "SESSION_COOKIE_SECURE": lambda v: v.lower() in {"1", "true", "yes", "on"},
    "DCOL_INSTRUMENT": lambda v: v.lower() in {"1", "true", "yes", "on"},
}


class Defaults:
    DATABASE_URL: str | None = None  # SQLite file in instance/ when unset
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    # Sessions and cookies
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Secure cookies (HTTPS only): by default when BASE_URL is an https:// address.
    SESSION_COOKIE_SECURE: bool | None = None
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    # A session ends after 8 hours without activity (shared computers in town halls).
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)

    # Forms
    WTF_CSRF_TIME_LIMIT = 8 * 3600

    # i18n
    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    LANGUAGES = ("fr", "en")

    # Mail: "console" prints mails (development), "smtp" sends them.
    MAIL_BACKEND = "console"
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_DEFAULT_SENDER = "DCOL — Cités Unies France <dcol@cites-unies-france.org>"
    # Undeliverable mail (SMTP server down) is retried after 2, 4, 8... minutes, then at this
    # interval, for as long as it takes; only a permanent refusal (5xx) gives up.
    MAIL_RETRY_MAX_MINUTES = 120
    # Where links in mails point when they are sent outside a request (cron, CLI).
    BASE_URL = "http://127.0.0.1:5000"
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
    TRUSTED_PROXIES = 0

    # Uploads
    MAX_UPLOAD_MB = 10
    UPLOAD_FOLDER: str | None = None  # instance/uploads when unset

    # Login throttling (Flask-Limiter): memory by default, redis://... when configured.
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "5 per minute;20 per hour"
    # Registration form submissions (valid or not) per client address.
    REGISTRATION_RATE_LIMIT = "10 per minute;40 per hour"

    PASSWORD_RESET_MAX_AGE = 3600  # seconds
    # Argon2id parameters (argon2-cffi's defaults: RFC 9106 low-memory profile).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536  # KiB
    ARGON2_PARALLELISM = 4
    API_PAGE_SIZE = 50

    # Benchmarks: SQL statements and server time as response headers (dcol/instrumentation.py).
    DCOL_INSTRUMENT = False


def load_config(app, config: dict | None) -> None:
    """Fill ``app.config`` in order: defaults, instance/config.py, environment, explicit mapping."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    for name, parse in _ENV_SETTINGS.items():
        if name in os.environ:
            app.config[name] = parse(os.environ[name])
    if config:
        app.config.update(config)

    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = app.config["BASE_URL"].startswith("https://")
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config["SESSION_COOKIE_SECURE"])

    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(instance)
    url = app.config.get("DATABASE_URL") or f"sqlite:///{instance / 'dcol.sqlite3'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # SQLite locks the whole file: wait instead of failing under concurrent requests.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    app.config.setdefault("UPLOAD_FOLDER", None)
    if not app.config["UPLOAD_FOLDER"]:
        app.config["UPLOAD_FOLDER"] = str(instance / "uploads")
    app.config["MAX_CONTENT_LENGTH"] = (app.config["MAX_UPLOAD_MB"] + 1) * 1024 * 1024


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way (postgres://, postgresql://)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _instance_secret_key(instance: Path) -> str:
    """Read the generated secret key, creating it (mode 600) on first run.

    The key is written to a temporary file, then linked into place: several workers starting
    together on a fresh install all end up reading the one key that was linked first, complete.
    """
    path = instance / "secret_key"
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=instance, prefix=".secret_key-")
        try:
            with os.fdopen(fd, "w") as handle:  # mkstemp creates the file with mode 600
                handle.write(secrets.token_urlsafe(48))
            os.link(temporary, path)
        except FileExistsError:
            pass  # another worker was first: use its key
        finally:
            os.unlink(temporary)
    return path.read_text().strip()
