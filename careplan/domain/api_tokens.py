"""Personal access tokens for the JSON API: what a token may do, and how long it may last.

A token is a password that a program keeps, so it is narrowed to what the program needs
(its scopes) and it always expires: a forgotten token stops working by itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from .account_rules import plain_name
from .blocks import DATE_NEEDED, DATE_NOT_REAL
from .errors import ContentInvalid
from .lengths import too_long
from .local_time import long_date
from .roles import Role

READ, WRITE, SIGN = "read", "write", "sign"
SCOPES = {
    READ: "read the records you can see",
    WRITE: "start documents, save new versions and comment",
    SIGN: "sign or decline (your password is still needed each time)",
}
# What each role's token may be given: only what the role itself may do through the API
# (a supervisor reads; an advocate reads and comments; an administrator sees no records, so
# a token would do nothing).
_FOR_ROLE = {
    Role.CLIENT: (READ, WRITE, SIGN),
    Role.KEY_WORKER: (READ, WRITE, SIGN),
    Role.ADVOCATE: (READ, WRITE),
    Role.SUPERVISOR: (READ,),
    Role.ADMIN: (),
}
_ADVOCATE_WRITES = "comment on the documents you can see"
MAX_LIFETIME = timedelta(days=365)
MAX_NAME = 100


@dataclass(frozen=True)
class TokenRequest:
    name: str
    scopes: tuple[str, ...]
    expires_on: date


def scopes_for(role: Role) -> dict[str, str]:
    """The scopes a token of someone in `role` may be given, each in words for them."""
    return {
        key: _ADVOCATE_WRITES if (role is Role.ADVOCATE and key == WRITE) else SCOPES[key]
        for key in _FOR_ROLE.get(role, ())
    }


def last_day_choices(today: date) -> tuple[date, date]:
    """The earliest and the latest day a token may be chosen to work until (the service's
    days): the refusals and the date box's `min` and `max` all say these days, so a phone
    offers no other."""
    return today + timedelta(days=1), today + MAX_LIFETIME


def check_request(
    name: str,
    scopes: Iterable[str],
    expires_on: str | date,
    today: date,
    allowed: Iterable[str] = SCOPES,
):
    """A token's name, scopes (among `allowed`: scopes_for the asker's role) and last day, or
    ContentInvalid naming each field at fault."""
    errors: dict[str, str] = {}
    # As a person's name is kept: an override character would show it turned around.
    name = plain_name(name)
    if not name:
        errors["name"] = "Please give the token a name, so you know later what it is for."
    elif said := too_long(name, MAX_NAME, "the name"):
        errors["name"] = said
    allowed = set(allowed)
    chosen = tuple(s for s in SCOPES if s in set(scopes) and s in allowed)
    if not chosen or len(chosen) != len(set(scopes)):
        errors["scopes"] = "Please choose what the token may do."
    day = expires_on
    if isinstance(expires_on, str):
        try:
            day = date.fromisoformat(expires_on.strip())
        except ValueError:
            day = None
    if not isinstance(day, date):
        # Said beside a date box, which shows dates the reader's own way (blocks.DATE_NEEDED).
        errors["expires_on"] = DATE_NOT_REAL if day is None and expires_on else DATE_NEEDED
    else:
        first, last = last_day_choices(today)
        if day < first:
            errors["expires_on"] = f"Please choose {long_date(first)} or later."
        elif day > last:
            errors["expires_on"] = (
                f"A token can work for a year at most. Please choose {long_date(last)} or earlier."
            )
    if errors:
        raise ContentInvalid(errors)
    return TokenRequest(name, chosen, day)


def ended(revoked_on: date | None, last_day: date) -> str:
    """What a program is told of its token that was real but has ended: revoked (on the
    service's day it was), or past its last day. Said only of a token that exists, so it
    tells nothing to someone guessing."""
    if revoked_on is not None:
        what = f"This token was revoked on {long_date(revoked_on)}."
    else:
        what = f"This token expired: its last day was {long_date(last_day)}."
    return f"{what} Make a new one on your account page."


def parse_scopes(stored: str) -> frozenset[str]:
    return frozenset(s for s in stored.split() if s in SCOPES)
