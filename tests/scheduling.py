"""The real scheduler loop (careplan.reminders.scheduler.run) in a thread of the test, with the
jobs a test gives it; stopped, and checked to have stopped, when the test is done with it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from careplan.reminders import scheduler


@contextmanager
def scheduler_running(app, jobs: list[scheduler.Job], timeout: float = 60) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(
        target=scheduler.run,
        kwargs={
            "app": app,
            "jobs": jobs,
            "poll_seconds": 0.5,
            "stop": stop,
            "handle_signals": False,
        },
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout)
    assert not thread.is_alive(), "the scheduler did not stop"
