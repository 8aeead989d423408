"""Issue 14, finding 11: the chain's encoding, its anchor outside the database, and the trigger.

A chain alone cannot see its tail cut off (records deleted, head rewound) or a consistent rewrite
(a record edited and every later one re-hashed): the anchor file can. A field join let text move
between fields and NULL hash like "\\x00": each field is now length-prefixed.
"""
from __future__ import annotations

import importlib.util
import json
from datetime import datetime
from hashlib import sha256
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cases import audit
from cases.anchor import last_checks, read_last_anchor, verify_with_anchor
from cases.audit import Actor, record_hash, verify_chain
from cases.models import AuditHead, AuditRecord
from cases.models.audit import GENESIS_HASH, HASHED
from extensions import db, write_intent
from tests.conftest import bypass_audit_trigger, uses_postgresql
from tests.helpers import audit_records, last_seq

MIGRATION = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0004_audit_encoding.py"
CLERK = Actor(None, "canbo.binhgia", "officer", "communes:06112", "10.0.0.7", "req-1")


def stage(count: int, **fields) -> None:
    """`count` records in one commit, as an import or a job writes them."""
    with write_intent():
        for n in range(count):
            audit.record(db.session, CLERK, "test.batch", detail={"n": n, "ghi_chú": "Hồ sơ số " + str(n)},
                         **fields)
        db.session.commit()


def cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["audit", *args])


def anchor_path(app) -> Path:
    return Path(app.config["AUDIT_ANCHOR_PATH"])


def row(seq: int) -> dict:
    db.session.rollback()
    return dict(db.session.execute(select(AuditRecord.__table__).where(AuditRecord.seq == seq)).one()._mapping)


def move_head(seq: int) -> None:
    head_hash = row(seq)["hash"] if seq else GENESIS_HASH
    with write_intent():
        db.session.execute(update(AuditHead).values(last_seq=seq, last_hash=head_hash))
        db.session.commit()


def cut_tail(count: int) -> int:
    """Delete the last `count` records and rewind the head to what is left: the chain still holds."""
    end = last_seq() - count
    with write_intent():
        bypass_audit_trigger()
        db.session.execute(text("DELETE FROM audit_records WHERE seq > :end"), {"end": end})
        db.session.commit()
    move_head(end)
    return end


def rewrite_from(seq: int, **changes) -> None:
    """Edit record `seq` and re-hash it and every later record, then move the head: the chain holds."""
    db.session.rollback()
    rows = [dict(r._mapping) for r in db.session.execute(
        select(AuditRecord.__table__).where(AuditRecord.seq >= seq).order_by(AuditRecord.seq))]
    rows[0].update(changes)
    prev = rows[0]["prev_hash"]
    with write_intent():
        bypass_audit_trigger()
        for values in rows:
            values["prev_hash"] = prev
            values["hash"] = prev = record_hash(values)
            db.session.execute(update(AuditRecord).where(AuditRecord.seq == values["seq"]).values(values))
        db.session.commit()
    move_head(rows[-1]["seq"])


def assert_broken(app, seq: int, problem: str) -> None:
    result = cli(app, "verify")
    assert result.exit_code == 1, result.output
    assert f"audit chain BROKEN at record {seq}: {problem}" in result.output


# --- the anchor ------------------------------------------------------------------------------------

def test_the_first_verify_says_there_is_no_anchor_yet_and_writes_one(app):
    stage(5)
    assert not anchor_path(app).exists()
    result = cli(app, "verify")
    assert result.exit_code == 0, result.output
    assert "audit chain OK: 5 records verified in " in result.output
    assert f"no anchor yet in {anchor_path(app)} (first run)" in result.output
    assert f"anchor written: record 5 in {anchor_path(app)}" in result.output
    line = json.loads(anchor_path(app).read_text())
    assert (line["seq"], line["hash"]) == (5, row(5)["hash"])


def test_a_second_verify_holds_the_chain_against_the_anchor(app):
    stage(5)
    cli(app, "verify")
    first = read_last_anchor(anchor_path(app))
    stage(3)
    result = cli(app, "verify")
    assert result.exit_code == 0, result.output
    assert f"it holds against {first.label} (record 5)" in result.output
    assert [json.loads(line)["seq"] for line in anchor_path(app).read_text().splitlines()] == [5, 8]


@pytest.mark.parametrize("count", [1, 100])
def test_a_cut_tail_with_the_head_rewound_is_caught_and_named(app, count):
    stage(120)
    cli(app, "verify")
    anchor = read_last_anchor(anchor_path(app))
    end = cut_tail(count)
    assert verify_chain(db.session).ok  # what the chain alone cannot see
    assert_broken(app, end + 1, f"the chain ends at {end} but {anchor.label} says 120: records removed from the end")
    assert anchor_path(app).read_text().count("\n") == 1  # no anchor for a broken trail


def test_a_consistent_rewrite_is_caught_by_the_anchor_and_named(app):
    stage(120)
    cli(app, "verify")
    anchor = read_last_anchor(anchor_path(app))
    rewrite_from(57, reason="Đã sửa lén")
    assert verify_chain(db.session).ok
    assert_broken(app, 120, f"record 120 differs from {anchor.label}: rewritten")


def test_a_rewrite_is_placed_between_the_anchors_around_it(app):
    stage(40)
    cli(app, "verify")
    holding = read_last_anchor(anchor_path(app))
    stage(80)
    cli(app, "verify")
    broken = read_last_anchor(anchor_path(app))
    rewrite_from(57, reason="Đã sửa lén")
    assert_broken(app, 120, f"record 120 differs from {broken.label}: rewritten after record 40, "
                            f"which still matches {holding.label}")


def test_flask_audit_anchor_appends_the_head(app):
    stage(4)
    result = cli(app, "anchor")
    assert result.exit_code == 0, result.output
    assert f"anchor written: record 4 in {anchor_path(app)}" in result.output
    anchor = read_last_anchor(anchor_path(app))
    assert (anchor.seq, anchor.hash) == (4, row(4)["hash"])
    check = last_checks(db.session)["anchor"]
    assert (check.ok, check.head_seq, check.head_hash) == (True, 4, anchor.hash)


def test_flask_audit_anchor_refuses_to_anchor_a_cut_chain(app):
    stage(10)
    cli(app, "anchor")
    cut_tail(3)
    result = cli(app, "anchor")
    assert result.exit_code == 1, result.output
    assert "audit anchor REFUSED at record 8: the chain ends at 7 but the anchor of " in result.output
    assert len(anchor_path(app).read_text().splitlines()) == 1
    assert last_checks(db.session)["anchor"].ok is False
    assert_broken(app, 8, "the chain ends at 7 but the anchor of ")  # the cut stays visible


def test_every_verify_is_recorded_for_the_auditors_screen(app):
    stage(6)
    assert last_checks(db.session) == {"verify": None, "anchor": None}
    cli(app, "verify")
    checks = last_checks(db.session)
    assert (checks["verify"].ok, checks["verify"].checked, checks["verify"].head_seq) == (True, 6, 6)
    assert (checks["anchor"].head_seq, checks["anchor"].head_hash) == (6, row(6)["hash"])
    cut_tail(2)
    cli(app, "verify")
    db.session.rollback()
    latest = last_checks(db.session)["verify"]
    assert (latest.ok, latest.broken_seq) == (False, 5)
    assert "records removed from the end" in latest.problem
    assert last_checks(db.session)["anchor"].head_seq == 6  # a broken trail is not anchored


def test_verify_with_anchor_reports_what_it_held_the_chain_against(app):
    stage(3)
    with write_intent():
        first = verify_with_anchor(db.session, anchor_path(app))
        db.session.commit()
        second = verify_with_anchor(db.session, anchor_path(app))
        db.session.commit()
    assert (first.ok, first.anchor, first.written.seq) == (True, None, 3)
    assert (second.ok, second.anchor, second.written.seq) == (True, first.written, 3)


# --- the encoding ------------------------------------------------------------------------------------

def values(**changes) -> dict:
    base = dict(seq=7, occurred_at=datetime(2025, 7, 1, 8, 30, 0, 123456), actor_id=3, actor_username="canbo",
                actor_role="officer", actor_unit="communes:06112", action="case.edit", case_id=11,
                proposal_id=None, detail='{"notes":["","Đã gọi"]}', reason="Đi làm ăn xa", ip="10.0.0.7",
                request_id="req-1", outcome="ok", prev_hash="a" * 64)
    return base | changes


def test_text_moved_across_a_field_boundary_changes_the_hash():
    """With U+001F in a note, the end of the reason could pass for the start of the address."""
    assert record_hash(values(reason="Đi làm ăn xa\x1f10.0.0.7", ip="x")) != \
        record_hash(values(reason="Đi làm ăn xa", ip="10.0.0.7\x1fx"))


@pytest.mark.parametrize("field", ["reason", "detail", "actor_unit"])
def test_null_and_a_nul_character_hash_differently(field):
    assert record_hash(values(**{field: None})) != record_hash(values(**{field: "\x00"}))
    assert record_hash(values(**{field: None})) != record_hash(values(**{field: ""}))


def test_a_field_boundary_moved_in_the_database_is_named(app):
    stage(3, reason="Theo đơn\x1fgửi kèm")
    seq = 2
    assert (row(seq)["reason"], row(seq)["ip"]) == ("Theo đơn\x1fgửi kèm", "10.0.0.7")
    with write_intent():
        bypass_audit_trigger()
        db.session.execute(update(AuditRecord).where(AuditRecord.seq == seq)
                           .values(reason="Theo đơn", ip="gửi kèm\x1f10.0.0.7"))
        db.session.commit()
    assert_broken(app, seq, "its content does not match its hash (edited)")


ODD_TEXTS = ["", " ", "Nguyễn Thị Ánh", "a\x1fb", "-", "12:ab", "😀 ký tự ngoài BMP", "x" * 400]


@pytest.mark.parametrize("reason", ODD_TEXTS + ([] if uses_postgresql() else ["a\x00b"]))
def test_the_database_hashes_exactly_what_record_hash_hashes(app, reason):
    """Both verify paths build the record's bytes in SQL; they must agree with record_hash on any
    text (PostgreSQL text cannot hold NUL)."""
    stage(2, reason=reason)
    stage(1)
    assert row(1)["reason"] == reason
    report = verify_chain(db.session)
    assert (report.ok, report.checked) == (True, 3), report.problem


# --- PostgreSQL: the trail refuses to be changed ------------------------------------------------

@pytest.mark.postgresql
@pytest.mark.parametrize("statement", [
    "UPDATE audit_records SET reason = 'sửa lén' WHERE seq = 1",
    "DELETE FROM audit_records WHERE seq = 2",
    "TRUNCATE audit_records",
], ids=["update", "delete", "truncate"])
def test_the_trigger_refuses_to_change_the_trail(app, statement):
    stage(2)
    with write_intent(), pytest.raises(DBAPIError, match=r"audit_records is append-only: \w+ refused"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert [r.seq for r in audit_records()] == [1, 2]
    assert verify_chain(db.session).ok


# --- migration 0004: a chain of the former encoding, re-hashed ----------------------------------------

def former_hash(values: dict) -> str:
    """The encoding before revision 0004: fields joined by U+001F, NULL as a NUL byte."""
    parts = []
    for name in HASHED:
        value = values[name]
        if value is None:
            parts.append("\x00")
        elif isinstance(value, datetime):
            parts.append(value.isoformat(sep=" ", timespec="microseconds"))
        else:
            parts.append(str(value))
    return sha256("\x1f".join(parts).encode()).hexdigest()


def former_chain(count: int) -> list[dict]:
    rows, prev = [], GENESIS_HASH
    for seq in range(1, count + 1):
        row_values = values(seq=seq, prev_hash=prev, reason=None if seq % 3 else f"Lý do {seq}",
                            ip=None if seq % 2 else "10.0.0.7", proposal_id=seq if seq % 4 == 0 else None)
        row_values["hash"] = prev = former_hash(row_values)
        rows.append(row_values)
    return rows


def run_migration(connection, rows: list[dict]) -> None:
    """Revision 0004's upgrade on a chain of the former encoding, inside the caller's transaction
    (on PostgreSQL the trigger it creates is dropped first, and comes back with the rollback)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DROP TRIGGER audit_records_append_only ON audit_records")
        connection.exec_driver_sql("DROP FUNCTION audit_records_refuse_change()")
    connection.execute(insert(AuditRecord.__table__), rows)
    connection.execute(update(AuditHead).values(last_seq=rows[-1]["seq"], last_hash=rows[-1]["hash"]))
    spec = importlib.util.spec_from_file_location("migration_0004", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with Operations.context(MigrationContext.configure(connection)):
        migration.upgrade()


def test_migration_0004_rehashes_a_chain_of_the_former_encoding(app):
    rows = former_chain(30)
    with write_intent(), db.engine.connect() as connection:
        try:
            run_migration(connection, rows)
            migrated = {r.seq: r.hash for r in connection.execute(select(AuditRecord.seq, AuditRecord.hash))}
            head = connection.execute(select(AuditHead.last_seq, AuditHead.last_hash)).one()
            report = verify_chain(Session(bind=connection))
        finally:
            connection.rollback()
    assert (report.ok, report.checked) == (True, 30), report.problem
    prev = GENESIS_HASH
    for former in rows:
        expected = record_hash(former | {"prev_hash": prev})
        assert migrated[former["seq"]] == expected != former["hash"]
        prev = expected
    assert tuple(head) == (30, prev)


def test_migration_0004_refuses_to_seal_a_tampered_chain(app):
    rows = former_chain(12)
    rows[6]["reason"] = "sửa lén"  # record 7 no longer matches its hash
    with write_intent(), db.engine.connect() as connection:
        try:
            with pytest.raises(RuntimeError, match="audit record 7 does not match its hash"):
                run_migration(connection, rows)
        finally:
            connection.rollback()
