"""The Flask extensions, created unbound here and bound to an app in `create_app`."""
from __future__ import annotations

import contextvars
from contextlib import contextmanager

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Model(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Model)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()

# SQLite: whether the transaction about to begin will write. A writer takes the database lock
# at BEGIN (BEGIN IMMEDIATE) and so waits its turn under busy_timeout; a deferred BEGIN that
# later writes could fail at once with SQLITE_BUSY when another writer got there first.
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)


@contextmanager
def write_intent():
    """Mark the transactions begun inside this block as writers (SQLite `BEGIN IMMEDIATE`)."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def set_write_intent(value: bool) -> None:
    _write_intent.set(value)


def configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout and a real BEGIN for every transaction.

    pysqlite's own transaction handling begins lazily and not at all for some statements;
    SQLAlchemy's documented recipe hands BEGIN back to us.
    """
    if engine.dialect.name != "sqlite" or getattr(engine, "_ansinh_configured", False):
        return
    engine._ansinh_configured = True

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # The scheduler checkpoints the WAL every minute (sqlite_checkpoint), so a writing request
        # no longer pays for it (the default, every 1,000 pages, cost ~13 ms in every ~95th
        # write). 10,000 pages (~40 MB) stays as a safety net when no scheduler runs.
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")
