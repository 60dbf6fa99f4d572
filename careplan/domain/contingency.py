"""Rules for putting the "when I am not well" plan into effect, and for self-referral requests.

Dates are passed in explicitly, so the rules are tested without clocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .blocks import DATE_NEEDED, DATE_NOT_REAL
from .errors import ContentInvalid
from .lengths import KEPT, too_long
from .local_time import long_date
from .numbers import number_problem, whole_number_or_none
from .plan_dates import EARLIEST_DATE, TOO_EARLY
from .writing_direction import plain_writing

# The most nights a request may ask for, whatever was agreed: a request outside the agreed
# terms is still taken (and said to be outside them), but a year is the most anyone asks for.
MOST_NIGHTS = 365


def nights_text(n: int) -> str:
    """ "1 night", "3 nights": how many nights, as every page says it."""
    return f"{n} night" if n == 1 else f"{n} nights"


def days_text(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


@dataclass(frozen=True)
class SelfReferralTerms:
    enabled: bool
    max_nights: int
    min_days_since_discharge: int
    # Both the client and the key worker signed the version these come from. Terms a draft
    # only proposes give nobody a right to anything, so nothing is checked against them.
    agreed: bool

    @classmethod
    def of(cls, content: dict, agreed: bool) -> SelfReferralTerms:
        sr = content.get("terms", {}).get("self_referral", {})
        return cls(
            bool(sr.get("enabled")),
            int(sr.get("max_nights", 0)),
            int(sr.get("min_days_since_discharge", 0)),
            agreed,
        )


# Said to everyone who reads the request (an advocate too, who signs nothing): not "both of
# you".
NOTHING_AGREED = (
    "Nothing in this agreement had been agreed yet, so there were no agreed terms to check "
    "this against. It is a request, not an agreed stay."
)


@dataclass(frozen=True)
class SelfReferralCheck:
    within_terms: bool
    reasons: tuple[str, ...]  # plain-language reasons, one per term checked
    # False: nothing was agreed, so this is a plain request, neither within nor outside terms.
    agreed: bool = True


def check_self_referral(
    terms: SelfReferralTerms, asked_nights: int, today: date, last_discharge: date | None
) -> SelfReferralCheck:
    if not terms.agreed:
        return SelfReferralCheck(False, (NOTHING_AGREED,), agreed=False)
    if not terms.enabled:
        return SelfReferralCheck(
            False, ("This agreement has no terms for asking for a short stay.",)
        )
    reasons = []
    ok = True
    asked, most = nights_text(asked_nights), nights_text(terms.max_nights)
    if asked_nights <= terms.max_nights:
        reasons.append(f"{asked} is within the agreed {most}.")
    else:
        ok = False
        reasons.append(f"{asked} is more than the agreed {most}.")
    if last_discharge is None:
        reasons.append("No earlier stay was given.")
    else:
        gap = (today - last_discharge).days
        if gap >= terms.min_days_since_discharge:
            reasons.append(
                f"The last stay ended {days_text(gap)} ago; the agreement asks for at least "
                f"{days_text(terms.min_days_since_discharge)} between stays."
            )
        else:
            ok = False
            # Not "within the agreed 14 days", which read as keeping to the terms.
            reasons.append(
                f"The last stay ended only {days_text(gap)} ago; the agreement asks for at "
                f"least {days_text(terms.min_days_since_discharge)} between stays."
            )
    return SelfReferralCheck(ok, tuple(reasons))


NOTE_LIMIT = 5000


def validate_end_note(note: str) -> str:
    note = plain_writing(note).strip()
    if said := too_long(note, NOTE_LIMIT):
        raise ContentInvalid({"end_note": said + KEPT})
    return note


def validate_self_referral_request(
    nights_raw: str, last_discharge_raw: str, note: str, today: date
) -> tuple[int, date | None]:
    errors = {}
    if said := too_long((note or "").strip(), NOTE_LIMIT):
        errors["note"] = said + KEPT
    asked = whole_number_or_none(str(nights_raw or "").strip())
    # "-2" and "0" are whole numbers too: say the numbers there are, whatever was given.
    if asked is None or not 1 <= asked <= MOST_NIGHTS:
        errors["nights"] = number_problem("the number of nights", MOST_NIGHTS)
    last = None
    if last_discharge_raw:
        try:
            last = date.fromisoformat(last_discharge_raw)
            if last > today:
                errors["last_discharge_on"] = "The day the last stay ended cannot be in the future."
            elif last < EARLIEST_DATE:  # a typo in the year, as in every other date box
                errors["last_discharge_on"] = TOO_EARLY
        except ValueError:
            errors["last_discharge_on"] = DATE_NOT_REAL
    if errors:
        raise ContentInvalid(errors)
    return asked, last


@dataclass(frozen=True)
class ContingencyPeriod:
    started_on: date
    ends_on: date
    ended_on: date | None
    review_window_days: int

    def active(self, today: date) -> bool:
        return self.ended_on is None and today <= self.ends_on

    def finished_on(self, today: date) -> date | None:
        """When it stopped: ended by someone, or ran out on the agreed date."""
        if self.ended_on is not None:
            return self.ended_on
        return self.ends_on if today > self.ends_on else None

    def post_crisis_review_due(self, today: date) -> date:
        """Within the agreed window after it stops (or after the planned end while it runs)."""
        return (self.finished_on(today) or self.ends_on) + timedelta(days=self.review_window_days)


def latest_end(today: date, max_days: int) -> date | None:
    """The end the start form offers: the longest the agreement allows (either of them can end
    it sooner), so someone unwell need not work out a date. None with no limit written."""
    return today + timedelta(days=max_days) if max_days > 0 else None


def validate_activation(
    observed: str,
    actions: str,
    ends_on_raw: str,
    today: date,
    max_days: int,
    agreed: bool = True,
) -> date:
    """The day the plan put into effect ends. `max_days` comes from the agreement in force,
    or, while nothing is agreed, from what is written so far (`agreed` False), and the
    refusal says which."""
    errors = {}
    if not (observed or "").strip():
        errors["observed"] = "Please say what was noticed."
    elif said := too_long(observed, NOTE_LIMIT):
        errors["observed"] = said + KEPT
    if said := too_long(actions or "", NOTE_LIMIT):
        errors["actions_taken"] = said + KEPT
    ends_on = None
    # Said the way every date box is (domain.blocks): the box shows the reader's own format.
    if not (ends_on_raw or "").strip():
        errors["ends_on"] = DATE_NEEDED
    else:
        try:
            ends_on = date.fromisoformat(ends_on_raw.strip())
        except ValueError:
            errors["ends_on"] = DATE_NOT_REAL
    if ends_on is not None:
        if ends_on < today:
            errors["ends_on"] = "The end date cannot be in the past."
        elif (ends_on - today).days > max_days:
            says = "The agreement says" if agreed else "What is written so far says"
            # The last day allowed, in words: someone unwell should not have to count.
            last = long_date(today + timedelta(days=max_days))
            errors["ends_on"] = (
                f"{says} this lasts at most {max_days} days: please choose {last} or earlier."
            )
    if errors:
        raise ContentInvalid(errors)
    return ends_on
