"""The process that starts gunicorn for the tests (tests/gunicorn_zygote.py) tells its children
apart from whatever process has their pid after them: with pid_max at 32,768 a long run gives
pids again, and a new server once read as ended the moment it started, with an empty log."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from tests import gunicorn_zygote as zygote


def test_a_child_given_the_pid_of_one_that_ended_is_not_taken_for_ended():
    pid = os.fork()
    if pid == 0:  # the new child: alive until killed
        time.sleep(30)
        os._exit(0)
    try:
        zygote._REAPED[pid] = 0  # an earlier child that had this pid ended
        zygote._started(pid)
        assert zygote._ended(pid) is None
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        zygote._REAPED.pop(pid, None)


def test_stopping_a_child_that_ended_signals_nobody_who_has_its_pid_since():
    other = subprocess.Popen(["sleep", "30"])  # not the zygote's child: has the pid since
    try:
        zygote._REAPED[other.pid] = 0
        assert zygote._stop(other.pid, 1) == 0
        time.sleep(0.1)
        assert other.poll() is None  # still running: no signal reached it
    finally:
        zygote._REAPED.pop(other.pid, None)
        other.kill()
        other.wait()
