"""The real scheduler loop (careplan.reminders.scheduler.run) in a thread of the test, with the
jobs a test gives it; stopped, and checked to have stopped, when the test is done with it. And
the clock for tests that sweep and send reminders at the real time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from careplan.db.models import utcnow
from careplan.domain.local_time import service_today, start_of_day
from careplan.reminders import scheduler
from careplan.services.reminders import ReminderSettings


def reminders_clock(app):
    """Now, or the reminder hour (07:00) today if it is earlier: reminders recorded in the night
    wait for that hour, so a test that sweeps and sends at once would find nothing to send
    when it runs at night. Never moved back."""
    hour = ReminderSettings.from_config(app.config).reminder_hour
    opens = start_of_day(service_today(), hour)
    return lambda: max(utcnow(), opens)


@contextmanager
def scheduler_running(
    app, jobs: list[scheduler.Job], timeout: float = 60, clock=utcnow
) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(
        target=scheduler.run,
        kwargs={
            "app": app,
            "clock": clock,
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
