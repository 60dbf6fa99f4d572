"""Is each of the scheduler's jobs running as it should? The rule that says when a job is late.

The scheduler runs in a process of its own (`careplan scheduler`). If nobody started it, or it
stopped, nothing on the web pages would show it: reminders would simply not go out and sealed
PDFs not be made. Each job therefore records when it last finished, and administrators are
told when one is late or failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# A job is late once it has missed three runs, and never sooner than ten minutes after its
# last one: a scheduler restarting, or one long run (a large sweep), is not an alarm.
MISSED_RUNS = 3
AT_LEAST = timedelta(minutes=10)


class JobState(StrEnum):
    OK = "ok"
    NEVER_RAN = "never_ran"
    LATE = "late"
    FAILING = "failing"  # its last run ended in an error


@dataclass(frozen=True)
class ExpectedJob:
    name: str
    about: str  # what it does, in plain words
    every: timedelta


def allowed_gap(every: timedelta) -> timedelta:
    return max(MISSED_RUNS * every, every + AT_LEAST)


def job_state(
    every: timedelta, last_ok: datetime | None, last_failed: datetime | None, now: datetime
) -> JobState:
    if last_failed is not None and (last_ok is None or last_failed > last_ok):
        return JobState.FAILING
    if last_ok is None:
        return JobState.NEVER_RAN
    if now - last_ok > allowed_gap(every):
        return JobState.LATE
    return JobState.OK


def every_in_words(every: timedelta) -> str:
    seconds = int(every.total_seconds())
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"every {unit}" if n == 1 else f"every {n} {unit}s"
    return "every second" if seconds == 1 else f"every {seconds} seconds"
