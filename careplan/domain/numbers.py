"""Whole numbers that arrive as text: record ids in addresses, numbers in forms and queries.

Only ASCII digits count. Python's int() also takes "١٢" or " 12_0 ", and str.isdigit() is
true for "²", which int() then refuses; neither belongs in an id. The upper bound is the
range of the INTEGER columns that ids, version numbers and page numbers are compared with
(32-bit on PostgreSQL), so a number that passes can always be sent to the database.
"""

from __future__ import annotations

MAX_WHOLE_NUMBER = 2**31 - 1
_MAX_DIGITS = len(str(MAX_WHOLE_NUMBER))
_DIGITS = frozenset("0123456789")


def is_whole_number(raw: object) -> bool:
    return (
        isinstance(raw, str)
        and 0 < len(raw) <= _MAX_DIGITS
        and _DIGITS.issuperset(raw)
        and int(raw) <= MAX_WHOLE_NUMBER
    )


def whole_number(raw: object) -> int:
    """The number `raw` spells, or ValueError (so it also serves as a Werkzeug `type=`)."""
    if not is_whole_number(raw):
        raise ValueError(f"not a whole number from 0 to {MAX_WHOLE_NUMBER}")
    return int(raw)


def whole_number_or_none(raw: object) -> int | None:
    return int(raw) if is_whole_number(raw) else None


# How a whole number is sent in JSON, said to a program that sent one otherwise.
AS_JSON = 'Send it as a whole number without quotes: 2, not "2", 2.0 or true.'


def is_json_whole_number(value: object) -> bool:
    """A whole number as JSON sends one: an integer. Not "2" (text), not 2.0 (a float: 12.7
    would be cut down to 12 the same way) and not true (which Python counts as 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def number_problem(what: str, most: int = MAX_WHOLE_NUMBER, least: int = 1) -> str:
    """What is said of a number asked for that is not one of those there are (-5, "abc",
    99999999999): the numbers there are, true whatever was given, where "Not a valid
    integer." is not true of -5. `what` is "a page number", "a version number"..."""
    return f"Please give {what} from {least:,} to {most:,}."
