"""Seed a freshly migrated database with clients, care plans and their versions, in bulk.

Rows are generated in worker processes and inserted by the main process: SQLAlchemy Core
executemany on SQLite, COPY on PostgreSQL. Hashes are the app's own (canonical JSON, SHA-256;
the audit chain with `event_hash`); attribution takes a fast path that is compared with
`CARE_PLAN.attribute` on a sample, and content with `CARE_PLAN.validate` on a smaller one.
Ids are assigned here, so parent chains need no round trips; PostgreSQL sequences are moved
past them afterwards so the app's own inserts keep working.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from hashlib import sha256

import sqlalchemy as sa
from argon2 import PasswordHasher

from careplan.db.models import UTCDateTime
from careplan.domain.audit_chain import GENESIS, event_hash
from careplan.domain.canonical import content_hash
from careplan.domain.care_plan import CARE_PLAN
from careplan.domain.documents import Author, strip_attribution

from .content import (
    all_parts,
    attribute,
    canonical_text,
    check_valid,
    edit,
    new_plan,
    person_name,
)

BENCH_PASSWORD = "bench-password"
PLANS_PER_CHUNK = 500
# Samples checked against the app: attribution (cheap), and the form schema (a few ms each).
CHECK_ATTRIBUTION_EVERY = 37
VALIDATE_EVERY = 1000


@dataclass(frozen=True)
class Layout:
    """How many of everything, and which ids things get. Deterministic for a given seed."""

    clients: int = 10_000
    plans: int = 50_000
    versions: int = 500_000
    key_workers: int = 400
    teams: int = 20
    big_versions: int = 1000  # the long-lived plan
    max_other_versions: int = 400
    seed: int = 20261122
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    @classmethod
    def scaled(cls, scale: float, **kw) -> Layout:
        base = cls()
        clients = max(10, round(base.clients * scale))
        plans = max(20, round(base.plans * scale))
        versions = max(plans + base.big_versions + 100, round(base.versions * scale))
        workers = max(2, round(base.key_workers * scale))
        return cls(clients=clients, plans=plans, versions=versions, key_workers=workers, **kw)

    # --- ids -------------------------------------------------------------------------------
    @property
    def supervisors(self) -> int:
        return self.teams

    def worker_id(self, n: int) -> int:  # n in 0..key_workers-1
        return 1 + n

    def supervisor_id(self, n: int) -> int:
        return 1 + self.key_workers + n

    def client_id(self, n: int) -> int:  # n in 0..clients-1
        return 1 + self.key_workers + self.supervisors + n

    def client_of_plan(self, doc_id: int) -> int:
        return (doc_id - 1) * self.clients // self.plans

    def worker_of_client(self, n: int) -> int:
        return n % self.key_workers

    @property
    def big_plan(self) -> int:
        return self.plans // 2 + 1

    @property
    def single_plan(self) -> int:
        """Same client as the big plan, and a copy of its final content in one version."""
        return self.big_plan + 1

    def name(self, user_id: int) -> str:
        return person_name(random.Random(self.seed * 7 + user_id))

    def author(self, user_id: int) -> Author:
        role = "key_worker" if user_id <= self.key_workers else "client"
        return Author(user_id, self.name(user_id), role)

    def version_counts(self) -> list[int]:
        """Versions per plan (index doc_id - 1): mostly a handful, a long tail, exact total."""
        rng = random.Random(self.seed)
        rest = self.plans - 2
        target = self.versions - self.big_versions - 1
        raw = [rng.lognormvariate(1.6, 0.9) for _ in range(rest)]
        scale = target / sum(raw)
        cap = self.max_other_versions
        counts = [min(cap, max(1, round(r * scale))) for r in raw]
        diff = target - sum(counts)
        while diff:
            i = rng.randrange(rest)
            if diff > 0 and counts[i] < cap:
                counts[i] += 1
                diff -= 1
            elif diff < 0 and counts[i] > 1:
                counts[i] -= 1
                diff += 1
        at = self.big_plan - 1
        return counts[:at] + [self.big_versions, 1] + counts[at:]


# --- tables as the seeder writes them ---------------------------------------------------------
# Lightweight table clauses: content is already canonical JSON text, so it must not be encoded
# a second time by the JSON type; datetimes still go through the app's UTCDateTime type.


def _table(name: str, *cols: tuple[str, sa.types.TypeEngine]) -> sa.TableClause:
    return sa.table(name, *(sa.column(c, t) for c, t in cols))


INT, S, T, B, D = sa.Integer(), sa.String(), sa.Text(), sa.Boolean(), UTCDateTime()
TEAMS = _table("teams", ("id", INT), ("name", S), ("created_at", D))
USERS = _table(
    "users",
    ("id", INT),
    ("email", S),
    ("display_name", S),
    ("role", S),
    ("password_hash", S),
    ("team_id", INT),
    ("active", B),
    ("session_epoch", INT),
    ("created_at", D),
)
SUPERVISOR_TEAMS = _table("supervisor_teams", ("supervisor_id", INT), ("team_id", INT))
CASELOAD_LINKS = _table(
    "caseload_links",
    ("id", INT),
    ("client_id", INT),
    ("key_worker_id", INT),
    ("started_at", D),
    ("ended_at", D),
)
DOCUMENTS = _table(
    "documents",
    ("id", INT),
    ("client_id", INT),
    ("kind", S),
    ("title", S),
    ("head_number", INT),
    ("created_by_id", INT),
    ("created_at", D),
    ("updated_at", D),
)
VERSIONS = _table(
    "versions",
    ("id", INT),
    ("document_id", INT),
    ("number", INT),
    ("parent_id", INT),
    ("author_id", INT),
    ("created_at", D),
    ("change_note", T),
    ("content", T),
    ("content_hash", S),
)
AUDIT_EVENTS = _table(
    "audit_events",
    ("id", INT),
    ("at", D),
    ("actor_id", INT),
    ("actor_role", S),
    ("action", S),
    ("object_type", S),
    ("object_id", INT),
    ("client_id", INT),
    ("ip", S),
    ("detail", T),
    ("prev_hash", S),
    ("hash", S),
)
SEQUENCED = ("teams", "users", "caseload_links", "documents", "versions", "audit_events")


# --- generating rows (runs in worker processes) ---------------------------------------------


@dataclass
class Chunk:
    documents: list[tuple]
    versions: list[tuple]
    events: list[tuple]  # (at, actor_id, role, action, doc_id, client_id, detail) unchained
    content_bytes: int = 0
    checked: int = 0
    validated: int = 0


def _times(rng: random.Random, start: datetime, end: datetime, n: int) -> list[datetime]:
    """n increasing timestamps: the first soon after `start`, the rest spread up to `end`."""
    first = start + timedelta(minutes=rng.randint(5, 90))
    span = max(1.0, (end - first).total_seconds())
    offsets = sorted(rng.random() * span for _ in range(n - 1))
    out = [first] + [first + timedelta(seconds=o) for o in offsets]
    for i in range(1, n):  # strictly increasing, whole microseconds
        if out[i] <= out[i - 1]:
            out[i] = out[i - 1] + timedelta(microseconds=1)
    return out


def generate_chunk(args: tuple[Layout, int, int, int, list[int]]) -> Chunk:
    layout, first_doc, last_doc, first_version_id, counts = args
    chunk = Chunk([], [], [])
    vid = first_version_id
    big_final: dict | None = None
    for doc_id in range(first_doc, last_doc + 1):
        rng = random.Random(layout.seed * 1_000_003 + doc_id)
        n = counts[doc_id - first_doc]
        c = layout.client_of_plan(doc_id)
        client, worker = layout.client_id(c), layout.worker_id(layout.worker_of_client(c))
        people = (layout.author(worker), layout.author(client))
        age = rng.uniform(30, 3 * 365) if doc_id != layout.big_plan else 3 * 365
        created = layout.now - timedelta(days=age)
        times = _times(rng, created, layout.now - timedelta(hours=1), n)
        chunk.events.append(
            (
                created,
                worker,
                "key_worker",
                "document.create",
                doc_id,
                client,
                {"kind": "care_plan"},
            )
        )
        content: dict = {}
        text = ""
        for number in range(1, n + 1):
            when = times[number - 1]
            author = people[0] if number == 1 or rng.random() < 0.6 else people[1]
            check = vid % CHECK_ATTRIBUTION_EVERY == 0 or (number == n and doc_id % 10 == 0)
            validate = vid % VALIDATE_EVERY == 0 or (number == n and doc_id % 50 == 0)
            before = None
            if number == 1:
                if doc_id == layout.single_plan:
                    assert big_final is not None, "the big plan must be generated first"
                    content = strip_attribution(big_final)
                else:
                    content = new_plan(rng, when.date())
                note, added, changed = "First plan, written together", all_parts(content), []
            else:
                before = json.loads(text) if check else None
                note, added, changed = edit(rng, content, when.date())
            attribute(content, added, changed, author.as_dict())
            text = canonical_text(content)
            digest = sha256(text.encode("utf-8")).hexdigest()
            if check:
                # The app's own attribution and hash must agree with the fast path.
                expected = CARE_PLAN.attribute(before, strip_attribution(content), author)
                if expected != content or digest != content_hash(expected):
                    raise AssertionError(f"attribution differs from the app's: plan {doc_id}")
                chunk.checked += 1
            if validate:  # marshmallow is slow (ms per plan): a sample
                check_valid(content)
                chunk.validated += 1
            parent = vid - 1 if number > 1 else None
            chunk.versions.append(
                (vid, doc_id, number, parent, author.id, when, note, text, digest)
            )
            chunk.events.append(
                (
                    when,
                    author.id,
                    author.role,
                    "document.edit",
                    doc_id,
                    client,
                    {"version": number, "hash": digest},
                )
            )
            chunk.content_bytes += len(text)
            vid += 1
        if doc_id == layout.big_plan:
            big_final = json.loads(text)
        title = "Care plan" if rng.random() < 0.8 else f"Care plan {created.year}"
        chunk.documents.append((doc_id, client, "care_plan", title, n, worker, created, times[-1]))
    return chunk


def _chunks(layout: Layout, counts: list[int]) -> Iterator[tuple]:
    first_vid = 1
    doc = 1
    while doc <= layout.plans:
        last = min(layout.plans, doc + PLANS_PER_CHUNK - 1)
        if last == layout.big_plan:  # keep the big plan and its single-version twin together
            last += 1
        part = counts[doc - 1 : last]
        yield (layout, doc, last, first_vid, part)
        first_vid += sum(part)
        doc = last + 1


# --- writing ----------------------------------------------------------------------------------


def _processed(row: tuple, procs: list) -> tuple:
    values = list(row)
    for i, proc in procs:
        values[i] = proc(values[i])
    return tuple(values)


class Writer:
    """Bulk insert of row tuples: Core executemany (SQLite) or COPY (PostgreSQL)."""

    def __init__(self, engine: sa.Engine):
        self.pg = engine.dialect.name == "postgresql"
        if self.pg:
            self.raw = engine.raw_connection()
            self.driver = self.raw.driver_connection  # psycopg, for COPY
            self.driver.execute("SET synchronous_commit = off")
        else:
            self.conn = engine.connect()
            # A fresh file that is thrown away on failure: no need for crash safety while loading.
            for pragma in (
                "journal_mode = OFF",
                "synchronous = OFF",
                "cache_size = -262144",
                "foreign_keys = ON",
            ):
                self.conn.exec_driver_sql(f"PRAGMA {pragma}")
        self.commit()

    def write(self, table: sa.TableClause, rows: list[tuple]) -> None:
        if not rows:
            return
        names = [c.name for c in table.columns]
        if self.pg:
            with self.driver.cursor() as cur:
                sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
                with cur.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            return
        # Core executemany of the compiled INSERT, with the columns' own bind processing
        # (UTCDateTime) applied up front: per-row dicts through insert() cost ~40% more.
        stmt = sa.insert(table).compile(dialect=self.conn.dialect)
        procs = [
            (i, p)
            for i, c in enumerate(table.columns)
            if (p := c.type.bind_processor(self.conn.dialect)) is not None
        ]
        if procs:
            rows = [_processed(row, procs) for row in rows]
        self.conn.exec_driver_sql(str(stmt), rows)

    def commit(self) -> None:
        if self.pg:
            self.driver.commit()
        else:
            self.conn.commit()

    def finish(self) -> None:
        if self.pg:
            for name in SEQUENCED:
                self.driver.execute(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
                )
            self.driver.commit()
            self.raw.close()
        else:
            self.conn.exec_driver_sql("PRAGMA journal_mode = WAL")
            self.conn.close()


def _people(layout: Layout, password_hash: str) -> tuple[list, list, list, list]:
    at = layout.now - timedelta(days=4 * 365)
    teams = [(t + 1, f"Bench team {t + 1}", at) for t in range(layout.teams)]
    users, sup_teams, links = [], [], []

    def user(uid: int, role: str, team: int | None) -> tuple:
        email = f"{role.replace('_', '')}{uid}@bench.example.org"
        return (uid, email, layout.name(uid), role, password_hash, team, True, 0, at)

    for n in range(layout.key_workers):
        users.append(user(layout.worker_id(n), "key_worker", 1 + n % layout.teams))
    for n in range(layout.supervisors):
        users.append(user(layout.supervisor_id(n), "supervisor", None))
        sup_teams.append((layout.supervisor_id(n), 1 + n))
    for n in range(layout.clients):
        uid = layout.client_id(n)
        users.append(user(uid, "client", None))
        worker = layout.worker_id(layout.worker_of_client(n))
        links.append((n + 1, uid, worker, at + timedelta(days=n % 300), None))
    return teams, users, sup_teams, links


@dataclass
class SeedReport:
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    content_bytes: int = 0
    attribution_checked: int = 0
    schema_validated: int = 0


def seed(engine: sa.Engine, layout: Layout, workers: int | None = None, log=print) -> SeedReport:
    report = SeedReport()
    start = time.perf_counter()
    mark = start

    def phase(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        report.phases[name] = round(now - mark, 2)
        log(f"  {name}: {now - mark:.1f}s")
        mark = now

    password_hash = PasswordHasher().hash(BENCH_PASSWORD)
    writer = Writer(engine)
    teams, users, sup_teams, links = _people(layout, password_hash)
    writer.write(TEAMS, teams)
    writer.write(USERS, users)
    writer.write(SUPERVISOR_TEAMS, sup_teams)
    writer.write(CASELOAD_LINKS, links)
    writer.commit()
    report.counts.update(teams=len(teams), users=len(users), caseload_links=len(links))
    phase("people")

    counts = layout.version_counts()
    assert sum(counts) == layout.versions and len(counts) == layout.plans
    events: list[tuple] = []
    done_versions = 0
    procs = workers or max(1, (os.cpu_count() or 2))
    ctx = multiprocessing.get_context("fork")
    writing = 0.0
    with ctx.Pool(procs) as pool:
        for chunk in pool.imap(generate_chunk, _chunks(layout, counts)):
            t = time.perf_counter()
            writer.write(DOCUMENTS, chunk.documents)
            writer.write(VERSIONS, chunk.versions)
            writer.commit()
            writing += time.perf_counter() - t
            events.extend(chunk.events)
            report.content_bytes += chunk.content_bytes
            report.attribution_checked += chunk.checked
            report.schema_validated += chunk.validated
            before = done_versions
            done_versions += len(chunk.versions)
            step = layout.versions // 10
            if done_versions // step != before // step:
                log(f"  ... {done_versions:,} versions")
    report.counts.update(documents=layout.plans, versions=done_versions)
    log(f"  (writing {writing:.1f}s, the rest waiting for the {procs} generator processes)")
    phase("plans and versions")
    report.phases["plans and versions: writing"] = round(writing, 2)

    # One hash chain over every event, in time order, exactly as the app would have built it.
    events.sort(key=lambda e: e[0])
    rows, prev = [], GENESIS
    for n, (at, actor, role, action, doc_id, client, detail) in enumerate(events, start=1):
        fields = {
            "at": at.astimezone(UTC).isoformat(),
            "actor_id": actor,
            "actor_role": role,
            "action": action,
            "object_type": "document",
            "object_id": doc_id,
            "client_id": client,
            "ip": "",
            "detail": detail,
        }
        digest = event_hash(fields, prev)
        rows.append(
            (n, at, actor, role, action, "document", doc_id, client, "", json.dumps(detail))
            + (prev, digest)
        )
        prev = digest
    for i in range(0, len(rows), 50_000):
        writer.write(AUDIT_EVENTS, rows[i : i + 50_000])
        writer.commit()
    report.counts["audit_events"] = len(rows)
    phase("audit events")

    writer.finish()
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        else:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    phase("finish (sequences, vacuum/checkpoint)")
    report.seconds = round(time.perf_counter() - start, 1)
    return report


def check(engine: sa.Engine, layout: Layout, samples: int = 200) -> dict:
    """Consistency of what was seeded: counts, heads, parent chains, hashes of a sample."""
    from careplan.db.models import Version

    q = {
        "versions": "SELECT COUNT(*) FROM versions",
        "documents": "SELECT COUNT(*) FROM documents",
        "clients": "SELECT COUNT(*) FROM users WHERE role = 'client'",
        "sum_head_number": "SELECT SUM(head_number) FROM documents",
        "heads_not_max": (
            "SELECT COUNT(*) FROM documents d WHERE d.head_number <> "
            "(SELECT MAX(number) FROM versions v WHERE v.document_id = d.id)"
        ),
        "broken_parents": (
            "SELECT COUNT(*) FROM versions v LEFT JOIN versions p ON p.id = v.parent_id "
            "WHERE (v.number = 1 AND v.parent_id IS NOT NULL) OR (v.number > 1 AND "
            "(p.id IS NULL OR p.document_id <> v.document_id OR p.number <> v.number - 1))"
        ),
        "big_plan_versions": f"SELECT head_number FROM documents WHERE id = {layout.big_plan}",
        "single_plan_versions": f"SELECT head_number FROM documents WHERE id = {layout.single_plan}",
    }
    with engine.connect() as conn:
        out = {k: conn.exec_driver_sql(sql).scalar() for k, sql in q.items()}
    rng = random.Random(layout.seed + 99)
    ids = [rng.randint(1, layout.versions) for _ in range(samples)]
    with sa.orm.Session(engine) as s:
        rows = s.scalars(sa.select(Version).where(Version.id.in_(ids))).all()
        bad = sum(content_hash(v.content) != v.content_hash for v in rows)
        for v in rows[:20]:
            check_valid(v.content)
    out["sampled_hash_mismatches"] = bad
    expect = {
        "versions": layout.versions,
        "documents": layout.plans,
        "clients": layout.clients,
        "sum_head_number": layout.versions,
        "heads_not_max": 0,
        "broken_parents": 0,
        "big_plan_versions": layout.big_versions,
        "single_plan_versions": 1,
        "sampled_hash_mismatches": 0,
    }
    wrong = {k: (out[k], v) for k, v in expect.items() if out[k] != v}
    if wrong:
        raise AssertionError(f"seeded data is inconsistent (got, expected): {wrong}")
    return out


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
