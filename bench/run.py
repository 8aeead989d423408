"""The benchmark driver behind `make bench` (`flask bench run`).

For each database it makes sure the dataset is there (generating it, timed, only when it is not),
then runs each measurement in a fresh process — so the worker's peak memory is that of a process
serving pages, not of the generator — and prints one table, also written as JSON.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

from bench.goals import render_table

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRESQL = "postgresql://postgres@127.0.0.1:5432/ansinh_bench"
_VERIFIED = re.compile(r"(\d+) records verified in ([\d.]+) s")


def database_urls(instance: Path, databases: list[str]) -> dict[str, str]:
    urls = {"sqlite": os.environ.get("BENCH_SQLITE_URL", f"sqlite:///{instance / 'bench.db'}"),
            "postgresql": os.environ.get("BENCH_POSTGRESQL_URL", DEFAULT_POSTGRESQL)}
    return {name: urls[name] for name in databases}


def run(instance: Path, cases: int, databases: list[str], out: Path, say=print, list_rows: int = 100_000,
        province_cases: int = 200_000) -> dict:
    instance.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    for name, url in database_urls(instance, databases).items():
        say(f"== {name}: {url}")
        env = _environment(url, anchor=instance / f"bench-{name}-anchor.log")
        generate_s = _dataset(instance, name, url, env, cases, say)
        figures = {"cases": cases, "generate_s": generate_s, "calibration_s": calibration_s()}
        figures.update(_json_of(_flask(env, "bench", "pages")))
        figures.update(_json_of(_flask(env, "bench", "inbox")))
        figures.update(_json_of(_flask(env, "bench", "writes")))
        figures.update(_json_of(_flask(env, "bench", "sweep")))
        figures.update(_json_of(_flask(env, "bench", "report", "--unit", "VN", "--key", "country")))
        figures.update(_verify(env))
        figures.update(_lists(instance, name, url, list_rows))
        figures.update(_payments(instance, name, url, list_rows))
        figures.update(_province_report(instance, name, url, province_cases, say))
        results[name] = figures
        say(json.dumps(figures))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    say(render_table(results))
    say(f"written to {out}")
    return results


def calibration_s() -> float:
    """This machine's speed at the moment: the median of five runs of a fixed pure-Python workload
    (dictionaries, strings, integers — what the app's hot paths are made of). Figures measured on
    two machines, or on one machine busy with something else, compare only beside it."""
    def once() -> float:
        started = time.perf_counter()
        counts: dict[int, int] = {}
        for i in range(2_000_000):
            key = i % 1_000
            counts[key] = counts.get(key, 0) + len(str(i))
        return time.perf_counter() - started
    return round(sorted(once() for _ in range(5))[2], 2)


def _environment(url: str, anchor: Path) -> dict:
    """Production settings (no debug, real password hashing) on the benchmark database, with the
    audit anchors of its chain in a file of its own (`flask audit verify` writes one)."""
    env = dict(os.environ, FLASK_APP="app", ANSINH_ENV="production", DATABASE_URL=url,
               SECRET_KEY=secrets.token_hex(32), SESSION_COOKIE_SECURE="0", AUDIT_ANCHOR_PATH=str(anchor))
    env.pop("FLASK_DEBUG", None)
    return env


def _dataset(instance: Path, name: str, url: str, env: dict, cases: int, say) -> float:
    """Generate the dataset unless the one from the last run (same size) is still there."""
    marker = instance / f"bench-{name}.json"
    if marker.exists():
        known = json.loads(marker.read_text())
        if known.get("cases") == cases and known.get("url") == url and _has_schema(env):
            _flask(env, "db", "upgrade")  # a new migration applies to the kept dataset
            say(f"reusing the {cases:,}-case dataset generated in {known['generate_s']} s")
            return known["generate_s"]
    _drop_database(url)
    Path(env["AUDIT_ANCHOR_PATH"]).unlink(missing_ok=True)  # a new chain: the old one's anchors say nothing of it
    _flask(env, "db", "upgrade")
    _flask(env, "org", "load")
    started = time.perf_counter()
    _flask(env, "bench", "generate", "--cases", str(cases))
    elapsed = round(time.perf_counter() - started, 1)
    marker.write_text(json.dumps({"cases": cases, "url": url, "generate_s": elapsed}))
    return elapsed


def _lists(instance: Path, name: str, url: str, rows: int) -> dict:
    """`flask bench lists` on a scratch database beside the dataset: an import adds 100,000
    cases, and the dataset the other figures read must stay as generated."""
    scratch = f"sqlite:///{instance / 'bench-lists.db'}" if name == "sqlite" else f"{url}_lists"
    env = _environment(scratch, anchor=instance / f"bench-{name}-lists-anchor.log")
    _drop_database(scratch)
    Path(env["AUDIT_ANCHOR_PATH"]).unlink(missing_ok=True)
    _flask(env, "db", "upgrade")
    _flask(env, "org", "load")
    return _json_of(_flask(env, "bench", "lists", "--rows", str(rows)))


def _payments(instance: Path, name: str, url: str, rows: int) -> dict:
    """`flask bench payments` on a scratch database of its own: the return it reconciles moves
    `rows` cases of its own making."""
    scratch = f"sqlite:///{instance / 'bench-payments.db'}" if name == "sqlite" else f"{url}_payments"
    env = _environment(scratch, anchor=instance / f"bench-{name}-payments-anchor.log")
    _drop_database(scratch)
    Path(env["AUDIT_ANCHOR_PATH"]).unlink(missing_ok=True)
    _flask(env, "db", "upgrade")
    _flask(env, "org", "load")
    return _json_of(_flask(env, "bench", "payments", "--rows", str(rows)))


PROVINCE = "20"    # Lạng Sơn: 65 communes


def _province_report(instance: Path, name: str, url: str, cases: int, say) -> dict:
    """Last month's report for one province of `cases` cases (the generator's --province), on a
    dataset of its own beside the national one, kept between runs like it."""
    scratch = f"sqlite:///{instance / 'bench-province.db'}" if name == "sqlite" else f"{url}_province"
    env = _environment(scratch, anchor=instance / f"bench-{name}-province-anchor.log")
    marker = instance / f"bench-{name}-province.json"
    known = json.loads(marker.read_text()) if marker.exists() else {}
    if known.get("cases") != cases or known.get("url") != scratch or not _has_schema(env):
        _drop_database(scratch)
        Path(env["AUDIT_ANCHOR_PATH"]).unlink(missing_ok=True)
        _flask(env, "db", "upgrade")
        _flask(env, "org", "load")
        _flask(env, "bench", "generate", "--cases", str(cases), "--province", PROVINCE)
        marker.write_text(json.dumps({"cases": cases, "url": scratch}))
    else:
        _flask(env, "db", "upgrade")
        say(f"reusing the {cases:,}-case province dataset")
    return _json_of(_flask(env, "bench", "report", "--unit", PROVINCE, "--key", "province"))


def _has_schema(env: dict) -> bool:
    """Whether the database holds a migrated schema (at any revision)."""
    current = subprocess.run([sys.executable, "-m", "flask", "db", "current"], cwd=PROJECT, env=env,
                             capture_output=True, text=True)
    return current.returncode == 0 and any(line[:1].isalnum() for line in current.stdout.splitlines())


def _drop_database(url: str) -> None:
    """Start from nothing: remove the SQLite file, or drop and create the PostgreSQL database."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    drop_database(url)
    _server_command(url, 'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    """Remove a PostgreSQL benchmark database altogether (the smoke test cleans up with this)."""
    _server_command(url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _server_command(url: str, command: str) -> None:
    """Run `command` (with {name}: the database of `url`) on the server's maintenance database."""
    import psycopg
    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(command.format(name=name))


def _flask(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "flask", *args], cwd=PROJECT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def _json_of(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def _verify(env: dict) -> dict:
    output = _flask(env, "audit", "verify")
    found = _VERIFIED.search(output)
    records, seconds = int(found.group(1)), float(found.group(2))
    return {"audit_records": records, "audit_verify_s": seconds,
            "audit_records_per_s": round(records / max(seconds, 0.01))}
