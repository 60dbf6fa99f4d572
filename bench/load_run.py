"""One timed phase of the load benchmark, run by bench/load.py in its own process (locust
patches the process with gevent): start N users of one class, wait until every one has signed
in, reset the statistics, run for the given time, and print the figures as JSON.

    python -m bench.load_run HOST CLASS USERS SECONDS SERVER_PID

SERVER_PID is gunicorn's master: the processor time of it and its workers, of PostgreSQL and of
this process over the timed window is reported per request (bench/cpu.py).
"""

from __future__ import annotations

import json
import sys
import time

import gevent
from locust.env import Environment

from bench import cpu, locustfile

SIGN_IN = "sign in (once per user)"


def percentile(histogram: dict[int, int], fraction: float) -> float:
    total = sum(histogram.values())
    seen = 0
    for ms in sorted(histogram):
        seen += histogram[ms]
        if seen >= fraction * total:
            return ms
    return 0.0


def main(host: str, user_class: str, users: int, seconds: float, server_pid: int) -> None:
    cls = getattr(locustfile, user_class)
    env = Environment(user_classes=[cls], host=host)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=users)
    deadline = time.monotonic() + 300
    while user_class == "CareplanUser" and len(locustfile.SIGNED_IN) < users:
        if time.monotonic() > deadline:
            raise SystemExit("not every user could sign in")
        gevent.sleep(0.1)
    gevent.sleep(1)  # let the first requests after signing in settle
    env.stats.reset_all()
    cpu_before = cpu.snapshot(server_pid)
    started = time.monotonic()
    gevent.sleep(seconds)
    stats = {name: entry for (name, _method), entry in env.stats.entries.items()}
    elapsed = time.monotonic() - started
    cpu_after = cpu.snapshot(server_pid)
    runner.quit()
    histogram: dict[int, int] = {}
    requests = failures = 0
    per_name = {}
    for name, entry in stats.items():
        if name == SIGN_IN:
            continue
        requests += entry.num_requests
        failures += entry.num_failures
        for ms, n in entry.response_times.items():
            histogram[ms] = histogram.get(ms, 0) + n
        per_name[name] = {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "median_ms": entry.median_response_time,
            "p95_ms": entry.get_response_time_percentile(0.95),
        }
    errors = [
        {"name": e.name, "error": str(e.error), "occurrences": e.occurrences}
        for e in env.stats.errors.values()
    ]
    print(
        json.dumps(
            {
                "class": user_class,
                "users": users,
                "seconds": round(elapsed, 1),
                "requests": requests,
                "failures": failures,
                "rps": round(requests / elapsed, 1),
                "median_ms": percentile(histogram, 0.5),
                "p95_ms": percentile(histogram, 0.95),
                "per_name": per_name,
                "errors": errors,
                "processor": cpu.used_between(cpu_before, cpu_after, requests),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))
