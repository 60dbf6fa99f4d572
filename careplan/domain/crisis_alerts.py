"""Asking for help must reach a person: rules for crisis alerts.

Putting the "when I am not well" plan into effect, or asking for a self-referral admission,
raises an alert. It goes at once to the client's key worker and the key workers of their team
(in the app and by e-mail), stays on their start pages until one of them responds, and goes to
the team's supervisors if nobody has responded by the time the client was promised.

Alert deliveries are reminders (careplan.services.reminders) with their own kinds, so they are
recorded and delivered exactly once by the same bookkeeping as review reminders.
Plain functions: times are passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from .access import Access
from .errors import ContentInvalid
from .lengths import KEPT, too_long
from .roles import Role
from .writing_direction import plain_writing


class AlertKind(StrEnum):
    CONTINGENCY = "contingency"  # the crisis plan was put into effect
    SELF_REFERRAL = "self_referral"  # a short stay was asked for

    @property
    def label(self) -> str:
        """What happened, in the words the client and the team both read."""
        return {
            AlertKind.CONTINGENCY: "put the plan for when the client is not well into effect",
            AlertKind.SELF_REFERRAL: "asked for a short stay",
        }[self]


# Staff hear of an alert at once, in the app and by e-mail: never in the next day's digest.
ALERT_CHANNELS = ("app", "email")

_ALERT = "alert:"
_ESCALATION = "alert-escalation:"
_REPLY = "alert-reply:"


# What an alert's reminder kinds start with.
KIND_PREFIXES = (_ALERT, _ESCALATION)
# What the senders take before any other, at any hour: the alerts, and the e-mail telling the
# client who asked that someone replied (they may not be looking at the app).
URGENT_KIND_PREFIXES = (*KIND_PREFIXES, _REPLY)

# An alert's e-mail that could not be sent is tried again within this long, for as long as the
# alert is owed (until someone responds), instead of backing off towards an hour between tries
# and being given up on after REMINDER_MAX_ATTEMPTS: help asked for while the mail server is
# down must arrive soon after it is back, not at a try an hour later, or once an
# administrator notices. Only a refusal for good (no such address) ends its tries.
ALERT_RETRY_SECONDS = 60


def reminder_kind(alert_id: int, escalation: bool = False) -> str:
    """The kind of the reminder that delivers an alert (part of the reminder's unique key)."""
    return f"{_ESCALATION if escalation else _ALERT}{alert_id}"


def alert_of(kind: str) -> tuple[int, bool] | None:
    """(alert id, is it the escalation) for an alert's reminder kind; None for other kinds."""
    for prefix, escalation in ((_ALERT, False), (_ESCALATION, True)):
        if kind.startswith(prefix) and kind[len(prefix) :].isdigit():
            return int(kind[len(prefix) :]), escalation
    return None


def is_alert_kind(kind: str) -> bool:
    return alert_of(kind) is not None


def reply_kind(alert_id: int) -> str:
    """The kind of the e-mail telling the client that someone responded to their request
    (the earliest of those answered at once)."""
    return f"{_REPLY}{alert_id}"


def is_reply_kind(kind: str) -> bool:
    return kind.startswith(_REPLY) and kind[len(_REPLY) :].isdigit()


def respond_by(raised_at: datetime, within: timedelta) -> datetime:
    """The time the client is told someone will have responded by."""
    if within <= timedelta(0):
        raise ValueError("the time to respond must be positive")
    return raised_at + within


def needs_escalation(respond_by_at: datetime, now: datetime, answered: bool) -> bool:
    return not answered and now >= respond_by_at


def earliest_waiting(
    kind: AlertKind, alerts: Iterable[tuple[AlertKind, datetime, bool]]
) -> datetime | None:
    """When the earliest request of this kind that nobody has answered was sent, if any.

    `alerts`: (kind, raised at, answered). Asking again while one is waiting is never refused
    (whoever asks is in crisis): it is taken and the team alerted like any other, and the
    client is told, before and after, that the earlier one is still waiting and their key
    worker has been told; the key worker is told it is asked again.
    """
    return min((at for k, at, answered in alerts if k is kind and not answered), default=None)


# Which earlier request is still waiting, as the one about to ask again reads it.
_WAITING = {
    AlertKind.SELF_REFERRAL: "request for a short stay",
    AlertKind.CONTINGENCY: "call for help when the plan was put into effect",
}


def still_waiting(when: str, own: bool, kind: AlertKind | None = None) -> str:
    """What the one asking is told of an earlier request still waiting (earliest_waiting),
    sent `when`: before they ask again, of the earlier request of `kind`; just after
    (`kind` None), of the request they sent. `own`: the client asking for themselves. Before
    asking again it is not called "earlier": the page says it straight after the first request
    too, where "earlier" read as another one."""
    if kind is None:
        earlier = "An earlier request"
        told = "Your key worker has been told about both." if own else "The team has been told."
    else:
        earlier = f"{'Your' if own else 'A'} {_WAITING[kind]}"
        told = (
            "Your key worker has been told. You can still ask again."
            if own
            else "The team has been told."
        )
    return f"{earlier}, sent on {when}, is still waiting for a reply. {told}"


def validate_response(note: str) -> str:
    note = plain_writing(note).strip()
    if not note:
        raise ContentInvalid(
            {"note": "Please say what you are doing, for example “I will phone you at 3pm”."}
        )
    if said := too_long(note, 2000):
        raise ContentInvalid({"note": said + KEPT})
    return note


# --- who sees and answers alerts -------------------------------------------------------------


@dataclass(frozen=True)
class AlertAccess:
    see: bool = False
    respond: bool = False
    # Reads by anyone other than the client and their key worker show in the client's log.
    read_is_logged: bool = False


def alert_access(role: Role, records: Access, team_colleague: bool, involved: bool) -> AlertAccess:
    """Who may see a client's alerts and respond to them.

    `records`: the person's ordinary access to the client's records. `team_colleague`: a key
    worker in the team of the client's key worker. `involved`: an alert of this document is
    waiting for a response, or this person responded to one of them in the last few days; a
    colleague sees the alerts only then, never the client's records as such.
    """
    if role is Role.KEY_WORKER and records.sign:  # holds the caseload
        return AlertAccess(see=True, respond=True)
    if role is Role.SUPERVISOR and records.read:  # supervises the key worker's team
        return AlertAccess(see=True, respond=True, read_is_logged=True)
    if role is Role.KEY_WORKER and team_colleague and involved:
        return AlertAccess(see=True, respond=True, read_is_logged=True)
    if records.read:  # the client, their advocate, an incoming key worker: they read
        return AlertAccess(see=True, read_is_logged=records.read_is_logged)
    return AlertAccess()


# --- numbers for urgent help, configured by the service ---------------------------------------

_NUMBER = re.compile(r"^\+?[0-9][0-9 ()-]{1,24}$")


@dataclass(frozen=True)
class UrgentNumber:
    name: str
    number: str

    @property
    def tel(self) -> str:
        """A tel: link a phone can dial: the number without spaces or brackets."""
        return "tel:" + re.sub(r"[^0-9+]", "", self.number)


def parse_urgent_numbers(raw: str) -> tuple[UrgentNumber, ...]:
    """'Emergency services=999; Samaritans=116 123' -> numbers in that order."""
    numbers = []
    for part in (raw or "").split(";"):
        if not part.strip():
            continue
        name, sep, number = part.rpartition("=")
        name, number = name.strip(), number.strip()
        if not sep or not name:
            raise ValueError(f"{part.strip()!r} is not 'name=number'")
        if not _NUMBER.match(number):
            raise ValueError(f"{number!r} ({name}) is not a phone number")
        numbers.append(UrgentNumber(name[:100], number))
    return tuple(numbers)
