"""The supervisors' review-date audit at 100,000 documents against 1,000.

Two databases with the same people around the documents: 50 teams, 1,000 key workers, one
supervisor over all the teams and one over a single team. One holds 1,000 clients, each with
one document and an open caseload link; the other 100,000. Sign-off states, agreed versions
and review dates are spread so that every dashboard state occurs (some reviews overdue), and
the review log holds the reviews done in the last 13 months.

    .venv/bin/python -m bench.supervision                 # SQLite
    .venv/bin/python -m bench.supervision --db both       # SQLite, then PostgreSQL
    .venv/bin/python -m bench.supervision --help

Measured (careplan.services.supervision), first as the app is, then again with a proposed fix
(indexes, SQLite statistics and a rewritten query, monkeypatched here only):

- the dashboard's first page: default filters, the "overdue" state filter, sorted by client
  name; median and 95th percentile. Goal: first page at 100,000 ÷ at 1,000 ≤ 1.5;
- the CSV export of all rows: tracemalloc peak while consuming it (goal: 100,000 ÷ 1,000 ≤ 2)
  and wall time; it records one hash-chained "export" audit event per client, so 100,000;
- charts() (no goal).

Results go to bench/results/supervision-<db>.json and, as a table, to
bench/RESULTS_supervision.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from careplan.db import migrate
from careplan.db.engine import Database, make_engine
from careplan.db.models import CaseloadLink, Document, Team, User
from careplan.domain.roles import Role
from careplan.domain.supervision import DUE_SOON_DAYS, DashState, Filters, dash_state
from careplan.services import supervision
from careplan.services.actor import Actor

from .content import FIRST_NAMES, LAST_NAMES

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
RESULTS_MD = HERE / "RESULTS_supervision.md"
DEFAULT_PG = os.environ.get("CAREPLAN_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
TEAMS, WORKERS = 50, 1_000
SUPERVISOR, ONE_TEAM_SUPERVISOR = 1, 2  # over all 50 teams; over team 1 only
FIRST_WORKER = 3
FIRST_CLIENT = FIRST_WORKER + WORKERS
SEED = 20270301
ACTOR = Actor(id=SUPERVISOR, role=Role.SUPERVISOR, name="Sam Supervisor")
ONE_TEAM_ACTOR = Actor(id=ONE_TEAM_SUPERVISOR, role=Role.SUPERVISOR, name="Tess Teamlead")


def log(msg: str) -> None:
    print(msg, flush=True)


# --- seeding ------------------------------------------------------------------------------------


def _name(rng: random.Random) -> str:
    initial = chr(ord("A") + rng.randrange(26))
    return f"{rng.choice(FIRST_NAMES)} {initial}. {rng.choice(LAST_NAMES)}"


def _people(clients: int) -> tuple[list, list, list, list]:
    """The same teams, supervisor and key workers in every database; `clients` clients, each
    on the caseload of a key worker picked at random."""
    rng = random.Random(SEED)
    at = NOW - timedelta(days=3 * 365)
    teams = [(n, f"Team {n:02d}", at) for n in range(1, TEAMS + 1)]
    users = [
        (a.id, f"s{a.id}@example.org", a.name, "supervisor", "x", None, True, 0, at)
        for a in (ACTOR, ONE_TEAM_ACTOR)
    ]
    for w in range(WORKERS):
        uid = FIRST_WORKER + w
        users.append(
            (uid, f"w{uid}@example.org", _name(rng), "key_worker", "x", 1 + w % TEAMS, True, 0, at)
        )
    rng = random.Random(SEED + 1)  # clients: the first 1,000 are the same in both databases
    links = []
    for c in range(clients):
        uid = FIRST_CLIENT + c
        users.append((uid, f"c{uid}@example.org", _name(rng), "client", "x", None, True, 0, at))
        links.append((c + 1, uid, FIRST_WORKER + rng.randrange(WORKERS), at))
    supervisor_teams = [(SUPERVISOR, n) for n in range(1, TEAMS + 1)] + [(ONE_TEAM_SUPERVISOR, 1)]
    return teams, users, links, supervisor_teams


def _document(doc: int, rng: random.Random) -> tuple[tuple, list[tuple[date, date]]]:
    """One document row, and the reviews done on it in the last 13 months (due, done)."""
    client = FIRST_CLIENT + doc - 1
    kind, title = ("agreement", "Agreement") if rng.random() < 0.15 else ("care_plan", "Care plan")
    created = NOW - timedelta(days=rng.randrange(30, 1500))
    r = rng.random()
    signed = None
    reviews: list[tuple[date, date]] = []
    if r < 0.12:  # never agreed: nothing written yet, a draft, awaiting a signature, declined
        agreed = None
        if r < 0.04:
            state, head = "nothing_written", 0
        elif r < 0.08:
            state, head = "draft", rng.randint(1, 4)
        elif r < 0.11:
            state, head = "awaiting_signature", rng.randint(1, 4)
        else:
            state, head = "declined", rng.randint(1, 4)
        if state in ("awaiting_signature", "declined"):
            signed = NOW - timedelta(days=rng.randrange(1, 60), minutes=rng.randrange(1440))
        review_on = scheduled = last_reviewed = None
        cycle = 0
    else:
        agreed = rng.randint(1, 6)
        signed = NOW - timedelta(days=rng.randrange(1, 400), minutes=rng.randrange(1440))
        q = rng.random()
        if q < 0.10:
            review_on = TODAY - timedelta(days=rng.randint(1, 150))  # overdue
        elif q < 0.18:
            review_on = TODAY + timedelta(days=rng.randint(0, 14))  # due soon
        else:
            review_on = TODAY + timedelta(days=rng.randint(15, 365))
        scheduled = review_on
        last_reviewed = review_on - timedelta(days=182)
        cycle = rng.randint(1, 8)
        if rng.random() < 0.15:  # agreed before, a newer version being written or signed
            head = agreed + rng.randint(1, 3)
            state = rng.choices(["draft", "awaiting_signature", "declined"], [6, 3, 1])[0]
        else:
            head, state = agreed, "agreed"
        # Reviews done in the last 13 months: none to three, mostly on time.
        due = review_on - timedelta(days=rng.choice((91, 182, 182, 365)))
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
            if due < TODAY - timedelta(days=396) or due >= TODAY:
                break
            done = due + timedelta(days=rng.choice((-7, -3, -1, 0, 0, 2, 5, 12, 30)))
            reviews.append((due, min(done, TODAY)))
            due -= timedelta(days=rng.choice((91, 182)))
    row = (
        doc, client, kind, title, head, client if head else FIRST_WORKER, created, signed or created,
        review_on, "interval" if review_on else None, scheduled, last_reviewed, cycle,
        signed.date() if state == "awaiting_signature" else None, state, agreed, signed,
    )  # fmt: skip
    return row, reviews


COLUMNS = {
    "teams": ("id", "name", "created_at"),
    "users": (
        "id", "email", "display_name", "role", "password_hash", "team_id", "active",
        "session_epoch", "created_at",
    ),
    "caseload_links": ("id", "client_id", "key_worker_id", "started_at"),
    "supervisor_teams": ("supervisor_id", "team_id"),
    "documents": (
        "id", "client_id", "kind", "title", "head_number", "created_by_id", "created_at",
        "updated_at", "next_review_on", "next_review_reason", "scheduled_review_on",
        "last_reviewed_on", "review_cycle", "awaiting_signature_since", "signoff_state",
        "agreed_version", "last_signed_at",
    ),
    "review_log": ("id", "document_id", "client_id", "due_on", "done_on"),
}  # fmt: skip


def _sqlite_value(v):
    # The storage formats SQLAlchemy's SQLite types use (UTCDateTime stores naive UTC).
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    return v


def seed(engine: sa.Engine, documents: int, sqlite_analyze: bool) -> dict:
    started = time.perf_counter()
    teams, users, links, supervisor_teams = _people(documents)
    rng = random.Random(SEED + 2)
    docs, reviews = [], []
    for d in range(1, documents + 1):
        row, done = _document(d, rng)
        docs.append(row)
        for due, done_on in done:
            reviews.append((len(reviews) + 1, d, row[1], due, done_on))
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
                cur.executemany(sql, [tuple(_sqlite_value(v) for v in row) for row in rows])

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
        put("documents", docs)
        put("review_log", reviews)
        if engine.dialect.name == "postgresql":
            for table in ("teams", "users", "caseload_links", "documents", "review_log"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        raw.commit()
        if engine.dialect.name == "sqlite" and sqlite_analyze:
            cur.execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()
    if engine.dialect.name == "postgresql":
        # Done now, so autovacuum does not start on the fresh rows while timing.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    expected = Counter(dash_state(row[14], row[15], row[4], row[8], TODAY).value for row in docs)
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "clients": documents,
        "review_log": len(reviews),
        "expected_states": dict(sorted(expected.items())),
    }


def check(db: Database, expected: dict) -> dict:
    """The states as the app's SQL sees them match the domain rule, and every state occurs."""
    state = supervision.state_expression(TODAY)
    with db.read() as s:
        got = dict(
            s.execute(sa.select(state, sa.func.count()).select_from(Document).group_by(state)).all()
        )
    got = dict(sorted(got.items()))
    assert got == expected, (got, expected)
    missing = {x.value for x in DashState} - set(got)
    assert not missing, f"states missing from the seed: {missing}"
    return got


# --- the proposed fix (prototype: applied by monkeypatching, never written to the app) ----------
#
# What the lead changes in the app is exactly this:
# 1. a migration with the three indexes of proposed_indexes() (also declared on the models);
# 2. on SQLite, statistics: ANALYZE after migrating and then daily (prepare_database below);
# 3. in careplan/services/supervision.py: _choices and _query as below, a state_condition()
#    like proposed_state_condition, and dashboard() and export_csv() passing the key workers
#    they already read (`list(workers)` from _choices) to _query as a fourth argument.
#    The benchmark patches only _choices and _query, so it hands the ids over through
#    _SCOPE_WORKERS instead.

_SCOPE_WORKERS: dict[int, list[int]] = {}  # benchmark plumbing only: actor id -> worker ids


def proposed_indexes() -> list[sa.Index]:
    users, documents = User.__table__, Document.__table__
    return [
        # The dashboard's default order (review date, empty last, then id), as one index.
        sa.Index(
            "ix_documents_review_order",
            documents.c.next_review_on.is_(None),
            documents.c.next_review_on,
            documents.c.id,
        ),
        # Sorting by client name.
        sa.Index("ix_users_display_name", users.c.display_name),
        # The filter's list of key workers, in name order (without it, SQLite with statistics
        # walks the whole display_name index above for it).
        sa.Index("ix_users_role_display_name", users.c.role, users.c.display_name),
    ]


def prepare_database(engine: sa.Engine) -> list[str]:
    """The proposed migration's indexes, then statistics."""
    ddl = []
    with engine.begin() as conn:
        for index in proposed_indexes():
            statement = str(sa.schema.CreateIndex(index).compile(dialect=engine.dialect))
            index.table.indexes.discard(index)  # the app's metadata stays as it is
            conn.exec_driver_sql(statement)
            ddl.append(statement)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        start = time.perf_counter()
        if engine.dialect.name == "postgresql":
            # The expression index's statistics: autovacuum gathers them soon after a migration.
            conn.exec_driver_sql("ANALYZE documents")
            conn.exec_driver_sql("ANALYZE users")
        else:
            # Part of the fix: the app never gathers SQLite statistics, and without them no
            # rewrite of the query plans well for both a wide and a narrow scope.
            conn.exec_driver_sql("ANALYZE")
        ddl.append(f"ANALYZE: {time.perf_counter() - start:.3f} s")
    return ddl


def proposed_state_condition(state: DashState, today: date):
    """`state_expression(today) == state` as plain conditions on the columns, so the planner can
    estimate them (and use the review date's index) instead of guessing at a CASE."""
    soon = today + timedelta(days=DUE_SOON_DAYS)
    agreed = Document.agreed_version.is_not(None)
    not_due = sa.or_(Document.next_review_on.is_(None), Document.next_review_on > soon)
    newer = Document.head_number > Document.agreed_version
    declined = Document.signoff_state == "declined"
    awaiting = Document.signoff_state == "awaiting_signature"
    neither = Document.signoff_state.not_in(["declined", "awaiting_signature"])
    if state is DashState.OVERDUE:
        return sa.and_(agreed, Document.next_review_on < today)
    if state is DashState.DUE_SOON:
        return sa.and_(agreed, Document.next_review_on >= today, Document.next_review_on <= soon)
    if state is DashState.AGREED:
        return sa.and_(agreed, not_due, Document.head_number <= Document.agreed_version)
    if state is DashState.NEVER_AGREED:
        return sa.and_(Document.agreed_version.is_(None), neither)
    if state is DashState.DRAFT:
        return sa.and_(agreed, not_due, newer, neither)
    unsigned = declined if state is DashState.DECLINED else awaiting
    return sa.and_(unsigned, sa.or_(Document.agreed_version.is_(None), sa.and_(not_due, newer)))


def proposed_choices(s, actor: Actor) -> tuple[dict[int, str], dict[int, str]]:
    teams = dict(
        s.execute(
            sa.select(Team.id, Team.name)
            .where(Team.id.in_(supervision._scope(actor)))
            .order_by(Team.name)
        ).all()
    )
    workers = dict(
        s.execute(
            sa.select(User.id, User.display_name)
            # The team ids just read, not the subquery: PostgreSQL merge-joined the subquery
            # with ix_users_team_id and read every client's (NULL) entry too.
            .where(User.role == Role.KEY_WORKER.value, User.team_id.in_(list(teams)))
            .order_by(User.display_name)
        ).all()
    )
    _SCOPE_WORKERS[actor.id] = list(workers)  # in the app: dashboard()/export_csv() pass it on
    return teams, workers


def proposed_query(
    actor: Actor, filters: Filters, today: date, worker_ids: list[int] | None = None
):
    if worker_ids is None:
        worker_ids = _SCOPE_WORKERS[actor.id]  # benchmark plumbing, see above
    client = aliased(User)
    worker = aliased(User)
    state = supervision.state_expression(today).label("state")
    query = (
        sa.select(
            Document.id,
            Document.client_id,
            client.display_name,
            Document.kind,
            state,
            Document.next_review_on,
            worker.display_name,
            Team.name,
            Document.last_signed_at,
        )
        .join(client, client.id == Document.client_id)
        .join(
            CaseloadLink,
            sa.and_(CaseloadLink.client_id == Document.client_id, CaseloadLink.ended_at.is_(None)),
        )
        .join(worker, worker.id == CaseloadLink.key_worker_id)
        # Outer: an inner join on worker.team_id brings the NULL-heavy estimate back
        # (the scope already guarantees the team).
        .outerjoin(Team, Team.id == worker.team_id)
        # The scope as the key workers _choices has just read, on the link's own column: the
        # planners estimate it from caseload_links.key_worker_id (the real share of the
        # links), not from users.team_id, which is NULL for every client. Rendered into the
        # SQL (they are ids from the database): 1,000 bound parameters cost PostgreSQL's
        # driver and SQLAlchemy about 6 ms a query.
        .where(
            CaseloadLink.key_worker_id.in_(
                sa.bindparam("worker_ids", worker_ids, expanding=True, literal_execute=True)
            )
        )
    )
    if filters.team_id:
        query = query.where(worker.team_id == filters.team_id)
    if filters.key_worker_id:
        query = query.where(worker.id == filters.key_worker_id)
    if filters.state:
        query = query.where(proposed_state_condition(filters.state, today))
    if filters.due_from:
        query = query.where(Document.next_review_on >= filters.due_from)
    if filters.due_to:
        query = query.where(Document.next_review_on <= filters.due_to)
    order = {
        "review": [Document.next_review_on.is_(None), Document.next_review_on, Document.id],
        "overdue": [Document.next_review_on.is_(None), Document.next_review_on, Document.id],
        "client": [client.display_name, Document.id],
        "key_worker": [worker.display_name, client.display_name, Document.id],
        "signed": [Document.last_signed_at.is_(None), Document.last_signed_at, Document.id],
    }[filters.sort]
    return query.order_by(*order)


ORIGINAL = {"_query": supervision._query, "_choices": supervision._choices}
PROPOSED = {"_query": proposed_query, "_choices": proposed_choices}


def use(functions: dict) -> None:
    for name, fn in functions.items():
        setattr(supervision, name, fn)


def check_state_conditions(db: Database) -> None:
    """proposed_state_condition selects exactly the documents state_expression names."""
    state = supervision.state_expression(TODAY)
    with db.read() as s:
        for x in DashState:
            old, new = state == x.value, proposed_state_condition(x, TODAY)
            counts = [
                s.scalar(sa.select(sa.func.count()).select_from(Document).where(*where))
                for where in ((old,), (new,), (old, new))
            ]
            assert len(set(counts)) == 1, (x, counts)


# --- measuring ----------------------------------------------------------------------------------


def stat(samples: list[float]) -> dict:
    ms = sorted(t * 1000 for t in samples)
    p95 = ms[min(len(ms) - 1, max(0, round(0.95 * len(ms)) - 1))]
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 2), "p95_ms": round(p95, 2)}


# name, who, filters, part of the goal
VARIANTS = [
    ("default", ACTOR, Filters(), True),
    ("overdue", ACTOR, Filters(state=DashState.OVERDUE), True),
    ("client", ACTOR, Filters(sort="client"), True),
    ("never_agreed", ACTOR, Filters(state=DashState.NEVER_AGREED), False),
    ("key_worker", ACTOR, Filters(sort="key_worker"), False),
    ("one_team", ONE_TEAM_ACTOR, Filters(), False),
]
VARIANT_LABELS = {
    "default": "default filters (review date)",
    "overdue": "state: review overdue",
    "client": "sorted by client name",
    "never_agreed": "state: never agreed",
    "key_worker": "sorted by key worker",
    "one_team": "supervisor of 1 team, default",
}


def first_page(db: Database, actor: Actor, filters: Filters) -> list[tuple]:
    board = supervision.dashboard(db, actor, filters, TODAY)
    return [(r.document_id, r.state.value) for r in board.rows] + [("next", board.has_next)]


def time_dashboards(dbs: dict[int, Database], reps: int) -> tuple[dict, dict]:
    """Median and p95 of each variant's first page on each database, alternating databases
    and variants so both see the same conditions."""
    samples = {name: {size: [] for size in dbs} for name, *_ in VARIANTS}
    pages = {name: {size: first_page(db, actor, f) for size, db in dbs.items()}
             for name, actor, f, _ in VARIANTS}  # fmt: skip
    for _ in range(2):  # warm-up: pool, compiled statements, page cache
        for _name, actor, f, _ in VARIANTS:
            for db in dbs.values():
                supervision.dashboard(db, actor, f, TODAY)
    gc.collect()
    for i in range(reps):
        for name, actor, f, required in VARIANTS:
            if not required and i % 3:
                continue  # a third as many samples for the informative ones
            order = list(dbs.items())
            for size, db in order if i % 2 else reversed(order):
                start = time.perf_counter()
                supervision.dashboard(db, actor, f, TODAY)
                samples[name][size].append(time.perf_counter() - start)
    return {n: {str(size): stat(t) for size, t in v.items()} for n, v in samples.items()}, pages


def time_charts(dbs: dict[int, Database], reps: int) -> dict:
    samples = {size: [] for size in dbs}
    for db in dbs.values():
        supervision.charts(db, ACTOR, TODAY)
    for _ in range(reps):
        for size, db in dbs.items():
            start = time.perf_counter()
            supervision.charts(db, ACTOR, TODAY)
            samples[size].append(time.perf_counter() - start)
    return {str(size): stat(t) for size, t in samples.items()}


def _export_events(db: Database) -> int:
    with db.read() as s:
        return s.scalar(sa.text("SELECT count(*) FROM audit_events WHERE action = 'export'"))


def run_export(db: Database, traced: bool = False, audit: bool = True) -> dict:
    """Consume the whole export (all rows, default filters). `audit=False` leaves out the audit
    events (the app's _record_export replaced by a no-op) to time the reads and CSV alone."""
    before = _export_events(db)
    original = supervision._record_export
    if not audit:
        supervision._record_export = lambda *a, **k: None
    gc.collect()
    try:
        if traced:
            tracemalloc.start()
        start = time.perf_counter()
        lines = chars = 0
        head = None
        digest = 0
        for part in supervision.export_csv(db, ACTOR, Filters(), TODAY):
            if head is None:
                head = part.count("\n")
            else:
                digest = hash((digest, part))
            lines += part.count("\n")
            chars += len(part)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] if traced else None
    finally:
        if traced:
            tracemalloc.stop()
        supervision._record_export = original
    out = {
        "rows": lines - head,
        "chars": chars,
        "seconds": round(seconds, 2),
        "events": _export_events(db) - before,
        "digest": digest,
    }
    if peak is not None:
        out["peak_bytes"] = peak
    return out


def warm_export(db: Database) -> None:
    """The export's statements compiled and cached, as in a running app: the header and one
    chunk (1,000 rows, so 1,000 export events), then the rest left unread."""
    gen = supervision.export_csv(db, ACTOR, Filters(), TODAY)
    next(gen)
    next(gen)
    gen.close()


def query_plans(db: Database) -> dict:
    """The plan of each variant's page query, and of one export chunk."""
    captured: dict[str, tuple] = {}

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM documents" in statement:
            captured.setdefault(current, (statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        for name, actor, f, _ in VARIANTS:
            current = name
            supervision.dashboard(db, actor, f, TODAY)
        current = "export chunk"
        original = supervision._record_export
        supervision._record_export = lambda *a, **k: None
        try:
            gen = supervision.export_csv(db, ACTOR, Filters(), TODAY)
            next(gen)
            next(gen)
            gen.close()
        finally:
            supervision._record_export = original
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    plans = {}
    with db.engine.connect() as conn:
        for name, (statement, params) in captured.items():
            prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
            rows = conn.exec_driver_sql(prefix + statement, params).all()
            plans[name] = [str(r[-1]) for r in rows]
        conn.rollback()
    return plans


def short_plan(lines: list[str], sqlite: bool) -> str:
    if sqlite:
        return " / ".join(lines)
    keep = []
    for line in lines:
        text = line.strip().removeprefix("->").strip()
        if any(k in text for k in ("Scan", "Sort", "Join", "Nested Loop", "Limit", "Memoize")):
            keep.append(text.split("  (cost")[0])
    return " / ".join(keep)


# --- one backend --------------------------------------------------------------------------------


def _pg_admin(server: str, sql: str) -> None:
    engine = make_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def run_backend(backend: str, sizes: list[int], args) -> dict:
    urls, cleanups, seeded = {}, [], {}
    result: dict = {
        "backend": backend,
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "software": _software(backend, args.pg),
        "sqlite_analyze": bool(args.sqlite_analyze) if backend == "sqlite" else None,
        "load": [round(os.getloadavg()[0], 2)],
    }
    try:
        for size in sizes:
            if backend == "sqlite":
                path = RESULTS_DIR / f"supervision-{size}.db"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                urls[size] = f"sqlite:///{path}"
                if not args.keep:
                    cleanups.append(lambda p=path: [
                        Path(f"{p}{x}").unlink(missing_ok=True) for x in ("", "-wal", "-shm")
                    ])  # fmt: skip
            else:
                name = f"careplan_bench_supervision_{size}_{uuid.uuid4().hex[:6]}"
                _pg_admin(args.pg, f'CREATE DATABASE "{name}"')
                urls[size] = f"{args.pg}/{name}"
                if not args.keep:
                    cleanups.append(
                        lambda n=name: _pg_admin(
                            args.pg, f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)'
                        )
                    )
            log(f"  {BACKENDS[backend]}: {size:,} documents: migrating and seeding")
            migrate.upgrade(urls[size])
            engine = make_engine(urls[size])
            seeded[size] = seed(engine, size, args.sqlite_analyze)
            engine.dispose()
            log(f"    seeded in {seeded[size]['seconds']} s: {seeded[size]['expected_states']}")
        dbs = {size: Database(urls[size]) for size in sizes}
        for size, db in dbs.items():
            seeded[size]["states"] = check(db, seeded[size]["expected_states"])
            check_state_conditions(db)
        result["sets"] = {str(k): v for k, v in seeded.items()}
        big = dbs[sizes[1]]

        phases = {}
        for phase in ("as_is", "proposed"):
            log(f"  {phase.replace('_', ' ')}:")
            if phase == "proposed":
                for db in dbs.values():
                    result["proposed_ddl"] = prepare_database(db.engine)
                use(PROPOSED)
            try:
                p: dict = {}
                log(f"    dashboard first pages, {args.reps} rounds")
                p["dashboard"], p["pages"] = time_dashboards(dbs, args.reps)
                for name, by_size in p["dashboard"].items():
                    log(f"      {name:13} " + ", ".join(
                        f"{int(s):,}: {v['median_ms']} ms (p95 {v['p95_ms']})"
                        for s, v in by_size.items()
                    ))  # fmt: skip
                p["plans"] = query_plans(big)
                log("    charts")
                p["charts"] = time_charts(dbs, args.chart_reps)
                log(f"      {p['charts']}")
                log("    export without its audit events (reads and CSV)")
                p["export_reads"] = {str(s): run_export(db, audit=False) for s, db in dbs.items()}
                log(f"      {p['export_reads']}")
                if phase == "as_is" and not args.skip_export:
                    p["export"] = {}
                    for size, db in dbs.items():
                        log(f"    export of {size:,} rows, with its audit events: timed, traced")
                        warm_export(db)
                        timed = run_export(db)
                        traced = run_export(db, traced=True)
                        assert timed["rows"] == traced["rows"] == size, (timed, traced)
                        assert timed["events"] == traced["events"] == size
                        timed["peak_bytes"] = traced["peak_bytes"]
                        timed["traced_seconds"] = traced["seconds"]
                        p["export"][str(size)] = timed
                        log(f"      {timed}")
                elif args.export_proposed:
                    log(f"    export of {sizes[1]:,} rows, with its audit events")
                    p["export"] = {str(sizes[1]): run_export(big)}
                    log(f"      {p['export']}")
            finally:
                use(ORIGINAL)
            phases[phase] = p
        result["load"].append(round(os.getloadavg()[0], 2))
        for db in dbs.values():
            db.dispose()
    finally:
        for cleanup in cleanups:
            cleanup()

    # Same answers before and after: every first page and the whole export.
    for name, by_size in phases["as_is"]["pages"].items():
        assert by_size == phases["proposed"]["pages"][name], f"{name}: pages differ"
    for size, r in phases["as_is"]["export_reads"].items():
        assert r["digest"] == phases["proposed"]["export_reads"][size]["digest"], size
    small_k, big_k = str(sizes[0]), str(sizes[1])
    for p in phases.values():
        p.pop("pages")
        p["ratios"] = {
            name: round(v[big_k]["median_ms"] / v[small_k]["median_ms"], 2)
            for name, v in p["dashboard"].items()
        }
        log(f"  ratios {p['ratios']}")
    if "export" in phases["as_is"]:
        ex = phases["as_is"]["export"]
        phases["as_is"]["export_peak_ratio"] = round(
            ex[big_k]["peak_bytes"] / ex[small_k]["peak_bytes"], 2
        )
    result["phases"] = phases
    result["sizes"] = sizes
    return result


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


# --- the report ---------------------------------------------------------------------------------


def _kib(n: int) -> str:
    return f"{n / 1024:,.0f} KiB"


def write_markdown() -> None:
    runs = []
    for backend in BACKENDS:
        path = RESULTS_DIR / f"supervision-{backend}.json"
        if path.exists():
            runs.append(json.loads(path.read_text()))
    lines = [
        "# Benchmark: the supervisors' review-date audit",
        "",
        "Made by `.venv/bin/python -m bench.supervision --db both` (`bench/supervision.py`). "
        "Two databases with the same 50 teams, 1,000 key workers and supervisor (over all 50 "
        "teams); one with 1,000 clients, the other with 100,000, each client with one document "
        "and an open caseload link to a key worker picked at random. So only the number of "
        "documents (and clients, links and review-log rows with them) differs: the list of "
        "1,000 key workers the page's filter shows costs the same on both. Every dashboard "
        "state occurs (about 9% of reviews overdue, 7% due soon, 8% never agreed, drafts, "
        "signatures awaited and declined); the review log holds the reviews done in the last "
        "13 months. A second supervisor over team 1 only (20 key workers) shows a narrow "
        "scope.",
        "",
        "*As is* is the app's code (`careplan/services/supervision.py`) on the freshly "
        "migrated and seeded databases; *proposed* is the same run continued with the fix "
        "described at the end (three indexes, SQLite statistics, a rewritten `_query` and "
        "`_choices`: monkeypatched in the benchmark only). Both return the same first pages "
        "and the same export (checked by the run).",
        "",
        "## Dashboard, first page (`supervision.dashboard`)",
        "",
        "Goal: first page at 100,000 documents ÷ at 1,000 ≤ 1.5 (ratio of medians). "
        "Times in ms, median (p95).",
        "",
        "| Database | first page | as is: 1,000 | as is: 100,000 | ratio | proposed: 1,000 "
        "| proposed: 100,000 | ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        small, big = (str(s) for s in run["sizes"])
        a, p = run["phases"]["as_is"], run["phases"]["proposed"]
        for name, label in VARIANT_LABELS.items():
            goal = name in ("default", "overdue", "client")

            def cell(phase, size, name=name):
                v = phase["dashboard"][name][size]
                return f"{v['median_ms']} ({v['p95_ms']})"

            def ratio(phase, name=name, goal=goal):
                r = phase["ratios"][name]
                return f"**{r}**" if goal else str(r)

            lines.append(
                f"| {BACKENDS[run['backend']]} | {label}{'' if goal else ' (no goal)'} | "
                f"{cell(a, small)} | {cell(a, big)} | {ratio(a)} | "
                f"{cell(p, small)} | {cell(p, big)} | {ratio(p)} |"
            )
    lines += [
        "",
        "## CSV export of all rows (`supervision.export_csv`)",
        "",
        "Peak: `tracemalloc` peak while consuming the whole export (goal: 100,000 ÷ 1,000 ≤ 2). "
        "Wall time: a separate run without tracemalloc; it includes writing one hash-chained "
        "`export` audit event per client (100,000 events for 100,000 rows, as intended). "
        "*Reads and CSV only*: the same export with the audit events left out, as is and "
        "with the proposed query.",
        "",
        "| Database | rows | peak | peak ratio | wall time | of which audit events | "
        "reads and CSV only, as is | proposed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        a, p = run["phases"]["as_is"], run["phases"]["proposed"]
        for size in (str(s) for s in run["sizes"]):
            e = a["export"][size]
            reads, reads_p = a["export_reads"][size]["seconds"], p["export_reads"][size]["seconds"]
            lines.append(
                f"| {BACKENDS[run['backend']]} | {int(size):,} | {_kib(e['peak_bytes'])} | "
                f"{'**' + str(a['export_peak_ratio']) + '**' if size != str(run['sizes'][0]) else ''} | "
                f"{e['seconds']} s | {e['events']:,} | {reads} s | {reads_p} s |"
            )
    lines += [
        "",
        "## Charts (`supervision.charts`, no goal)",
        "",
        "| Database | 1,000: median (p95) ms | 100,000 | proposed: 1,000 | 100,000 |",
        "|---|---:|---:|---:|---:|",
    ]
    for run in runs:
        small, big = (str(s) for s in run["sizes"])
        a, p = run["phases"]["as_is"]["charts"], run["phases"]["proposed"]["charts"]

        def c(v):
            return f"{v['median_ms']} ({v['p95_ms']})"

        lines.append(
            f"| {BACKENDS[run['backend']]} | {c(a[small])} | {c(a[big])} | {c(p[small])} | "
            f"{c(p[big])} |"
        )
    lines += ["", "## Query plans of the first page at 100,000 documents", ""]
    for run in runs:
        sqlite = run["backend"] == "sqlite"
        for name in ("default", "overdue", "client", "export chunk"):
            for phase in ("as_is", "proposed"):
                plan = short_plan(run["phases"][phase]["plans"][name], sqlite)
                lines.append(
                    f"- {BACKENDS[run['backend']]}, {VARIANT_LABELS.get(name, name)}, "
                    f"{phase.replace('_', ' ')}: `{plan}`"
                )
    lines += [""]
    lines += CAUSES
    lines += ["", "## Runs", ""]
    for run in runs:
        sets = ", ".join(
            f"{int(k):,}: seeded in {v['seconds']} s, {v['review_log']:,} review-log rows"
            for k, v in run["sets"].items()
        )
        stats = " (SQLite statistics gathered with ANALYZE)" if run.get("sqlite_analyze") else ""
        lines.append(
            f"- {BACKENDS[run['backend']]}{stats}, {run['when']}: {run['software']}; "
            f"{run['machine']}; 1-minute load average {run['load'][0]} before, "
            f"{run['load'][-1]} after. {sets}. Proposed indexes and statistics: "
            f"{'; '.join(run.get('proposed_ddl', []))}. States at 100,000: "
            f"{run['sets'][str(run['sizes'][1])]['states']}."
        )
    RESULTS_MD.write_text("\n".join(lines) + "\n")


CAUSES = [
    "## Why the first page costs what all the rows cost, and the fix",
    "",
    "**Cause.** `_query` (careplan/services/supervision.py:105) joins documents → clients → "
    "open caseload links → key workers → teams, keeps the workers whose `team_id` is in the "
    "supervisor's teams (line 128) and sorts. Nothing hands the rows over in the page's "
    "order, so both databases build every row in scope and sort them to keep 51 (plans "
    "above: SQLite `USE TEMP B-TREE FOR ORDER BY`, PostgreSQL `Sort` over all joined rows):",
    "",
    "- no index matches the order: `ORDER BY next_review_on IS NULL, next_review_on, id`, "
    "and `users.display_name` for the client sort, are not indexed;",
    "- the planners misjudge the scope. `users.team_id` is NULL for every client (99% of "
    "users), so PostgreSQL estimates `worker.team_id IN (...)`, and the inner join to teams, "
    "at about 1% of the links: ~1,000 rows instead of 100,000, and sorting them looks "
    "cheap. SQLite has no statistics at all (the app never runs ANALYZE) and starts from "
    "the teams through `ix_users_team_id`. The state filter (line 135) compares a CASE with "
    "a constant, which PostgreSQL guesses at 0.5% of the rows;",
    "- the export's keyset chunks (line 214: `documents.id > last ORDER BY documents.id "
    "LIMIT 1000`) get the same plan, so on SQLite each of the 100 chunks joins and sorts "
    "everything again (42 s of reads for 100,000 rows);",
    "- `_choices` (line 98, the filter's key-worker list, on every page) is merge-joined "
    "by PostgreSQL with `ix_users_team_id` and reads every client's NULL entry: ~10 ms at "
    "100,000 clients.",
    "",
    "**Fix** (what the *proposed* columns measure; the `proposed_*` functions and "
    "`prepare_database` in `bench/supervision.py` are the code):",
    "",
    "1. A migration (and the same `Index` objects on the models) with three indexes:",
    "   - `ix_documents_review_order` on documents `((next_review_on IS NULL), "
    'next_review_on, id)`, the default order exactly: `Index("ix_documents_review_order", '
    "Document.next_review_on.is_(None), Document.next_review_on, Document.id)`;",
    "   - `ix_users_display_name` on users `(display_name)`, the client-name order;",
    "   - `ix_users_role_display_name` on users `(role, display_name)`, the key-worker list "
    "in name order (with statistics, SQLite would otherwise walk the whole "
    "`ix_users_display_name` for that list of 1,000).",
    "2. SQLite statistics: run `ANALYZE` after `migrate.upgrade` and then daily (e.g. from "
    "the scheduler); it took well under a second at 100,000 documents (the `ANALYZE` time "
    "is in the run's JSON). Without statistics SQLite plans this page badly whatever the "
    "query looks like (the proposed query without ANALYZE: ~450 ms at 100,000, measured "
    "while preparing this benchmark).",
    "3. `_query(actor, filters, today, worker_ids)`: the scope on the link's own column, "
    "with the key workers `_choices` has just read, "
    '`CaseloadLink.key_worker_id.in_(bindparam("worker_ids", worker_ids, expanding=True, '
    "literal_execute=True))` instead of `.where(worker.team_id.in_(_scope(actor)))` (line "
    "128), and `.outerjoin(Team, ...)` instead of `.join(Team, ...)` (line 127; an inner "
    "join on `team_id` brings the 1% estimate back; the scope already guarantees a team). "
    "`dashboard()` (line 172) and `export_csv()` (line 214) pass `list(workers)`. Both "
    "planners then estimate the scope from `caseload_links.key_worker_id`, its real share, "
    "and choose per supervisor: walk the order's index and stop after a page for a wide "
    "scope, start from the workers' links for a narrow one. `literal_execute` renders the "
    "ids into the SQL: as 1,000 bound parameters they cost ~6 ms a query in SQLAlchemy and "
    "psycopg. (The scope then counts links to users with the key-worker role only; today "
    "any user with a team in scope counts. The same unless a link can point at another "
    "role.)",
    "4. State filter (line 135): `proposed_state_condition(filters.state, today)`, the "
    "same rule as plain column conditions (overdue: `agreed_version IS NOT NULL AND "
    "next_review_on < today`), instead of `state_expression(today) == "
    "filters.state.value`. The run checks both select the same documents for every state "
    "(`check_state_conditions`); a unit test should too.",
    "5. `_choices` (line 98): `User.team_id.in_(list(teams))`, the team ids read just "
    "before, instead of `User.team_id.in_(_scope(actor))`.",
    "",
    "Rejected on the way (measured on the same data, not in the table): the indexes alone "
    "(PostgreSQL keeps the sort for the overdue filter, ~260-440 ms; SQLite without "
    "statistics keeps starting from the teams); the scope as a correlated scalar subquery "
    "`(SELECT team_id FROM users WHERE id = key_worker_id) IN (...)`, which needs no "
    "statistics on SQLite, but PostgreSQL then sorted by key worker in 1.5 s and served the "
    "one-team supervisor in 115 ms; `key_worker_id = ANY(:array)` is as fast as "
    "`literal_execute` but PostgreSQL-only.",
    "",
    "Not fixed (no goal; rows marked so above): a state whose documents have no review date "
    "(*never agreed*) walks the whole date index to reach the empty dates at its end; "
    "*sorted by key worker* is a full join and sort, on PostgreSQL now too (as is it got a "
    "cheap plan from the same 1% misestimate); both stay linear. Later pages use OFFSET, "
    "so page n reads n pages: keyset paging on the sort key would make them constant too. "
    "`charts()` reads every review of the last 13 months and every missed review date in "
    "scope (~68,000 and ~9,000 rows at 100,000 documents) into Python, and groups the "
    "overdue ones per worker from all links: linear by nature, ~1 s on SQLite and ~0.5-0.7 s "
    "on PostgreSQL at 100,000; counting per month in SQL (12 rows back instead of 68,000) "
    "and the same scope rewrite would cut it (not measured).",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--small", type=int, default=1_000, help="documents in the small set")
    parser.add_argument("--big", type=int, default=100_000, help="documents in the big set")
    parser.add_argument("--reps", type=int, default=25, help="rounds of dashboard timings")
    parser.add_argument("--chart-reps", type=int, default=5)
    parser.add_argument(
        "--export-proposed",
        action="store_true",
        help="also time the whole export (with its audit events) with the proposed fix",
    )
    parser.add_argument(
        "--skip-export",
        action="store_true",
        help="leave out the whole export with its audit events (and its memory peak)",
    )
    parser.add_argument(
        "--sqlite-analyze",
        action="store_true",
        help="gather SQLite statistics (ANALYZE) after seeding; the app never does",
    )
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server URL (no database)")
    parser.add_argument("--keep", action="store_true", help="keep the seeded databases")
    parser.add_argument("--no-markdown", action="store_true", help=f"leave {RESULTS_MD.name} alone")
    args = parser.parse_args(argv)
    RESULTS_DIR.mkdir(exist_ok=True)
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    started = time.perf_counter()
    for backend in backends:
        log(f"Supervisors' dashboard on {BACKENDS[backend]}")
        result = run_backend(backend, [args.small, args.big], args)
        suffix = "-analyze" if backend == "sqlite" and args.sqlite_analyze else ""
        out = RESULTS_DIR / f"supervision-{backend}{suffix}.json"
        out.write_text(json.dumps(result, indent=2))
        log(f"  written {out.relative_to(HERE.parent)}")
    if args.skip_export or args.sqlite_analyze or (args.small, args.big) != (1_000, 100_000):
        args.no_markdown = True  # the report holds full default runs only
    if not args.no_markdown:
        write_markdown()
        log(f"Written {RESULTS_MD.relative_to(HERE.parent)}")
    log(f"Total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
