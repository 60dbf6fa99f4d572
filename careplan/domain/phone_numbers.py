"""Phone numbers inside free text ("Ring 0161 496 0000 after 5pm"), so a page can make them
tap-to-call links: someone in crisis, on a phone, should not have to copy a number out.

Deliberately cautious: only digits with spaces, "+", brackets and hyphens between them, at
least MIN_DIGITS digits (short numbers such as room or house numbers stay text), and never a
date or a time range, which look the same.
"""

from __future__ import annotations

import re

MIN_DIGITS = 6
MAX_DIGITS = 15  # the longest an international number can be

# Groups of digits ("0161", or "(0161)" in brackets), one space or hyphen between groups, an
# optional "+" first. Matched whole or not at all (possessive), so "07700 900123x" is not cut
# down to a shorter number; not part of a word, nor of a number written with other marks
# (a decimal, an amount, a reference such as "A123456").
_GROUP = r"(?:\d++|\(\d++\))"
_CANDIDATE = re.compile(
    rf"(?<![\w+])(?<!\d[.,/:])\+?{_GROUP}(?:[ \u00a0-]?{_GROUP})*+(?!\w)(?![.,/:]\d)"
)
_SEPARATORS = " \t\r\n\u00a0-"
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{1,2}-\d{4}")
_TIMES = re.compile(r"(\d{2})(\d{2})-(\d{2})(\d{2})")  # "0900-1700": opening hours


def phone_number_parts(text: str) -> list[tuple[str, str | None]]:
    """`text` cut into pieces, each with the tel: address to call, or None for plain text.
    Joined back together, the pieces are `text` exactly."""
    text = text or ""
    parts: list[tuple[str, str | None]] = []
    done = 0
    for match in _CANDIDATE.finditer(text):
        start, number = match.start(), match.group()
        tel = _tel(number)
        if tel is None or _more_digits_beside(text, start, match.end()):
            continue
        if start > done:
            parts.append((text[done:start], None))
        parts.append((number, tel))
        done = match.end()
    if done < len(text):
        parts.append((text[done:], None))
    return parts


def _tel(number: str) -> str | None:
    digits = re.sub(r"\D", "", number)
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return None
    if _DATE.fullmatch(number) or _is_time_range(number):
        return None
    if number.startswith("+"):
        # "+44 (0)161 ...": the 0 in brackets is dialled only from inside the country.
        return "tel:+" + re.sub(r"\D", "", number.replace("(0)", ""))
    return "tel:" + digits


def _more_digits_beside(text: str, start: int, end: int) -> bool:
    """Digits just before or after, past a space or hyphen ("0161 - 496 0000", "0161  496
    0000"): the number may go on, and a link to part of it would ring a stranger."""
    before = text[:start].rstrip(_SEPARATORS)
    after = text[end:].lstrip(_SEPARATORS)
    return (before[-1:] or "x") in "0123456789)+" or (after[:1] or "x") in "0123456789+"


def _is_time_range(number: str) -> bool:
    times = _TIMES.fullmatch(number)
    if times is None:
        return False
    h1, m1, h2, m2 = (int(g) for g in times.groups())
    return h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60
