"""When each of the scheduler's jobs last finished, or failed, and what administrators and
monitoring are told about it (the rule: careplan.domain.scheduled_jobs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..db.engine import Database
from ..db.models import ScheduledJobRun, utcnow
from ..domain.scheduled_jobs import ExpectedJob, JobState, every_in_words, job_state
from .actor import Actor
from .admin_accounts import require_admin


@dataclass(frozen=True)
class JobView:
    name: str
    about: str
    every: str  # in words
    state: JobState
    last_ok: datetime | None
    last_failed: datetime | None
    last_error: str
    ran_by: str

    @property
    def needs_attention(self) -> bool:
        """Late, failing or never ran."""
        return self.state is not JobState.OK


def record(db: Database, name: str, now: datetime, worker: str, error: str | None = None) -> None:
    """A run of `name` finished (error None) or failed with `error`. A failure is kept after
    later good runs, so the page can say what last went wrong."""
    changed = {"ran_by": worker[:100]}
    if error is None:
        changed["last_ok_at"] = now
    else:
        changed["last_failed_at"], changed["last_error"] = now, error[:500]
    with db.write() as s:
        insert = (pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert)(
            ScheduledJobRun.__table__
        )
        s.execute(
            insert.values({"name": name, "last_error": "", **changed}).on_conflict_do_update(
                index_elements=["name"], set_=changed
            )
        )


def _views(db: Database, expected: list[ExpectedJob], now: datetime) -> list[JobView]:
    with db.read() as s:
        runs = {
            r.name: r
            for r in s.scalars(
                select(ScheduledJobRun).where(ScheduledJobRun.name.in_([j.name for j in expected]))
            )
        }
    views = []
    for job in expected:
        run = runs.get(job.name)
        last_ok = run.last_ok_at if run else None
        last_failed = run.last_failed_at if run else None
        views.append(
            JobView(
                job.name,
                job.about,
                every_in_words(job.every),
                job_state(job.every, last_ok, last_failed, now),
                last_ok,
                last_failed,
                run.last_error if run else "",
                run.ran_by if run else "",
            )
        )
    return views


def overview(
    db: Database, admin: Actor, expected: list[ExpectedJob], now: datetime | None = None
) -> list[JobView]:
    """Every job, for the administrators' page."""
    require_admin(admin)
    return _views(db, expected, now or utcnow())


def not_running(
    db: Database, expected: list[ExpectedJob], now: datetime | None = None
) -> list[JobView]:
    """The jobs that are late, failing or never ran: for the administrators' start page and
    the health check that monitoring reads (which names no person and no record)."""
    return [v for v in _views(db, expected, now or utcnow()) if v.needs_attention]


def database_answers(db: Database) -> None:
    """Raises if the database cannot be read (the health check's first question)."""
    with db.read() as s:
        s.execute(text("SELECT 1"))
