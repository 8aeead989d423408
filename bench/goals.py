"""The figures `make bench` reports, with their goals (issue 10). Later work adds its own rows."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Goal:
    key: str
    label: str
    limit: float | None     # None: reported, no goal
    higher_is_better: bool = False
    databases: tuple[str, ...] = ("sqlite", "postgresql")  # where the goal applies

    def met(self, value: float | None, database: str) -> bool | None:
        if self.limit is None or value is None or database not in self.databases:
            return None
        return value >= self.limit if self.higher_is_better else value <= self.limit


GOALS = [
    Goal("cases", "cases in the dataset", None),
    # Not a goal: the machine's speed at the time (bench.run.calibration_s), to read the rest beside.
    Goal("calibration_s", "a fixed pure-Python workload, median of 5 (s): this machine's speed", None),
    Goal("generate_s", "generate the dataset (s)", 120, databases=("sqlite",)),
    Goal("queue_p50_ms", "queue page p50 (ms)", None),
    # Issue 15: the real page, with its tabs' counts, the total for the filter and the pager.
    Goal("queue_p95_ms", "queue page p95 (ms)", 15),
    Goal("queue_sql_statements", "SQL statements per queue page", None),
    Goal("search_p95_ms", "name search (no diacritics), whole province, p95 (ms)", 30),
    Goal("search_sql_statements", "SQL statements per search page", None),
    Goal("case_page_p95_ms", "case page p95 (ms)", 50),
    Goal("inbox_p95_ms", "approvals inbox page p95 (ms)", 20),
    Goal("inbox_sql_statements", "SQL statements per inbox page", None),
    Goal("transitions_per_s", "transitions through forms per second", 300, higher_is_better=True),
    Goal("approvals_per_s", "approvals through forms per second", 150, higher_is_better=True),
    # The goal is 3 million records in 15 s; our histories also record the proposals behind
    # approved moves, so the chain is longer than 3 million and the goal is read as a rate.
    Goal("audit_verify_s", "audit verify, whole chain (s)", None),
    Goal("audit_records", "audit records verified", None),
    Goal("audit_records_per_s", "audit records verified per second (3 M in 15 s)", 200_000, higher_is_better=True),
    Goal("worker_rss_mb", "peak RSS of a worker serving queue pages (MB)", 200),
    # Issue 19: the daily escalation, set-based, over the whole dataset.
    Goal("sweep_s", "escalation sweep, whole dataset, with digests (s)", 10),
    Goal("sweep_escalations", "escalations the sweep records", None),
    Goal("sweep_digests", "digests the sweep writes to the outbox", None),
    Goal("digest_render_per_s", "digests built and written per second", None),
    # Issue 16: a commune's messy list of 100,000 rows, end to end, on a database of its own.
    Goal("import_bare_read_s", "python-calamine alone reading the 100,000-row list (s)", None),
    Goal("import_preview_100k_s", "preview of the 100,000-row list: read and check, nothing written (s)", None),
    Goal("import_100k_s", "import of the 100,000-row list: read, check, write cases and records, commit (s)", 10),
    Goal("import_created", "cases the import created (1 row in 100 is wrong on purpose)", None),
    Goal("reimport_100k_s", "the same list imported again: nothing created (s)", None),
    Goal("reimport_created", "cases the second import created", None),
    Goal("police_results_10k_s", "police results for 10,000 people: transitions with their records (s)", 3),
    # Issue 17: last month's report, as of its end, workbook included.
    Goal("report_province_s", "report of one province (200,000 cases, 65 communes), with workbook (s)", 1),
    Goal("report_province_sql_s", "its as-of statement alone (s)", None),
    Goal("report_country_s", "report of the country (3,321 communes), with workbook (s)", None),
    Goal("report_country_sql_s", "its as-of statement alone (s)", None),
    Goal("report_country_ratio", "country report over its bare as-of statement (×)", 2),
    # Issue 18: a provider's month of 100,000 lines as its workbook, and its return reconciled.
    Goal("payment_list_100k_s", "payment list of 100,000 lines: drafted, differences, workbook (s)", None),
    Goal("payment_list_bare_write_s", "openpyxl write-only of the same rows alone (s)", None),
    Goal("payment_list_ratio", "the list over the bare write (×)", 2),
    Goal("payment_list_workbook_100k_s", "the list's workbook alone, from lines in memory (s)", None),
    Goal("payment_list_workbook_bare_s", "openpyxl write-only of those rows alone (s)", None),
    Goal("payment_list_workbook_ratio", "the workbook alone over its own bare write (×)", 2),
    Goal("return_100k_s", "a provider's return of 100,000 rows reconciled, transitions and records (s)", 15),
]
GOALS_BY_KEY = {g.key: g for g in GOALS}


def render_table(results: dict[str, dict]) -> str:
    """One plain-text table: figure, goal, then each database's value and whether it meets it."""
    databases = list(results)
    header = ["figure", "goal"] + databases
    rows = [header]
    for goal in GOALS:
        cells = [goal.label, _goal_text(goal)]
        for db in databases:
            value = results[db].get(goal.key)
            verdict = goal.met(value, db)
            mark = "" if verdict is None else (" ok" if verdict else " MISSED")
            cells.append(f"{_fmt(value)}{mark}")
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _goal_text(goal: Goal) -> str:
    if goal.limit is None:
        return ""
    return f"{'≥' if goal.higher_is_better else '≤'} {goal.limit:,g}"


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"
    return f"{value:,}"
