"""Review dates: set when a document is agreed, brought forward on request or after a crisis,
and reset by a review (a co-signed new version or a co-signed "reviewed, no changes").

The date lives on the document (`next_review_on`, indexed) so the reminder sweep reads only the
documents whose review is near. Every change is recomputed from the stored facts (the regular
date and the open requests) under a lock on the document row, never patched incrementally.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..db.engine import Database, plain_rows
from ..db.models import (
    ContingencyActivation,
    Document,
    ReviewConfirmation,
    ReviewLog,
    ReviewRequest,
    User,
    utcnow,
)
from ..domain.account_rules import called
from ..domain.contingency import ContingencyPeriod
from ..domain.kinds import KIND_LABELS, kind_for
from ..domain.local_time import long_date, service_day
from ..domain.paging import Paged, Window
from ..domain.plan_dates import review_refusal, review_stuck_note, stuck_on_passed_day
from ..domain.reviews import (
    OpenRequest,
    ReviewReason,
    interval_review_date,
    is_about_review_date,
    next_review,
    resolved_by_review,
    validate_earlier_request,
)
from ..domain.roles import Role
from ..domain.signoff import SignOff, State
from ..domain.wording import (
    Named,
    earlier_review_notice,
    review_confirmed_advocate_notice,
    review_confirmed_notice,
    review_done_notice,
)
from . import audit, passwords
from .access import require_read, visible_clients
from .actor import Actor
from .answered_messages import mark_answered
from .errors import Invalid, NotFound, ReadOnly
from .paging import page_of

EARLIER_REVIEW_SUGGESTED_DAYS = 14  # what the "ask for an earlier review" form suggests


def _lock(s: Session, document_id: int) -> Document:
    """The document row, locked for this transaction (PostgreSQL; SQLite's BEGIN IMMEDIATE
    already serialises writers), with fresh values."""
    doc = s.execute(
        select(Document)
        .where(Document.id == document_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if doc is None:
        raise NotFound()
    return doc


def _open_requests(s: Session, doc: Document, today: date) -> list[tuple[ReviewRequest, bool]]:
    """Open requests, each with whether its crisis is still going on."""
    rows = s.execute(
        select(ReviewRequest, ContingencyActivation)
        .outerjoin(ContingencyActivation, ContingencyActivation.id == ReviewRequest.activation_id)
        .where(ReviewRequest.document_id == doc.id, ReviewRequest.resolved_at.is_(None))
        .order_by(ReviewRequest.id)
    ).all()
    return [(r, a is not None and period_of(a).active(today)) for r, a in rows]


def period_of(a: ContingencyActivation) -> ContingencyPeriod:
    """A use of the crisis plan, as the domain reckons its days (contingencies, crisis
    alerts and reviews alike)."""
    return ContingencyPeriod(
        service_day(a.started_at), a.ends_on, service_day(a.ended_at) if a.ended_at else None,
        a.review_window_days,
    )  # fmt: skip


def _as_open(r: ReviewRequest, running: bool) -> OpenRequest:
    return OpenRequest(r.id, ReviewReason(r.kind), r.due_on, r.requested_at, running)


def _key_worker(s: Session, client_id: int) -> int | None:
    from .signoff import current_key_worker  # signoff builds on this module

    return current_key_worker(s, client_id)


def _in_service(s: Session, client_id: int) -> bool:
    """Does the client have a key worker (careplan.services.leaving)?"""
    return _key_worker(s, client_id) is not None


def _recompute(s: Session, doc: Document, today: date, in_service: bool | None = None) -> None:
    """Set the next review from the stored facts. Not audited itself: it follows from events
    that are (agreed, review.request, review.confirm, contingency.start/end, the client
    leaving the service or being given a key worker)."""
    if in_service is None:
        in_service = _in_service(s, doc.client_id)
    requests = [_as_open(r, running) for r, running in _open_requests(s, doc, today)]
    when, why = next_review(doc.scheduled_review_on, requests, in_service)
    if when != doc.next_review_on:
        doc.next_review_set_on = today if when else None
    doc.next_review_on, doc.next_review_reason = when, why.value if why else None


def _interval_weeks(s: Session, doc: Document, number: int, content: dict | None = None) -> int:
    """The review interval the agreed version `number` sets; `content` is that version's
    content when the caller has already read it."""
    if content is None:
        from .documents import version_content  # documents shows the review panel

        content = version_content(s, doc.id, number)
    return kind_for(doc.kind, doc.template).review_interval_weeks(content or {})


def _reviewed(s: Session, doc: Document, agreed_number: int, now: datetime, today: date) -> None:
    """A review is complete (or the document newly agreed): start the next cycle."""
    weeks = _interval_weeks(s, doc, agreed_number)
    if doc.next_review_on is not None:
        # A review that was due is now done: kept for the supervisors' on-time chart. One
        # logged as not done (the client left with it overdue, changed key worker, or their
        # worker changed team) is now done (late), still one review, and stays with whoever
        # held the client when it was missed.
        log = _never_done(s, doc.id, doc.next_review_on)
        if log is None:
            log = ReviewLog(document_id=doc.id, client_id=doc.client_id, due_on=doc.next_review_on)
            _held_by(s, log, _key_worker(s, doc.client_id))
        log.done_on = today
        s.add(log)
    _review_messages_answered(s, doc.id, now)
    doc.review_cycle = (doc.review_cycle or 0) + 1
    doc.last_reviewed_on = today
    doc.scheduled_review_on = interval_review_date(today, weeks)
    doc.awaiting_signature_since = None
    open_rows = _open_requests(s, doc, today)
    answered = {r.id for r in resolved_by_review([_as_open(r, x) for r, x in open_rows], now)}
    for row, _ in open_rows:
        if row.id in answered:
            row.resolved_at = now
    _recompute(s, doc, today)


def review_link(document_id: int) -> str:
    """Where a message about a document's review leads: its review panel."""
    return f"/documents/{document_id}#review"


def confirmed_link(document_id: int) -> str:
    """Where a message that one side confirmed "reviewed, no changes" leads: who confirmed,
    on the review panel. Its own place, so those messages can be told from the others."""
    return f"/documents/{document_id}#review-confirmed"


def _review_messages_answered(s: Session, document_id: int, now: datetime) -> None:
    """Messages about the review now done (one side's confirmation waiting for the other, a
    reminder that it is due, an earlier review asked for) are answered. Called before the
    messages saying it is done are written."""
    places = {review_link(document_id), confirmed_link(document_id)}
    mark_answered(
        s,
        document_id,
        lambda link, kind: link in places if kind is None else is_about_review_date(kind),
        now,
    )


def confirmations_overtaken(s: Session, document_id: int, now: datetime) -> None:
    """A new version was saved after the agreed one: the review is done by both signing it,
    so messages asking to confirm "reviewed, no changes" too are answered (nobody can)."""
    mark_answered(
        s,
        document_id,
        lambda link, kind: kind is None and link == confirmed_link(document_id),
        now,
    )


def _never_done(s: Session, document_id: int, due_on: date) -> ReviewLog | None:
    return s.scalar(
        select(ReviewLog).where(
            ReviewLog.document_id == document_id,
            ReviewLog.due_on == due_on,
            ReviewLog.done_on.is_(None),
        )
    )


def keep_overdue_with_holder(
    s: Session, client_ids: Iterable[int], key_worker_id: int, today: date
) -> None:
    """Before these clients stop being held by this key worker in their team (they leave the
    service, change key worker, or the worker changes team): each review already overdue is
    logged as not done under that worker and team, so it stays late on their team's on-time
    chart (once, however often it happens) and does not move to the next team's. Called before
    the change, while the worker's team is still the one that held them."""
    ids = list(client_ids)
    if not ids:
        return
    overdue = s.scalars(
        select(Document).where(Document.client_id.in_(ids), Document.next_review_on < today)
    )
    for doc in overdue:
        if _never_done(s, doc.id, doc.next_review_on) is None:
            log = ReviewLog(document_id=doc.id, client_id=doc.client_id, due_on=doc.next_review_on)
            _held_by(s, log, key_worker_id)
            s.add(log)


def _held_by(s: Session, log: ReviewLog, key_worker_id: int | None) -> None:
    """Log the review under the key worker who held the client and their team as it is now,
    so neither a handover nor the worker moving team later moves it on the chart."""
    log.key_worker_id = key_worker_id
    log.team_id = (
        None
        if key_worker_id is None
        else s.scalar(select(User.team_id).where(User.id == key_worker_id))
    )


def reschedule_for_client(s: Session, client_id: int, today: date) -> None:
    """After the client leaves the service or is given a key worker: their review dates go,
    or come back (dated from today, so no reminder is owed for the days in between)."""
    in_service = _in_service(s, client_id)
    for doc in s.scalars(select(Document).where(Document.client_id == client_id)):
        _recompute(s, doc, today, in_service)


# --- hooks called by other use cases, inside their transaction ------------------------------


def after_signing(
    s: Session, actor: Actor, doc: Document, before: SignOff, after: SignOff, now: datetime
) -> None:
    """Called by signoff.sign: a newly agreed version resets the review date; a draft that one
    party has signed is now waiting for the other."""
    doc = _lock(s, doc.id)
    today = service_day(now)
    newly_agreed = after.agreed is not None and (
        before.agreed is None or before.agreed.number != after.agreed.number
    )
    if newly_agreed:
        _reviewed(s, doc, after.agreed.number, now, today)
    elif after.state is State.AWAITING_SIGNATURE:
        if before.state is not State.AWAITING_SIGNATURE or doc.awaiting_signature_since is None:
            doc.awaiting_signature_since = today
    elif after.state in (State.DECLINED, State.DRAFT):
        doc.awaiting_signature_since = None


def schedule_post_crisis(
    s: Session, actor: Actor, doc: Document, activation: ContingencyActivation, today: date
) -> None:
    """Called by contingencies.start_contingency: a review after every crisis."""
    doc = _lock(s, doc.id)
    due = period_of(activation).post_crisis_review_due(today)
    s.add(
        ReviewRequest(
            document_id=doc.id,
            kind=ReviewReason.POST_CRISIS.value,
            due_on=due,
            reason="",
            requested_by_id=actor.id,
            requested_at=utcnow(),
            activation_id=activation.id,
        )
    )
    s.flush()
    _recompute(s, doc, today)


def crisis_ended(
    s: Session, actor: Actor, doc: Document, activation: ContingencyActivation, today: date
) -> date:
    """Called by contingencies.end_contingency: ended early, so the look-back comes sooner.
    Returns the day it is due by."""
    doc = _lock(s, doc.id)
    due = period_of(activation).post_crisis_review_due(today)
    for row in s.scalars(
        select(ReviewRequest).where(
            ReviewRequest.activation_id == activation.id, ReviewRequest.resolved_at.is_(None)
        )
    ):
        row.due_on = due = min(row.due_on, due)
    s.flush()
    _recompute(s, doc, today)
    return due


# --- use cases ----------------------------------------------------------------------------------


def _party_document(s: Session, actor: Actor, document_id: int, lock: bool = True) -> Document:
    doc = s.get(Document, document_id)
    if doc is None:
        raise NotFound()
    access = require_read(s, actor, doc.client_id)
    if not access.sign:
        # Advocates may comment; supervisors read only, and are not told otherwise.
        raise ReadOnly(
            "Only the client and their key worker arrange reviews."
            + (" You can add a comment." if access.comment else "")
        )
    return _lock(s, document_id) if lock else doc


def _confirmable(
    s: Session,
    actor: Actor,
    document_id: int,
    version_number: int,
    today: date,
    lock: bool = False,
    cycle: int | None = None,
) -> tuple[Document, SignOff]:
    """The document and its decision, if this person may confirm "reviewed, no changes" on
    this version now (`today`, the service's day); otherwise the reason, raised. A version
    holding a decision handed over until a day before today cannot stay as it is: nobody
    could sign it now, so nobody confirms it unchanged either (as signoff.sign refuses)."""
    from .signoff import decide_for

    doc = _party_document(s, actor, document_id, lock)
    if cycle is not None and cycle != doc.review_cycle:
        # A form open since (another tab, another device): the review it was for is done,
        # and confirming again must not count towards the next one, months ahead.
        raise Invalid(
            "This review was done meanwhile, so nothing was confirmed. The next one is due on "
            f"{long_date(doc.next_review_on)}." if doc.next_review_on else
            "This review was done meanwhile, so nothing was confirmed."
        )  # fmt: skip
    decision = decide_for(s, doc)
    if decision.state is not State.AGREED or decision.agreed.number != version_number:
        raise Invalid(
            "Only the agreed version, with no draft changes after it, can be confirmed as "
            "reviewed with no changes. If you changed something, sign the new version instead."
        )
    # The agreed version is the latest here, so the document's own column speaks for it.
    if stuck_on_passed_day(doc.handed_over_until, today):
        from .documents import version_content

        content = version_content(s, doc.id, version_number)
        passed = kind_for(doc.kind, doc.template).handed_over_until_passed(content or {}, today)
        if passed:
            raise Invalid(review_refusal(passed))
    already = s.scalar(
        select(ReviewConfirmation.id).where(
            ReviewConfirmation.document_id == doc.id,
            ReviewConfirmation.cycle == doc.review_cycle,
            ReviewConfirmation.user_id == actor.id,
        )
    )
    if already:
        raise Invalid("You have already confirmed this review.")
    return doc, decision


def request_earlier_review(
    db: Database,
    actor: Actor,
    document_id: int,
    wanted_by_raw: str,
    reason: str,
    today: date,
) -> date:
    """Either party asks to review sooner, saying why. Returns the new next review date."""
    with db.write() as s:
        doc = _party_document(s, actor, document_id)
        if doc.next_review_on is None and not _in_service(s, doc.client_id):
            raise Invalid("There is no key worker to review it with, so no review is planned.")
        if doc.next_review_on is None:
            raise Invalid(
                "This has not been agreed yet, so there is no review to bring forward. "
                "You can change it and sign it together instead."
            )
        wanted, reason = validate_earlier_request(wanted_by_raw, reason, today, doc.next_review_on)
        request = ReviewRequest(
            document_id=doc.id,
            kind=ReviewReason.EARLIER.value,
            due_on=wanted,
            reason=reason,
            requested_by_id=actor.id,
            requested_at=utcnow(),
        )
        s.add(request)
        s.flush()
        # Reminders of the later date are out of date: kept, no longer counted as new. The
        # other side is told of the new date just below, and reminders follow it.
        mark_answered(
            s,
            doc.id,
            lambda _link, kind: kind is not None and is_about_review_date(kind),
            request.requested_at,
        )
        audit.record(
            s,
            actor,
            "review.request",
            "document",
            doc.id,
            client_id=doc.client_id,
            detail={"request": request.id, "wanted_by": wanted.isoformat()},
        )
        _tell_the_other(s, actor, doc, wanted)
        _recompute(s, doc, today)
        return doc.next_review_on


def _tell_the_other(s: Session, actor: Actor, doc: Document, wanted: date) -> None:
    """The other party hears of a request for an earlier review at once, in the app: the date
    may be days away, sooner than any reminder would say it."""
    from .signoff import tell_the_two

    tell_the_two(
        s, actor, doc,
        lambda to_client, client_name: earlier_review_notice(
            actor.name, actor.role, reader_is_client=to_client, client_name=client_name,
            title=doc.title, wanted_by=long_date(wanted),
        ),
        review_link(doc.id),
    )  # fmt: skip


def confirm_no_changes(
    db: Database,
    actor: Actor,
    document_id: int,
    version_number: int,
    password: str,
    now: datetime | None = None,
    code: str = "",
    cycle: int | None = None,
) -> bool:
    """One party confirms "reviewed, no changes" on the agreed version, re-entering their
    password (and the code from their app, when they turned that on) as when signing.
    `cycle`: the review the form was for (ReviewPanel.cycle), refused if done since.
    Returns True when both have confirmed and the review is done."""
    from .signoff import current_key_worker

    now = now or utcnow()
    # Checked before the password and code, so a refusal uses up no code (see signoff.sign).
    with db.read() as s:
        _confirmable(s, actor, document_id, version_number, service_day(now), cycle=cycle)
    method = passwords.confirm_identity(
        db,
        actor,
        password,
        "That password is not right. Nothing was confirmed.",
        code=code,
        code_refused=passwords.CODE_REFUSED + " Nothing was confirmed.",
        missing="Please type your password. Nothing was confirmed.",
    )
    with db.write() as s:
        # Checked again, with the row locked: the check and the insert are one step.
        doc, decision = _confirmable(
            s, actor, document_id, version_number, service_day(now), lock=True, cycle=cycle
        )
        s.add(
            ReviewConfirmation(
                document_id=doc.id,
                cycle=doc.review_cycle,
                version_number=version_number,
                content_hash=decision.agreed.content_hash,
                user_id=actor.id,
                role=actor.role.value,
                confirmed_at=now,
                method=method,
            )
        )
        s.flush()
        audit.record(
            s,
            actor,
            "review.confirm",
            "document",
            doc.id,
            client_id=doc.client_id,
            detail={"version": version_number, "cycle": doc.review_cycle},
        )
        confirmed = set(
            s.scalars(
                select(ReviewConfirmation.user_id).where(
                    ReviewConfirmation.document_id == doc.id,
                    ReviewConfirmation.cycle == doc.review_cycle,
                )
            )
        )
        parties = {doc.client_id, current_key_worker(s, doc.client_id)}
        if parties <= confirmed:
            audit.record(
                s,
                actor,
                "review.completed",
                "document",
                doc.id,
                client_id=doc.client_id,
                # The date it was due, for the history: an inspector asks whether it was on time.
                detail={"version": version_number, "outcome": "no changes"}
                | (
                    {"due": doc.next_review_on.isoformat(), "done": service_day(now).isoformat()}
                    if doc.next_review_on
                    else {}
                ),
            )
            _reviewed(s, doc, version_number, now, service_day(now))
            _tell_of_review_done(s, actor, doc)
            return True
        if doc.awaiting_signature_since is None:
            doc.awaiting_signature_since = service_day(now)
        _tell_of_confirmation(s, actor, doc)
        return False


def _tell_of_confirmation(s: Session, actor: Actor, doc: Document) -> None:
    """The other party hears at once that the review waits only for them: it may be weeks
    before any reminder would say so. The client's advocate is told too, with whom it waits
    for: the key worker (by name) after the client confirmed, the client after the worker."""
    from .signoff import tell_the_two

    worker = ""
    if actor.role is Role.CLIENT and (worker_id := _key_worker(s, doc.client_id)):
        worker = s.scalar(select(User.display_name).where(User.id == worker_id)) or ""
    tell_the_two(
        s, actor, doc,
        lambda to_client, client_name: review_confirmed_notice(
            actor.name, actor.role, reader_is_client=to_client, client_name=client_name,
            title=doc.title,
        ),
        confirmed_link(doc.id),
        # The client's advocate hears of it too (they do not confirm: nothing waits for them).
        lambda client_name: review_confirmed_advocate_notice(
            actor.name, actor.role, client_name=client_name, title=doc.title,
            other=worker if actor.role is Role.CLIENT else client_name,
        ),
    )  # fmt: skip


def _tell_of_review_done(s: Session, actor: Actor, doc: Document) -> None:
    """Whoever confirmed "reviewed, no changes" first hears at once that the other has too:
    the review is done, and when the next one is. (Told only to the two: `tell_the_two`
    skips the one confirming now.)"""
    from .signoff import tell_the_two

    next_review = long_date(doc.next_review_on) if doc.next_review_on else ""
    tell_the_two(
        s, actor, doc,
        lambda to_client, client_name: review_done_notice(
            actor.name, actor.role, reader_is_client=to_client, client_name=client_name,
            title=doc.title, next_review=next_review,
        ),
        review_link(doc.id),
    )  # fmt: skip


def still_to_confirm(db: Database, actor: Actor, document_id: int) -> str:
    """The name of the other party, whom a review this person confirmed waits for, as pages
    call them ("" when nobody can: the client has no key worker)."""
    with db.read() as s:
        doc = s.get(Document, document_id)
        if doc is None:
            raise NotFound()
        require_read(s, actor, doc.client_id)
        names = []
        for user_id in sorted(waiting_for(s, doc)):
            if user_id != actor.id:
                person = s.get(User, user_id)
                names.append(called(person.display_name, person.preferred_name))
        return " and ".join(names)


def waiting_for(s: Session, doc: Document) -> set[int]:
    """Who has not yet signed (or confirmed a review) that the other party is waiting on."""
    from .signoff import current_key_worker, decide_for

    worker = current_key_worker(s, doc.client_id)
    decision = decide_for(s, doc)
    if decision.state is State.AWAITING_SIGNATURE:
        ids = {Role.CLIENT: doc.client_id, Role.KEY_WORKER: worker}
        return {ids[role] for role in decision.waiting_for if ids.get(role)}
    if decision.state is State.AGREED:
        confirmed = set(
            s.scalars(
                select(ReviewConfirmation.user_id).where(
                    ReviewConfirmation.document_id == doc.id,
                    ReviewConfirmation.cycle == doc.review_cycle,
                )
            )
        )
        if confirmed:
            return {p for p in (doc.client_id, worker) if p and p not in confirmed}
    return set()


# --- what people see -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestView:
    kind: str  # "earlier" or "post_crisis"
    reason_label: str
    due_on: date
    reason: str
    asked_by: Named  # nobody (empty) for a review the system scheduled
    asked_at: datetime


@dataclass(frozen=True)
class ConfirmationView:
    name: str
    role: str
    at: datetime
    user_id: int | None = None  # so pages can say "you" to the person who confirmed


@dataclass(frozen=True)
class ReviewPanel:
    document_id: int
    next_review_on: date | None
    reason_label: str
    days_until: int | None  # negative when overdue
    last_reviewed_on: date | None
    interval_weeks: int | None
    requests: list[RequestView]
    confirmations: list[ConfirmationView]
    agreed_number: int | None
    can_request: bool
    can_confirm: bool
    suggested_date: date
    # Said instead of offering "reviewed, no changes" to the client or their key worker when
    # a decision in the agreed version was handed over until a day since passed.
    confirm_refusal: str = ""
    # Agreed or reviewed today, and nobody has confirmed a review since: the form is tucked
    # away, so it does not read as the review just done still waiting. Once one side has
    # confirmed, the other's form is open: it is theirs to do.
    done_today: bool = False
    # A version saved after the agreed one (a draft): a review half confirmed "no changes" is
    # then done by both signing the new version instead; nobody can confirm the other way.
    draft_number: int | None = None
    cycle: int = 0  # the review under way (Document.review_cycle), which the form names


def review_panel(db: Database, actor: Actor, document_id: int, today: date) -> ReviewPanel:
    """The review dates and requests of one document, for everyone who may read it."""
    from .signoff import decide_for

    with db.read() as s:
        doc = s.get(Document, document_id)
        if doc is None:
            raise NotFound()
        access = require_read(s, actor, doc.client_id)
        decision = decide_for(s, doc)
        client = s.get(User, doc.client_id)
        return panel_in(
            s,
            actor,
            doc,
            access,
            decision.state,
            decision.agreed,
            today,
            client_called=called(client.display_name, client.preferred_name),
        )


def panel_in(
    s: Session,
    actor: Actor,
    doc: Document,
    access,
    state,
    agreed_ref,
    today: date,
    shown: tuple[int, dict] | None = None,
    *,
    client_called: str,
):
    """The review panel inside a transaction that has already checked access and decided the
    sign-off state (the document page does both once for everything it shows). `shown` is
    the (number, content) of a version already read, used when it is the agreed one;
    `client_called` the name the client goes by, which the reasons call them by."""
    own = actor.id == doc.client_id
    requests = [
        RequestView(
            kind,
            ReviewReason(kind).label(client_called, reader_is_client=own),
            due_on,
            reason,
            Named(name, Role(role).value, user_id) if name else Named(""),
            requested_at,
        )
        for kind, due_on, reason, requested_at, name, role, user_id in plain_rows(
            s, _OPEN_REQUESTS, {"document_id": doc.id}
        )
    ]
    rows = plain_rows(s, _CONFIRMATIONS, {"document_id": doc.id, "cycle": doc.review_cycle})
    confirmations = [
        ConfirmationView(c.display_name, Role(c.role).label, c.confirmed_at, c.user_id)
        for c in rows
    ]
    confirmed_by_me = any(c.user_id == actor.id for c in confirmations)
    agreed = agreed_ref.number if agreed_ref else None
    when = doc.next_review_on
    confirmable = access.sign and state is State.AGREED and not confirmed_by_me
    refusal = ""
    if confirmable and stuck_on_passed_day(doc.handed_over_until, today):
        refusal = review_stuck_note(doc.handed_over_until)
    return ReviewPanel(
        doc.id,
        when,
        ReviewReason(doc.next_review_reason).label(client_called, reader_is_client=own)
        if doc.next_review_reason
        else "",
        (when - today).days if when else None,
        doc.last_reviewed_on,
        _interval_weeks(s, doc, agreed, shown[1] if shown and shown[0] == agreed else None)
        if agreed
        else None,
        requests,
        confirmations,
        agreed,
        access.sign and when is not None,
        confirmable and not refusal,
        min(
            today + timedelta(days=EARLIER_REVIEW_SUGGESTED_DAYS),
            (when - timedelta(days=1)) if when and when > today else today,
        ),
        refusal,
        doc.last_reviewed_on == today and not confirmations,
        doc.head_number if agreed and doc.head_number != agreed else None,
        doc.review_cycle or 0,
    )


@dataclass(frozen=True)
class ReviewDate:
    document_id: int
    title: str
    kind_label: str
    client_name: str
    on: date
    reason_label: str
    client_called: str = ""  # the name the client goes by, for running text


# Every document page runs these: built once, with bound parameters, because building a
# statement took longer than running it.
_REQUESTER = User.__table__.alias("requester")
_OPEN_REQUESTS = (
    select(
        ReviewRequest.kind,
        ReviewRequest.due_on,
        ReviewRequest.reason,
        ReviewRequest.requested_at,
        _REQUESTER.c.display_name,
        _REQUESTER.c.role,
        _REQUESTER.c.id,
    )
    .outerjoin(_REQUESTER, _REQUESTER.c.id == ReviewRequest.requested_by_id)
    .where(
        ReviewRequest.document_id == bindparam("document_id"), ReviewRequest.resolved_at.is_(None)
    )
    .order_by(ReviewRequest.id)
)
_CONFIRMATIONS = (
    select(
        ReviewConfirmation.user_id,
        ReviewConfirmation.role,
        ReviewConfirmation.confirmed_at,
        User.display_name,
    )
    .join(User, User.id == ReviewConfirmation.user_id)
    .where(
        ReviewConfirmation.document_id == bindparam("document_id"),
        ReviewConfirmation.cycle == bindparam("cycle"),
    )
    .order_by(ReviewConfirmation.id)
)


def review_dates_for(db: Database, actor: Actor, limit: int = 500) -> list[ReviewDate]:
    """Every review date this person can see, soonest first (a client: their own), up to
    `limit` (the reminders page and the calendar feed)."""
    with db.read() as s:
        return [
            _review_date(*row, reader=actor) for row in s.execute(_review_dates(actor).limit(limit))
        ]


def review_dates_page(db: Database, actor: Actor, window: Window) -> Paged[ReviewDate]:
    """The same list, one page of it, with the count of the whole list."""
    with db.read() as s:
        return page_of(
            s, _review_dates(actor), window, lambda *row: _review_date(*row, reader=actor)
        )


def _review_dates(actor: Actor):
    clients = visible_clients(actor).subquery()
    return (
        select(Document, clients.c.display_name, clients.c.preferred_name)
        .join(clients, clients.c.id == Document.client_id)
        .where(Document.next_review_on.is_not(None))
        .order_by(Document.next_review_on, Document.id)
    )


def _review_date(
    d: Document, client_name: str, preferred_name: str | None, *, reader: Actor
) -> ReviewDate:
    client_called = called(client_name, preferred_name)
    reason = (
        ReviewReason(d.next_review_reason).label(
            client_called, reader_is_client=reader.id == d.client_id
        )
        if d.next_review_reason
        else ""
    )
    return ReviewDate(
        d.id,
        d.title,
        KIND_LABELS.get(d.kind, d.kind),
        client_name,
        d.next_review_on,
        reason,
        client_called,
    )
