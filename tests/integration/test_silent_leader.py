"""A scheduler that stops without dying (SIGSTOP here; a frozen or wholly hung process alike)
keeps its PostgreSQL connection, and so its lock: its machine still answers for it. Its
checks of the lock stop, and a standby that sees them silent for `silent_after` seconds ends
that connection and takes over; the old leader, woken, finds the lock gone. A leader that
keeps checking is never taken over, however long a standby waits.

Run as a module (`python -m tests.integration.test_silent_leader URL KEY`) this file is also
the leader, in a process of its own that the test can stop.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from careplan.reminders.scheduler import PostgresLeaderLock
from tests.conftest import BACKEND

ROOT = Path(__file__).resolve().parents[2]
MODULE = "tests.integration.test_silent_leader"
SILENT_AFTER = 2.0
CHECK_EVERY = 0.2

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL's leader lock")


def _lead(url: str, key: int) -> None:
    lock = PostgresLeaderLock(url, key=key)
    assert lock.try_acquire()
    print("leading", flush=True)
    while lock.still_held():
        time.sleep(CHECK_EVERY)
    print("lost", flush=True)
    lock.release()


def _standby_takes_over_within(standby: PostgresLeaderLock, seconds: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if standby.try_acquire():
            return time.monotonic() - started
        time.sleep(0.25)
    return None


@pytest.mark.slow(seconds=15)
def test_a_standby_takes_over_from_a_leader_that_stopped_without_dying(database_url):
    key = secrets.randbelow(2**31)
    leader = subprocess.Popen(
        [sys.executable, "-m", MODULE, database_url, str(key)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    standby = PostgresLeaderLock(database_url, key=key, silent_after=SILENT_AFTER)
    try:
        assert leader.stdout.readline().strip() == "leading"
        # Checking its lock every 0.2 s: never silent for 2 s, so never taken over.
        assert _standby_takes_over_within(standby, 3 * SILENT_AFTER) is None
        assert leader.poll() is None

        os.kill(leader.pid, signal.SIGSTOP)
        taken = _standby_takes_over_within(standby, SILENT_AFTER + 10)
        assert taken is not None, "the standby never took over from the stopped leader"
        # Silent since its last check, up to CHECK_EVERY before it was stopped (more if the
        # machine was busy when it was due): measured from the stop, a little under 2 s.
        assert SILENT_AFTER - 2 * CHECK_EVERY <= taken <= SILENT_AFTER + 3
        assert standby.still_held()

        os.kill(leader.pid, signal.SIGCONT)  # woken: it finds it no longer leads, and stops
        assert leader.stdout.readline().strip() == "lost"
        assert leader.wait(10) == 0
        assert standby.still_held()
    finally:
        standby.release()
        if leader.poll() is None:
            os.kill(leader.pid, signal.SIGCONT)
            leader.kill()
            leader.wait(10)


if __name__ == "__main__":
    _lead(sys.argv[1], int(sys.argv[2]))
