"""`flask bench run | pages | inbox | writes | sweep | lists | report | payments`: the measuring half of the benchmark commands."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import ScriptInfo, pass_script_info


def add_commands(group: click.Group) -> None:
    @group.command("run")
    @click.option("--cases", default=1_000_000, show_default=True)
    @click.option("--databases", default="sqlite,postgresql", show_default=True)
    @click.option("--instance", type=click.Path(path_type=Path), help="Where datasets and bench.json live.")
    @click.option("--out", type=click.Path(path_type=Path), help="Default: <instance>/bench.json")
    @click.option("--list-rows", default=100_000, show_default=True, help="Rows of the list the import figures read.")
    @click.option("--province-cases", default=200_000, show_default=True,
                  help="Cases of the one-province dataset the province report reads.")
    def bench_run(cases, databases, instance, out, list_rows, province_cases):
        """Generate (or reuse) the dataset, measure on each database, print the table."""
        from bench.run import run
        instance = instance or Path(current_app.instance_path)
        run(instance, cases, [d.strip() for d in databases.split(",") if d.strip()], out or instance / "bench.json",
            say=click.echo, list_rows=list_rows, province_cases=province_cases)

    # No app context around these two: each test-client request must push and tear down its own,
    # as under a real server, or one session would live across all the requests.
    @group.command("pages", with_appcontext=False)
    @click.option("--requests", default=200, show_default=True)
    @pass_script_info
    def bench_pages(info: ScriptInfo, requests):
        """Queue and case page timings in this process; prints one JSON line."""
        from bench.measure import measure_pages
        click.echo(json.dumps(measure_pages(info.load_app(), requests)))

    @group.command("inbox", with_appcontext=False)
    @click.option("--requests", default=200, show_default=True)
    @pass_script_info
    def bench_inbox(info: ScriptInfo, requests):
        """The approvals inbox of the province with most pending proposals; prints one JSON line."""
        from bench.inbox import measure_inbox
        click.echo(json.dumps(measure_inbox(info.load_app(), requests)))

    @group.command("sweep", with_appcontext=False)
    @pass_script_info
    def bench_sweep(info: ScriptInfo):
        """The daily escalation over the whole dataset, rolled back; prints one JSON line."""
        from bench.sweep import measure_sweep
        click.echo(json.dumps(measure_sweep(info.load_app())))

    @group.command("lists", with_appcontext=False)
    @click.option("--rows", default=100_000, show_default=True)
    @pass_script_info
    def bench_lists(info: ScriptInfo, rows):
        """A commune's list of ROWS imported end to end, then the police's answers (issue 16), on a
        database without cases; prints one JSON line."""
        from bench.lists import measure_lists
        click.echo(json.dumps(measure_lists(info.load_app(), rows)))

    @group.command("report", with_appcontext=False)
    @click.option("--unit", default="VN", show_default=True, help="A province code, a commune code or VN.")
    @click.option("--key", default="country", show_default=True, help="The figures' name: report_<key>_s ...")
    @pass_script_info
    def bench_report(info: ScriptInfo, unit, key):
        """Last month's report for UNIT, workbook included, against its bare as-of statement
        (issue 17); prints one JSON line."""
        from bench.reports import measure_report
        click.echo(json.dumps(measure_report(info.load_app(), unit, key)))

    @group.command("payments", with_appcontext=False)
    @click.option("--rows", default=100_000, show_default=True)
    @pass_script_info
    def bench_payments(info: ScriptInfo, rows):
        """A provider's list of ROWS lines written as its workbook (beside openpyxl writing the same
        rows bare), drafted against last month's and written, and a return of ROWS rows reconciled (issue 18), on a database without cases;
        prints one JSON line."""
        from bench.payments import measure_payment_list, measure_payment_workbook
        from bench.returns import measure_return
        app = info.load_app()
        click.echo(json.dumps(measure_payment_workbook(app, rows) | measure_payment_list(app, rows)
                              | measure_return(app, rows)))

    @group.command("writes", with_appcontext=False)
    @click.option("--transitions", default=2000, show_default=True)
    @click.option("--approvals", default=1000, show_default=True)
    @pass_script_info
    def bench_writes(info: ScriptInfo, transitions, approvals):
        """Transitions and approvals through their forms, one core; prints one JSON line."""
        from bench.measure import measure_writes
        click.echo(json.dumps(measure_writes(info.load_app(), transitions, approvals)))
