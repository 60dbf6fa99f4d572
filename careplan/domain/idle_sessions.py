"""When a web session left alone ends (the idle sign-out), without Flask.

The session records when it was last used. Writing that down on every request would sign and
send a new session cookie with every page and download, which costs about as much as serving
a small static file, so it is written at most once a tenth of the idle time (at most once per
15 seconds). The sign-out allows for that: nobody is signed out before the idle time has
passed since their last request; at most one such interval after it. Pages are told how long
is left (`seconds_left`), so their warning and the server agree.
"""

from __future__ import annotations

import math

LONGEST_INTERVAL = 15.0  # seconds


def recording_interval(idle_seconds: float) -> float:
    return min(LONGEST_INTERVAL, idle_seconds / 10)


def timed_out(last_recorded: float | None, now: float, idle_seconds: float) -> bool:
    """True if the session has been left for longer than the idle time."""
    return last_recorded is not None and now - last_recorded > _allowed(idle_seconds)


def worth_recording(last_recorded: float | None, now: float, idle_seconds: float) -> bool:
    """True if this request's time should be written into the session."""
    return last_recorded is None or now - last_recorded >= recording_interval(idle_seconds)


def seconds_left(last_recorded: float, now: float, idle_seconds: float) -> int:
    """Whole seconds until the session times out, rounded down: a page that acts within the
    time it was told is still signed in, and one second after it no longer is."""
    return max(0, math.floor(_allowed(idle_seconds) - (now - last_recorded)))


def _allowed(idle_seconds: float) -> float:
    return idle_seconds + recording_interval(idle_seconds)
