"""Command line: migrations, accounts, teams, caseloads and demo data.

Run as `careplan COMMAND` (or `flask --app wsgi COMMAND`); `careplan --help` lists them.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from .db import migrate, statistics
from .domain.addresses import under
from .domain.roles import Role
from .extensions import get_db
from .services import accounts
from .services.errors import ServiceError


def register_commands(app: Flask) -> None:
    for command in (
        db_upgrade,
        create_team,
        create_user,
        link_caseload,
        add_supervisor,
        demo,
        audit_verify,
        audit_checkpoint,
        verify,
        render_pdfs,
        scheduler,
        send_reminders,
        export_installation,
        import_installation,
    ):
        app.cli.add_command(command)


def _fail(err: Exception) -> None:
    raise click.ClickException(str(err) or err.__class__.__name__)


@click.command("db-upgrade")
@with_appcontext
def db_upgrade():
    """Bring the database schema up to date (Alembic migrations)."""
    migrate.upgrade(current_app.config["DATABASE_URL"])
    statistics.refresh(get_db().engine)
    click.echo("Database is up to date.")


@click.command("create-team")
@with_appcontext
@click.argument("name")
def create_team(name):
    """Create a team of key workers."""
    try:
        accounts.create_team(get_db(), name)
    except ServiceError as err:
        _fail(err)
    click.echo(f"Team {name!r} created.")


@click.command("create-user")
@with_appcontext
@click.option("--email", required=True)
@click.option("--name", "display_name", required=True, help="The name people will see.")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--team", "team_name", default=None, help="Team name, for key workers.")
@click.password_option(help="Asked for if not given (at least 10 characters).")
def create_user(email, display_name, role, team_name, password):
    """Create an account."""
    try:
        user = accounts.create_user(get_db(), email, display_name, role, password, team_name)
    except ServiceError as err:
        _fail(err)
    click.echo(f"Created {Role(user.role).label} {user.display_name} <{user.email}>.")


@click.command("link-caseload")
@with_appcontext
@click.argument("client_email")
@click.argument("key_worker_email")
def link_caseload(client_email, key_worker_email):
    """Put a client on a key worker's caseload (ends any earlier link)."""
    try:
        accounts.link_caseload(get_db(), client_email, key_worker_email)
    except ServiceError as err:
        _fail(err)
    click.echo(f"{client_email} is now on {key_worker_email}'s caseload.")


@click.command("add-supervisor")
@with_appcontext
@click.argument("supervisor_email")
@click.argument("team_name")
def add_supervisor(supervisor_email, team_name):
    """Let a supervisor oversee a team."""
    try:
        accounts.add_supervisor(get_db(), supervisor_email, team_name)
    except ServiceError as err:
        _fail(err)
    click.echo(f"{supervisor_email} now supervises {team_name!r}.")


@click.command("demo")
@with_appcontext
def demo():
    """Create demo accounts and plans (once) and print how to sign in."""
    from .demo import DEMO_PASSWORD, seed_demo

    people = seed_demo(get_db())
    click.echo("\nDemo accounts (password for all: " + DEMO_PASSWORD + "):")
    for role, name, email in people:
        click.echo(f"  {role:<14} {name:<18} {email}")
    start = under(current_app.config["PUBLIC_BASE_URL"], "/")
    click.echo(f"\nOpen {start} and sign in with one of the accounts above.\n")


@click.command("audit-verify")
@with_appcontext
def audit_verify():
    """Check the audit trail: its hash chain, versions and signatures against the hashes it
    recorded, and the signed checkpoints of its head. Names the first problem of each."""
    from .pdf.seal import SealError
    from .services import audit, audit_checkpoints, audit_records

    db = get_db()
    problems = []
    chain = audit.verify_chain(db)
    if chain.ok:
        click.echo(f"Audit trail intact: {chain.events} events, every link checks out.")
    else:
        problems.append(
            f"Audit trail broken at event {chain.broken_at}: {chain.reason}. "
            f"{chain.events - 1} events before it check out."
        )
    records = audit_records.verify_records(db)
    if records.ok:
        click.echo(
            f"{records.versions} versions and {records.signatures} signatures match the "
            "hashes the audit trail recorded."
        )
    else:
        problems.append(records.problem)
    try:
        settings = audit_checkpoints.CheckpointSettings.from_config(
            current_app.config, current_app.instance_path
        )
        checkpoints = audit_checkpoints.verify(db, settings)
    except (audit_checkpoints.CheckpointError, SealError, OSError) as err:
        problems.append(str(err))
    else:
        if not checkpoints.ok:
            problems.append(checkpoints.problem)
        elif checkpoints.latest is None:
            click.echo(
                f"No checkpoints in {settings.folder} yet: the scheduler takes them, or run "
                "`careplan audit-checkpoint`."
            )
        else:
            latest = checkpoints.latest
            click.echo(
                f"{checkpoints.checkpoints} checkpoint(s) signed and held by the audit trail; "
                f"the newest, of {latest.at:%Y-%m-%d %H:%M} UTC, anchors event "
                f"{latest.event_id} ({latest.events} events)."
            )
    if problems:
        raise click.ClickException("\n".join(problems))


@click.command("audit-checkpoint")
@with_appcontext
def audit_checkpoint():
    """Sign the audit trail's head into the checkpoint folder (the scheduler does this every
    hour); refused if the trail no longer extends the newest checkpoint."""
    from .db.models import utcnow
    from .pdf.seal import SealError
    from .services import audit_checkpoints

    try:
        settings = audit_checkpoints.CheckpointSettings.from_config(
            current_app.config, current_app.instance_path
        )
        taken = audit_checkpoints.take(get_db(), settings, utcnow())
    except (audit_checkpoints.CheckpointError, SealError, OSError) as err:
        _fail(err)
    if taken.problem:
        raise click.ClickException(taken.message)
    click.echo(taken.message)


def _pdf_settings():
    from .services.pdfs import PdfSettings

    return PdfSettings.from_config(current_app.config, current_app.instance_path)


@click.command("verify")
@with_appcontext
@click.argument("pdf_file", type=click.Path(exists=True, dir_okay=False))
def verify(pdf_file):
    """Check whether a PDF is a genuine, unaltered agreed version."""
    from pathlib import Path

    from .domain.local_time import long_date
    from .services.pdfs import verify_file

    verdict = verify_file(get_db(), _pdf_settings(), Path(pdf_file).read_bytes())
    if not verdict.genuine:
        raise click.ClickException(f"NOT GENUINE: {verdict.message}")
    # Dates in words, as the PDF and the verify page say them ("6 December 2026").
    click.echo(
        f"GENUINE: {verdict.kind_label}, version {verdict.version_number}, agreed on "
        f"{long_date(verdict.agreed_on)}, fingerprint {verdict.content_hash}."
    )
    if verdict.replaced_on:
        click.echo(
            f"NO LONGER IN FORCE: a later version was agreed on {long_date(verdict.replaced_on)}."
        )


@click.command("render-pdfs")
@with_appcontext
def render_pdfs():
    """Make the sealed PDFs that are waiting (the scheduler does this every few seconds)."""
    from .services.pdfs import run_pending

    done = run_pending(get_db(), _pdf_settings(), limit=1000)
    click.echo(f"{done} PDF(s) made.")


@click.command("scheduler")
@with_appcontext
def scheduler():
    """Run the scheduler process: review reminders and the other periodic jobs.

    Run one next to the web server (more are fine: one is active, the others stand by and
    take over if it stops). Stop it with Ctrl-C or SIGTERM."""
    import logging

    from .reminders.scheduler import run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not every run of every job
    run(current_app._get_current_object())


@click.command("send-reminders")
@with_appcontext
@click.option("--loop", "every", type=int, default=0, help="Keep going, every N seconds.")
@click.option("--no-sweep", is_flag=True, help="Only send; leave finding what is owed to others.")
def send_reminders(every, no_sweep):
    """Record the reminders owed now and send them, with any e-mails about accounts still
    waiting (once, or with --loop as an extra sender worker). Safe to run next to the
    scheduler: nothing is ever sent twice. Each run is written down like the scheduler's own,
    so the Scheduler page shows it; with --loop a failed run is logged and the loop goes on."""
    import logging
    import time

    from .reminders import scheduler as jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    ctx = jobs.context_for(current_app._get_current_object())
    names = ([] if no_sweep else ["reminders.sweep", "crisis.escalate"]) + ["reminders.send"]
    while True:
        failed = [name for name in names if not jobs.run_recorded(jobs.job_named(name), ctx)]
        if not every:
            break
        time.sleep(every)
    if failed:
        raise click.ClickException(f"Could not finish {', '.join(failed)}; the log above says why.")
    click.echo("Reminders are up to date.")


def _file_stores():
    from .services.fhir import ExportSettings
    from .services.installation import file_stores

    return file_stores(ExportSettings.from_config(current_app.config, current_app.instance_path))


@click.command("export-installation")
@with_appcontext
@click.argument("archive", type=click.Path(dir_okay=False, writable=True))
def export_installation(archive):
    """Write every table and the sealed PDFs to one archive (zip), from one snapshot."""
    import os
    import tempfile
    from pathlib import Path

    from .services.installation import export_installation as export

    target = Path(archive).resolve()
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            summary = export(get_db(), out, _file_stores())
            out.flush()
            os.fsync(out.fileno())
        # Only a complete archive ever carries the name asked for.
        os.replace(partial, target)
    except ServiceError as err:
        _fail(err)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    click.echo(
        f"Exported {summary.rows} rows from {summary.tables} tables and {summary.files} "
        f"file(s) at schema revision {summary.schema_revision} to {target}."
    )


@click.command("import-installation")
@with_appcontext
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
def import_installation(archive):
    """Load an exported installation into this new, empty, migrated database."""
    from .services.installation import import_installation as load

    try:
        summary = load(get_db(), archive, _file_stores())
    except ServiceError as err:
        _fail(err)
    click.echo(
        f"Imported {summary.rows} rows into {summary.tables} tables and {summary.files} "
        f"file(s) at schema revision {summary.schema_revision}. "
        "Check the audit trail with `careplan audit-verify`."
    )


def command_group() -> FlaskGroup:
    """`careplan`: the app's commands and Flask's own, on an app built from the environment."""
    from . import create_app

    return FlaskGroup(create_app=lambda: create_app(), help=__doc__)


def main() -> None:
    command_group()(prog_name="careplan")
