"""Acceptance: each reminder is delivered exactly once, whatever the processes do.

10,000 agreed plans with reviews due around "now" (seeded in bulk), two scheduler processes
(`careplan.reminders.scheduler.run`, leader-elected: PostgreSQL advisory lock, or the lock
file next to the SQLite database) and three sender workers, each its own OS process with its
own connections, all reading one injected clock. E-mails go to a shared outbox file (one
line per message the "SMTP server" accepted); in-app notifications and digests are counted
in the database.

1. The active scheduler is killed with SIGKILL in the middle of its sweep; the standby takes
   over, the killed one is restarted (and stands by).
2. Everything stops, the clock moves on three days ("downtime"), everything starts again.

Afterwards: the reminders recorded are exactly those the rules owe for the two days seen,
each e-mail reminder is in the outbox exactly once, each notification exists once, and each
key worker and supervisor got one digest per day.

Run as a module (`python -m tests.integration.test_reminders_exactly_once ROLE ...`) this file
is also the child process the test starts.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from careplan.db.engine import make_engine
from careplan.db.models import Base, Notification, Reminder, ReminderDigest
from careplan.domain.local_time import service_day
from careplan.domain.reviews import ClientChannel, ReminderRules, client_channels, owed_for_review
from careplan.reminders.mail import row_message_id

ROOT = Path(__file__).resolve().parents[2]
MODULE = "tests.integration.test_reminders_exactly_once"

PLANS = 10_000
TEAMS = 10
WORKERS = 100  # 10 per team, 100 clients each
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # after the digest hour, 07:00 (London in winter: UTC)
DOWNTIME = timedelta(days=3)
SENDERS = 3
SETTLE_SECONDS = 150

CHILD_CONFIG = {
    "ENV": "testing",
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_KIB": 1024,
    "PUBLIC_BASE_URL": "https://app.example.org",
    "SMTP_FROM": "Reminders <reminders@example.org>",
    "REMINDER_SWEEP_SECONDS": 2,
    "REMINDER_SWEEP_BATCH": 200,  # many short transactions: a kill lands mid-sweep
    "REMINDER_CLAIM_BATCH": 100,
}


# --- the child processes ------------------------------------------------------------------------


def file_clock(path: str):
    """Now, as the test says: a start time in the file, advancing in real time. The test
    moves the clock by rewriting the file; every process follows."""
    state = {"mtime": None}

    def now() -> datetime:
        mtime = os.stat(path).st_mtime_ns
        if mtime != state["mtime"]:
            start, real = Path(path).read_text().split()
            state.update(mtime=mtime, start=datetime.fromisoformat(start), real=float(real))
        return state["start"] + timedelta(seconds=time.time() - state["real"])

    return now


def _child(role: str, url: str, clock_file: str, outbox: str, instance: str) -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    logging.getLogger("careplan.reminders").setLevel(logging.DEBUG)
    from careplan import create_app
    from careplan.reminders.mail import OutboxFileMailer
    from careplan.reminders.scheduler import JOBS, context_for, run
    from careplan.reminders.sender import send_pending

    app = create_app({**CHILD_CONFIG, "DATABASE_URL": url}, instance_path=instance)
    clock, mailer = file_clock(clock_file), OutboxFileMailer(outbox)
    if role == "scheduler":
        # Senders are separate processes here; the scheduler only sweeps.
        sweep = [job for job in JOBS if job.name == "reminders.sweep"]
        run(app, clock=clock, mailer=mailer, jobs=sweep, poll_seconds=0.5)
        return
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    ctx = context_for(app, clock, mailer)
    logging.getLogger("careplan.reminders").info("Sender %s ready.", ctx.worker)
    while not stop:
        report = send_pending(ctx.db, ctx.settings, mailer, ctx.sender, clock, ctx.worker)
        if not report:
            time.sleep(0.2)


# --- the test's side ----------------------------------------------------------------------------


class Child:
    def __init__(self, role: str, name: str, url: str, tmp: Path):
        self.name = name
        self.log = tmp / f"{name}.log"
        args = [role, url, str(tmp / "clock"), str(tmp / "outbox.jsonl"), str(tmp / "instance")]
        self.process = subprocess.Popen(
            [sys.executable, "-m", MODULE, *args],
            cwd=ROOT,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def wait_for(self, needle: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no {needle!r} in time:\n{self.text()[-3000:]}")
            time.sleep(0.02)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def set_clock(tmp: Path, at: datetime) -> None:
    (tmp / "clock").write_text(f"{at.isoformat()} {time.time()}")


def seed(url: str) -> list[tuple[int, int, int, int | None, datetime]]:
    """Teams, supervisors, key workers, clients on caseloads, and one agreed plan each with
    its review date between 20 days ago and 20 days ahead. Core bulk inserts, no services.
    Returns (document, client, key worker, team, channel, due date) per plan."""
    t = Base.metadata.tables
    now, today = T0, service_day(T0)
    users, links, docs, plans = [], [], [], []

    def user(uid, role, team=None, channel=None):
        users.append(
            {
                "id": uid,
                "email": f"u{uid}@example.org",
                "display_name": f"Person {uid}",
                "role": role,
                "password_hash": "x",
                "team_id": team,
                "active": True,
                "session_epoch": 0,
                "created_at": now,
                "reminder_channel": channel,
            }
        )

    for team in range(1, TEAMS + 1):
        user(team, "supervisor")
    for w in range(WORKERS):
        user(TEAMS + 1 + w, "key_worker", team=1 + w % TEAMS)
    first_client = TEAMS + WORKERS + 1
    for i in range(PLANS):
        cid, wid = first_client + i, TEAMS + 1 + i % WORKERS
        channel = (None, "app", "none", "email")[i % 4]
        due = today + timedelta(days=i % 41 - 20)
        user(cid, "client", channel=channel)
        links.append({"id": i + 1, "client_id": cid, "key_worker_id": wid, "started_at": now})
        docs.append(
            {
                "id": i + 1,
                "client_id": cid,
                "kind": "care_plan",
                "title": "Care plan",
                "head_number": 0,
                "created_by_id": cid,
                "created_at": now,
                "updated_at": now,
                "next_review_on": due,
                "next_review_reason": "interval",
                "scheduled_review_on": due,
                "last_reviewed_on": due - timedelta(weeks=12),
                "review_cycle": 1,
            }
        )
        plans.append((i + 1, cid, wid, 1 + (wid - TEAMS - 1) % TEAMS, channel, due))
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            t["teams"].insert(),
            [{"id": n, "name": f"Team {n}", "created_at": now} for n in range(1, TEAMS + 1)],
        )
        conn.execute(t["users"].insert(), users)
        conn.execute(
            t["supervisor_teams"].insert(),
            [{"supervisor_id": n, "team_id": n} for n in range(1, TEAMS + 1)],
        )
        conn.execute(t["caseload_links"].insert(), links)
        conn.execute(t["documents"].insert(), docs)
        if conn.dialect.name == "postgresql":
            for table in ("teams", "users", "caseload_links", "documents"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    engine.dispose()
    return plans


def expected_keys(plans, day) -> set[tuple]:
    """What the rules owe on `day`, worked out here from the seed, independently of the sweep."""
    rules, keys = ReminderRules(), set()
    for doc, client, worker, team, channel, due in plans:
        for owed in owed_for_review(due, day, rules):
            if owed.kind == "escalation":
                people = [(team, ("app", "digest"))]
            else:
                mine = client_channels(channel, ClientChannel.EMAIL)
                people = [(client, mine), (worker, ("app", "digest"))]
            for uid, channels in people:
                for ch in channels:
                    keys.add((doc, due, owed.kind, uid, ch))
    return keys


def settled(db, count: int) -> bool:
    with db.read() as s:
        total = s.scalar(sa.select(sa.func.count()).select_from(Reminder))
        open_rows = s.scalar(
            sa.select(sa.func.count())
            .select_from(Reminder)
            .where(Reminder.status.in_(("pending", "sending", "digested")))
        )
        open_digests = s.scalar(
            sa.select(sa.func.count())
            .select_from(ReminderDigest)
            .where(ReminderDigest.status.in_(("pending", "sending")))
        )
    return total == count and open_rows == 0 and open_digests == 0


def wait_settled(db, count: int, children: list[Child]) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while not settled(db, count):
        for child in children:
            assert child.process.poll() is None, f"{child.name} died:\n{child.text()[-3000:]}"
        assert time.monotonic() < deadline, "reminders were not all delivered in time"
        time.sleep(0.5)


@pytest.mark.slow(seconds=80)
def test_each_reminder_is_delivered_exactly_once_across_processes_kills_and_downtime(
    db, database_url, tmp_path
):
    started = time.monotonic()
    plans = seed(database_url)
    seeded = time.monotonic() - started
    day1, day2 = service_day(T0), service_day(T0 + DOWNTIME)
    first, second = expected_keys(plans, day1), expected_keys(plans, day2)
    missed = second - first
    assert len(first) > 25_000 and len(missed) > 5_000  # a real load, and real catch-up

    children: list[Child] = []
    try:
        # --- day one: kill the active scheduler in the middle of its sweep -----------------
        set_clock(tmp_path, T0 - timedelta(days=60))  # nothing is due yet
        a = Child("scheduler", "scheduler-a", database_url, tmp_path)
        children.append(a)
        a.wait_for("now active")
        b = Child("scheduler", "scheduler-b", database_url, tmp_path)
        children.append(b)
        b.wait_for("standing by")
        senders = [Child("sender", f"sender-{n}", database_url, tmp_path) for n in range(SENDERS)]
        children += senders
        for sender in senders:
            sender.wait_for("ready")
        set_clock(tmp_path, T0)  # everything is up: now the reviews fall due
        a.wait_for("Swept 400 of")
        a.kill()
        children.remove(a)
        assert "Reminders owed:" not in a.text(), "the sweep had finished before the kill"
        b.wait_for("now active")
        a2 = Child("scheduler", "scheduler-a-again", database_url, tmp_path)
        children.append(a2)
        a2.wait_for("standing by")
        wait_settled(db, len(first), children)
        day_one = time.monotonic() - started

        # --- three days of downtime, then everything starts again ---------------------------
        for child in children:
            child.stop()
        children = []
        set_clock(tmp_path, T0 + DOWNTIME)
        children = [
            Child("scheduler", f"scheduler-{n}-day-four", database_url, tmp_path) for n in "ab"
        ]
        children += [
            Child("sender", f"sender-{n}-day-four", database_url, tmp_path) for n in range(SENDERS)
        ]
        wait_settled(db, len(first | second), children)
    finally:
        for child in children:
            child.stop()

    # --- exactly the reminders owed, each delivered once ---------------------------------------
    with db.read() as s:
        reminders = s.execute(
            sa.select(
                Reminder.id,
                Reminder.document_id,
                Reminder.due_on,
                Reminder.kind,
                Reminder.recipient_id,
                Reminder.channel,
                Reminder.status,
                Reminder.digest_id,
                Reminder.created_at,
            )
        ).all()
        notes = Counter(s.scalars(sa.select(Notification.reminder_id)))
        digests = s.execute(
            sa.select(
                ReminderDigest.id,
                ReminderDigest.recipient_id,
                ReminderDigest.day,
                ReminderDigest.status,
                ReminderDigest.created_at,
            )
        ).all()
    assert {r[1:6] for r in reminders} == first | second
    assert {r.status for r in reminders} == {"sent"}

    outbox = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    sent_ids = Counter(m["message_id"] for m in outbox)
    assert max(sent_ids.values()) == 1, "an e-mail was sent twice"
    sender, base_url = CHILD_CONFIG["SMTP_FROM"], CHILD_CONFIG["PUBLIC_BASE_URL"]
    emails = {
        row_message_id("reminder", r.id, r.created_at, sender, base_url)
        for r in reminders
        if r.channel == "email"
    }
    mailed = {row_message_id("digest", d.id, d.created_at, sender, base_url) for d in digests}
    assert set(sent_ids) == emails | mailed

    in_app = {r.id for r in reminders if r.channel == "app"}
    assert set(notes) == in_app and max(notes.values()) == 1

    # One digest per key worker or supervisor and day, holding every one of their reminders.
    assert {d.status for d in digests} == {"sent"}
    assert Counter((d.recipient_id, d.day) for d in digests).most_common(1)[0][1] == 1
    assert {d.day for d in digests} == {day1, day2}
    staff = {r.recipient_id for r in reminders if r.channel == "digest"}
    assert {(d.recipient_id, d.day) for d in digests} == {
        (u, day) for u in staff for day in (day1, day2)
    }
    assert all(r.digest_id is not None for r in reminders if r.channel == "digest")

    # Every reminder that fell due during the downtime was caught up, once.
    by_key = {r[1:6]: r for r in reminders}
    assert all(by_key[k].status == "sent" for k in missed)
    print(
        f"\n{len(reminders)} reminders ({len(emails)} e-mails, {len(in_app)} in-app, "
        f"{len(digests)} digests); seeding {seeded:.1f}s, day one {day_one:.1f}s, "
        f"total {time.monotonic() - started:.1f}s"
    )


if __name__ == "__main__":
    _child(*sys.argv[1:6])
