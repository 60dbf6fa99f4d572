"""Processor time used during a load phase, by who used it: the app server (gunicorn's master
and workers), the database server (every PostgreSQL process on the machine; SQLite runs inside
the app server) and the load generator (the process measuring).

Read from /proc, so on Linux only; elsewhere every figure is None. It says where a phase's
processor time went, which the requests per second alone do not: a bare endpoint may be held
back by the load generator rather than by the server.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _children(pid: int) -> list[int]:
    found = []
    for entry in PROC.glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rfind(")") + 2 :].split()[1]) == pid:  # the parent's pid
            found.append(int(entry.name))
    return found


def _postgres_pids() -> list[int]:
    pids = []
    for entry in PROC.glob("[0-9]*"):
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def snapshot(server_pid: int) -> dict | None:
    """Processor seconds used so far by each group, keyed by pid so that processes that start
    or end during the phase are counted for the part they ran."""
    if not PROC.is_dir():
        return None
    groups = {
        "app server": [server_pid, *_children(server_pid)],
        "database": _postgres_pids(),
        "load generator": [os.getpid()],
    }
    taken = {
        name: {pid: s for pid in pids if (s := _cpu_seconds(pid)) is not None}
        for name, pids in groups.items()
    }
    return {"at": time.monotonic(), "groups": taken}


def used_between(before: dict | None, after: dict | None, requests: int) -> dict | None:
    """Milliseconds of processor time per request for each group, and how many of the
    machine's processors were busy on average, over the time between two snapshots."""
    if before is None or after is None or requests == 0:
        return None
    elapsed = after["at"] - before["at"]
    per_request = {}
    total = 0.0
    for name, now in after["groups"].items():
        then = before["groups"].get(name, {})
        seconds = sum(max(0.0, s - then.get(pid, 0.0)) for pid, s in now.items())
        total += seconds
        per_request[name] = round(1000 * seconds / requests, 2)
    return {
        "ms_per_request": per_request,
        "processors_busy": round(total / elapsed, 2) if elapsed > 0 else None,
    }
