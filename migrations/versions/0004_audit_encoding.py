"""audit chain: unambiguous field encoding, records rehashed; PostgreSQL refuses UPDATE and DELETE on the trail

The former encoding joined the fields with U+001F and wrote NULL as a NUL byte, so text could move
from one field into the next and NULL hashed like "\\x00". The new one writes each field as its
UTF-8 length, ":" and its bytes, and NULL as "-" (`cases.audit.encode_field`). Every record is
re-hashed in seq order, and the head moved to the new last hash.

Re-hashing would seal whatever the chain holds, a tampered record included, so each record is
first checked under the former encoding, and the migration stops at the first that does not hold.

Both encodings are written out here, in SQL as `cases.audit_verify` builds them, rather than
imported: a migration must keep doing what it did when the code changes later. The database
assembles each record's bytes, Python hashes and links them, in batches by seq. At 4 million
records on the 2-core development VM this took about a minute on SQLite and two and a half on
PostgreSQL, where rewriting every row is the larger part; PostgreSQL keeps the old row versions
until the table is vacuumed, so run `VACUUM (ANALYZE) audit_records` afterwards (verifying the
unvacuumed table took twice as long).

The PostgreSQL trigger refuses UPDATE, DELETE and TRUNCATE on audit_records to every role that
has not set session_replication_role (a superuser can): it stops mistakes and the application's
own role, and the anchor outside the database (`cases.anchor`) catches the rest.

Revision ID: 0004
Revises: 0003
"""
import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
BATCH = 50_000
HASHED = ("seq", "occurred_at", "actor_id", "actor_username", "actor_role", "actor_unit",
          "action", "case_id", "proposal_id", "detail", "reason", "ip", "request_id", "outcome",
          "prev_hash")
INTEGERS = {"seq", "actor_id", "case_id", "proposal_id"}
NULLABLE = {"actor_id", "actor_username", "actor_role", "actor_unit", "case_id", "proposal_id", "detail",
            "reason", "ip", "request_id"}

REFUSE_CHANGE = """
CREATE FUNCTION audit_records_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_records is append-only: % refused', TG_OP
        USING HINT = 'The audit trail is only ever appended to (cases.audit).';
END $$"""
TRIGGER = """
CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION audit_records_refuse_change()"""


def upgrade():
    connection = op.get_bind()
    postgresql = connection.dialect.name == "postgresql"
    # The driver's own SQL (exec_driver_sql): at millions of rows, binding and result processing
    # through text() cost a third of the whole (measured on SQLite: 17 s against 11.5 s a million).
    read, write = (_READ_POSTGRESQL, _WRITE_POSTGRESQL) if postgresql else (_READ_SQLITE, _WRITE_SQLITE)
    old_prev, new_prev, after = GENESIS_HASH, GENESIS_HASH, 0
    while rows := connection.exec_driver_sql(read, (after, BATCH)).all():
        changes = []
        for seq, prev_hash, stored, old, new in rows:
            held = old if postgresql else hashlib.sha256(old).hexdigest() == stored
            problem = _problem(seq, after + 1, prev_hash, old_prev, held)
            if problem:
                raise RuntimeError(f"audit record {seq} {problem}: this migration re-hashes an intact chain "
                                   "only, lest it seal a tampered one; find out what happened first")
            digest = hashlib.sha256(new + b"64:" + new_prev.encode()).hexdigest()  # a hash: 64 bytes
            changes.append((seq, new_prev, digest))
            after, old_prev, new_prev = seq, stored, digest
        if postgresql:  # one statement a batch: the arrays unnested into the UPDATE
            connection.exec_driver_sql(write, tuple(list(column) for column in zip(*changes)))
        else:
            connection.exec_driver_sql(write, [(prev, digest, seq) for seq, prev, digest in changes])
    head = connection.execute(sa.text("SELECT last_seq, last_hash FROM audit_head WHERE id = 1")).one()
    if (head.last_seq, head.last_hash) != (after, old_prev):
        raise RuntimeError(f"the audit chain ends at {after} but its head says {head.last_seq}: "
                           "records removed from the end; find out what happened first")
    connection.execute(sa.text("UPDATE audit_head SET last_hash = :hash WHERE id = 1"), {"hash": new_prev})
    if postgresql:
        op.execute(REFUSE_CHANGE)
        op.execute(TRIGGER)


def downgrade():
    # The records keep the new encoding: going back to the code of 0003 means restoring that
    # release's backup, not re-hashing the trail again.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_records_append_only ON audit_records")
        op.execute("DROP FUNCTION IF EXISTS audit_records_refuse_change()")


def _problem(seq, expected, prev_hash, old_prev, held):
    if seq != expected:
        return f"comes after record {expected - 1} (record {expected} is missing)"
    if prev_hash != old_prev:
        return "does not follow the record before it"
    if not held:
        return "does not match its hash"
    return None


def _select(postgresql):
    """(seq, prev_hash, hash, whether the former encoding's hash matches (PostgreSQL) or its bytes
    (SQLite), the new encoding's bytes of every field but prev_hash), for the batch after a seq."""
    fields = [name for name in HASHED if name != "prev_hash"]
    if postgresql:
        old = "encode(sha256(" + " || '\\x1f'::bytea || ".join(_old_postgresql(n) for n in HASHED) + "), 'hex') = hash"
        new = "convert_to(" + " || ".join(_new_postgresql(n) for n in fields) + ", 'UTF8')"
        after, batch = "%s", "%s"
    else:
        old = "CAST(" + " || X'1f' || ".join(_old_sqlite(n) for n in HASHED) + " AS BLOB)"
        new = "CAST(" + " || ".join(_new_sqlite(n) for n in fields) + " AS BLOB)"
        after, batch = "?", "?"
    return (f"SELECT seq, prev_hash, hash, {old}, {new} FROM audit_records "
            f"WHERE seq > {after} ORDER BY seq LIMIT {batch}")


def _postgresql_text(name):
    return "to_char(occurred_at, 'YYYY-MM-DD HH24:MI:SS.US')" if name == "occurred_at" else f"CAST({name} AS TEXT)"


def _old_postgresql(name):
    value = f"convert_to({_postgresql_text(name)}, 'UTF8')"
    return f"coalesce({value}, '\\x00'::bytea)" if name in NULLABLE else value


def _new_postgresql(name):
    value = _postgresql_text(name)
    digits = name in INTEGERS or name == "occurred_at"
    length = f"octet_length({value})" if digits else f"octet_length(convert_to({value}, 'UTF8'))"
    return f"coalesce({length} || ':' || {value}, '-')" if name in NULLABLE else f"{length} || ':' || {value}"


def _old_sqlite(name):
    value = f"CAST({name} AS TEXT)" if name in INTEGERS else name
    return f"ifnull({value}, X'00')"


def _new_sqlite(name):
    return f"coalesce(length(CAST({name} AS BLOB)) || ':' || {name}, '-')"


_READ_POSTGRESQL, _READ_SQLITE = _select(True), _select(False)
_WRITE_SQLITE = "UPDATE audit_records SET prev_hash = ?, hash = ? WHERE seq = ?"
_WRITE_POSTGRESQL = """
UPDATE audit_records AS r SET prev_hash = v.prev_hash, hash = v.hash
FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(seq, prev_hash, hash)
WHERE r.seq = v.seq"""
