"""`flask bench report --unit CODE --key NAME`: the report for last month, as the page and the
scheduler produce it — the as-of statement, the rows, the workbook — timed against the bare
as-of statement alone (issue 17).

Prints `report_<key>_s` (the whole report, workbook included), `report_<key>_sql_s` (the one
aggregate statement, fetched, nothing else) and `report_<key>_ratio` (the first over the second),
each the median of three runs after one to warm the caches.
"""
from __future__ import annotations

import statistics
import time

from flask import Flask

from cases.changes import local_today
from cases.reports.periods import Period, add_months
from cases.reports.produce import aggregate_statement, find_unit, produce_report
from cases.reports.workbook import report_workbook
from extensions import db

RUNS = 3


def measure_report(app: Flask, unit_code: str, key: str) -> dict:
    with app.app_context():
        period = Period.month_of(add_months(local_today().replace(day=1), -1))
        unit = find_unit(db.session, unit_code)
        statement = aggregate_statement(period, unit)

        def bare() -> None:
            db.session.execute(statement).all()

        def whole() -> None:
            report_workbook(produce_report(db.session, period, unit))

        sql_s, report_s = _median(bare), _median(whole)
        rows = len(produce_report(db.session, period, unit).rows)
        db.session.rollback()
    return {f"report_{key}_s": round(report_s, 3), f"report_{key}_sql_s": round(sql_s, 3),
            f"report_{key}_ratio": round(report_s / sql_s, 2) if sql_s else None, f"report_{key}_rows": rows}


def _median(work) -> float:
    work()                               # warm: the first run reads the pages from disk
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
