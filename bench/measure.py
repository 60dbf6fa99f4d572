"""Latency of the service layer on a seeded database, as the key worker holding each plan."""

from __future__ import annotations

import gc
import os
import random
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import event

from careplan.db.engine import Database
from careplan.domain.canonical import content_hash
from careplan.domain.care_plan import CARE_PLAN
from careplan.domain.roles import Role
from careplan.services import documents
from careplan.services.actor import Actor

from .content import WHAT_MATTERS
from .seed import Layout


@dataclass
class Stat:
    n: int
    median_ms: float
    p95_ms: float

    @classmethod
    def of(cls, samples_ns: list[int]) -> Stat:
        ms = sorted(s / 1e6 for s in samples_ns)
        p95 = ms[min(len(ms) - 1, max(0, round(0.95 * len(ms)) - 1))]
        return cls(len(ms), round(statistics.median(ms), 3), round(p95, 3))


@dataclass
class Results:
    stats: dict[str, Stat] = field(default_factory=dict)
    ratio: float = 0.0
    ratio_rounds: list[float] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    load: list[float] = field(default_factory=list)  # 1-minute load average, before and after
    plans: list[dict] = field(default_factory=list)  # query plans of the statements run


def _timed(fn: Callable[[], object]) -> int:
    start = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - start


def worker_actor(layout: Layout, doc_id: int) -> Actor:
    client = layout.client_of_plan(doc_id)
    worker = layout.worker_id(layout.worker_of_client(client))
    return Actor(id=worker, role=Role.KEY_WORKER, name=layout.name(worker))


def run(
    url: str, layout: Layout, samples: int = 300, ratio_pairs: int = 1000, log=print
) -> Results:
    db = Database(url)
    res = Results(load=[round(os.getloadavg()[0], 2)])
    rng = random.Random(layout.seed + 1)
    others = [
        d for d in range(1, layout.plans + 1) if d not in (layout.big_plan, layout.single_plan)
    ]
    picked = rng.sample(others, 2 * samples)
    open_ids, save_ids = picked[:samples], picked[samples:]
    big, single = layout.big_plan, layout.single_plan
    big_actor = worker_actor(layout, big)
    assert big_actor == worker_actor(layout, single)

    def open_(doc_id: int):
        return lambda: documents.open_document(db, worker_actor(layout, doc_id), doc_id)

    # Warm up the pool, the ORM's compiled-statement cache and the imports.
    for d in open_ids[:20]:
        open_(d)()
    gc.collect()

    log("  open_document on random plans")
    res.stats["open"] = Stat.of([_timed(open_(d)) for d in open_ids])

    log("  save_version on random plans")
    times = []
    stamp = time.strftime("%H%M%S")  # each run's saves differ from the last run's
    for i, d in enumerate(save_ids):
        actor = worker_actor(layout, d)
        page = documents.open_document(db, actor, d)
        raw = page.content
        raw["what_matters"]["text"] = f"{WHAT_MATTERS[i % len(WHAT_MATTERS)]} ({stamp}-{i})"
        start = time.perf_counter_ns()
        result = documents.save_version(db, actor, d, page.head_number, raw, "bench save")
        times.append(time.perf_counter_ns() - start)
        assert result.saved and result.number == page.head_number + 1
    res.stats["save"] = Stat.of(times)

    log("  the same save without the database (validate, attribute, hash)")
    page = documents.open_document(db, big_actor, big)
    previous = page.content

    def cpu_only():
        content = CARE_PLAN.validate(page.content)
        content = CARE_PLAN.attribute(previous, content, big_actor.author)
        content_hash(content)

    res.stats["cpu"] = Stat.of([_timed(cpu_only) for _ in range(samples)])

    log(f"  open: {layout.big_versions:,}-version plan vs 1-version plan, {ratio_pairs} pairs")
    for d in (big, single):
        for _ in range(20):
            open_(d)()
    gc.collect()
    big_t, single_t = [], []
    rounds = 5
    per_round = max(1, ratio_pairs // rounds)
    for _ in range(rounds):
        b, s = [], []
        for i in range(per_round):
            if i % 2:
                b.append(_timed(open_(big)))
                s.append(_timed(open_(single)))
            else:
                s.append(_timed(open_(single)))
                b.append(_timed(open_(big)))
        res.ratio_rounds.append(round(statistics.median(b) / statistics.median(s), 3))
        big_t += b
        single_t += s
    res.stats["open_big"] = Stat.of(big_t)
    res.stats["open_single"] = Stat.of(single_t)
    res.ratio = round(statistics.median(big_t) / statistics.median(single_t), 3)

    log("  history pages of the big plan")
    head = documents.open_document(db, big_actor, big).head_number
    last_page = -(-head // documents.HISTORY_PAGE_SIZE)
    first = lambda: documents.history(db, big_actor, big, 1)  # noqa: E731
    last = lambda: documents.history(db, big_actor, big, last_page)  # noqa: E731
    for _ in range(10):
        first()
        last()
    firsts, lasts = [], []
    for i in range(samples):  # alternated, so both see the same conditions
        for fn, out in ((first, firsts), (last, lasts))[:: 1 if i % 2 else -1]:
            out.append(_timed(fn))
    res.stats["history_first"] = Stat.of(firsts)
    res.stats["history_last"] = Stat.of(lasts)
    res.sizes = {
        "big_head_bytes": len(_text(documents.open_document(db, big_actor, big).content)),
        "single_head_bytes": len(_text(documents.open_document(db, big_actor, single).content)),
        "history_last_page": last_page,
    }
    res.load.append(round(os.getloadavg()[0], 2))
    log("  query plans of one open, save and history")
    res.plans = query_plans(db, layout, save_ids[0])
    db.dispose()
    return res


BIG_TABLES = ("versions", "documents", "audit_events", "users", "caseload_links")


def query_plans(db: Database, layout: Layout, doc_id: int) -> list[dict]:
    """EXPLAIN every SELECT/UPDATE that one open, one save and one history page run.

    A statement is flagged when its plan reads a big table without an index: a SQLite
    "SCAN <table>" (other than the backwards rowid scan that reads the newest row of a whole
    table, ORDER BY id DESC LIMIT with no WHERE) or a PostgreSQL "Seq Scan on <table>".
    """
    seen: dict[str, tuple] = {}

    def capture(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip().split(None, 1)[0].upper()
        if head in ("SELECT", "UPDATE", "DELETE") and statement not in seen:
            seen[statement] = parameters

    actor = worker_actor(layout, doc_id)
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        page = documents.open_document(db, actor, doc_id)
        raw = page.content
        raw["what_matters"]["text"] = f"Being listened to (checked {time.time_ns()})."
        documents.save_version(db, actor, doc_id, page.head_number, raw, "plan check")
        documents.history(db, actor, doc_id, 1)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    out = []
    sqlite = db.is_sqlite
    with db.engine.connect() as conn:
        for statement, params in seen.items():
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            rows = conn.exec_driver_sql(prefix + statement, params).all()
            plan = [r[-1] for r in rows]
            flagged = [line for line in plan if _full_scan(line, statement, sqlite)]
            out.append({"sql": " ".join(statement.split()), "plan": plan, "flagged": flagged})
        conn.rollback()
    return out


def _full_scan(line: str, statement: str, sqlite: bool) -> bool:
    for t in BIG_TABLES:
        if sqlite:
            newest_by_id = re.search(
                rf"FROM {t} ORDER BY {t}\.id DESC\s+LIMIT", " ".join(statement.split())
            )
            if re.search(rf"\bSCAN {t}\b(?! USING)", line) and not newest_by_id:
                return True
        elif re.search(rf"Seq Scan on {t}\b", line):
            return True
    return False


def _text(content: dict) -> str:
    from .content import canonical_text

    return canonical_text(content)
