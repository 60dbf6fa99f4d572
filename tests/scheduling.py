"""The real scheduler loop (careplan.reminders.scheduler.run) in a thread of the test, with the
jobs a test gives it; stopped, and checked to have stopped, when the test is done with it. And
the clock for tests that sweep and send reminders at the real time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from careplan.db.models import utcnow
from careplan.domain.local_time import service_today, start_of_day
from careplan.reminders import scheduler
from careplan.services.reminders import ReminderSettings


def reminders_clock(app):
    """Now, within today's hours for reminders (from 07:00 until 21:00): outside them
    reminders wait, so a test that sweeps and sends at once would find nothing to send when it
    runs in the evening or at night. Before the hours it reads the first moment of them,
    after them the last. Never moved back."""
    settings = ReminderSettings.from_config(app.config)
    today = service_today()
    opens = start_of_day(today, settings.reminder_hour)
    closes = (
        start_of_day(today + timedelta(days=1))
        if settings.last_hour == 24
        else start_of_day(today, settings.last_hour)
    ) - timedelta(microseconds=1)
    return lambda: min(max(utcnow(), opens), closes)


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
