"""`flask report generate --period 2026-10 --unit 20 --out FILE.xlsx`: a report produced from the
command line as the page produces it — counted as of the end of the period, written as the
workbook a commune sends upward; the last line says what it counted.

`--unit` is a province code ("20"), a commune code ("06112") or "VN" for the whole country;
`--period` is `YYYY-MM`, `YYYY-H1`, `YYYY-H2` or `YYYY`. `--archive` also stores it in the archive,
unsigned, as the scheduler's monthly job does.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from cases.errors import DomainError
from extensions import db, write_intent

report_cli = AppGroup("report", help="Reports against each commune's target.")


@report_cli.command("generate")
@click.option("--period", required=True, help="YYYY-MM, YYYY-H1, YYYY-H2 or YYYY")
@click.option("--unit", required=True, help="a province code (20), a commune code (06112) or VN")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="the workbook to write")
@click.option("--language", default="vi", type=click.Choice(["vi", "en"]))
@click.option("--archive", is_flag=True, help="also store it in the archive (unsigned)")
def generate(period, unit, out, language, archive):
    """Produce the report for PERIOD and UNIT and write its workbook to OUT."""
    from cases.reports.periods import Period
    from cases.reports.produce import find_unit, produce_report
    from cases.reports.workbook import report_workbook

    try:
        chosen = find_unit(db.session, unit)
        report = produce_report(db.session, Period.parse(period), chosen)
    except DomainError as refusal:
        click.echo(f"error: {refusal.message}", err=True)
        sys.exit(2)
    workbook = report_workbook(report, language)
    Path(out).write_bytes(workbook)
    if archive:
        from cases.reports.archive import archive_report
        with write_intent():
            try:
                archived = archive_report(db.session, report, workbook, None)
            except DomainError as refusal:
                click.echo(f"error: {refusal.message}", err=True)
                sys.exit(2)
            db.session.commit()
        click.echo(f"archived as report {archived.id}, sha256 {archived.sha256}")
    together = report.total.together
    click.echo(f"period={report.period} unit={report.unit_code} communes={len(report.rows)} "
               f"receiving={together.receiving} paid_by_account={together.paid_by_account} "
               f"share={together.share if together.share is not None else '-'} out={out}")
