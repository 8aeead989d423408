"""case_stays on PostgreSQL: the open stay closed and its end read back in one statement, instead
of a probe of every stay of each moved case first

A stay never ends before it began: 0018 found where each moved case's stay ends as the later of
the moment of the change and the latest `valid_from` among the case's stays, a probe of the stays'
index per case before the close looked them up again (8–10 ms of each 2,000-case statement's 55,
half a second of a 100,000-row provider's return). The open stay is the case's latest, so the close
now ends it at the later of the moment and its own `valid_from` and returns that end, where the
next stay begins. A case without an open stay (none is made so; kept as 0018 had it) still gets the
probe, alone.

0018's planner settings stay: the close is one index lookup per case whatever the statistics say.

Revision ID: 0022
Revises: 0021
"""
import importlib.util
from pathlib import Path

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

OPEN_END = "'9999-12-31 00:00:00'"
_STAY_COLUMNS = "case_id, status, province_id, commune_id, policy_group, has_account, valid_from, valid_to"
_CHANGED_FACTS = ("o.status <> n.status OR o.commune_id <> n.commune_id OR o.policy_group <> n.policy_group "
                  "OR (NULLIF(o.account_number, '') IS NULL) <> (NULLIF(n.account_number, '') IS NULL)")

_CLOSE = f"""
CREATE FUNCTION case_stays_close(moved_ids integer[], boundaries timestamp[])
    RETURNS TABLE (case_id integer, closed_at timestamp)
    LANGUAGE sql SET jit = off SET enable_hashjoin = off SET enable_mergejoin = off SET enable_bitmapscan = off
    SET enable_seqscan = off AS $$
    UPDATE case_stays s SET valid_to = GREATEST(moved.boundary, s.valid_from)
        FROM unnest(moved_ids, boundaries) AS moved(case_id, boundary)
        WHERE s.case_id = moved.case_id AND s.valid_to = {OPEN_END}
    RETURNING s.case_id, s.valid_to
$$"""

_STAYS = f"""
CREATE OR REPLACE FUNCTION case_stays_keep() RETURNS trigger LANGUAGE plpgsql SET jit = off
    SET enable_seqscan = off AS $$
DECLARE
    moved_ids integer[];
    boundaries timestamp[];
    closed_ids integer[];
    closed_at timestamp[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO case_stays ({_STAY_COLUMNS})
            SELECT id, status, province_id, commune_id, policy_group, NULLIF(account_number, '') IS NOT NULL,
                   state_entered_at, {OPEN_END} FROM new_rows;
        RETURN NULL;
    END IF;
    -- The open stay ends when the state changes (at state_entered_at) or, inside one state, when
    -- another fact changes (at updated_at), never before it began; the next begins there.
    SELECT array_agg(n.id), array_agg(CASE WHEN o.status <> n.status THEN n.state_entered_at ELSE n.updated_at END)
        INTO moved_ids, boundaries
        FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {_CHANGED_FACTS};
    IF moved_ids IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(closed.case_id), array_agg(closed.at) INTO closed_ids, closed_at
        FROM (SELECT c.case_id, max(c.closed_at) AS at FROM case_stays_close(moved_ids, boundaries) c
              GROUP BY c.case_id) closed;
    INSERT INTO case_stays ({_STAY_COLUMNS})
        SELECT n.id, n.status, n.province_id, n.commune_id, n.policy_group, NULLIF(n.account_number, '') IS NOT NULL,
               COALESCE(closed.at, GREATEST(moved.boundary,
                        (SELECT max(s.valid_from) FROM case_stays s WHERE s.case_id = moved.case_id))),
               {OPEN_END}
        FROM unnest(moved_ids, boundaries) AS moved(case_id, boundary)
        JOIN new_rows n ON n.id = moved.case_id
        LEFT JOIN unnest(closed_ids, closed_at) AS closed(case_id, at) ON closed.case_id = moved.case_id;
    RETURN NULL;
END $$"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    # The close's result changes type: replaced, not redefined. The trigger's function names it
    # only when it runs, so the two are swapped inside this migration's transaction.
    op.execute("DROP FUNCTION case_stays_close(integer[], timestamp[])")
    op.execute(_CLOSE)
    op.execute(_STAYS)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    earlier = _migration("0018_statement_triggers.py")
    op.execute("DROP FUNCTION case_stays_close(integer[], timestamp[])")
    op.execute(earlier._CLOSE)
    op.execute(earlier._STAYS)


def _migration(file: str):
    spec = importlib.util.spec_from_file_location(f"ansinh_migration_{file[:4]}", Path(__file__).with_name(file))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
