"""Each scheduler job writes down when it last finished and last failed; administrators and
the health check are told which are late, failing or never ran."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from careplan.db.engine import in_brief
from careplan.db.models import ScheduledJobRun, utcnow
from careplan.domain.scheduled_jobs import ExpectedJob, JobState, allowed_gap
from careplan.reminders import scheduler
from careplan.services import scheduled_jobs
from careplan.services.accounts import actor_for
from careplan.services.errors import NotFound
from tests.factories import AdminFactory, Circle
from tests.scheduling import scheduler_running

EXPECTED = [
    ExpectedJob("reminders.send", "Sends reminders", timedelta(seconds=20)),
    ExpectedJob(scheduler.PDF_JOB, "Makes the sealed PDFs", timedelta(seconds=5)),
]


def _runs(db) -> dict[str, ScheduledJobRun]:
    with db.read() as s:
        return {r.name: r for r in s.scalars(sa.select(ScheduledJobRun))}


def test_runs_are_written_down_and_a_failure_is_kept_after_good_runs(db):
    now = utcnow()
    scheduled_jobs.record(db, "reminders.send", now, "host-1")
    scheduled_jobs.record(db, scheduler.PDF_JOB, now, "host-1", "OSError: no such file")
    admin = actor_for(AdminFactory())
    states = {v.name: v for v in scheduled_jobs.overview(db, admin, EXPECTED, now)}
    assert states["reminders.send"].state is JobState.OK
    assert states[scheduler.PDF_JOB].state is JobState.FAILING
    assert states[scheduler.PDF_JOB].last_error == "OSError: no such file"
    later = now + timedelta(seconds=30)
    scheduled_jobs.record(db, scheduler.PDF_JOB, later, "host-2")
    [view] = [
        v
        for v in scheduled_jobs.overview(db, admin, EXPECTED, later)
        if v.name == scheduler.PDF_JOB
    ]
    assert (view.state, view.last_ok, view.last_failed) == (JobState.OK, later, now)
    assert (view.last_error, view.ran_by) == ("OSError: no such file", "host-2")
    assert scheduled_jobs.not_running(db, EXPECTED, later) == []
    # Nobody ran them for twenty minutes: both late.
    late = scheduled_jobs.not_running(db, EXPECTED, later + timedelta(minutes=20))
    assert {(v.name, v.state) for v in late} == {
        ("reminders.send", JobState.LATE),
        (scheduler.PDF_JOB, JobState.LATE),
    }


def test_a_job_that_never_ran_is_listed(db):
    [never] = scheduled_jobs.not_running(db, EXPECTED[:1])
    assert (never.name, never.state, never.last_ok) == ("reminders.send", JobState.NEVER_RAN, None)


def test_only_administrators_see_the_jobs(db):
    circle = Circle()
    for person in (circle.client, circle.key_worker, circle.supervisor, circle.advocate):
        with pytest.raises(NotFound):
            scheduled_jobs.overview(db, actor_for(person), EXPECTED)


def test_the_scheduler_writes_good_runs_at_most_once_a_minute_and_every_failure(app, db):
    clock = [utcnow()]
    ctx = scheduler.context_for(app, lambda: clock[0])
    outcome = {"fail": False}

    def work(_ctx):
        if outcome["fail"]:
            raise RuntimeError("the disk is full")

    run = scheduler._guarded(scheduler.Job(scheduler.PDF_JOB, "PDF_JOB_SECONDS", 5, work), ctx)
    first = clock[0]
    run()
    clock[0] += timedelta(seconds=30)
    run()  # within the minute: not written again
    assert _runs(db)[scheduler.PDF_JOB].last_ok_at == first
    clock[0] += timedelta(seconds=31)
    run()
    assert _runs(db)[scheduler.PDF_JOB].last_ok_at == clock[0]
    outcome["fail"] = True
    clock[0] += timedelta(seconds=5)
    run()
    row = _runs(db)[scheduler.PDF_JOB]
    assert row.last_failed_at == clock[0] and row.last_error == "RuntimeError: the disk is full"
    outcome["fail"] = False
    clock[0] += timedelta(seconds=5)
    run()  # the first good run after a failure is written at once
    assert _runs(db)[scheduler.PDF_JOB].last_ok_at == clock[0]


def test_a_running_scheduler_shows_its_jobs_running(app, db):
    """The real scheduler loop, in a thread: its jobs write themselves down as they run."""

    def fine(_ctx):
        pass

    def broken(_ctx):
        raise ValueError("cannot read the seal key")

    jobs = [
        scheduler.Job("reminders.send", "REMINDER_SEND_SECONDS", 20, fine),
        scheduler.Job("audit.checkpoint", "AUDIT_CHECKPOINT_SECONDS", 5, broken),
    ]
    watched = [ExpectedJob(j.name, "", timedelta(seconds=5)) for j in jobs]
    with scheduler_running(app, jobs, 30):
        deadline = time.monotonic() + 30
        while len(_runs(db)) < 2:
            assert time.monotonic() < deadline, "the jobs did not write themselves down"
            time.sleep(0.05)
    states = {
        v.name: v.state for v in scheduled_jobs.overview(db, actor_for(AdminFactory()), watched)
    }
    assert states == {"reminders.send": JobState.OK, "audit.checkpoint": JobState.FAILING}
    assert _runs(db)["audit.checkpoint"].last_error == "ValueError: cannot read the seal key"


def _until(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_job_that_hangs_is_reported_late_while_the_others_run_on(app, db, monkeypatch):
    """A run that never returns (a mail server that never answers, say) writes nothing more
    down, so /health/scheduler names that job late once its allowed gap has passed, although
    the scheduler still holds its lock and its other jobs go on."""
    clock = [utcnow()]
    hung, release = threading.Event(), threading.Event()
    sends = []

    def fine(_ctx):
        pass

    def send(_ctx):
        sends.append(1)
        if len(sends) > 1:  # one good run, then it hangs
            hung.set()
            release.wait(60)

    # Every job of the app, each run every second.
    jobs = [
        scheduler.Job(j.name, "NOT_SET", 1, send if j.name == "reminders.send" else fine)
        for j in scheduler.JOBS
    ]
    monkeypatch.setattr(scheduled_jobs, "utcnow", lambda: clock[0])
    anonymous = app.test_client()

    def written_since(moment) -> set[str]:
        return {n for n, r in _runs(db).items() if r.last_ok_at and r.last_ok_at >= moment}

    with scheduler_running(app, jobs, 30, lambda: clock[0]):
        try:
            start = clock[0]
            _until(lambda: hung.is_set() and len(written_since(start)) == len(jobs))
            answer = anonymous.get("/health/scheduler")
            assert (answer.status_code, answer.get_json()) == (200, {"scheduler": "ok"})
            clock[0] += allowed_gap(scheduler.job_named("reminders.send").every(app.config))
            clock[0] += timedelta(seconds=1)
            moved = clock[0]
            _until(lambda: len(written_since(moved)) == len(jobs) - 1)
            answer = anonymous.get("/health/scheduler")
            assert (answer.status_code, answer.get_json()) == (
                503,
                {"scheduler": {"reminders.send": "late"}},
            )
        finally:
            release.set()


def test_a_database_error_is_written_down_without_its_statement_or_values():
    from sqlalchemy.exc import IntegrityError

    error = IntegrityError(
        "INSERT INTO notes (text) VALUES (?)",
        ("what the client said",),
        Exception("UNIQUE constraint failed: notes.id\nmore detail"),
    )
    brief = in_brief(error)
    assert brief == "Exception: UNIQUE constraint failed: notes.id"
    assert "client said" not in brief and "INSERT" not in brief
    assert in_brief(RuntimeError("")) == "RuntimeError"


def _failing_once(name: str):
    """The job `name`, failing on its first run and doing its work after that."""
    job = scheduler.job_named(name)
    runs = []

    def run(ctx):
        runs.append(ctx.clock())
        if len(runs) == 1:
            raise OSError("the mail server did not answer")
        job.run(ctx)

    return dataclasses.replace(job, run=run), runs


def test_send_reminders_writes_down_each_run_like_the_scheduler(app, db):
    result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    runs = _runs(db)
    assert set(runs) == {"reminders.sweep", "crisis.escalate", "reminders.send"}
    assert all(r.last_ok_at is not None and r.last_failed_at is None for r in runs.values())
    # --no-sweep sends only: the sweep's row is not touched again.
    swept = runs["reminders.sweep"].last_ok_at
    assert app.test_cli_runner().invoke(args=["send-reminders", "--no-sweep"]).exit_code == 0
    assert _runs(db)["reminders.sweep"].last_ok_at == swept


def test_a_failed_run_of_send_reminders_is_written_down_and_says_so(app, db, monkeypatch):
    failing, _ = _failing_once("reminders.send")
    monkeypatch.setattr(
        scheduler, "JOBS", [failing if j.name == failing.name else j for j in scheduler.JOBS]
    )
    result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert result.exit_code == 1
    assert "Could not finish reminders.send" in result.output
    run = _runs(db)["reminders.send"]
    assert (run.last_ok_at, run.last_error) == (None, "OSError: the mail server did not answer")
    # The other jobs still ran.
    assert _runs(db)["reminders.sweep"].last_ok_at is not None


def test_the_send_reminders_loop_goes_on_after_a_failed_run(app, db, monkeypatch):
    failing, runs = _failing_once("reminders.send")
    monkeypatch.setattr(
        scheduler, "JOBS", [failing if j.name == failing.name else j for j in scheduler.JOBS]
    )

    class Stop(Exception):
        pass

    pauses = []

    def sleep(seconds):
        pauses.append(seconds)
        if len(pauses) == 2:
            raise Stop

    monkeypatch.setattr(time, "sleep", sleep)
    result = app.test_cli_runner().invoke(args=["send-reminders", "--loop", "7"])
    assert isinstance(result.exception, Stop), result.output
    # Ran, failed, paused, ran again and succeeded, paused: the failure did not end the loop.
    assert (len(runs), pauses) == (2, [7, 7])
    run = _runs(db)["reminders.send"]
    assert run.last_ok_at is not None and run.last_ok_at >= run.last_failed_at
    assert run.last_error == "OSError: the mail server did not answer"
