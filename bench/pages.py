"""Processor time per request, in-process, in units of one static file from the same app.

For each database (`--db sqlite`, `postgresql` or `both`) it seeds the load benchmark's data
(bench.load.seed: clients and key workers sharing agreed plans with sealed PDFs), signs a
client and their key worker in through the Flask test client and, in `--rounds` rounds, times
5 of each request the load benchmark makes, for each of them (the plan, the edit page, the
edit page and a save, the history, the sealed PDF's download, the start page), and 5 of the
app's own static stylesheet. Each figure is the request's processor time
(`time.process_time`, so waiting for the database does not count) divided by the static
file's: rounds alternate, so a machine that speeds up or slows down moves both sides alike. No
HTTP server and no load generator share the processor with it, and the test client's own
reading of the edit form before a save (what a browser does) is not counted. After warming up,
the start-up objects are frozen as each web worker freezes them (careplan/long_lived.py).

    .venv/bin/python -m bench.pages --db both
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from . import load
from .document_form import CSRF, DocumentForm
from .options import add_database_options

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
RESULTS_MD = BENCH / "RESULTS_pages.md"
PER_ROUND = 5


def signed_in(app, account: dict):
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post(
        "/login", data={"email": account["email"], "password": load.PASSWORD, "csrf_token": token}
    )
    return client


def fetch(client, url: str) -> None:
    response = client.get(url, follow_redirects=True)
    response.get_data()
    response.close()
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")


def requests_for(client, account: dict, who: str) -> dict[str, Callable[[], float | None]]:
    doc = account["document"]
    saved = [0]

    def get(url: str) -> None:
        fetch(client, url)

    def save() -> float:
        page = client.get(f"/documents/{doc}/edit").get_data(as_text=True)
        started = time.process_time()
        form = dict(DocumentForm(page).fields)
        reading_the_form = time.process_time() - started
        saved[0] += 1
        form["what_matters-text"] = f"{who} save {saved[0]}"
        form["change_note"] = f"bench save {saved[0]}"
        response = client.post(f"/documents/{doc}/edit", data=form)
        if response.status_code != 302:
            raise SystemExit(f"the save answered {response.status_code}")
        return reading_the_form  # the browser's work, not the app's: not counted

    return {
        f"plan page ({who})": lambda: get(f"/documents/{doc}"),
        f"edit page ({who})": lambda: get(f"/documents/{doc}/edit"),
        f"edit page and save ({who})": save,
        f"history ({who})": lambda: get(f"/documents/{doc}/history"),
        f"sealed PDF download ({who})": lambda: get(
            f"/documents/{doc}/versions/{account['agreed_version']}/signed.pdf"
        ),
        f"start page ({who})": lambda: get("/"),
    }


def run_one(kind: str, args, log=print) -> dict:
    from careplan import create_app
    from careplan.db import migrate
    from careplan.extensions import DB_KEY
    from careplan.long_lived import freeze_start_up_objects

    folder = RESULTS / f"pages-{kind}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    url, drop = load.fresh_database(kind, args.pg_url, folder)
    try:
        migrate.upgrade(url)
        log(f"[{kind}] seeding")
        people = load.seed(url, folder / "instance", 4, log)
        app = create_app({"DATABASE_URL": url}, instance_path=folder / "instance")
        # people[0] is a client and people[1] their key worker, sharing one plan.
        requests = {
            **requests_for(signed_in(app, people[0]), people[0], "client"),
            **requests_for(signed_in(app, people[1]), people[1], "key worker"),
        }
        static = signed_in(app, people[0])
        requests["static file"] = lambda: fetch(static, "/static/app.css")
        for make in requests.values():  # warm: templates compiled, statements prepared
            for _ in range(10):
                make()
        # As each web worker does after start-up (wsgi.py): otherwise the collector's full
        # passes, walking every start-up object, land on whichever request is timed then.
        freeze_start_up_objects()
        spent = dict.fromkeys(requests, 0.0)
        for _ in range(args.rounds):
            for name, make in requests.items():
                started = time.process_time()
                not_the_app = sum(make() or 0.0 for _ in range(PER_ROUND))
                spent[name] += time.process_time() - started - not_the_app
        app.extensions[DB_KEY].dispose()
        static = spent.pop("static file")
        count = args.rounds * PER_ROUND
        result = {
            "db": kind,
            "rounds": args.rounds,
            "static_ms": round(static / count * 1000, 3),
            "units": {name: round(t / static, 2) for name, t in spent.items()},
        }
        log(f"  {result}")
        return result
    finally:
        drop()


def write_results(results: list[dict], label: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    for r in results:
        (RESULTS / f"pages-{r['db']}.json").write_text(json.dumps({"at": stamp, **r}, indent=2))
    lines = [
        "# Processor time per request, in units of a static file",
        "",
        f"`.venv/bin/python -m bench.pages`, {stamp}, {label}; {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {results[0]['rounds']} alternating rounds of "
        f"{PER_ROUND} of each request, a client and their key worker signed in, Flask test "
        "client in-process, start-up objects frozen as in a web worker.",
        "",
        "| request | " + " | ".join(r["db"] for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    for name in results[0]["units"]:
        lines.append(f"| {name} | " + " | ".join(str(r["units"][name]) for r in results) + " |")
    lines.append(
        "| (one static file, ms of processor time) | "
        + " | ".join(str(r["static_ms"]) for r in results)
        + " |"
    )
    RESULTS_MD.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_options(parser, "both")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--label", default="current code")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = [run_one(kind, args) for kind in kinds]
    if not args.no_write:
        write_results(results, args.label)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
