"""Command-line tools: `flask org load`, `flask users create|disable|enable|reset-password`,
`flask audit verify|anchor`, `flask demo load`, `flask bench generate`."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select


from bench.cli import add_commands as add_bench_measurements
from cases.anchor import verify_with_anchor, write_anchor
from cases.audit import Actor
from cases.errors import DomainError
from cases.models import User

from cases.organisation import commune_by_code, load_admin_units, province_by_code
from cases.roles import Role
from cases.user_admin import disable_user, enable_user, reset_password
from cases.users import create_user
from extensions import db, write_intent

org = AppGroup("org", help="Administrative units.")
users = AppGroup("users", help="User accounts.")
audit_cli = AppGroup("audit", help="The audit trail.")
demo = AppGroup("demo", help="The demo province.")
bench = AppGroup("bench", help="Benchmark data at national scale.")
workflow_cli = AppGroup("workflow", help="The case lifecycle.")


@workflow_cli.command("diagram", with_appcontext=False)
def workflow_diagram():
    """Print the lifecycle as a Mermaid state diagram, drawn from workflow/table.py."""
    from workflow.diagram import mermaid
    click.echo(mermaid())


@org.command("load")
def org_load():
    """Load the 34 provinces and 3,321 communes (idempotent)."""
    with write_intent():
        provinces, communes = load_admin_units(db.session)
        db.session.commit()
    click.echo(f"added {provinces} provinces and {communes} communes")


@users.command("create")
@click.option("--username", required=True)
@click.option("--full-name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--province", "province_code", help="2-digit province code: the user sees the whole province.")
@click.option("--commune", "commune_codes", multiple=True, help="5-digit commune code (repeatable).")
@click.option("--email")
@click.password_option()
def users_create(username, full_name, role, province_code, commune_codes, email, password):
    """Add a user scoped to a province or to some communes."""
    with write_intent():
        try:
            province = province_by_code(db.session, province_code) if province_code else None
            communes = [commune_by_code(db.session, c) for c in commune_codes]
            create_user(db.session, Actor.system("cli"), username=username, full_name=full_name,
                        password=password, role=Role(role), province=province, communes=communes, email=email)
        except DomainError as error:
            raise click.ClickException(error.message) from None
        db.session.commit()
    click.echo(f"created {role} {username}")


@users.command("disable")
@click.argument("username")
def users_disable(username):
    """Disable a user and end their sessions."""
    changed = _change_user(username, lambda user: disable_user(db.session, Actor.system("cli"), None, user))
    click.echo(f"disabled {username}" if changed else f"{username} was disabled already")


@users.command("enable")
@click.argument("username")
def users_enable(username):
    """Let a disabled user log in again."""
    changed = _change_user(username, lambda user: enable_user(db.session, Actor.system("cli"), None, user))
    click.echo(f"enabled {username}" if changed else f"{username} was active already")


@users.command("reset-password")
@click.argument("username")
@click.option("--generate", is_flag=True, help="Generate a random password and print it once.")
def users_reset_password(username, generate):
    """Set a new password (prompted for, or generated) and end the user's sessions."""
    typed = None if generate else click.prompt("New password", hide_input=True, confirmation_prompt=True)
    password = _change_user(username, lambda user: reset_password(db.session, Actor.system("cli"), None, user, typed))
    click.echo(f"password reset for {username}")
    if generate:
        click.echo(f"new password (shown once): {password}")


def _change_user(username: str, change):
    """Apply `change` to the user `username` in one transaction; what it returns."""
    with write_intent():
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"no user named {username}")
        try:
            outcome = change(user)
        except DomainError as error:
            raise click.ClickException(error.message) from None
        db.session.commit()
    return outcome


@audit_cli.command("verify")
def audit_verify():
    """Check the whole hash chain, then hold it against the last anchor written outside the
    database (AUDIT_ANCHOR_PATH), naming the first record that does not hold; when all holds,
    write a new anchor. Exits 1 when the trail is broken."""
    path = current_app.config["AUDIT_ANCHOR_PATH"]
    started = time.perf_counter()
    with write_intent():
        report = verify_with_anchor(db.session, path)
        db.session.commit()
    elapsed = time.perf_counter() - started
    if not report.ok:
        verified = (f"the {report.checked} records hold together, but not with the anchors in {path}"
                    if report.by_anchor else f"{report.checked} records before it verified")
        click.echo(f"audit chain BROKEN at record {report.broken_seq}: {report.problem} ({verified})", err=True)
        sys.exit(1)
    # bench/run.py reads the first line: "N records verified in S s".
    click.echo(f"audit chain OK: {report.checked} records verified in {elapsed:.2f} s")
    if report.anchor is None:
        click.echo(f"no anchor yet in {path} (first run): nothing to hold the chain against")
    else:
        click.echo(f"it holds against {report.anchor.label} (record {report.anchor.seq})")
    click.echo(f"anchor written: record {report.written.seq} in {path}")


@audit_cli.command("anchor")
def audit_anchor():
    """Append the chain's head to the anchor file outside the database (AUDIT_ANCHOR_PATH),
    unless the chain contradicts the last anchor (exit 1). The scheduler will run this daily once
    it exists; until then, run it from cron."""
    path = current_app.config["AUDIT_ANCHOR_PATH"]
    with write_intent():
        check = write_anchor(db.session, path)
        db.session.commit()
    if not check.ok:
        click.echo(f"audit anchor REFUSED at record {check.broken_seq}: {check.problem}", err=True)
        sys.exit(1)
    click.echo(f"anchor written: record {check.head_seq} in {path}")


@demo.command("load")
@click.option("--cases", "case_count", default=5000, show_default=True)
def demo_load(case_count):
    """Load Lạng Sơn with demo users and synthetic beneficiaries (idempotent)."""
    from demo.province import load_demo

    with write_intent():
        load_admin_units(db.session)
        logins = load_demo(db.session, case_count)
        db.session.commit()
    record_past_months()
    click.echo("Demo logins (username / password):")
    for username, password, what in logins:
        click.echo(f"  {username:<22} {password:<20} {what}")
    from demo.province import BINH_GIA, LANG_SON
    from demo.sample_lists import write_samples

    written = write_samples(db.session, commune_by_code(db.session, BINH_GIA), Path(current_app.instance_path) / "demo-lists")
    click.echo("Lists to try the import on (Danh sách nhập/xuất → tải lên):")
    for path in written:
        click.echo(f"  {path}")
    from demo.payments import write_return

    folder = Path(current_app.instance_path) / "demo-lists"
    returned = write_return(db.session, province_by_code(db.session, LANG_SON), folder)
    if returned is not None:
        click.echo("The bank's return for last month's signed list (Chi trả → tháng trước → Kết quả chi trả):")
        click.echo(f"  {returned}")


@bench.command("generate")
@click.option("--cases", "case_count", type=click.IntRange(min=1), help="How many cases the database should hold.")
@click.option("--huge", is_flag=True, help="5,000,000 cases (PostgreSQL only).")
@click.option("--national", is_flag=True, help="Over all 3,321 communes (the default).")
@click.option("--province", "province_code", help="Over one province's communes (2-digit 2025 code).")
@click.option("--seed", default=1, show_default=True)
def bench_generate(case_count, huge, national, province_code, seed):
    """Fill the database with synthetic cases and their audit trail, for load tests."""
    from demo.bulk import rollback_journal
    from demo.national import HUGE, fill

    if (case_count is None) == (not huge):
        raise click.UsageError("give either --cases N or --huge")
    if national and province_code:
        raise click.UsageError("--national and --province exclude each other")
    if huge and db.engine.dialect.name == "sqlite":
        raise click.UsageError("--huge (5,000,000 cases) needs PostgreSQL (DATABASE_URL=postgresql://...): "
                               "on SQLite it would take about ten minutes and over 20 GB of disk.")
    started = time.perf_counter()
    with write_intent(), rollback_journal(db.session):
        try:
            outcome = fill(db.session, HUGE if huge else case_count, province_code=province_code, seed=seed)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        db.session.commit()
    if outcome.report is not None:
        refresh_planner_statistics()
        record_past_months()
    report = outcome.report
    if report is None:
        click.echo(f"the database already holds {outcome.existing:,} cases; nothing generated")
        return
    click.echo(f"generated {report.cases:,} cases ({outcome.existing:,} were there), {report.audit_records:,} audit "
               f"records, {report.pending_proposals:,} pending and {report.decided_proposals:,} decided proposals, "
               f"{report.users_created:,} users, in {report.seconds:.1f} s "
               f"({time.perf_counter() - started:.1f} s with the commit)")
    for state, count in report.by_state.most_common():
        click.echo(f"  {state.value:<22} {count:>10,}")


add_bench_measurements(bench)  # the measuring half: bench run | pages | writes


def refresh_planner_statistics() -> None:
    """After a bulk load the query planner knows nothing of the new rows: give it statistics.
    On SQLite a sampled ANALYZE (analysis_limit) takes seconds, not minutes, at a million cases.
    On PostgreSQL a VACUUM too, as autovacuum would soon after such a load: it marks the pages
    all-visible (index-only scans) and clears the dead rows the load left. Not every server runs
    autovacuum (this project's CI machines do not), and the benchmark must measure a database
    in its steady state, not one minute after its load."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        return
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def record_past_months() -> None:
    """Record the last thirteen month ends' counts for the reports (cases.reports.month_counts): a
    generator writes a past, and the months it covers have ended."""
    from cases.changes import local_today
    from cases.reports.month_counts import record_missing_months
    from cases.reports.periods import add_months

    with write_intent():
        recorded = record_missing_months(db.session, add_months(local_today().replace(day=1), -1))
        db.session.commit()
    click.echo(f"recorded the reports' counts of {len(recorded)} past months")


def register(app: Flask) -> None:
    from cases.lists.cli import cases_cli, lists_cli
    from cases.reports.cli import report_cli
    from scheduler.cli import scheduler_cli

    for group in (org, users, audit_cli, demo, workflow_cli, bench, scheduler_cli, lists_cli, cases_cli, report_cli):
        app.cli.add_command(group)
