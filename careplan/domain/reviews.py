"""Review dates and the reminders they owe.

Plain functions of dates: `today` is always passed in, so every rule is tested without a clock.

- An agreed document is reviewed `interval` weeks after it was agreed or last reviewed.
- Either party can ask for an earlier review; a crisis plan coming into effect asks for a
  review after it. The next review is the earliest of these.
- A review (a co-signed new version, or a co-signed "reviewed, no changes") resolves every
  request made before it, except a post-crisis review whose crisis is still going on.
- Reminders are owed on dates computed from the review date, never from "is it that day
  now?", so a sweep after downtime finds what it missed (within `catch_up_days`). The parties
  hear about a review at most once a day: of the reminders due by today, the latest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from . import local_time
from .blocks import DATE_NEEDED, DATE_NOT_REAL
from .errors import ContentInvalid
from .lengths import KEPT, too_long
from .wording import unwell_plan
from .writing_direction import plain_writing

DEFAULT_INTERVAL_WEEKS = 12


class ReviewReason(StrEnum):
    INTERVAL = "interval"  # the regular review
    EARLIER = "earlier"  # someone asked for it sooner
    POST_CRISIS = "post_crisis"  # after the plan for when the client is unwell was used

    def label(self, client_name: str, *, reader_is_client: bool) -> str:
        """Why, said to the reader: the client is "you" only to the client themselves."""
        if self is ReviewReason.POST_CRISIS:
            plan = unwell_plan(client_name, reader_is_client=reader_is_client)
            return f"to look back after {plan}"
        return {
            ReviewReason.INTERVAL: "the regular review",
            ReviewReason.EARLIER: "asked for earlier",
        }[self]


# When two reasons fall on the same day, the more specific one is shown.
_PRECEDENCE = {ReviewReason.POST_CRISIS: 0, ReviewReason.EARLIER: 1, ReviewReason.INTERVAL: 2}


def interval_review_date(reviewed_on: date, weeks: int) -> date:
    """The regular review: `weeks` after the document was agreed or last reviewed."""
    if weeks < 1:
        raise ValueError("a review interval is at least one week")
    return reviewed_on + timedelta(weeks=weeks)


@dataclass(frozen=True)
class OpenRequest:
    """A review asked for before the regular date, not yet resolved by a review."""

    id: int | None
    reason: ReviewReason  # EARLIER or POST_CRISIS
    due_on: date
    made_at: datetime
    crisis_still_running: bool = False  # post-crisis only: the plan is still in effect


def next_review(
    scheduled_on: date | None, requests: Iterable[OpenRequest], in_service: bool = True
) -> tuple[date | None, ReviewReason | None]:
    """The earliest review owed, and why. A review is held with a key worker: a client who has
    left the service is owed none (their dates come back if they return)."""
    if not in_service:
        return None, None
    candidates = [(r.due_on, r.reason) for r in requests]
    if scheduled_on is not None:
        candidates.append((scheduled_on, ReviewReason.INTERVAL))
    if not candidates:
        return None, None
    return min(candidates, key=lambda c: (c[0], _PRECEDENCE[c[1]]))


def days_late(due_on: date | None, today: date) -> int:
    """How many days a review date has passed by `today` (the service's day): 0 for a date to
    come, today's or none. Lists of review dates say a date is late as the review panel does."""
    if due_on is None or due_on >= today:
        return 0
    return (today - due_on).days


def resolved_by_review(requests: Iterable[OpenRequest], reviewed_at: datetime) -> list[OpenRequest]:
    """The requests a review completed at `reviewed_at` answers.

    A post-crisis review cannot happen while the crisis is still going on, so such a request
    stays open until a review after it.
    """
    return [
        r
        for r in requests
        if r.made_at <= reviewed_at
        and not (r.reason is ReviewReason.POST_CRISIS and r.crisis_still_running)
    ]


def validate_earlier_request(
    wanted_by_raw: str, reason: str, today: date, current_due: date | None
) -> tuple[date, str]:
    """Check a request for an earlier review; raise ContentInvalid with one message per field,
    in the form's order (the date, then why)."""
    errors = {}
    wanted = None
    try:
        wanted = date.fromisoformat((wanted_by_raw or "").strip())
    except ValueError:
        # Said beside a date box, which shows dates the reader's own way (blocks.DATE_NEEDED).
        errors["wanted_by"] = DATE_NOT_REAL if (wanted_by_raw or "").strip() else DATE_NEEDED
    if wanted is not None:
        if wanted < today:
            errors["wanted_by"] = "The date cannot be in the past."
        elif current_due is not None and wanted >= current_due:
            # Asked twice (another tab), the date is the same: "sooner" would be untrue.
            already = "the day you chose" if wanted == current_due else "before the day you chose"
            errors["wanted_by"] = (
                f"The next review is already on {long_date(current_due)}, {already}. "
                "To review it sooner, choose a day before then."
            )
        elif (wanted - today).days > 366:
            errors["wanted_by"] = "Please choose a date within a year."
    reason = plain_writing(reason).strip()
    if not reason:
        errors["reason"] = "Please say why you would like to review it sooner."
    elif len(reason) > 2000:
        errors["reason"] = too_long(reason, 2000) + KEPT
    if errors:
        raise ContentInvalid(errors)
    return wanted, reason


def long_date(value: date) -> str:
    """A review date with its weekday, "Thursday 3 December 2026" (local_time's wording)."""
    return f"{value:%A} {local_time.long_date(value)}"


# --- reminders -------------------------------------------------------------------------------


class Audience(StrEnum):
    PARTIES = "parties"  # the client and their key worker
    SUPERVISORS = "supervisors"  # of the key worker's team
    WAITING = "waiting"  # whoever has not yet signed what is waiting for them


@dataclass(frozen=True)
class ReminderRules:
    """Which reminders are owed, in days. Configurable (see careplan.config)."""

    due_soon_days: tuple[int, ...] = (14, 2)
    due_today: bool = True
    overdue_every_days: int = 7  # 0: no overdue reminders
    escalate_after_days: int = 14  # 0: no escalation to supervisors
    signature_waiting_days: tuple[int, ...] = (2, 7)
    # A reminder missed for longer than this (downtime) is no longer sent. Escalations are
    # always sent, however late.
    catch_up_days: int = 7

    def __post_init__(self):
        if any(d < 1 for d in self.due_soon_days):
            raise ValueError("'due soon' reminders are at least one day before")
        if any(d < 1 for d in self.signature_waiting_days):
            raise ValueError("'waiting for signature' reminders are at least one day after")
        if self.overdue_every_days < 0 or self.escalate_after_days < 0:
            raise ValueError("overdue and escalation days cannot be negative")
        if self.catch_up_days < 0:
            raise ValueError("catch-up days cannot be negative")
        object.__setattr__(self, "due_soon_days", tuple(sorted(set(self.due_soon_days))))
        object.__setattr__(
            self, "signature_waiting_days", tuple(sorted(set(self.signature_waiting_days)))
        )

    @property
    def look_ahead_days(self) -> int:
        """How far ahead of a review its first reminder can fall."""
        return max(self.due_soon_days, default=0)

    @property
    def first_waiting_day(self) -> int | None:
        return self.signature_waiting_days[0] if self.signature_waiting_days else None


@dataclass(frozen=True)
class Owed:
    kind: str  # part of the reminder's unique key, e.g. "soon:14", "today", "overdue:2"
    owed_on: date  # the day it became owed
    audience: Audience


@dataclass(frozen=True)
class Timing:
    """How a reminder's date stands to the day it is read, for its wording."""

    kind: str
    on: date
    days: int = field(default=0)  # days until (positive) or since (negative) `on`


def _review_points(due_on: date, today: date, rules: ReminderRules) -> list[tuple[str, date]]:
    """The parties' reminders about a review on `due_on` that have fallen due by `today`,
    (kind, day), in order. Overdue reminders before the latest are left out: only the latest
    ever matters (see _latest)."""
    points = [(f"soon:{d}", due_on - timedelta(days=d)) for d in reversed(rules.due_soon_days)]
    if rules.due_today:
        points.append(("today", due_on))
    every = rules.overdue_every_days
    if every and today >= due_on + timedelta(days=every):
        n = (today - due_on).days // every
        points.append((f"overdue:{n}", due_on + timedelta(days=n * every)))
    return [(kind, at) for kind, at in points if at <= today]


def _waiting_points(waiting_since: date, today: date, rules: ReminderRules):
    points = [
        (f"sign:{d}", waiting_since + timedelta(days=d)) for d in rules.signature_waiting_days
    ]
    return [(kind, at) for kind, at in points if at <= today]


def _latest(
    points: list[tuple[str, date]], today: date, rules: ReminderRules, set_on: date | None
) -> tuple[str, date] | None:
    """The one reminder owed today out of those that have fallen due: the latest, if it is
    recent (within the catch-up window) and not from before the date was set.

    One, because reminders about the same date that reach someone on the same day all read
    the same that day (the wording follows the day it is read), so a sweep after downtime
    sends the latest instead of every one it missed. The latest of a day is the same in every
    process, so the unique key still makes it exactly once."""
    if not points:
        return None
    kind, at = max(points, key=lambda p: p[1])
    recent = today - timedelta(days=rules.catch_up_days)
    if set_on is not None and at < set_on:
        # A review brought within days ("by Friday"): its "coming up" falls before the date
        # existed, so it is owed the day the date was set, not first heard of on the day.
        moved = kind.startswith("soon:") and set_on >= recent
        return (kind, set_on) if moved else None
    return (kind, at) if at >= recent else None


def owed_for_review(
    due_on: date, today: date, rules: ReminderRules, set_on: date | None = None
) -> list[Owed]:
    """The reminders about a review on `due_on` owed by `today`: the latest one to the parties,
    and the escalation to the supervisors. `set_on` is when the review got this date: a
    "coming up" reminder that fell due before it is owed that day instead."""
    owed: list[Owed] = []
    latest = _latest(_review_points(due_on, today, rules), today, rules, set_on)
    if latest:
        owed.append(Owed(*latest, Audience.PARTIES))
    if rules.escalate_after_days:
        at = due_on + timedelta(days=rules.escalate_after_days)
        if at <= today:  # always, however late: nobody must be left unreviewed unnoticed
            owed.append(Owed("escalation", at, Audience.SUPERVISORS))
    return owed


def owed_for_waiting(waiting_since: date, today: date, rules: ReminderRules) -> list[Owed]:
    """The reminder owed by `today` to whoever has not yet signed what has waited for them
    since `waiting_since`."""
    latest = _latest(_waiting_points(waiting_since, today, rules), today, rules, waiting_since)
    return [Owed(*latest, Audience.WAITING)] if latest else []


def superseded(kind: str, owed_on: date, due_on: date, today: date, rules: ReminderRules) -> bool:
    """Has a later reminder about the same date (and to the same people) fallen due by
    `today`? Then a recorded one still undelivered (the senders were down, the mail server
    refused) is not sent: the later one says the same, once."""
    if kind == "escalation":
        return False
    points = (
        _review_points(due_on, today, rules)
        if is_review_kind(kind)
        else _waiting_points(due_on, today, rules)
    )
    return any(at > owed_on for _, at in points)


def review_due_window(today: date, rules: ReminderRules) -> date:
    """Reviews on or before this date may owe a reminder today (the sweep's index range)."""
    return today + timedelta(days=rules.look_ahead_days)


def is_review_kind(kind: str) -> bool:
    return not kind.startswith("sign:")


def is_about_review_date(kind: str | None) -> bool:
    """A reminder of a review date: coming up, today, late, or late to supervisors (its
    due_on is that date), not one of a signature waiting or a request for help."""
    return bool(kind) and (
        kind in ("today", "escalation") or kind.startswith(("soon:", "overdue:"))
    )


def is_about_a_document(kind: str | None) -> bool:
    """A reminder of one document's review date or of a signature it waits for (not a request
    for help): the app names the document beside it, as two can be alike in words."""
    return is_about_review_date(kind) or bool(kind) and kind.startswith("sign:")


def review_date_moved(reminded_of: date, next_review_on: date | None) -> bool:
    """A reminder's review date is no longer the document's: agreed again, reviewed, or an
    earlier review asked for since."""
    return next_review_on != reminded_of


def audience_of(kind: str) -> Audience:
    if kind.startswith("sign:"):
        return Audience.WAITING
    if kind == "escalation":
        return Audience.SUPERVISORS
    return Audience.PARTIES


def timing(kind: str, due_on: date, today: date) -> Timing:
    """The wording a reminder needs, from its kind and the day it is read (not when owed)."""
    if kind.startswith("sign:"):
        return Timing("waiting", due_on, (due_on - today).days)
    days = (due_on - today).days
    if days > 0:
        return Timing("soon", due_on, days)
    if days == 0:
        return Timing("today", due_on, 0)
    return Timing("escalation" if kind == "escalation" else "overdue", due_on, days)


# --- channels --------------------------------------------------------------------------------


class ClientChannel(StrEnum):
    EMAIL = "email"  # e-mail, and shown in the app
    APP = "app"  # shown in the app only
    NONE = "none"  # no reminders

    @property
    def label(self) -> str:
        return {
            # In-app reminders are messages (/me/notifications); the reminders page only
            # lists the dates, so the choices say "my messages", as the page does above them.
            ClientChannel.EMAIL: "By e-mail, and in my messages here",
            ClientChannel.APP: "Only in my messages here, when I sign in",
            ClientChannel.NONE: "No reminders, please",
        }[self]


def client_channels(choice: str | None, default: ClientChannel) -> tuple[str, ...]:
    """The channels a client's own reminders go to, from their choice (or the default)."""
    try:
        channel = ClientChannel(choice) if choice else default
    except ValueError:
        channel = default
    return {
        ClientChannel.EMAIL: ("app", "email"),
        ClientChannel.APP: ("app",),
        ClientChannel.NONE: (),
    }[channel]


# Key workers and supervisors: shown in the app, and one e-mail a day listing them all.
STAFF_CHANNELS = ("app", "digest")
