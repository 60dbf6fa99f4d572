"""The reminder sweep's cost follows what is due, not the size of the database.

Two databases with the same people and the same 1,000 documents due for a reminder: one with
10,000 documents in all, one with 1,000,000. The sweep (careplan.services.reminders.sweep)
is timed on each, and the ratio of the medians is the result (goal: at most 2).

    .venv/bin/python -m bench.reminders                   # SQLite
    .venv/bin/python -m bench.reminders --db both         # SQLite, then PostgreSQL
    .venv/bin/python -m bench.reminders --help

Seeding is bulk (raw executemany on SQLite, COPY on PostgreSQL): documents, people and
caseloads are all the sweep reads. Results go to bench/results/reminders-<db>.json and, as a
table, to bench/RESULTS_reminders.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from careplan.db import migrate
from careplan.db import statistics as db_statistics
from careplan.db.engine import Database, make_engine
from careplan.services import reminders
from careplan.services.reminders import ReminderSettings

from .options import add_database_options

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
RESULTS_MD = HERE / "RESULTS_reminders.md"
BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
TEAMS, WORKERS, CLIENTS = 10, 100, 10_000
FIRST_CLIENT = TEAMS + WORKERS + 1


def log(msg: str) -> None:
    print(msg, flush=True)


# --- seeding ------------------------------------------------------------------------------------


def _due_date(doc: int, due_every: int) -> date | None:
    """The same documents are due in both databases: every `due_every`-th of the first
    10,000, with review dates from 16 days ago to 14 days ahead (every kind of reminder)."""
    if doc <= CLIENTS and doc % due_every == 0:
        return TODAY + timedelta(days=(doc // due_every) % 31 - 16)
    if doc % 10 == 3:
        return None  # never agreed
    return TODAY + timedelta(days=30 + doc % 60)  # agreed, review well ahead


def _people() -> tuple[list, list, list, list]:
    teams = [(n, f"Team {n}", NOW) for n in range(1, TEAMS + 1)]
    users, links = [], []

    def user(uid, role, team=None, channel=None):
        users.append(
            (uid, f"u{uid}@example.org", f"Person {uid}", role, "x", team, True, 0, NOW, channel)
        )

    for n in range(1, TEAMS + 1):
        user(n, "supervisor")
    for w in range(WORKERS):
        user(TEAMS + 1 + w, "key_worker", 1 + w % TEAMS)
    for c in range(CLIENTS):
        cid = FIRST_CLIENT + c
        user(cid, "client", channel=(None, "app", "none")[c % 3])
        links.append((c + 1, cid, TEAMS + 1 + c % WORKERS, NOW))
    supervisor_teams = [(n, n) for n in range(1, TEAMS + 1)]
    return teams, users, links, supervisor_teams


COLUMNS = {
    "teams": ("id", "name", "created_at"),
    "users": (
        "id", "email", "display_name", "role", "password_hash", "team_id", "active",
        "session_epoch", "created_at", "reminder_channel",
    ),
    "caseload_links": ("id", "client_id", "key_worker_id", "started_at"),
    "supervisor_teams": ("supervisor_id", "team_id"),
    "documents": (
        "id", "client_id", "kind", "title", "head_number", "created_by_id", "created_at",
        "updated_at", "next_review_on", "next_review_reason", "scheduled_review_on",
        "review_cycle",
    ),
}  # fmt: skip


def _documents(first: int, last: int, due_every: int):
    for doc in range(first, last + 1):
        client = FIRST_CLIENT + (doc - 1) % CLIENTS
        due = _due_date(doc, due_every)
        yield (
            doc, client, "care_plan", "Care plan", 1, client, NOW, NOW, due,
            "interval" if due else None, due, 1 if due else 0,
        )  # fmt: skip


def _sqlite_value(v):
    # The storage formats SQLAlchemy's SQLite types use (UTCDateTime stores naive UTC).
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    return v


def seed(engine: sa.Engine, documents: int, due_every: int) -> float:
    started = time.perf_counter()
    teams, users, links, supervisor_teams = _people()
    raw = engine.raw_connection()
    try:
        cur = raw.driver_connection.cursor()
        if engine.dialect.name == "sqlite":

            def put(table, rows):
                cols = COLUMNS[table]
                sql = (
                    f"INSERT INTO {table} ({', '.join(cols)}) "
                    f"VALUES ({', '.join('?' for _ in cols)})"
                )
                batch = []
                for row in rows:
                    batch.append(tuple(_sqlite_value(v) for v in row))
                    if len(batch) == 50_000:
                        cur.executemany(sql, batch)
                        batch = []
                if batch:
                    cur.executemany(sql, batch)

            cur.execute("BEGIN")
        else:

            def put(table, rows):
                with cur.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)

        put("teams", teams)
        put("users", users)
        put("caseload_links", links)
        put("supervisor_teams", supervisor_teams)
        put("documents", _documents(1, documents, due_every))
        if engine.dialect.name == "postgresql":
            for table in ("teams", "users", "caseload_links", "documents"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        raw.commit()
    finally:
        raw.close()
    db_statistics.refresh(engine)  # SQLite: what the scheduler does at start
    if engine.dialect.name == "postgresql":
        # Done now, so autovacuum does not start on the fresh rows while the sweep is timed.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    return time.perf_counter() - started


# --- measuring ----------------------------------------------------------------------------------


def _plan(engine: sa.Engine, settings: ReminderSettings) -> str:
    """How the database finds the due documents (it must use the index)."""
    horizon = TODAY + timedelta(days=settings.rules.look_ahead_days)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id, client_id, next_review_on FROM documents "
                "WHERE next_review_on <= ? ORDER BY next_review_on, id",
                (horizon.isoformat(),),
            ).all()
            return "; ".join(r[-1] for r in rows)
        rows = conn.exec_driver_sql(
            "EXPLAIN SELECT id, client_id, next_review_on FROM documents "
            "WHERE next_review_on <= %(h)s ORDER BY next_review_on, id",
            {"h": horizon},
        ).all()
        return " / ".join(r[0].strip() for r in rows)


def _clear(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("TRUNCATE reminders CASCADE")  # no dead rows left behind
        else:
            conn.exec_driver_sql("DELETE FROM reminders")


class Target:
    """One seeded database and its timings."""

    def __init__(self, url: str):
        self.db = Database(url)
        self.settings = ReminderSettings(base_url="https://app.example.org")
        self.first: list[float] = []
        self.repeat: list[float] = []
        self.outcomes: set[tuple[int, int]] = set()
        reminders.sweep(self.db, self.settings, NOW)  # warm caches and compiled statements

    def round(self) -> None:
        _clear(self.db.engine)
        gc.collect()
        start = time.perf_counter()
        report = reminders.sweep(self.db, self.settings, NOW)
        self.first.append(time.perf_counter() - start)
        self.outcomes.add((report.reviews_checked, report.inserted))
        start = time.perf_counter()
        again = reminders.sweep(self.db, self.settings, NOW)
        self.repeat.append(time.perf_counter() - start)
        assert again.inserted == 0

    def result(self) -> dict:
        assert len(self.outcomes) == 1, self.outcomes
        checked, rows = next(iter(self.outcomes))
        with self.db.read() as s:
            total = s.scalar(sa.text("SELECT count(*) FROM documents"))
        result = {
            "documents": total,
            "due": checked,
            "reminders_recorded": rows,
            "first_ms": [round(t * 1000, 2) for t in self.first],
            "repeat_ms": [round(t * 1000, 2) for t in self.repeat],
            "first_median_ms": round(statistics.median(self.first) * 1000, 2),
            "repeat_median_ms": round(statistics.median(self.repeat) * 1000, 2),
            "plan": _plan(self.db.engine, self.settings),
        }
        self.db.dispose()
        return result


# --- one backend ----------------------------------------------------------------------------------


def _pg_admin(server: str, sql: str) -> None:
    engine = make_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def run_backend(backend: str, sizes: list[int], due: int, rounds: int, pg: str, keep: bool):
    due_every = CLIENTS // due
    urls, cleanups, seconds = {}, [], {}
    try:
        for size in sizes:
            if backend == "sqlite":
                path = RESULTS_DIR / f"reminders-{size}.db"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                urls[size] = f"sqlite:///{path}"
                if not keep:
                    cleanups.append(lambda p=path: [
                        Path(f"{p}{x}").unlink(missing_ok=True) for x in ("", "-wal", "-shm")
                    ])  # fmt: skip
            else:
                name = f"careplan_bench_reminders_{size}_{uuid.uuid4().hex[:6]}"
                _pg_admin(pg, f'CREATE DATABASE "{name}"')
                urls[size] = f"{pg}/{name}"
                if not keep:
                    cleanups.append(
                        lambda n=name: _pg_admin(pg, f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')
                    )
            log(f"  {BACKENDS[backend]}: {size:,} documents, {due:,} due: migrating and seeding")
            migrate.upgrade(urls[size])
            engine = make_engine(urls[size])
            seconds[size] = seed(engine, size, due_every)
            engine.dispose()
            log(f"    seeded in {seconds[size]:.1f}s")
        targets = {size: Target(urls[size]) for size in sizes}
        log(f"  sweeping each {rounds} times, alternating")
        for _ in range(rounds):
            for size in sizes:
                targets[size].round()
        out = {}
        for size in sizes:
            out[size] = targets[size].result()
            out[size]["seed_seconds"] = round(seconds[size], 1)
            log(
                f"    {size:,} documents: first sweep median {out[size]['first_median_ms']} ms "
                f"({out[size]['reminders_recorded']} reminders), "
                f"repeat {out[size]['repeat_median_ms']} ms"
            )
    finally:
        for cleanup in cleanups:
            cleanup()
    small, big = out[sizes[0]], out[sizes[1]]
    return {
        "backend": backend,
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "software": _software(backend, pg),
        "sizes": {str(k): v for k, v in out.items()},
        "ratio_first": round(big["first_median_ms"] / small["first_median_ms"], 2),
        "ratio_repeat": round(big["repeat_median_ms"] / small["repeat_median_ms"], 2),
    }


def _machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_gb = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        mem_gb = 0
    return f"{os.cpu_count()} CPUs ({cpu}), {mem_gb:.1f} GB RAM, {platform.system()} {platform.release()}"


def _software(backend: str, pg: str) -> str:
    import sqlite3

    base = f"Python {platform.python_version()}, SQLAlchemy {sa.__version__}"
    if backend == "sqlite":
        return f"{base}, SQLite {sqlite3.sqlite_version}"
    engine = make_engine(f"{pg}/postgres")
    with engine.connect() as conn:
        version = conn.exec_driver_sql("SHOW server_version").scalar()
    engine.dispose()
    return f"{base}, PostgreSQL {version}"


# --- the report -----------------------------------------------------------------------------------


def write_markdown() -> None:
    runs = []
    for backend in BACKENDS:
        path = RESULTS_DIR / f"reminders-{backend}.json"
        if path.exists():
            runs.append(json.loads(path.read_text()))
    lines = [
        "# Benchmark: the reminder sweep",
        "",
        "Made by `.venv/bin/python -m bench.reminders --db both`. The sweep "
        "(`careplan.services.reminders.sweep`) records every reminder owed today. Two "
        "databases hold the same people (10 teams, 100 key workers, 10,000 clients) and the "
        "same 1,000 documents due for a reminder; one has 10,000 documents in all, the other "
        "1,000,000 (the rest agreed with reviews weeks ahead, or never agreed). Goal: the "
        "sweep over 1,000,000 takes at most twice as long as over 10,000.",
        "",
        "- *First sweep*: the reminders table emptied before each round, so the sweep records "
        "every reminder owed (about four per due document: client, key worker, channels).",
        "- *Repeat sweep*: straight after, with everything already recorded (what the "
        "scheduler does every few minutes all day): reads only, no write lock.",
        "",
        "| Database | documents | due | reminders recorded | first sweep, median ms | "
        "repeat sweep, median ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        for size, r in run["sizes"].items():
            lines.append(
                f"| {BACKENDS[run['backend']]} | {int(size):,} | {r['due']:,} | "
                f"{r['reminders_recorded']:,} | {r['first_median_ms']} | {r['repeat_median_ms']} |"
            )
    lines += [
        "",
        "| Database | ratio 1,000,000 ÷ 10,000, first sweep | repeat sweep |",
        "|---|---:|---:|",
    ]
    for run in runs:
        lines.append(
            f"| {BACKENDS[run['backend']]} | **{run['ratio_first']}** | **{run['ratio_repeat']}** |"
        )
    lines += ["", "How each database finds the due documents (the index on `next_review_on`):", ""]
    for run in runs:
        big = list(run["sizes"].values())[-1]
        lines.append(f"- {BACKENDS[run['backend']]}: `{big['plan']}`")
    lines += [""]
    for run in runs:
        lines.append(
            f"- {BACKENDS[run['backend']]} run {run['when']}: {run['software']}; {run['machine']}. "
            f"Seeding took {', '.join(str(r['seed_seconds']) + ' s' for r in run['sizes'].values())}. "
            f"Rounds (ms), first sweep: "
            + "; ".join(
                f"{int(s):,}: {', '.join(map(str, r['first_ms']))}" for s, r in run["sizes"].items()
            )
        )
    RESULTS_MD.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    add_database_options(parser, "sqlite")
    parser.add_argument("--small", type=int, default=10_000, help="documents in the small database")
    parser.add_argument("--big", type=int, default=1_000_000, help="documents in the big database")
    parser.add_argument("--due", type=int, default=1_000, help="documents due (both databases)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the seeded databases")
    args = parser.parse_args(argv)
    if args.small < CLIENTS or CLIENTS % args.due:
        parser.error(f"--small must be at least {CLIENTS:,} and --due must divide {CLIENTS:,}")
    RESULTS_DIR.mkdir(exist_ok=True)
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for backend in backends:
        log(f"Reminder sweep on {BACKENDS[backend]}")
        result = run_backend(
            backend, [args.small, args.big], args.due, args.rounds, args.pg_url, args.keep
        )
        (RESULTS_DIR / f"reminders-{backend}.json").write_text(json.dumps(result, indent=2))
        log(
            f"  ratio {args.big:,} ÷ {args.small:,}: first sweep {result['ratio_first']}, "
            f"repeat {result['ratio_repeat']} (goal ≤ 2)"
        )
    write_markdown()
    log(f"Written {RESULTS_MD.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
