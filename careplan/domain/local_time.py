"""How dates and times are shown to people: in the service's own time zone, in words.

Times are stored in UTC; people read them in local time ("3 December 2026, 14:05"), never as
UTC or ISO timestamps. One function, :func:`show`, is used by the pages, the messages and the
PDF, so the same moment reads the same everywhere.

The days the service's rules count (review dates, reminders, crisis plans, the day a version
was agreed) are its own calendar days too: :func:`service_day` and :func:`service_today`, in
the zone the app was started with (:func:`count_days_in`). A review held at 00:30 on 4 June in
London was held on 4 June, not on the 3rd as UTC would have it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIME_ZONE = "Europe/London"
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


_days_zone: tzinfo = ZoneInfo(DEFAULT_TIME_ZONE)


def count_days_in(zone: tzinfo) -> None:
    """Set once at start-up from CAREPLAN_TIME_ZONE, like the password hasher's cost: every
    page, job and command in the process counts the same days."""
    global _days_zone
    _days_zone = zone


def service_time(moment: datetime) -> datetime:
    """``moment`` on the service's clock (naive moments are UTC)."""
    return local(moment, _days_zone)


def service_day(moment: datetime) -> date:
    """The service's calendar day that ``moment`` fell on."""
    return service_time(moment).date()


def service_today() -> date:
    return service_day(datetime.now(UTC))


def start_of_day(day: date, hour: int = 0) -> datetime:
    """The moment (in UTC) the service's calendar day ``day`` begins, or reaches ``hour``."""
    return datetime.combine(day, time(hour), _days_zone).astimezone(UTC)


def time_zone(name: str | None) -> ZoneInfo:
    """The zone called ``name`` (an IANA name such as "Europe/London"); ValueError if unknown."""
    name = (name or "").strip()
    if not name:
        raise ValueError("no time zone given")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # ValueError/OSError: names such as "../etc" or "Europe/" that are not zone keys at all.
        raise ValueError(f"unknown time zone {name!r}") from exc


def local(value: datetime, zone: tzinfo) -> datetime:
    """``value`` in ``zone``; a naive value is taken to be UTC, as the database stores it."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone)


def long_date(value: date) -> str:
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def how_long(span: timedelta) -> str:
    """A length of time in its largest whole unit: "an hour", "7 days", "90 minutes"."""
    seconds = int(span.total_seconds())
    for unit, size, one in (("day", 86400, "a day"), ("hour", 3600, "an hour"),
                            ("minute", 60, "a minute")):  # fmt: skip
        if seconds >= size and seconds % size == 0:
            return one if seconds == size else f"{seconds // size} {unit}s"
    return "a second" if seconds == 1 else f"{seconds} seconds"


def show(value: date | datetime | str | None, zone: tzinfo, date_only: bool = False) -> str:
    """A date as "3 December 2026"; a moment as "3 December 2026, 14:05" in ``zone``.

    With ``date_only`` a moment shows the local day it fell on (23:30 UTC in summer is the
    next day in London). A string in ISO form is read first; any other string is shown as it
    is, and nothing shows as "".
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return long_date(value)
    moment = local(value, zone)
    if date_only:
        return long_date(moment)
    # Not "%H:%M": strftime costs four times as much, on a page showing 150 moments.
    return f"{long_date(moment)}, {moment.hour:02d}:{moment.minute:02d}"
