"""set-based upkeep of case_counts and case_stays on PostgreSQL: one trigger run per statement,
over its transition tables, instead of one plpgsql call per row

A bulk move (a provider's return, the police's answers: one `UPDATE … FROM unnest(…)` per
thousands of cases) or a list import (one COPY) paid two plpgsql calls and four statements for
each case; now each statement pays two set-based statements whatever its rows. The rules are the
row triggers' (0012, 0015): a count moves only when the status, commune or policy group changes, a
stay closes and the next opens only when one of those or the account on record changes, never
before the open stay began. Count rows are written in key order, so two transactions moving cases
in opposite directions between the same states cannot deadlock on them.

PostgreSQL refuses a column list on an UPDATE trigger with transition tables, so these triggers
run on every UPDATE of `cases`; a statement that changes none of those facts finds no row to
write. SQLite has no statement triggers: its row triggers stay.

A transition table has no statistics: the join of its old and new rows is guessed ten times too
big. So the cases whose stay changes are gathered into arrays first, and their open stays are
closed by one index lookup each (`case_stays_close`: joined to the guess, or planned from
statistics older than a large import, PostgreSQL chose to read every open stay, 0.05–0.1 s a
statement at 100,000–200,000 stays and growing with the table); without JIT, which that guess made
PostgreSQL spend 0.4 s compiling for a statement of milliseconds; and without a sequential scan of
the stays, which stale statistics can make look cheap (a scan a case: a return of 100,000 rows
took five minutes instead of thirty seconds).

Revision ID: 0018
Revises: 0017
"""
import importlib.util
from pathlib import Path

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

OPEN_END = "'9999-12-31 00:00:00'"
_STAY_COLUMNS = "case_id, status, province_id, commune_id, policy_group, has_account, valid_from, valid_to"
_CHANGED_FACTS = ("o.status <> n.status OR o.commune_id <> n.commune_id OR o.policy_group <> n.policy_group "
                  "OR (NULLIF(o.account_number, '') IS NULL) <> (NULLIF(n.account_number, '') IS NULL)")
_COUNTED_FACTS = "o.status <> n.status OR o.commune_id <> n.commune_id OR o.policy_group <> n.policy_group"

_COUNTS = f"""
CREATE OR REPLACE FUNCTION case_counts_keep() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO case_counts (commune_id, status, policy_group, province_id, n)
            SELECT commune_id, status, policy_group, min(province_id), count(*) FROM new_rows
            GROUP BY commune_id, status, policy_group ORDER BY commune_id, status, policy_group
            ON CONFLICT (commune_id, status, policy_group) DO UPDATE SET n = case_counts.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE case_counts c SET n = c.n - gone.k
            FROM (SELECT commune_id, status, policy_group, count(*) AS k FROM old_rows
                  GROUP BY commune_id, status, policy_group) gone
            WHERE c.commune_id = gone.commune_id AND c.status = gone.status AND c.policy_group = gone.policy_group;
    ELSE
        -- One net change per counter: a case leaving and another entering it in one statement
        -- touch it once.
        INSERT INTO case_counts (commune_id, status, policy_group, province_id, n)
            SELECT commune_id, status, policy_group, min(province_id), sum(k) FROM (
                SELECT o.commune_id, o.status, o.policy_group, o.province_id, -1 AS k
                    FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {_COUNTED_FACTS}
                UNION ALL
                SELECT n.commune_id, n.status, n.policy_group, n.province_id, 1
                    FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {_COUNTED_FACTS}) moves
            GROUP BY commune_id, status, policy_group HAVING sum(k) <> 0
            ORDER BY commune_id, status, policy_group
            ON CONFLICT (commune_id, status, policy_group) DO UPDATE SET n = case_counts.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END $$"""

_STAYS = f"""
CREATE OR REPLACE FUNCTION case_stays_keep() RETURNS trigger LANGUAGE plpgsql SET jit = off
    SET enable_seqscan = off AS $$
DECLARE
    moved_ids integer[];
    boundaries timestamp[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO case_stays ({_STAY_COLUMNS})
            SELECT id, status, province_id, commune_id, policy_group, NULLIF(account_number, '') IS NOT NULL,
                   state_entered_at, {OPEN_END} FROM new_rows;
        RETURN NULL;
    END IF;
    -- The open stay ends when the state changes (at state_entered_at) or, inside one state, when
    -- another fact changes (at updated_at), never before it began; the next begins there.
    SELECT array_agg(n.id), array_agg(GREATEST(
               CASE WHEN o.status <> n.status THEN n.state_entered_at ELSE n.updated_at END,
               (SELECT max(s.valid_from) FROM case_stays s WHERE s.case_id = n.id)))
        INTO moved_ids, boundaries
        FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {_CHANGED_FACTS};
    IF moved_ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM case_stays_close(moved_ids, boundaries);
    INSERT INTO case_stays ({_STAY_COLUMNS})
        SELECT n.id, n.status, n.province_id, n.commune_id, n.policy_group, NULLIF(n.account_number, '') IS NOT NULL,
               moved.boundary, {OPEN_END}
        FROM unnest(moved_ids, boundaries) AS moved(case_id, boundary) JOIN new_rows n ON n.id = moved.case_id;
    RETURN NULL;
END $$"""

# The open stays closed one index lookup each, whatever the statistics say: with hash and merge
# joins allowed, statistics from before a large import (a few open stays) made PostgreSQL read
# every open stay to close 2,000 of them (51 ms at 100,000 open stays, growing with the table).
_CLOSE = f"""
CREATE OR REPLACE FUNCTION case_stays_close(moved_ids integer[], boundaries timestamp[]) RETURNS void
    LANGUAGE sql SET jit = off SET enable_hashjoin = off SET enable_mergejoin = off SET enable_bitmapscan = off
    SET enable_seqscan = off AS $$
    UPDATE case_stays s SET valid_to = moved.boundary FROM unnest(moved_ids, boundaries) AS moved(case_id, boundary)
        WHERE s.case_id = moved.case_id AND s.valid_to = {OPEN_END}
$$"""

_TRIGGERS = [
    "CREATE TRIGGER case_counts_insert AFTER INSERT ON cases REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION case_counts_keep()",
    "CREATE TRIGGER case_counts_update AFTER UPDATE ON cases REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION case_counts_keep()",
    "CREATE TRIGGER case_counts_delete AFTER DELETE ON cases REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION case_counts_keep()",
    "CREATE TRIGGER case_stays_insert AFTER INSERT ON cases REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION case_stays_keep()",
    "CREATE TRIGGER case_stays_update AFTER UPDATE ON cases REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION case_stays_keep()",
]
_NAMES = ("case_counts_insert", "case_counts_update", "case_counts_delete", "case_stays_insert", "case_stays_update")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS case_counts_keep ON cases")
    op.execute("DROP TRIGGER IF EXISTS case_stays_keep ON cases")
    op.execute(_COUNTS)
    op.execute(_CLOSE)
    op.execute(_STAYS)
    for statement in _TRIGGERS:
        op.execute(statement)


def downgrade():
    """Back to the row triggers, as 0012 and 0015 wrote them."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in _NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON cases")
    op.execute("DROP FUNCTION IF EXISTS case_stays_close(integer[], timestamp[])")
    for file in ("0012_queues.py", "0015_reports.py"):
        earlier = _migration(file)
        op.execute(earlier._PG_FUNCTION)
        op.execute(earlier._PG_TRIGGER)


def _migration(file: str):
    spec = importlib.util.spec_from_file_location(f"ansinh_migration_{file[:4]}", Path(__file__).with_name(file))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
