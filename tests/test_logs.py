"""No personal data in logs (issue 14, finding 6): SQL parameters hidden in production, ID and
account numbers masked in every line the app writes, no line forged by input."""
from __future__ import annotations

import io
import logging

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

import config
from config.safe_logging import SafeFormatter, mask_numbers
from tests.conftest import csrf_token

CCCD, PHONE, ACCOUNT = "020150001234", "0912345678", "1903123456789012"


def formatted(message: str, *args, exc: BaseException | None = None) -> str:
    record = logging.LogRecord("ansinh", logging.WARNING, __file__, 1, message, args,
                               (type(exc), exc, exc.__traceback__) if exc else None)
    return SafeFormatter("%(message)s").format(record)


def test_id_and_account_numbers_are_masked_in_log_lines():
    line = formatted("case %s holder %s account %s", CCCD, "Hoàng Văn Thụ", ACCOUNT)
    assert CCCD not in line and ACCOUNT not in line
    assert "234" in line and "Hoàng Văn Thụ" in line     # still tellable apart, names kept


def test_dates_amounts_and_case_ids_are_left_alone():
    assert mask_numbers("case 1239 on 2026-12-01 for 1.731.000 đ") == "case 1239 on 2026-12-01 for 1.731.000 đ"


def test_input_cannot_forge_a_log_line():
    line = formatted("login failed for %s", "admin\r\n2026-12-01 INFO auth login ok for admin")
    assert "\n" not in line and "\r" not in line
    assert "\\n2026-12-01" in line


def test_numbers_in_a_traceback_are_masked_too():
    try:
        raise ValueError(f"duplicate key (national_id)=({CCCD})")
    except ValueError as error:
        line = formatted("unhandled", exc=error)
    assert CCCD not in line and "Traceback" in line


def test_the_app_writes_through_the_safe_formatter(app, client):
    root = logging.getLogger()
    handlers = [h for h in root.handlers if isinstance(h.formatter, SafeFormatter)]
    assert handlers
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(handlers[0].formatter)
    root.addHandler(handler)
    try:
        page = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"username": "x", "password": "y", "csrf_token": csrf_token(page)})
        app.logger.warning("looked up %s", CCCD)
    finally:
        root.removeHandler(handler)
    assert CCCD not in stream.getvalue() and "*********234" in stream.getvalue()


def test_production_hides_sql_parameters(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "k" * 64)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    settings = config.load("production", str(tmp_path))
    options = settings["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["hide_parameters"] is True and options["pool_pre_ping"] is True
    engine = create_engine(settings["SQLALCHEMY_DATABASE_URI"], **options)
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE t (n TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": CCCD})
        with pytest.raises(DBAPIError) as raised:
            conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": CCCD})
    assert CCCD not in str(raised.value)
    engine.dispose()
