"""From the second signature to a downloadable sealed PDF, with the scheduler running.

For each database (`--db sqlite`, `postgresql` or `both`) it makes a fresh database, starts
`careplan scheduler` as its own process (as in production), and then `--agreements` times:
starts a care plan, saves a version, has the client sign it and then the key worker (the
second signature), and measures from the moment the second signature has committed until the
sealed PDF is ready to download (its row says "ready"; checked every 10 ms). Writes
bench/results/agreed_pdf-<db>.json and bench/RESULTS_agreed_pdf.md.

Goal: median ≤ 1.5 s. Before the scheduler was woken on commit, the PDF job ran every 5 s.

    .venv/bin/python -m bench.agreed_pdf --db both
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from bench.load import BENCH, RESULTS, ROOT, fresh_database

from .options import add_database_options

RESULTS_MD = BENCH / "RESULTS_agreed_pdf.md"
PASSWORD = "agreed-pdf-password"


def run_one(kind: str, args, log=print) -> dict:
    from careplan import create_app
    from careplan.db import migrate
    from careplan.db.models import PdfRender
    from careplan.extensions import DB_KEY
    from careplan.services import accounts, documents, signoff
    from careplan.services.accounts import actor_for

    folder = RESULTS / f"agreed_pdf-{kind}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    instance = folder / "instance"
    url, drop = fresh_database(kind, args.pg_url, folder)
    scheduler = None
    try:
        migrate.upgrade(url)
        # Fast password hashing: signing checks the password, and only the PDF is timed.
        overrides = {"DATABASE_URL": url, "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 1024}
        app = create_app(overrides, instance_path=instance)
        db = app.extensions[DB_KEY]
        accounts.create_team(db, "Team")
        client = accounts.create_user(db, "c@bench.test", "Sam Client", "client", PASSWORD)
        worker = accounts.create_user(
            db, "w@bench.test", "Kim Worker", "key_worker", PASSWORD, "Team"
        )
        accounts.link_caseload(db, client.email, worker.email)
        c, w = actor_for(client), actor_for(worker)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "CAREPLAN_INSTANCE_PATH": str(instance),
            "PYTHONPATH": str(ROOT),
        }
        scheduler = subprocess.Popen(
            [str(Path(sys.executable).with_name("careplan")), "scheduler"],
            cwd=ROOT,
            env=env,
            stdout=(folder / "scheduler.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while "now active" not in (folder / "scheduler.log").read_text():
            if time.monotonic() > deadline or scheduler.poll() is not None:
                raise SystemExit((folder / "scheduler.log").read_text()[-3000:])
            time.sleep(0.1)
        waits = []
        for n in range(args.agreements + 1):
            doc = documents.create_document(db, w, client.id)
            content = {
                "domains": {"housing": {"own_words": f"My own flat, try {n}."}},
                "what_matters": {"text": "Being listened to."},
            }
            documents.save_version(db, w, doc, 0, content, "first")
            signoff.sign(db, c, doc, 1, "signed", "", PASSWORD)
            signoff.sign(db, w, doc, 1, "signed", "", PASSWORD)
            agreed = time.perf_counter()
            while True:
                with db.read() as s:
                    status = s.scalar(
                        sa.select(PdfRender.status).where(PdfRender.document_id == doc)
                    )
                if status == "ready":
                    break
                if status == "failed" or time.perf_counter() - agreed > 120:
                    raise SystemExit(f"the PDF was not made: {status}")
                time.sleep(0.01)
            if n:  # the first one also starts the render host
                waits.append(time.perf_counter() - agreed)
            # Agreements arrive at different moments of the periodic run, as in real life.
            time.sleep(args.gap * (n % 5) / 4)
        db.dispose()
        result = {
            "db": kind,
            "agreements": len(waits),
            "median_s": round(statistics.median(waits), 3),
            "p90_s": round(sorted(waits)[int(0.9 * (len(waits) - 1))], 3),
            "min_s": round(min(waits), 3),
            "max_s": round(max(waits), 3),
            "load": round(os.getloadavg()[0], 2),
        }
        log(f"[{kind}] second signature -> downloadable: {result}")
        return result
    finally:
        if scheduler is not None:
            os.killpg(scheduler.pid, signal.SIGTERM)
            try:
                scheduler.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(scheduler.pid, signal.SIGKILL)
        drop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_options(parser, "both")
    parser.add_argument("--agreements", type=int, default=15)
    parser.add_argument("--gap", type=float, default=1.3, help="longest pause between agreements")
    parser.add_argument("--label", default="current code")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = [run_one(kind, args) for kind in kinds]
    if args.no_write:
        return
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    for r in results:
        (RESULTS / f"agreed_pdf-{r['db']}.json").write_text(json.dumps({"at": stamp, **r}))
    lines = [
        "# From the second signature to a downloadable sealed PDF",
        "",
        f"`.venv/bin/python -m bench.agreed_pdf`, {stamp}, {args.label}; {os.cpu_count()} "
        f"cores, Python {platform.python_version()}; `careplan scheduler` in its own process.",
        "",
        "| database | agreements | median (goal ≤ 1.5 s) | 90th percentile | fastest | slowest | "
        "load average |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['db']} | {r['agreements']} | **{r['median_s']} s** | {r['p90_s']} s | "
            f"{r['min_s']} s | {r['max_s']} s | {r['load']} |"
        )
    RESULTS_MD.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
