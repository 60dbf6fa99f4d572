"""Dates in a document's plans (a step's "by when", a decision handed over "until when"):
which are too unlikely to be meant, and which decision is handed over until a day gone by."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from .local_time import long_date

# A date in a document (a step's "by when", a decision handed over "until when") years ahead
# is almost surely a mistyped year, and one before 1900 surely is. Dates behind us are fine for
# a step, which can record something already done, but not for a decision handed over until
# then (past_days). Only dates new or changed in a save are held to these (unlikely_dates,
# past_days), so an older version can always be saved again as it is.
YEARS_AHEAD = 10
EARLIEST_DATE = date(1900, 1, 1)
TOO_FAR = f"That date is more than {YEARS_AHEAD} years away. Please check the year."
TOO_EARLY = "That date is before 1900. Please check the year."
# A decision handed over "until" a day already gone by would be back with the client before
# anyone signs: a mistake, or one to take out.
HANDED_OVER_PAST = (
    "That day has already passed. Please choose today or a later day, or take this decision out."
)


# Beside a decision's "until" kept from the version being changed, once that day has passed:
# the version cannot be signed with it (passed_until), so the edit form says so at the box.
UNTIL_PASSED_NOTE = (
    "That day has passed. Until it is changed, or this decision is taken out, nobody can sign "
    "this version."
)


def day_passed(iso, today: date) -> bool:
    """Whether `iso` (a decision's "until", as a form holds it) is a day before `today`."""
    day = _day(iso)
    return day is not None and day < today


def latest_likely_date(today: date) -> date:
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:  # 29 February, ten years on, is not a leap day
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def unlikely_dates(
    dates: Iterable[tuple[str, str]], already: set[str], today: date
) -> dict[str, str]:
    """{form name: message} for each of `dates` (form name, ISO date) more than YEARS_AHEAD
    years after `today` or before 1900, leaving out any date in `already`: those of the
    version the save is based on, where a date kept (or moved with its step) is no new typo.
    Dates are read as the schema reads them (date.fromisoformat), so a submission the schema
    refused for another answer is checked the same; what is no date is the schema's to say."""
    latest = latest_likely_date(today)
    kept = {day for iso in already if (day := _day(iso))}
    problems = {}
    for name, iso in dates:
        day = _day(iso)
        if day is None or day in kept:
            continue
        if day > latest:
            problems[name] = TOO_FAR
        elif day < EARLIEST_DATE:
            problems[name] = TOO_EARLY
    return problems


def past_days(
    dates: Iterable[tuple[str, str, str]], already: set[tuple[str, str]], today: date
) -> dict[str, str]:
    """{form name: HANDED_OVER_PAST} for each of `dates` (form name, ISO date, decision id: a
    decision's "until") before `today`, leaving out a decision whose (id, date) is in
    `already`, those of the version the save is based on: a day kept as it was is no new
    mistake, and holds up no other change. A new decision given the same day as another is
    new, and held to it."""
    return {
        name: HANDED_OVER_PAST
        for name, iso, key in dates
        if (day := _day(iso)) is not None and (key, iso) not in already and day < today
    }


@dataclass(frozen=True)
class PassedUntil:
    """A decision in a version handed over "until" a day that has since passed: saved while
    the day was still ahead, it ends before anyone could sign it. Nobody agrees to it so
    (careplan.services.signoff); the day is changed or the decision taken out first."""

    decision: str  # the decision's words, quoted short enough for a phone: "“My money”"
    to_whom: str
    until: date
    part: str  # the section's key, for a link to change it
    part_title: str
    name: str  # the form name of its "until" box


def passed_until(
    decisions: Iterable[tuple[str, str, str, str, str, str]], today: date
) -> list[PassedUntil]:
    """Those of `decisions` (section key, section title, form name, the decision quoted, to
    whom, ISO "until") whose day is before `today`, the service's day: today itself is not passed.
    What is no date is passed over (a version holds only dates the schema took)."""
    return [
        PassedUntil(decision, to_whom, day, part, title, name)
        for part, title, name, decision, to_whom, iso in decisions
        if (day := _day(iso)) is not None and day < today
    ]


def said_passed(passed: Sequence[PassedUntil]) -> str:
    """What has passed, in words: "In “When I am not well”, the decision “My money” was
    handed over to My sister until 3 December 2026, and that day has passed." Every decision
    is named, so nobody has to find the others one refusal at a time."""
    if len(passed) == 1:
        [p] = passed
        return (
            f"In “{p.part_title}”, the decision {p.decision} was handed over "
            f"{_to(p)}until {long_date(p.until)}, and that day has passed."
        )
    each = "; ".join(
        f"{p.decision} ({_to(p)}until {long_date(p.until)}, in “{p.part_title}”)" for p in passed
    )
    return f"These decisions were handed over until a day that has passed: {each}."


def passed_refusal(passed: Sequence[PassedUntil]) -> str:
    """Why nobody may sign a version holding `passed` (declining is still open to them)."""
    change = (
        "Please change that day, or take the decision out"
        if len(passed) == 1
        else "Please change those days, or take those decisions out"
    )
    return f"{said_passed(passed)} {change}, then sign. Nothing was signed."


def earliest_until(days: Iterable) -> date | None:
    """The earliest of a version's decisions' "until" days (ISO, as a version holds them), or
    None when no decision in it has one. Documents keep it for their latest version, so lists
    that never read a version's words can still tell one nobody can sign any more."""
    return min((day for iso in days if (day := _day(iso)) is not None), default=None)


def stuck_on_passed_day(earliest: date | None, today: date) -> bool:
    """Whether a version whose earliest "until" is `earliest` (earliest_until) can no longer
    be signed on `today`, the service's day: a decision in it was handed over until a day
    before today, as passed_until finds it (today itself is not passed). Until a new version
    is saved with a new day, or without that decision, nothing waits for a signature."""
    return earliest is not None and earliest < today


def _day_passed(until: date) -> str:
    """Why a version stuck on a passed day (stuck_on_passed_day) cannot be signed, read from
    its earliest "until" alone, as every list that does not read its words says it."""
    return f"a decision in it was handed over until {long_date(until)}, and that day has passed"


def cannot_be_signed(number: int, what: str, until: date, reader_is_client: bool) -> str:
    """What the start page says, instead of "waiting for your signature", to the client or
    their key worker about version `number` of `what` ("your partnership agreement"), stuck on
    a passed day (stuck_on_passed_day). Either of them may edit it, so either can fix it."""
    said = f"Version {number} of {what} can no longer be signed: {_day_passed(until)}."
    if reader_is_client:
        return (
            f"{said} To sign it, a new version needs saving with a new day, or without that "
            "decision: you can change it yourself, or ask your key worker to."
        )
    return f"{said} Save a new version with a new day, or without that decision, then both of you can sign it."


# Why nobody confirms "reviewed, no changes" on an agreed version holding a passed day: the
# decision has ended, so the words in force have changed whether anyone wrote it or not.
REVIEW_NEEDS_NEW_VERSION = (
    "So this agreement cannot be confirmed as reviewed with no changes: it needs a new "
    "version, with a new day or without that decision, for both of you to sign."
)


def review_refusal(passed: Sequence[PassedUntil]) -> str:
    """Why nobody confirms "reviewed, no changes" on a version holding `passed`."""
    return f"{said_passed(passed)} {REVIEW_NEEDS_NEW_VERSION} Nothing was confirmed."


def card_cannot_be_signed(number: int, until: date) -> str:
    """A plan card's line for version `number`, stuck on a passed day."""
    return (
        f"Version {number} can no longer be signed: {_day_passed(until)}. It needs a new "
        "version with a new day, or without that decision."
    )


def review_stuck_note(earliest: date) -> str:
    """What the review panel says instead of offering "reviewed, no changes", for a version
    stuck on a passed day (stuck_on_passed_day), read from its earliest "until"."""
    said = _day_passed(earliest)
    return f"{said[0].upper()}{said[1:]}. {REVIEW_NEEDS_NEW_VERSION}"


def _to(p: PassedUntil) -> str:
    return f"to {p.to_whom} " if p.to_whom.strip() else ""


def _day(iso) -> date | None:
    try:
        return date.fromisoformat(iso) if isinstance(iso, str) else None
    except ValueError:
        return None
