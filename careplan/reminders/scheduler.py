"""The scheduler process (`careplan scheduler`): periodic jobs, with one active scheduler at a
time.

APScheduler's job stores cannot be shared between processes, and every gunicorn worker that
started a scheduler would run its own. So the web processes run none; this process does, and
it first becomes the leader:

- PostgreSQL: `pg_try_advisory_lock` on a connection of its own, held for as long as the
  process leads. If the process dies, the server ends its session and frees the lock; a
  standby (polling every few seconds) takes over. If its machine vanishes, the server gives
  up on the connection after about 25 seconds (careplan.db.engine) and frees the lock. If
  the process stops without dying (stopped, frozen, hung as a whole) while its machine still
  answers for it, the leader's checks of its lock, every few seconds on that connection,
  stop: after SILENT_LEADER_SECONDS of silence a standby ends that connection, which frees
  the lock, and takes over; the old leader, if it wakes, finds the lock gone and stands by.
- SQLite: an `fcntl` lock on a file next to the database, freed by the kernel when the process
  dies. The same guarantee on the one machine that can open the database file.

Leadership saves work; it is not what makes reminders exactly once. The database does that
(unique keys and leased claims in careplan.services.reminders), so a moment with two leaders,
or extra `careplan send-reminders --loop` workers, never duplicates anything.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from ..db import notify, statistics
from ..db.engine import Database, in_brief, make_engine
from ..db.models import utcnow
from ..domain.scheduled_jobs import ExpectedJob
from ..extensions import DB_KEY
from ..services import crisis_alerts, reminders, scheduled_jobs
from ..services.reminders import ReminderSettings
from . import messages
from .mail import Mailer, mailer_from_config
from .sender import Clock, send_pending, worker_name

log = logging.getLogger("careplan.scheduler")

ADVISORY_LOCK_KEY = 7_411_002  # careplan.services.audit uses 7_411_001
PDF_JOB = "pdfs.render"


# --- leader election ---------------------------------------------------------------------------


# A leader checks its lock every poll (5 s by default), on its lock's connection: silence on
# that connection for this long means the process has stopped, not that it is busy.
SILENT_LEADER_SECONDS = 60
# The session holding the lock (the advisory lock's key split as pg_locks shows it).
_HOLDER = (
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted "
    "AND l.classid::bigint = (CAST(:k AS bigint) >> 32) "
    "AND l.objid::bigint = (CAST(:k AS bigint) & 4294967295) AND l.objsubid = 1"
)


class PostgresLeaderLock:
    """A session-level advisory lock on a dedicated connection."""

    def __init__(
        self, url: str, key: int = ADVISORY_LOCK_KEY, silent_after: float = SILENT_LEADER_SECONDS
    ):
        self.key = key
        self.silent_after = silent_after
        self.engine = make_engine(
            url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            # Like every connection (careplan.db.engine), both ends give up on a vanished
            # peer within about half a minute: the server frees the lock for a standby, and
            # this process stops leading. The name says which process leads, for the log of
            # a standby that takes over.
            connect_args={"application_name": f"careplan-scheduler {worker_name()}"[:63]},
        )
        self.conn = None

    def try_acquire(self) -> bool:
        try:
            if self.conn is None:
                self.conn = self.engine.connect()
            if self._take():
                return True
            if self._end_silent_leader():
                for _ in range(20):  # its session ends, and the lock is free, within moments
                    if self._take():
                        return True
                    time.sleep(0.1)
            return False
        except DBAPIError as exc:
            log.warning("Could not reach the database to take the scheduler lock: %s", exc)
            self._drop()
            return False

    def _take(self) -> bool:
        taken = self.conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})
        return bool(taken.scalar())

    def _end_silent_leader(self) -> bool:
        """Ends the session of a leader that has not checked its lock for `silent_after`
        seconds, by the server's clock. Its own checks keep it `idle` with a recent
        state_change; a query still running on that connection is not silence."""
        ended = self.conn.execute(
            text(
                "SELECT a.application_name, pg_terminate_backend(a.pid), "
                "extract(epoch FROM now() - a.state_change) "
                + _HOLDER
                + " AND a.state = 'idle' AND a.state_change < now() - make_interval(secs => :s)"
            ),
            {"k": self.key, "s": self.silent_after},
        ).first()
        if ended is None or not ended[1]:
            return False
        log.warning(
            "The active scheduler (%s) has not checked its lock for %.0f s: it has stopped. "
            "Ended its connection to take over.",
            ended[0],
            ended[2],
        )
        return True

    def still_held(self) -> bool:
        if self.conn is None:
            return False
        try:
            return bool(
                self.conn.execute(
                    text("SELECT count(*) " + _HOLDER + " AND l.pid = pg_backend_pid()"),
                    {"k": self.key},
                ).scalar()
            )
        except DBAPIError:
            self._drop()
            return False

    def release(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(DBAPIError):
                self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            self._drop()
        self.engine.dispose()

    def _drop(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(DBAPIError):
                self.conn.close()
        self.conn = None


class FileLeaderLock:
    """An exclusive `flock` on a file; the kernel frees it when the process ends."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.fd: int | None = None

    def try_acquire(self) -> bool:
        if self.fd is None:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        os.ftruncate(self.fd, 0)
        os.write(self.fd, f"{os.getpid()}\n".encode())
        return True

    def still_held(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def leader_lock(database_url: str, instance_path: Path | str | None = None):
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresLeaderLock(database_url)
    if url.database and url.database != ":memory:":
        # Next to the database file: whoever opens this database shares this lock.
        return FileLeaderLock(Path(url.database).resolve().with_suffix(".scheduler.lock"))
    return FileLeaderLock(Path(instance_path or ".") / "scheduler.lock")


# --- jobs ---------------------------------------------------------------------------------------


@dataclass
class Context:
    """What every job gets."""

    app: object  # the Flask app
    db: Database
    settings: ReminderSettings
    mailer: Mailer
    sender: str  # the From: address
    clock: Clock
    worker: str
    # Set when a PDF job is waiting; the PDF job runs again before it rests (see _pdf_wakeups).
    pdf_wanted: threading.Event = field(default_factory=threading.Event)
    pdf_running: threading.Event = field(default_factory=threading.Event)
    # When each job's good run was last written down by this process (see _record).
    recorded: dict[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    name: str
    interval_setting: str  # the config key holding its interval in seconds
    default_seconds: int
    run: Callable[[Context], object]
    about: str = ""  # what it does, as administrators read it

    def every(self, config) -> timedelta:
        return timedelta(
            seconds=max(1, int(config.get(self.interval_setting) or self.default_seconds))
        )


def sweep_reminders(ctx: Context) -> None:
    """Record what is owed; then, only after a complete sweep, gather today's digests, so a
    digest never goes out while the day's reminders are still being recorded."""
    report = reminders.sweep(ctx.db, ctx.settings, ctx.clock())
    if report.inserted:
        log.info(
            "Reminders owed: %s new (%s reviews and %s waiting signatures checked).",
            report.inserted,
            report.reviews_checked,
            report.waiting_checked,
        )
    gathered = reminders.build_digests(ctx.db, ctx.settings, ctx.clock())
    if gathered:
        log.info("Digests: %s reminders gathered for today's e-mails.", gathered)


def escalate_crisis_alerts(ctx: Context) -> None:
    """Tell the supervisors of alerts nobody answered in time (delivered by the send job)."""
    told = crisis_alerts.escalate(ctx.db, ctx.clock())
    if told:
        log.info("Crisis alerts not answered in time: %s reminders to supervisors.", told)


def send_reminders(ctx: Context) -> None:
    report = send_pending(ctx.db, ctx.settings, ctx.mailer, ctx.sender, ctx.clock, ctx.worker)
    if report:
        log.info(
            "Delivered: %s account e-mails; reminders: %s in the app, %s e-mails, %s digests; "
            "%s cancelled (no longer due), %s failed attempts.",
            report.account_emails,
            report.in_app,
            report.emails,
            report.digests,
            report.cancelled,
            report.failed,
        )


def render_pending_pdfs(ctx: Context) -> None:
    """Make the sealed PDFs of newly agreed versions (never inside the request that agreed)."""
    from ..services.pdfs import PdfSettings, run_pending

    settings = PdfSettings.from_config(ctx.app.config, ctx.app.instance_path)
    ctx.pdf_running.set()
    while True:
        ctx.pdf_wanted.clear()
        made = run_pending(ctx.db, settings, ctx.clock())
        if made:
            log.info("Sealed PDFs made: %s.", made)
        # Stop running before looking at the flag: a wake-up in between is then either seen
        # here or, finding the job not running, starts it again.
        ctx.pdf_running.clear()
        if not ctx.pdf_wanted.is_set():
            return
        ctx.pdf_running.set()


def refresh_statistics(ctx: Context) -> None:
    seconds = statistics.refresh(ctx.db.engine)
    if seconds is not None:
        log.info("Database statistics gathered in %.2f s.", seconds)


def checkpoint_audit_trail(ctx: Context) -> None:
    """Sign the audit chain's head into a file outside the database (only the active
    scheduler runs this; see careplan.services.audit_checkpoints)."""
    from ..services import audit_checkpoints

    settings = audit_checkpoints.CheckpointSettings.from_config(
        ctx.app.config, ctx.app.instance_path
    )
    taken = audit_checkpoints.take(ctx.db, settings, ctx.clock())
    if taken.problem:
        log.error("Audit checkpoint: %s", taken.message)
    elif taken.checkpoint:
        log.info("Audit checkpoint: %s", taken.message)


# Every periodic job of the application.
JOBS: list[Job] = [
    Job(
        "reminders.sweep",
        "REMINDER_SWEEP_SECONDS",
        300,
        sweep_reminders,
        "Works out which review reminders are owed, and gathers the daily summaries",
    ),
    Job(
        "crisis.escalate",
        "CRISIS_ESCALATION_SECONDS",
        60,
        escalate_crisis_alerts,
        "Tells supervisors about crisis alerts nobody answered in time",
    ),
    Job(
        "reminders.send",
        "REMINDER_SEND_SECONDS",
        20,
        send_reminders,
        "Sends reminders, daily summaries and e-mails about accounts",
    ),
    Job(PDF_JOB, "PDF_JOB_SECONDS", 5, render_pending_pdfs, "Makes the sealed PDFs"),
    Job(
        "db.statistics",
        "DB_STATISTICS_SECONDS",
        6 * 3600,
        refresh_statistics,
        "Keeps the database's statistics up to date",
    ),
    Job(
        "audit.checkpoint",
        "AUDIT_CHECKPOINT_SECONDS",
        3600,
        checkpoint_audit_trail,
        "Signs a checkpoint of the audit trail",
    ),
]


def expected_jobs(config) -> list[ExpectedJob]:
    """Every job the scheduler runs and how often, as the app is configured."""
    return [ExpectedJob(j.name, j.about, j.every(config)) for j in JOBS]


def context_for(app, clock: Clock = utcnow, mailer: Mailer | None = None) -> Context:
    return Context(
        app,
        app.extensions[DB_KEY],
        ReminderSettings.from_config(app.config),
        mailer or mailer_from_config(app.config),
        app.config["SMTP_FROM"],
        clock,
        worker_name(),
    )


def check_discretion(config) -> list[str]:
    """Settings that would make every e-mail say what kind of service this is."""
    problems = []
    for key in ("SMTP_FROM", "PUBLIC_BASE_URL"):
        words = messages.indiscretions(str(config.get(key, "")).replace(".", " "))
        if words:
            problems.append(f"{key} contains {', '.join(words)}: reminders should not say that")
    return problems


# --- the process --------------------------------------------------------------------------------


def run(
    app,
    clock: Clock = utcnow,
    mailer: Mailer | None = None,
    jobs: list[Job] | None = None,
    poll_seconds: float = 5.0,
    stop: threading.Event | None = None,
    handle_signals: bool = True,
) -> None:
    """Stand by until this process is the active scheduler, then run the jobs until stopped
    (SIGTERM or SIGINT). If leadership is lost (the database connection broke), stop the
    jobs and stand by again."""
    ctx = context_for(app, clock, mailer)
    for problem in check_discretion(app.config):
        log.warning("Discretion: %s.", problem)
    jobs = list(JOBS if jobs is None else jobs)
    stop = stop or threading.Event()
    current: dict[str, BlockingScheduler] = {}

    def on_signal(signum, _frame):
        log.info("Stopping the scheduler (signal %s).", signum)
        stop.set()
        sched = current.get("scheduler")
        if sched is not None:
            threading.Thread(target=sched.shutdown, kwargs={"wait": False}).start()

    if handle_signals:
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    lock = leader_lock(ctx.db.url, getattr(app, "instance_path", None))
    said_standby = False
    try:
        while not stop.is_set():
            if not lock.try_acquire():
                if not said_standby:
                    log.info("Another scheduler is active; standing by to take over.")
                    said_standby = True
                stop.wait(poll_seconds)
                continue
            said_standby = False
            log.info("This scheduler is now active (pid %s).", os.getpid())
            lost = _lead(ctx, jobs, lock, poll_seconds, stop, current)
            if lost:
                log.error("Lost the scheduler lock; the jobs stopped. Standing by.")
                lock.release()
                lock = leader_lock(ctx.db.url, getattr(app, "instance_path", None))
    finally:
        lock.release()
        log.info("Scheduler stopped.")


def _lead(ctx, jobs, lock, poll_seconds, stop, current) -> bool:
    sched = BlockingScheduler(
        timezone=UTC,
        job_defaults={
            # A job that fell behind runs once, not once per missed interval; never two of
            # the same job at once in this process; and late is better than never.
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": None,
        },
    )
    lost = threading.Event()
    now = datetime.now(UTC)
    for n, job in enumerate(jobs):
        sched.add_job(
            _guarded(job, ctx),
            IntervalTrigger(seconds=int(job.every(ctx.app.config).total_seconds())),
            id=job.name,
            name=job.name,
            # At start, at once and in the listed order (sweep before send): catch up on
            # whatever was missed while no scheduler ran.
            next_run_time=now + timedelta(seconds=n),
        )

    def watchdog():
        if stop.is_set():
            sched.shutdown(wait=False)
        elif not lock.still_held():
            lost.set()
            sched.shutdown(wait=False)

    sched.add_job(watchdog, IntervalTrigger(seconds=poll_seconds), id="leader.watchdog")
    current["scheduler"] = sched
    ended = threading.Event()
    wakeups = None
    if any(job.name == PDF_JOB for job in jobs):
        wakeups = threading.Thread(
            target=_pdf_wakeups, args=(ctx, sched, ended), name="pdf-wakeups", daemon=True
        )
        wakeups.start()
    try:
        sched.start()
    finally:
        ended.set()
        current.pop("scheduler", None)
        if wakeups is not None:
            # Stopped means stopped: a standby that lost the lock, or a test, does not leave
            # it reading the database (it notices `ended` within a second).
            wakeups.join(10)
    return lost.is_set()


def _pdf_wakeups(ctx: Context, sched: BlockingScheduler, ended: threading.Event) -> None:
    """Start the PDF job as soon as a version is agreed (or a failed PDF is retried), instead
    of at its next run: woken on commit (careplan.db.notify). The periodic run stays, so a
    missed wake-up, or one while this thread reconnects, costs at most one interval."""
    from ..services.pdfs import has_due

    listener = None
    while not ended.is_set():
        try:
            if listener is None:
                listener = notify.listener(ctx.db.url, notify.PDF_JOBS)
            if not listener.wait(1.0) or not has_due(ctx.db, ctx.clock()):
                continue
            ctx.pdf_wanted.set()
            if not ctx.pdf_running.is_set():
                sched.modify_job(PDF_JOB, next_run_time=datetime.now(UTC))
        except Exception:  # noqa: BLE001 - the periodic run covers for this thread
            log.warning("PDF wake-ups paused; retrying in a few seconds.", exc_info=True)
            if listener is not None:
                listener.close()
                listener = None
            ended.wait(5)
    if listener is not None:
        listener.close()


def _guarded(job: Job, ctx: Context):
    def run_job():
        run_recorded(job, ctx)

    return run_job


def run_recorded(job: Job, ctx: Context) -> bool:
    """Run one job once and write down how it went (the Scheduler page and /health/scheduler
    read it), whoever runs it: the scheduler, or `careplan send-reminders`. A failure is
    logged, not raised: one failed run must not stop the process that runs the next."""
    try:
        with ctx.app.app_context():
            job.run(ctx)
    except Exception as exc:  # noqa: BLE001 - see above
        log.exception("Scheduled job %s failed; it runs again next time.", job.name)
        _record(ctx, job, in_brief(exc))
        return False
    _record(ctx, job, None)
    return True


def job_named(name: str) -> Job:
    return next(job for job in JOBS if job.name == name)


# A good run is written down at most this often per job (the PDF job runs every few seconds);
# a failure, and the first good run after one, always.
RECORD_EVERY = timedelta(minutes=1)


def _record(ctx: Context, job: Job, error: str | None) -> None:
    now = ctx.clock()
    last = ctx.recorded.get(job.name)
    if error is None and last is not None and now - last < RECORD_EVERY:
        return
    try:
        scheduled_jobs.record(ctx.db, job.name, now, ctx.worker, error)
    except Exception:  # noqa: BLE001 - the job's own work is done; the next run records
        log.warning("Could not write down the run of %s.", job.name, exc_info=True)
        return
    if error is None:
        ctx.recorded[job.name] = now
    else:
        ctx.recorded.pop(job.name, None)
