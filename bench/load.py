"""The app under load, beside a bare Flask endpoint on the same gunicorn.

For each database (PostgreSQL by default; `--db sqlite` or `--db both`) it:

1. makes a fresh database and instance folder and seeds, through the services, `--users`
   accounts (production password hashing): half clients, half their key workers, each pair
   sharing a care plan agreed at version 2 whose sealed PDF is made before the run;
2. starts gunicorn (`--workers`, sync workers) on bench.load_app: the app exactly as wsgi.py
   builds it, and a bare Flask app at /bare with one endpoint and a static copy of a sealed
   PDF (same size) in the same processes;
3. downloads: one signed-in client fetches the stored sealed PDF and the static file of the
   same size alternately (`--download-rounds` each, one request at a time, then the same
   with 8 at a time); goal: median download / median static ≤ 1.5;
4. load: 50 users for 30 s on the bare endpoint, 50 users for `--seconds` on the app (each
   signs in once, then reads its plan, saves it, the client and key worker of a plan saving
   the same plan so that saves conflict, reads the history, downloads the sealed PDF, opens
   the home page, with no pause), then the bare endpoint again; locust runs headless in its
   own process (bench/load_run.py) and sign-ins are left out of the figures;
5. reads, for each phase, the processor time per request of the app server, PostgreSQL and the
   load generator, and how many processors were busy (bench/cpu.py, Linux /proc): a phase held
   back by the load generator rather than the server shows here;
6. checks zero failed requests, and zero lost saves: every save the app acknowledged (a
   redirect after the POST) is a version of its plan in the database; the audit chain,
   written concurrently by all of it, must verify;
7. writes bench/results/load-<db>.json and the tables in bench/RESULTS_load.md.

    .venv/bin/python -m bench.load --db both
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from .document_form import CSRF
from .options import add_database_options

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
RESULTS_MD = BENCH / "RESULTS_load.md"
PASSWORD = "load-test-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- databases -----------------------------------------------------------------------------------


def fresh_database(kind: str, pg_url: str, folder: Path) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'careplan.db'}", lambda: None
    name = f"careplan_bench_load_{secrets.token_hex(4)}"
    admin = sa.create_engine(
        pg_url.replace("postgresql://", "postgresql+psycopg://") + "/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop():
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return f"{pg_url}/{name}", drop


def seed(url: str, instance: Path, users: int, log) -> list[dict]:
    from careplan import create_app
    from careplan.extensions import DB_KEY
    from careplan.services import accounts, documents, pdfs, signoff
    from careplan.services.accounts import actor_for

    app = create_app({"DATABASE_URL": url}, instance_path=instance)
    db = app.extensions[DB_KEY]
    accounts.create_team(db, "Load team")
    people = []
    pairs = users // 2
    for n in range(pairs):
        client = accounts.create_user(db, f"client{n}@load.test", f"Client {n}", "client", PASSWORD)
        worker = accounts.create_user(
            db, f"worker{n}@load.test", f"Worker {n}", "key_worker", PASSWORD, "Load team"
        )
        accounts.link_caseload(db, client.email, worker.email)
        c, w = actor_for(client), actor_for(worker)
        doc = documents.create_document(db, w, client.id)
        content = {
            "domains": {"housing": {"own_words": f"I live with my sister for now ({n})."}},
            "goals": [
                {
                    "title": "Find a flat",
                    "steps": [
                        {
                            "text": "Call the council",
                            "owner": {"kind": "client"},
                            "due": "2027-01-15",
                        }
                    ],
                }
            ],
            "what_matters": {"text": "Being listened to."},
        }
        documents.save_version(db, w, doc, 0, content, "first")
        content = documents.open_document(db, w, doc).content
        content["what_matters"] = {"text": "Being listened to, and my daughter."}
        documents.save_version(db, c, doc, 1, content, "second")
        for actor in (c, w):
            signoff.sign(db, actor, doc, 2, "signed", "", PASSWORD)
        for user in (client, worker):
            people.append(
                {"email": user.email, "password": PASSWORD, "document": doc, "agreed_version": 2}
            )
    settings = pdfs.PdfSettings.from_config(app.config, app.instance_path)
    made = pdfs.run_pending(db, settings, limit=pairs)
    assert made == pairs, f"{made} of {pairs} sealed PDFs made"
    log(f"  seeded {len(people)} accounts, {pairs} agreed plans with sealed PDFs")
    db.dispose()
    return people


def check_saves(url: str, saves_file: Path) -> dict:
    from careplan.db.engine import Database
    from careplan.db.models import Version
    from careplan.services import audit

    lines = [json.loads(line) for line in saves_file.read_text().splitlines() if line]
    acknowledged = [s for s in lines if not s.get("conflict")]
    db = Database(url)
    with db.read() as s:
        stored = {
            (doc, (content.get("what_matters") or {}).get("text"))
            for doc, content in s.execute(sa.select(Version.document_id, Version.content))
        }
    lost = [s for s in acknowledged if (s["document"], s["text"]) not in stored]
    chain = audit.verify_chain(db)
    db.dispose()
    return {
        "acknowledged": len(acknowledged),
        "conflicts": len(lines) - len(acknowledged),
        "lost": len(lost),
        "audit_events": chain.events,
        "audit_chain_ok": chain.ok,
    }


# --- the server ----------------------------------------------------------------------------------


def start_server(env: dict, port: int, workers: int, log_file: Path) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--backlog",
            "2048",
            "bench.load_app:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log_file.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bare/", timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"gunicorn did not start:\n{log_file.read_text()[-3000:]}")


def signed_in_opener(base: str, account: dict):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
    token = CSRF.search(opener.open(base + "/login").read().decode()).group(1)
    data = urllib.parse.urlencode(
        {"email": account["email"], "password": account["password"], "csrf_token": token}
    ).encode()
    try:
        opener.open(base + "/login", data)
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302, redirect.code
    return opener


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def downloads(base: str, account: dict, rounds: int, threads: int) -> dict:
    """Median time of the sealed PDF's download and of the static file, alternating."""
    pdf_url = (
        f"{base}/documents/{account['document']}/versions/{account['agreed_version']}/signed.pdf"
    )
    static_url = f"{base}/bare/static/sealed.pdf"
    times: dict[str, list[float]] = {"download": [], "static": []}
    lock = threading.Lock()
    errors: list[str] = []

    def worker(index: int) -> None:
        opener = signed_in_opener(base, account)
        for n in range(rounds // threads):
            pair = [("download", pdf_url), ("static", static_url)]
            for name, url in pair if (n + index) % 2 == 0 else reversed(pair):
                started = time.perf_counter()
                try:
                    with opener.open(url) as response:
                        body = response.read()
                except OSError as exc:
                    errors.append(f"{name}: {exc}")
                    continue
                elapsed = time.perf_counter() - started
                if not body.startswith(b"%PDF"):
                    errors.append(f"{name}: not a PDF")
                with lock:
                    times[name].append(elapsed)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    return {
        "threads": threads,
        "requests_each": len(times["download"]),
        "download_median_ms": round(med["download"], 2),
        "static_median_ms": round(med["static"], 2),
        "ratio": round(med["download"] / med["static"], 3),
        "errors": errors[:10],
    }


def phase(
    base: str, user_class: str, users: int, seconds: float, env: dict, server_pid: int
) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.load_run",
            base,
            user_class,
            str(users),
            str(seconds),
            str(server_pid),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 400,
    )
    if out.returncode != 0:
        raise SystemExit(f"load phase failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- one database ---------------------------------------------------------------------------------


def run_one(kind: str, args, log=print) -> dict:
    folder = RESULTS / f"load-{kind}"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "static").mkdir(parents=True)
    instance = folder / "instance"
    url, drop = fresh_database(kind, args.pg_url, folder)
    server = None
    try:
        from careplan.db import migrate

        migrate.upgrade(url)
        log(f"[{kind}] seeding")
        people = seed(url, instance, args.users, log)
        sealed = sorted((instance / "pdfs").glob("*.pdf"))[0]
        shutil.copyfile(sealed, folder / "static" / "sealed.pdf")
        (folder / "accounts.json").write_text(json.dumps(people))
        saves = folder / "saves.jsonl"
        saves.write_text("")
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "CAREPLAN_INSTANCE_PATH": str(instance),
            "SECRET_KEY": secrets.token_urlsafe(48),
            "CAREPLAN_BENCH_STATIC": str(folder / "static"),
            "CAREPLAN_BENCH_ACCOUNTS": str(folder / "accounts.json"),
            "CAREPLAN_BENCH_SAVES": str(saves),
            "PYTHONPATH": str(ROOT),
        }
        server = start_server(env, port, args.workers, folder / "gunicorn.log")
        base = f"http://127.0.0.1:{port}"
        result = {"db": kind, "users": args.users, "workers": args.workers}
        load = [round(os.getloadavg()[0], 2)]
        log(f"[{kind}] downloads against the static file")
        result["download_one_at_a_time"] = downloads(base, people[0], args.download_rounds, 1)
        result["download_eight_at_a_time"] = downloads(base, people[0], args.download_rounds, 8)
        log(f"  {result['download_one_at_a_time']}\n  {result['download_eight_at_a_time']}")
        log(f"[{kind}] load: bare, app, bare")
        bare_before = phase(base, "BareUser", args.users, args.bare_seconds, env, server.pid)
        app_run = phase(base, "CareplanUser", args.users, args.seconds, env, server.pid)
        bare_after = phase(base, "BareUser", args.users, args.bare_seconds, env, server.pid)
        load.append(round(os.getloadavg()[0], 2))
        bare_rps = (bare_before["rps"] + bare_after["rps"]) / 2
        bare_p95 = (bare_before["p95_ms"] + bare_after["p95_ms"]) / 2
        result.update(
            bare_before=bare_before,
            app=app_run,
            bare_after=bare_after,
            throughput_ratio=round(app_run["rps"] / bare_rps, 3),
            p95_ratio=round(app_run["p95_ms"] / bare_p95, 2) if bare_p95 else None,
            saves=check_saves(url, saves),
            load=load,
        )
        log(
            f"  bare {bare_before['rps']} / {bare_after['rps']} req/s, app {app_run['rps']} "
            f"req/s ({app_run['failures']} failures): {result['throughput_ratio']:.1%} of bare "
            f"(goal >= 25%); p95 app {app_run['p95_ms']} ms; saves {result['saves']}"
        )
        log(
            f"  processor ms per request, bare: {bare_before['processor']}; "
            f"app: {app_run['processor']}; server-side ratio {_server_ratio(result)}"
        )
        return result
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        drop()


def write_results(results: list[dict], label: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    for r in results:
        (RESULTS / f"load-{r['db']}.json").write_text(json.dumps({"at": stamp, **r}, indent=2))
    lines = [
        "# The app under load, beside a bare Flask endpoint",
        "",
        f"`.venv/bin/python -m bench.load`, {stamp}, {label}; {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; gunicorn with {results[0]['workers']} sync workers, "
        f"{results[0]['users']} users without pauses, the load generator on the same machine.",
        "",
        "| measure | " + " | ".join(r["db"] for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]

    def row(label, fn):
        lines.append(f"| {label} | " + " | ".join(str(fn(r)) for r in results) + " |")

    row(
        "bare endpoint, requests/s (run before / after the app's)",
        lambda r: f"{r['bare_before']['rps']} / {r['bare_after']['rps']}",
    )
    row("app, requests/s", lambda r: r["app"]["rps"])
    row("**app ÷ bare throughput (goal ≥ 25%)**", lambda r: f"**{r['throughput_ratio']:.1%}**")
    row("app median / p95 (ms)", lambda r: f"{r['app']['median_ms']} / {r['app']['p95_ms']}")
    row(
        "bare median / p95 (ms)",
        lambda r: f"{r['bare_before']['median_ms']} / {r['bare_before']['p95_ms']}",
    )
    row("p95 ratio app ÷ bare", lambda r: r["p95_ratio"])
    row("failed requests", lambda r: r["app"]["failures"])
    row(
        "saves acknowledged / conflicts / lost",
        lambda r: (
            f"{r['saves']['acknowledged']} / {r['saves']['conflicts']} / {r['saves']['lost']}"
        ),
    )
    row(
        "audit chain after the run",
        lambda r: (
            f"{r['saves']['audit_events']} events, {'intact' if r['saves']['audit_chain_ok'] else 'BROKEN'}"
        ),
    )
    for key, label in (
        ("download_one_at_a_time", "one at a time"),
        ("download_eight_at_a_time", "8 at a time"),
    ):
        row(
            f"sealed PDF download ÷ static file, {label} (goal ≤ 1.5)",
            lambda r, k=key: (
                f"**{r[k]['ratio']}** ({r[k]['download_median_ms']} / {r[k]['static_median_ms']} ms)"
            ),
        )
    for group in ("app server", "database", "load generator"):
        row(
            f"processor time per request, {group}, ms (bare / app)",
            lambda r, g=group: f"{_ms(r['bare_before'], g)} / {_ms(r['app'], g)}",
        )
    row(
        f"processors busy, of {os.cpu_count()} (bare / app)",
        lambda r: f"{_busy(r['bare_before'])} / {_busy(r['app'])}",
    )
    row(
        "app server's processor time per request, bare ÷ app",
        lambda r: _server_ratio(r),
    )
    row("load average before / after", lambda r: " / ".join(map(str, r["load"])))
    lines += ["", "Per request type (app run):", ""]
    for r in results:
        lines += [
            f"**{r['db']}**",
            "",
            "| request | count | median ms | p95 ms |",
            "|---|---:|---:|---:|",
        ]
        for name, s in sorted(r["app"]["per_name"].items()):
            lines.append(f"| {name} | {s['requests']} | {s['median_ms']} | {s['p95_ms']} |")
        lines.append("")
    RESULTS_MD.write_text("\n".join(lines) + "\n")


def _ms(phase_result: dict, group: str):
    used = phase_result.get("processor")
    return used["ms_per_request"][group] if used else "n/a"


def _busy(phase_result: dict):
    used = phase_result.get("processor")
    return used["processors_busy"] if used else "n/a"


def _server_ratio(result: dict) -> str:
    """What the throughput ratio would be if the app server's processor time alone set both
    rates (the bare endpoint's rate is often set by the load generator instead)."""
    bare, app = _ms(result["bare_before"], "app server"), _ms(result["app"], "app server")
    if not isinstance(bare, float) or not isinstance(app, float) or not app:
        return "n/a"
    return f"{bare / app:.1%}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_options(parser, "postgresql")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--bare-seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--download-rounds", type=int, default=400)
    parser.add_argument("--label", default="current code")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    kinds = ["postgresql", "sqlite"] if args.db == "both" else [args.db]
    results = [run_one(kind, args) for kind in kinds]
    if not args.no_write:
        write_results(results, args.label)


if __name__ == "__main__":
    main()
