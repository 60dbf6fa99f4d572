"""A private iCalendar feed (RFC 5545) of review dates, written by hand.

Entries are discreet (see careplan.reminders.messages): "Review" and a link, nothing else.
Each document keeps one UID, so a calendar app moves the entry when the date moves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

from ..domain.addresses import under
from ..services.reviews import ReviewDate
from . import messages

PRODID = "-//Reminders//Review dates//EN"


def escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 3.3.11)."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1)."""
    raw = line.encode()
    if len(raw) <= 75:
        return line
    parts, start, limit = [], 0, 75
    while start < len(raw):
        end = min(start + limit, len(raw))
        while end < len(raw) and (raw[end] & 0xC0) == 0x80:  # never split a UTF-8 character
            end -= 1
        parts.append(raw[start:end].decode())
        start, limit = end, 74  # continuation lines start with a space
    return "\r\n ".join(parts)


def _day(value: date) -> str:
    return value.strftime("%Y%m%d")


def feed(dates: Iterable[ReviewDate], base_url: str, now: datetime) -> str:
    host = urlsplit(base_url).hostname or "localhost"
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(messages.calendar_name())}",
        "REFRESH-INTERVAL;VALUE=DURATION:PT6H",
        "X-PUBLISHED-TTL:PT6H",
    ]
    for d in dates:
        summary, description = messages.calendar_texts(d.document_id, base_url)
        lines += [
            "BEGIN:VEVENT",
            f"UID:review-{d.document_id}@{host}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{_day(d.on)}",
            f"DTEND;VALUE=DATE:{_day(d.on + timedelta(days=1))}",
            f"SUMMARY:{escape(summary)}",
            f"DESCRIPTION:{escape(description)}",
            f"URL:{under(base_url, messages.document_path(d.document_id))}",
            "TRANSP:TRANSPARENT",
            "CLASS:PRIVATE",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
