"""Care plans at scale: seed 10,000 clients, 50,000 plans and 500,000 versions, then time the
service layer (open, save, history) on SQLite and/or PostgreSQL.

    bash bench/run                   # SQLite (bench/results/plans.db)
    bash bench/run --db both         # SQLite, then PostgreSQL (a database created and dropped)

Results go to bench/results/<backend>.json and, as a table, to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import time
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from careplan.db import migrate
from careplan.db import statistics as db_statistics
from careplan.db.engine import Database, make_engine
from careplan.services import audit

from . import measure
from .options import add_database_options
from .seed import Layout, check, human_bytes, seed

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
RESULTS_MD = HERE / "RESULTS.md"
BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def log(msg: str) -> None:
    print(msg, flush=True)


def _pg_admin(server: str, sql: str) -> None:
    engine = make_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def _machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0
    return {
        "nproc": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "cpu": cpu,
        "memory": human_bytes(mem_kb * 1024) if mem_kb else "",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlalchemy": sa.__version__,
    }


def _json_name(backend: str, scale: float) -> str:
    return f"{backend}.json" if scale == 1.0 else f"{backend}-scale-{scale:g}.json"


def run_backend(backend: str, layout: Layout, args: argparse.Namespace) -> dict:
    log(f"== {BACKENDS[backend]} ==")
    RESULTS_DIR.mkdir(exist_ok=True)
    drop = None
    if backend == "sqlite":
        path = RESULTS_DIR / ("plans.db" if args.scale == 1.0 else f"plans-scale-{args.scale:g}.db")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        db_version = f"SQLite {sqlite3.sqlite_version}"
        seed_engine = sa.create_engine(url)
    else:
        server = args.pg_url.rstrip("/")
        name = f"careplan_bench_{uuid.uuid4().hex[:8]}"
        _pg_admin(server, f'CREATE DATABASE "{name}"')
        url = f"{server}/{name}"
        log(f"  created database {name}")
        if not args.keep:
            drop = lambda: _pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # noqa: E731
        seed_engine = make_engine(url)
        with seed_engine.connect() as conn:
            db_version = "PostgreSQL " + conn.exec_driver_sql("SHOW server_version").scalar()
    try:
        started = time.perf_counter()
        migrate.upgrade(url)
        log(f"  migrated ({time.perf_counter() - started:.1f}s); seeding")
        report = seed(seed_engine, layout, workers=args.workers, log=log)
        log(f"  seeded in {report.seconds:.1f}s; checking")
        checked = check(seed_engine, layout)
        db_statistics.refresh(seed_engine)  # SQLite: what the scheduler does at start
        with seed_engine.connect() as conn:
            if backend == "sqlite":
                size = Path(path).stat().st_size
            else:
                size = conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
        seed_engine.dispose()
        log(f"  database size {human_bytes(size)}; measuring")
        results = measure.run(url, layout, samples=args.samples, ratio_pairs=args.pairs, log=log)
        chain = None
        if not args.skip_chain_check:
            log("  verifying the audit chain (seeded events and the app's own after them)")
            started = time.perf_counter()
            db = Database(url)
            verdict = audit.verify_chain(db)
            db.dispose()
            if not verdict.ok:
                raise AssertionError(f"audit chain broken: {verdict}")
            chain = {"events": verdict.events, "seconds": round(time.perf_counter() - started, 1)}
            log(f"  audit chain of {verdict.events:,} events is intact")
    finally:
        seed_engine.dispose()
        if drop:
            drop()
            log("  dropped the database")
    out = {
        "backend": backend,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "database": db_version,
        "machine": _machine(),
        "layout": {
            "clients": layout.clients,
            "plans": layout.plans,
            "versions": layout.versions,
            "key_workers": layout.key_workers,
            "big_plan": layout.big_plan,
            "single_plan": layout.single_plan,
        },
        "seed": asdict(report),
        "check": checked,
        "audit_chain": chain,
        "database_bytes": size,
        "results": {
            "stats": {k: asdict(v) for k, v in results.stats.items()},
            "ratio": results.ratio,
            "ratio_rounds": results.ratio_rounds,
            "sizes": results.sizes,
            "load": results.load,
            "plans": results.plans,
        },
        "samples": args.samples,
        "pairs": args.pairs,
    }
    (RESULTS_DIR / _json_name(backend, args.scale)).write_text(
        json.dumps(out, indent=2, default=str)
    )
    return out


ROWS = [
    ("open", "open_document, random plans"),
    ("save", "save_version, random plans"),
    ("cpu", "… of which validate + attribute + hash (no database)"),
    ("open_big", "open_document, the 1,000-version plan"),
    ("open_single", "open_document, the 1-version plan"),
    ("history_first", "history page 1, the 1,000-version plan"),
    ("history_last", "history last page, the 1,000-version plan"),
]


def render(runs: dict[str, dict]) -> str:
    order = [b for b in BACKENDS if b in runs]
    first = runs[order[0]]
    m, lay = first["machine"], first["layout"]
    lines = [
        "# Benchmark: care plans at scale",
        "",
        "Made by `bash bench/run --db both` (see bench/README.md). Latencies are through the "
        "service layer (`careplan.services.documents`), as the key worker who holds each plan, "
        "in one process on a warm database; milliseconds.",
        "",
        f"- Machine: {m['nproc']} CPUs ({m['cpu'] or 'unknown CPU'}), {m['memory']} RAM, "
        f"{m['os']}; Python {m['python']}, SQLAlchemy {m['sqlalchemy']}",
    ]
    for b in order:
        r = runs[b]
        lines.append(f"- {BACKENDS[b]}: {r['database']}, run {r['date']}")
    lines += [
        f"- Data: {lay['clients']:,} clients, {lay['plans']:,} care plans, "
        f"{lay['versions']:,} versions (one plan with 1,000 versions, one with exactly 1), "
        f"one audit event per document and per version",
        "",
        "| Measure | " + " | ".join(f"{BACKENDS[b]} median | p95" for b in order) + " |",
        "|---|" + "---:|---:|" * len(order),
    ]
    for key, label in ROWS:
        cells = []
        for b in order:
            st = runs[b]["results"]["stats"].get(key)
            cells += [f"{st['median_ms']:.2f}", f"{st['p95_ms']:.2f}"] if st else ["–", "–"]
        n = runs[order[0]]["results"]["stats"].get(key, {}).get("n", "")
        lines.append(f"| {label} (n={n}) | " + " | ".join(cells) + " |")
    cells = []
    for b in order:
        res = runs[b]["results"]
        rounds = res["ratio_rounds"]
        cells += [f"**{res['ratio']:.2f}**", f"rounds {min(rounds):.2f}–{max(rounds):.2f}"]
    lines.append(
        "| open 1,000-version ÷ open 1-version, ratio of medians (goal ≤ 1.3) | "
        + " | ".join(cells)
        + " |"
    )
    lines += [
        "",
        "| Seeding | " + " | ".join(BACKENDS[b] for b in order) + " |",
        "|---|" + "---:|" * len(order),
        "| total time | " + " | ".join(f"{runs[b]['seed']['seconds']:.0f} s" for b in order) + " |",
        "| database size | "
        + " | ".join(human_bytes(runs[b]["database_bytes"]) for b in order)
        + " |",
        "| average version content (canonical JSON) | "
        + " | ".join(
            f"{runs[b]['seed']['content_bytes'] / max(1, lay['versions']):,.0f} B" for b in order
        )
        + " |",
    ]
    lines.append("")
    for b in order:
        res = runs[b]["results"]
        plans = res.get("plans", [])
        flagged = [p for p in plans if p["flagged"]]
        load = res.get("load") or ["?", "?"]
        verdict = (
            "none reads a big table without an index"
            if not flagged
            else "full scans: " + "; ".join(f"`{p['sql'][:120]}` → {p['flagged']}" for p in flagged)
        )
        seed_ = runs[b]["seed"]
        chain = runs[b].get("audit_chain")
        lines.append(
            f"- {BACKENDS[b]}: load average (1 min) {load[0]} before and {load[-1]} after the "
            f"timings; query plans of the {len(plans)} statements of one open, save and "
            f"history: {verdict}. Seeded data checked: counts, heads, parent chains, sampled "
            f"hashes; {seed_['attribution_checked']:,} versions' attribution compared with "
            f"`CARE_PLAN.attribute`, {seed_['schema_validated']:,} validated with "
            "`CARE_PLAN.validate`"
            + (
                f"; audit chain of {chain['events']:,} events intact (`verify_chain`)."
                if chain
                else "."
            )
        )
    sizes = first["results"]["sizes"]
    lines += [
        "",
        f"The 1-version plan holds a copy of the 1,000-version plan's latest content "
        f"({sizes['single_head_bytes']:,} vs {sizes['big_head_bytes']:,} bytes of JSON), "
        "so the ratio isolates the cost of history. Opens of the two alternate, "
        f"{first['pairs']} pairs in 5 rounds. Random plans: {first['samples']} each for opening "
        'and saving (a save changes "what matters to me" on the latest version).',
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bash bench/run", description=__doc__.split("\n\n")[0])
    add_database_options(p, "sqlite")
    p.add_argument("--keep", action="store_true", help="keep the PostgreSQL database afterwards")
    p.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the full data (smoke runs)"
    )
    p.add_argument("--samples", type=int, default=300, help="random plans opened, and saved")
    p.add_argument("--pairs", type=int, default=1000, help="big/single open pairs for the ratio")
    p.add_argument(
        "--skip-chain-check",
        action="store_true",
        help="skip walking the whole audit chain with the app's verify_chain (~30 s)",
    )
    p.add_argument("--workers", type=int, default=None, help="generator processes (default nproc)")
    args = p.parse_args(argv)

    layout = Layout.scaled(args.scale) if args.scale != 1.0 else Layout()
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    started = time.perf_counter()
    for backend in backends:
        run_backend(backend, layout, args)
    runs = {}
    for b in BACKENDS:
        path = RESULTS_DIR / _json_name(b, args.scale)
        if path.exists():
            data = json.loads(path.read_text())
            if data["layout"]["versions"] == layout.versions:
                runs[b] = data
    table = render(runs)
    if args.scale == 1.0:
        RESULTS_MD.write_text(table)
        log(f"\nwrote {RESULTS_MD.relative_to(HERE.parent)}")
    else:
        log("\n(scaled run: bench/RESULTS.md left as it was)")
    print("\n" + table)
    log(f"total {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
