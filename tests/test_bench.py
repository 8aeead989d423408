"""`make bench` at 1,000 cases: it completes and writes every figure for each database.

A smoke run so the benchmark never rots; it asserts no timing. It runs once per suite, in the
SQLite pass, and measures PostgreSQL too when the local server answers (in CI it does).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from bench.goals import GOALS
from tests.conftest import uses_postgresql

pytestmark = pytest.mark.bench
PROJECT = Path(__file__).resolve().parent.parent
SERVER = "postgresql://postgres@127.0.0.1:5432"


def _postgresql_answers() -> bool:
    try:
        import psycopg
        with psycopg.connect(f"{SERVER}/postgres", connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001 - any failure means: no server to measure
        return False


@pytest.mark.skipif(uses_postgresql(), reason="runs once, in the SQLite pass (it measures both databases)")
def test_bench_smoke_writes_every_figure(tmp_path):
    databases = ["sqlite"] + (["postgresql"] if _postgresql_answers() else [])
    pg_url = f"{SERVER}/ansinh_bench_smoke_{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, FLASK_APP="app", BENCH_POSTGRESQL_URL=pg_url)
    out = tmp_path / "bench.json"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "flask", "bench", "run", "--cases", "1000", "--databases", ",".join(databases),
             "--instance", str(tmp_path), "--out", str(out), "--list-rows", "2000",
             "--province-cases", "1000"],
            cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)
    finally:
        if "postgresql" in databases:
            from bench.run import drop_database
            drop_database(pg_url)
            drop_database(f"{pg_url}_lists")
            drop_database(f"{pg_url}_province")
            drop_database(f"{pg_url}_payments")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert sorted(figures) == sorted(databases)
    for database in databases:
        missing = [g.key for g in GOALS if figures[database].get(g.key) is None]
        assert not missing, f"{database}: no figure for {missing}"
        assert figures[database]["cases"] == 1000
        assert figures[database]["audit_records"] > 1000
    assert "queue page p95 (ms)" in done.stdout  # the table was printed
