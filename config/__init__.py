"""Settings, read from the environment in this one place.

`load(name)` returns the settings class for `development`, `testing` or `production`; `create_app`
turns it into Flask config. Development works with no environment at all (SQLite under
`instance/`, a secret generated once and kept in `instance/secret_key`); production refuses to
start without `SECRET_KEY` and `DATABASE_URL`, or with `DEBUG` on.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path


MIN_SECRET_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """The environment does not describe a safe configuration."""


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Base:
    DEBUG = False
    TESTING = False
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # Forms carry a CSRF token; a token lives as long as the session.
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    # argon2id work factors (RFC 9106 "second recommended" profile, memory in KiB).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4
    DISPLAY_TIMEZONE = "Asia/Ho_Chi_Minh"
    # Vietnamese first; a user may choose English (users.locale). Times shown in Vietnam's zone.
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")
    QUEUE_PAGE_SIZE = 50
    # A session ends after this long without a request, and this long after login whatever happens.
    SESSION_IDLE_MINUTES = 30
    SESSION_MAX_HOURS = 12
    # Login throttling, per account and per client address (counted in the database).
    LOGIN_SLOW_AFTER = 5          # failures before each answer is slowed down
    LOGIN_LOCK_AFTER = 10         # failures before the key is locked
    LOGIN_LOCK_MINUTES = 15
    # Requests: forms are small; a body over this is refused before it is parsed (uploads will
    # raise it for their own routes).
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 512 * 1024
    MAX_FORM_PARTS = 1000
    # The chain's head is appended here after every verify (outside the database).
    AUDIT_ANCHOR_PATH: str | None = None
    # The pool hands out the connection given back last: a bulk job committing chunk after chunk
    # keeps one connection, the one `cases.bulk_write.bulk_cache` gave SQLite's large page cache
    # (handed out first in, first out, a return's chunks alternated between two connections).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_use_lifo": True}
    # The scheduler: the active one renews its lease every poll; a standby takes over once the
    # lease has expired (within LEASE + POLL seconds of the active one dying).
    SCHEDULER_LEASE_SECONDS = 30.0
    SCHEDULER_POLL_SECONDS = 10.0
    # Lists in (issue 16): the scheduler's worker looks for queued list jobs this often; a job
    # whose worker shows no sign of life for LIST_STALE_SECONDS is queued again (it resumes). An
    # upload's body may be this large: above the file's own limit (25 MB, cases.sheets.safety,
    # checked with the zip-bomb checks before any parsing) by the form's other parts, so a file
    # too large is refused with its message, not with a bare 413.
    LIST_POLL_SECONDS = 2.0
    LIST_STALE_SECONDS = 300
    LIST_MAX_UPLOAD_BYTES = 26 * 1024 * 1024
    SCHEDULER_MISFIRE_GRACE_SECONDS = 3600
    # The escalation sweep's local hour, and the address its emails link to.
    ESCALATION_HOUR = 7
    # Last month's reports are due before these days of the month (the letters: communes before the
    # 13th, districts and the province before the 15th); the scheduler produces them on the 1st.
    REPORT_DUE_DAY_COMMUNE = 13
    REPORT_DUE_DAY_PROVINCE = 15
    BASE_URL = "http://127.0.0.1:5000"
    # Email (cases/mail.py): SMTP when MAIL_SERVER is set; without it, development and tests write
    # .eml files under instance/mail and production keeps messages pending (and warns).
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_FROM = "AnSinh <no-reply@localhost>"
    MAIL_USE_TLS = False          # STARTTLS after connecting (port 587)
    MAIL_USE_SSL = False          # TLS from the start (port 465)
    MAIL_TIMEOUT = 30.0
    MAIL_MAX_ATTEMPTS = 10        # then the message is failed and shown to administrators
    MAIL_FILE_DIR: str | None = None

    def __init__(self, instance_path: str):
        self.instance_path = instance_path
        self._read_mail_settings()
        for name in ("SCHEDULER_LEASE_SECONDS", "SCHEDULER_POLL_SECONDS"):
            if os.environ.get(name):
                setattr(self, name, float(os.environ[name]))
        if os.environ.get("ESCALATION_HOUR"):
            self.ESCALATION_HOUR = int(os.environ["ESCALATION_HOUR"])
        self.BASE_URL = os.environ.get("BASE_URL", self.BASE_URL)
        self.AUDIT_ANCHOR_PATH = os.environ.get("AUDIT_ANCHOR_PATH") or str(Path(instance_path) / "audit-anchor.log")

    def _read_mail_settings(self) -> None:
        for name in ("MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_FROM", "MAIL_FILE_DIR"):
            if os.environ.get(name):
                setattr(self, name, os.environ[name])
        for name in ("MAIL_PORT", "MAIL_MAX_ATTEMPTS"):
            if os.environ.get(name):
                setattr(self, name, int(os.environ[name]))
        if os.environ.get("MAIL_TIMEOUT"):
            self.MAIL_TIMEOUT = float(os.environ["MAIL_TIMEOUT"])
        self.MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", self.MAIL_USE_TLS)
        self.MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", self.MAIL_USE_SSL)

    def as_dict(self) -> dict:
        names = [n for n in dir(self) if n.isupper()]
        return {n: getattr(self, n) for n in names}


class Development(Base):
    DEBUG = True

    def __init__(self, instance_path: str):
        super().__init__(instance_path)
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        self.SQLALCHEMY_DATABASE_URI = os.environ.get(
            "DATABASE_URL", f"sqlite:///{Path(instance_path) / 'ansinh.db'}"
        )
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or _instance_secret(instance_path)


class Testing(Base):
    TESTING = True
    # Cheap hashes keep the suite fast; production keeps the defaults above.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1

    def __init__(self, instance_path: str):
        super().__init__(instance_path)
        self.SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
        self.SECRET_KEY = secrets.token_hex(32)
        self.MAIL_SERVER = None       # a test never reaches a real server named by the environment


class Production(Base):
    def __init__(self, instance_path: str):
        super().__init__(instance_path)
        # Cookies only over HTTPS, unless an operator says the site is plain HTTP on purpose.
        self.SESSION_COOKIE_SECURE = self.REMEMBER_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
        missing = [n for n in ("SECRET_KEY", "DATABASE_URL") if not os.environ.get(n)]
        if missing:
            raise ConfigError(f"production needs {', '.join(missing)} in the environment")
        if _env_bool("DEBUG") or _env_bool("FLASK_DEBUG"):
            raise ConfigError("production refuses to run with DEBUG on")
        if len(os.environ["SECRET_KEY"]) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(f"production needs a SECRET_KEY of at least {MIN_SECRET_KEY_LENGTH} characters "
                              "(python -c 'import secrets; print(secrets.token_hex(32))')")
        self.SECRET_KEY = os.environ["SECRET_KEY"]
        self.SQLALCHEMY_DATABASE_URI = os.environ["DATABASE_URL"]
        if self.MAIL_SERVER and not os.environ.get("MAIL_FROM"):
            raise ConfigError("production needs MAIL_FROM (the sender's address) when MAIL_SERVER is set")
        # SQL parameters carry ID numbers and phone numbers: never in a production log line.
        self.SQLALCHEMY_ENGINE_OPTIONS = {**Base.SQLALCHEMY_ENGINE_OPTIONS, "hide_parameters": True}


CONFIGS = {"development": Development, "testing": Testing, "production": Production}


def load(name: str | None, instance_path: str) -> dict:
    """Return the Flask config for `name` (default: `$ANSINH_ENV`, else development)."""
    name = name or os.environ.get("ANSINH_ENV", "development")
    try:
        cls = CONFIGS[name]
    except KeyError:
        raise ConfigError(f"unknown ANSINH_ENV {name!r}; use one of {sorted(CONFIGS)}") from None
    settings = cls(instance_path).as_dict()
    settings["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(settings["SQLALCHEMY_DATABASE_URI"])
    settings["ANSINH_ENV"] = name
    return settings


def normalise_database_url(url: str) -> str:
    """Route plain `postgresql://` URLs to psycopg 3 (SQLAlchemy would pick psycopg2)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _instance_secret(instance_path: str) -> str:
    """A development secret generated once per checkout, never written in code."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
