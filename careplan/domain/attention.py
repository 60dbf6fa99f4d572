"""What needs a person now: the lines their start page opens with, and the state each plan
card shows.

Plain facts in, plain words out; `today` is passed in. What counts:

- a signature: the latest version waits for this person (the client, or the key worker who
  holds the caseload now), signed by the other side or saved by someone else; unless it holds
  a decision handed over until a day that has passed: nobody can sign it, so both are told a
  new version is needed instead (plan_dates.stuck_on_passed_day);
- a decline: the other side declined to sign the latest version, with their reason, until a
  new version is saved (a decline is something to talk over, not to tick off);
- a review: an agreed document whose next review is overdue or due within DUE_SOON_DAYS, for
  its client and key worker; a supervisor sees one line counting their teams' overdue reviews;
- a review half done: the other side confirmed "reviewed, no changes" and this person has not,
  whenever the review is due;
- a crisis plan in effect, for the client and their key worker;
- a crisis alert nobody has responded to: the client sees whom they are waiting for; a key
  worker or supervisor sees whom to respond to (the service chooses which alerts reach them);
- a handover: the client whose key worker is changing, the incoming key worker, the outgoing
  one (the client is theirs until it is taken over), and the supervisor of the team it
  happens in;
- one's own changes to a document not saved yet (one's draft), while one may still edit it
  (access.unsaved_to_offer decides, before the facts come here), the latest typed first;
- unread messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum

from .contingency import days_text, nights_text
from .crisis_alerts import AlertKind
from .local_time import show
from .plan_dates import cannot_be_signed, card_cannot_be_signed, stuck_on_passed_day
from .roles import Role
from .supervision import DUE_SOON_DAYS
from .wording import (
    CARRY_ON,
    declined_line,
    in_sentence,
    possessive,
    review_confirmed_line,
    unsaved,
    unwell_plan,
)


class Kind(StrEnum):
    ALERT = "alert"
    CRISIS_PLAN = "crisis_plan"
    HANDOVER = "handover"
    SIGNATURE = "signature"
    ASKED_TO_LOOK = "asked_to_look"  # an advocate asked to look before the client signs
    DECLINED = "declined"
    REVIEW = "review"
    # After everything someone else waits on: one's own words, kept until one comes back.
    UNSAVED = "unsaved"
    MESSAGES = "messages"


class Place(StrEnum):
    """Where an item is dealt with; the web layer turns it into a link."""

    SIGN = "sign"  # the document's signatures
    REVIEW = "review"  # the document's review panel
    CRISIS_PLAN = "crisis_plan"  # the agreement's page for when the client is not well
    RESPOND = "respond"  # the page to respond to a crisis alert
    HANDOVER = "handover"  # the handover on the client's records
    MESSAGES = "messages"
    OVERDUE_REVIEWS = "overdue_reviews"  # the supervisors' dashboard, overdue only
    CARRY_ON = "carry_on"  # the edit page, with one's unsaved changes put back


_ORDER = list(Kind)


@dataclass(frozen=True)
class DocumentFacts:
    document_id: int
    client_id: int
    client_name: str  # the name the client goes by, as pages call them to others
    title: str
    signoff_state: str
    head_number: int
    agreed_version: int | None
    next_review_on: date | None
    key_worker_id: int | None
    key_worker_name: str
    client_signed_head: bool  # the client has signed (or declined) the latest version
    worker_signed_head: bool  # the current key worker has
    crisis_until: date | None = None  # a crisis plan in effect on this agreement, until
    agreed_at: datetime | None = None
    head_saved_by: int | None = None  # who saved the latest version
    # When the reader last typed changes to it they have not saved, if offered back to them.
    unsaved_at: datetime | None = None
    # The reason each side gave for declining the latest version, if they declined it.
    client_declined: str | None = None
    worker_declined: str | None = None  # the current key worker
    # Who has confirmed "reviewed, no changes" in the review cycle under way.
    client_confirmed_review: bool = False
    worker_confirmed_review: bool = False
    # The earliest day a decision in the latest version is handed over until, if any.
    handed_over_until: date | None = None
    # The client asked the reader, their advocate, to look at the latest version first, and
    # they have not commented on it since.
    advocate_asked: bool = False
    started_by: int | None = None  # who started the document


@dataclass(frozen=True)
class HandoverFacts:
    client_id: int
    client_name: str  # the name the client goes by
    from_worker: str
    to_worker: str
    to_worker_id: int
    since: datetime
    from_worker_id: int | None = None


@dataclass(frozen=True)
class AlertFacts:
    document_id: int
    client_name: str
    key_worker: str
    raised_at: datetime
    respond_by: datetime
    late: bool
    # What was asked, so that several lines waiting at once each say which they are.
    kind: AlertKind | None = None
    nights: int | None = None  # a short stay asked for
    raised_by: str = ""  # who asked, if not the client themselves
    # A short stay asked for outside the terms both had agreed (checked when it was sent).
    outside_terms: bool = False


@dataclass(frozen=True)
class Item:
    kind: Kind
    text: str
    place: Place
    document_id: int | None = None
    client_id: int | None = None
    urgent: bool = False


def _day(d: date | datetime, zone: tzinfo = UTC) -> str:
    return show(d, zone, date_only=True)


def _time(t: datetime, zone: tzinfo = UTC) -> str:
    return show(t, zone)


def whose_document(title: str, client_name: str, own: bool) -> str:
    """“your care plan” for the client, “Alex's care plan” for anyone else."""
    return f"{'your' if own else possessive(client_name)} {in_sentence(title)}"


def _title(d: DocumentFacts, own: bool) -> str:
    return whose_document(d.title, d.client_name, own)


def waiting_for_advocate(d: DocumentFacts) -> bool:
    """The client asked the reader, their advocate, to look at the latest version before they
    sign, and has neither signed nor declined it yet."""
    return (
        d.advocate_asked
        and d.signoff_state in ("awaiting_signature", "draft")
        and not d.client_signed_head
    )


def waiting_for_signature(d: DocumentFacts, role: Role, actor_id: int) -> bool:
    """The latest version waits for this person: signed by the other side, or saved by
    someone else and signed by nobody yet (a proposal to read; one's own draft is not)."""
    if d.signoff_state == "draft":
        if d.head_saved_by in (None, actor_id):
            return False
    elif d.signoff_state != "awaiting_signature":
        return False
    # With no key worker (the client left the service, or has none yet) nobody could sign it
    # with the client yet: it stays on the document for their next key worker, not on their
    # start page (_sides).
    sides = _sides(d, role, actor_id)
    if sides is None:
        return False
    return not (d.client_signed_head if sides[0] else d.worker_signed_head)


def stuck_on_passed_day_for(d: DocumentFacts, role: Role, actor_id: int, today: date) -> bool:
    """The latest version, not agreed, can no longer be signed by anyone (a decision in it
    was handed over until a day before `today`), and this person is one of the two who would
    sign it: whether they signed already, or would be asked to, they are told a new version
    is needed instead of being asked for a signature the service refuses."""
    return (
        d.signoff_state in ("draft", "awaiting_signature")
        and stuck_on_passed_day(d.handed_over_until, today)
        and _sides(d, role, actor_id) is not None
    )


# How much of a reason for declining the start page shows; the message and the document hold
# all of it.
REASON_SHOWN = 160


def shortened(text: str, most: int = REASON_SHOWN) -> str:
    """The text on one line, cut at `most` characters with "…" if it is longer."""
    text = " ".join(text.split())
    if len(text) <= most:
        return text
    return text[: most - 1].rstrip() + "…"


def _sides(d: DocumentFacts, role: Role, actor_id: int) -> tuple[bool, str] | None:
    """(reader is the client, the other side's name) for the client or their current key
    worker; None for anyone else. With no key worker (the client left the service) nobody is
    on the other side."""
    if role is Role.CLIENT and actor_id == d.client_id and d.key_worker_id is not None:
        return True, d.key_worker_name
    if role is Role.KEY_WORKER and actor_id == d.key_worker_id:
        return False, d.client_name
    return None


def declined_by_other(d: DocumentFacts, role: Role, actor_id: int) -> tuple[str, str] | None:
    """(who, reason) when the other side declined the latest version and this person did not
    decline it too: it is theirs to talk over, until a new version is saved."""
    sides = _sides(d, role, actor_id)
    if d.signoff_state != "declined" or sides is None:
        return None
    client, other = sides
    mine, theirs = (
        (d.client_declined, d.worker_declined) if client else (d.worker_declined, d.client_declined)
    )
    return (other, theirs) if mine is None and theirs is not None else None


def _review_confirmations(d: DocumentFacts, role: Role, actor_id: int):
    """(this person confirmed, the other side confirmed, the other side's name) for the
    review under way of the agreed version, or None for someone who does not confirm it."""
    sides = _sides(d, role, actor_id)
    if d.signoff_state != "agreed" or sides is None:
        return None
    client, other = sides
    mine, theirs = (
        (d.client_confirmed_review, d.worker_confirmed_review)
        if client
        else (d.worker_confirmed_review, d.client_confirmed_review)
    )
    return mine, theirs, other


def review_confirmed_by_other(d: DocumentFacts, role: Role, actor_id: int) -> str | None:
    """Who confirmed "reviewed, no changes" on the agreed version and waits for this person to
    confirm too, if anyone does."""
    confirmations = _review_confirmations(d, role, actor_id)
    if confirmations is None:
        return None
    mine, theirs, other = confirmations
    return other if theirs and not mine else None


def review_confirmed_by_me(d: DocumentFacts, role: Role, actor_id: int) -> bool:
    """This person has confirmed "reviewed, no changes": what is left of the review is the
    other side's, so it no longer needs them."""
    confirmations = _review_confirmations(d, role, actor_id)
    return confirmations is not None and confirmations[0]


def review_due(d: DocumentFacts, today: date) -> bool:
    # Whether agreed or not: a crisis plan put into effect before anything was agreed still
    # owes a review after it.
    return d.next_review_on is not None and (d.next_review_on - today).days <= DUE_SOON_DAYS


def _review_text(d: DocumentFacts, own: bool, today: date) -> str:
    what = _title(d, own)
    what = what[0].upper() + what[1:]
    days = (d.next_review_on - today).days
    if days < 0:
        return f"{what}: the review is overdue. It was due on {_day(d.next_review_on)}, {days_text(-days)} ago."
    if days == 0:
        return f"{what}: the review is due today."
    return f"{what}: the review is due on {_day(d.next_review_on)}, in {days_text(days)}."


def _asked(a: AlertFacts, own: bool) -> str:
    """What an alert asked for, said after who asked: "asked for a short stay of 3 nights"."""
    if a.kind is AlertKind.CONTINGENCY:
        # Asked by the client, it is said after "they": their plan, not the client's by name.
        them = not own and not a.raised_by
        return (
            f"put {unwell_plan(a.client_name, reader_is_client=own, after_them=them)} into effect"
        )
    if a.kind is AlertKind.SELF_REFERRAL and a.nights:
        outside = " (outside the agreed terms)" if a.outside_terms else ""
        return f"asked for a short stay of {nights_text(a.nights)}{outside}"
    return "asked for help"


def needs_you_now(
    role: Role,
    actor_id: int,
    today: date,
    documents: Iterable[DocumentFacts] = (),
    handovers: Iterable[HandoverFacts] = (),
    alerts: Iterable[AlertFacts] = (),
    overdue_reviews: int = 0,
    unread_messages: int = 0,
    zone: tzinfo = UTC,
) -> list[Item]:
    """Everything waiting for this person, most pressing first."""
    items: list[tuple[tuple, Item]] = []

    def add(sort_key: tuple, item: Item) -> None:
        items.append(((_ORDER.index(item.kind), *sort_key), item))

    client = role is Role.CLIENT
    for a in alerts:
        asked = _asked(a, own=client)
        if client:
            who = f"{a.key_worker} or their team" if a.key_worker else "The team"
            text = (
                f"{a.raised_by or 'You'} {asked} on {_time(a.raised_at, zone)}. "
                f"{who} will respond by {_time(a.respond_by, zone)}."
            )
            add((a.respond_by,), Item(Kind.ALERT, text, Place.CRISIS_PLAN, a.document_id))
        else:
            # Without a subject, "put the plan … into effect" read as an order to do it.
            by = f"{a.raised_by} " if a.raised_by else "they "
            text = f"Respond to {a.client_name}: {by}{asked} on {_time(a.raised_at, zone)}"
            text += (
                ". Nobody has responded in time."
                if a.late
                else f", respond by {_time(a.respond_by, zone)}."
            )
            add((a.respond_by,), Item(Kind.ALERT, text, Place.RESPOND, a.document_id, urgent=True))
    for h in handovers:
        if client:
            text = (
                f"Your key worker is changing from {h.from_worker} to {h.to_worker}. "
                "Read what happens next."
            )
        elif role is Role.KEY_WORKER and h.to_worker_id == actor_id:
            text = (
                f"{h.client_name} is being handed over to you from {h.from_worker}. "
                # True with plans agreed or none: the handover lists what there is to read.
                "Read the handover note and any agreed plans, then take over."
            )
        elif role is Role.KEY_WORKER and h.from_worker_id == actor_id:
            # Until it is taken over the client is still theirs, reminders and requests for
            # help included: someone going on leave checks that before they go.
            text = (
                f"{h.client_name}: waiting since {_day(h.since, zone)} for {h.to_worker} "
                f"to take over. Until then {h.client_name} is still yours."
            )
        elif role is Role.SUPERVISOR:
            text = (
                f"{h.client_name}: handover from {h.from_worker} to {h.to_worker} "
                f"waiting since {_day(h.since, zone)}."
            )
        else:
            continue
        add((h.since,), Item(Kind.HANDOVER, text, Place.HANDOVER, client_id=h.client_id))
    for d in documents:
        if role is Role.ADVOCATE and waiting_for_advocate(d):
            text = (
                f"{d.client_name} asked you to look at version {d.head_number} of their "
                f"{in_sentence(d.title)} before they sign it."
            )
            add((d.document_id,), Item(Kind.ASKED_TO_LOOK, text, Place.SIGN, d.document_id))
        own = client and actor_id == d.client_id
        mine = own or (role is Role.KEY_WORKER and actor_id == d.key_worker_id)
        if not mine:
            continue
        if d.crisis_until is not None and d.crisis_until >= today:
            text = (
                f"What {'you' if own else d.client_name} agreed for when "
                f"{'you are' if own else 'they are'} not well is in effect until "
                f"{_day(d.crisis_until)}."
            )
            add((d.crisis_until,), Item(Kind.CRISIS_PLAN, text, Place.CRISIS_PLAN, d.document_id))
        if stuck_on_passed_day_for(d, role, actor_id, today):
            what = _title(d, own)
            text = cannot_be_signed(d.head_number, what, d.handed_over_until, own)
            add((d.document_id,), Item(Kind.SIGNATURE, text, Place.SIGN, d.document_id))
        elif waiting_for_signature(d, role, actor_id):
            what = _title(d, own)
            text = (
                f"Version {d.head_number} of {what} is waiting for your signature: "
                "read it and sign, or say why not."
            )
            add((d.document_id,), Item(Kind.SIGNATURE, text, Place.SIGN, d.document_id))
        if declined := declined_by_other(d, role, actor_id):
            who, reason = declined
            text = f"{who} {declined_line(own, d.title, d.head_number, shortened(reason))}"
            add((d.document_id,), Item(Kind.DECLINED, text, Place.SIGN, d.document_id))
        # One line for the review: whom it waits for, and when it is due if that is soon.
        said = []
        if confirmed_by := review_confirmed_by_other(d, role, actor_id):
            said.append(f"{confirmed_by} {review_confirmed_line(own, d.title)}")
        if review_due(d, today) and not review_confirmed_by_me(d, role, actor_id):
            said.append(_review_text(d, own, today))
        if said:
            text = " ".join(said)
            overdue = d.next_review_on is not None and d.next_review_on < today
            add(
                (d.next_review_on or date.max,),
                Item(Kind.REVIEW, text, Place.REVIEW, d.document_id, urgent=overdue),
            )
        if d.unsaved_at is not None:
            text = f"{unsaved(_time(d.unsaved_at, zone), _title(d, own))} {CARRY_ON}."
            add(
                (-d.unsaved_at.timestamp(), d.document_id),
                Item(Kind.UNSAVED, text, Place.CARRY_ON, d.document_id),
            )
    if overdue_reviews:
        text = (
            "1 review is overdue in your teams."
            if overdue_reviews == 1
            else f"{overdue_reviews} reviews are overdue in your teams."
        )
        add((), Item(Kind.REVIEW, text, Place.OVERDUE_REVIEWS, urgent=True))
    if unread_messages:
        text = (
            "You have 1 new message."
            if unread_messages == 1
            else f"You have {unread_messages} new messages."
        )
        add((), Item(Kind.MESSAGES, text, Place.MESSAGES))
    return [item for _, item in sorted(items, key=lambda pair: pair[0])]


NOTHING = "Nothing needs you right now."


def card_state(
    d: DocumentFacts, viewer_id: int, zone: tzinfo = UTC, today: date | None = None
) -> str:
    """One line for a plan card: draft, waiting for whose signature, or agreed on which date.
    Given `today`, a version nobody can sign any more (stuck_on_passed_day) says so instead
    of waiting for signatures."""
    if d.head_number == 0:
        # Shown to the two who write it, and to anyone with writing kept in it
        # (services.documents): who started it, when it was not the reader.
        if d.started_by is None:
            return "Started, nothing saved yet."
        if d.started_by == viewer_id:
            return "You started it; nothing is saved in it yet."
        if d.started_by == d.client_id:
            who = d.client_name
        elif d.started_by == d.key_worker_id and d.key_worker_name:
            who = d.key_worker_name
        else:
            who = "A former key worker"
        return f"{who} started it; nothing is saved in it yet."
    unsigned = d.signoff_state in ("awaiting_signature", "draft")
    if unsigned and today is not None and stuck_on_passed_day(d.handed_over_until, today):
        state = card_cannot_be_signed(d.head_number, d.handed_over_until)
    elif unsigned:
        missing = []
        if not d.client_signed_head:
            missing.append("yours" if viewer_id == d.client_id else possessive(d.client_name))
        if not d.worker_signed_head:
            name = d.key_worker_name or "a key worker"  # none: left, or none yet
            missing.append("yours" if viewer_id == d.key_worker_id else possessive(name))
        wanted = "a signature" if len(missing) == 1 else "signatures"
        state = f"Version {d.head_number} is waiting for {wanted}: {' and '.join(missing)}."
    elif d.signoff_state == "declined":
        state = f"Version {d.head_number} was declined. Open it to see why."
    else:
        state = "Agreed" + (f" on {_day(d.agreed_at, zone)}." if d.agreed_at else ".")
    if d.agreed_version is not None and d.agreed_version != d.head_number:
        when = f", agreed on {_day(d.agreed_at, zone)}" if d.agreed_at else ""
        state += f" Version {d.agreed_version} stays in force{when}."
    return state
