"""Starts gunicorn for the tests without importing the app again each time.

`python -m tests.gunicorn_zygote` imports the app's modules and gunicorn once, then reads
requests, one JSON line each, from its standard input:

- {"start": [...gunicorn arguments], "cwd": ..., "env": {...}, "log": path}: forks a child
  that runs `gunicorn` with those arguments, environment and folder, its output in `log`
  (exactly as `python -m gunicorn ...` there would), and answers {"pid": ...};
- {"poll": pid}: answers {"status": its exit code}, or null while it runs;
- {"stop": pid, "seconds": s}: ends it as `terminate` would, unless it has ended already,
  waits for it to end (killing it after s seconds) and answers {"status": its exit code}.

Importing the app and its libraries took most of the start of each over-HTTP test (about
1.3 s of processor time each, in a suite that starts gunicorn some 160 times). Forking after
the imports is safe because this process opens nothing: no database connection, no app, no
thread; each child builds the app from the environment it is given, as `wsgi.py` does.
Nothing the app reads from the environment is read at import (config and paths read it when
the app is built).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import gunicorn.app.wsgiapp
import gunicorn.arbiter
import gunicorn.workers.sync  # noqa: F401 - the worker class each child loads

import careplan  # noqa: F401 - the app's modules and their libraries, imported once


def _child(request: dict) -> None:
    """Become `gunicorn ...` as the request asks; never returns."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(null)
        os.close(log)
        sys.argv = ["gunicorn", *request["start"]]
        try:
            gunicorn.app.wsgiapp.run(prog="gunicorn")
            code = 0
        except SystemExit as end:
            code = end.code if isinstance(end.code, int) else (0 if end.code is None else 1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # not the zygote's cleanups: its pipes are the test worker's


# Children that have ended: their exit codes. A pid is given again once its holder is reaped
# (pid_max is 32,768 here, and a suite starts tens of thousands of processes), so a record is
# dropped when a new child gets its pid, and nothing is signalled by a pid once reaped.
_REAPED: dict[int, int] = {}


def _started(pid: int) -> None:
    """A new child has this pid: any record of an earlier one that had it is not about it."""
    _REAPED.pop(pid, None)


def _stop(pid: int, seconds: float) -> int:
    """As Popen.terminate then wait(seconds), for a child still running; a child that has
    ended is not signalled (its pid may be another process's by now)."""
    if _ended(pid) is None:
        os.kill(pid, signal.SIGTERM)
    return _wait(pid, seconds)


def _ended(pid: int) -> int | None:
    """The child's exit code once it has ended, else None."""
    if pid not in _REAPED:
        done, status = os.waitpid(pid, os.WNOHANG)
        if not done:
            return None
        _REAPED[pid] = os.waitstatus_to_exitcode(status)
    return _REAPED[pid]


def _wait(pid: int, seconds: float) -> int:
    """Waits for the child to end, killing it after `seconds`, as Popen.wait then kill."""
    deadline = time.monotonic() + seconds
    while (code := _ended(pid)) is None:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _REAPED[pid] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            return _REAPED[pid]
        time.sleep(0.02)
    return code


def main() -> None:
    out = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        if "start" in request:
            out.flush()
            pid = os.fork()
            if pid == 0:
                _child(request)
            _started(pid)
            answer = {"pid": pid}
        elif "poll" in request:
            answer = {"status": _ended(request["poll"])}
        else:
            answer = {"status": _stop(request["stop"], request["seconds"])}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
