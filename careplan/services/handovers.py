"""Handing a client over to another key worker without the client paying for it.

The incoming worker reads the client's agreed documents and acknowledges them before the
caseload moves; until then the handover is pending, the current worker keeps the caseload, and
the client can see who their new worker will be.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import bindparam, delete, or_, select
from sqlalchemy.orm import Session

from ..db.engine import Database, locked
from ..db.models import (
    CaseloadLink,
    Document,
    Handover,
    HandoverRead,
    Notification,
    SupervisorTeam,
    Team,
    User,
    utcnow,
)
from ..domain.account_rules import called, introduce
from ..domain.errors import ContentInvalid
from ..domain.lengths import too_long
from ..domain.local_time import service_day
from ..domain.roles import Role
from ..domain.wording import (
    handover_called_off_notice,
    handover_called_off_to_worker_notice,
    handover_coming_notice,
    handover_started_notice,
    handover_to_you_notice,
    new_key_worker_notice,
    taken_over_notice,
)
from ..domain.writing_direction import plain_writing
from . import audit, crisis_alerts, reviews
from .access import access_to
from .actor import Actor
from .answered_messages import handover_answered, no_longer_theirs
from .errors import Invalid, NotFound
from .signoff import refresh_states_for_client

MAX_HANDOVER_NOTE = 5000


@dataclass(frozen=True)
class WorkerChoice:
    id: int
    name: str
    team: str = ""  # said where the choices span more than one team (a supervisor's)


@dataclass(frozen=True)
class DocumentToRead:
    id: int
    title: str
    agreed_version: int
    opened: bool


@dataclass(frozen=True)
class HandoverView:
    id: int
    client_id: int
    client_name: str
    from_worker: str
    to_worker: str
    to_worker_id: int
    note: str
    created_at: datetime
    requested_by: str
    to_read: list[DocumentToRead]
    # So pages can say "you" to the people named above.
    from_worker_id: int | None = None
    requested_by_id: int | None = None
    # The client's name with how they like to be called, for lists of people.
    client_introduced: str = ""
    # To a supervisor: coming to a key worker of their team from another team. Their records
    # open to the supervisor once the new key worker has taken the client over.
    coming_in: bool = False

    @property
    def ready_to_acknowledge(self) -> bool:
        return all(d.opened for d in self.to_read)


def waiting_handover(s: Session, client_id: int) -> Handover | None:
    return s.scalar(_PENDING, {"client_id": client_id})


# Every client's start page asks: built once, with a bound parameter, because building the
# statement took longer than running it.
_PENDING = select(Handover).where(
    Handover.client_id == bindparam("client_id"),
    Handover.completed_at.is_(None),
    Handover.cancelled_at.is_(None),
)


def take_turns(s: Session, client_id: int) -> User:
    """Starting, taking over and cancelling a client's handover, and their leaving the service
    (careplan.services.leaving), take turns on the client's row
    (PostgreSQL; SQLite's writers already queue), so the second of two at the same moment sees
    what the first did and gets a plain answer, not a clash with the one-open-handover index.
    Returns the client."""
    return locked(s, User, client_id)


def current_link(s: Session, client_id: int) -> CaseloadLink | None:
    return s.scalar(
        select(CaseloadLink).where(
            CaseloadLink.client_id == client_id, CaseloadLink.ended_at.is_(None)
        )
    )


def may_change_key_worker(s: Session, actor: Actor, client_id: int) -> bool:
    """The client's current key worker, or a supervisor of their team."""
    access = access_to(s, actor, client_id)
    if actor.role is Role.SUPERVISOR:
        return access.read
    return actor.role is Role.KEY_WORKER and access.edit


def workers_to_choose(db: Database, actor: Actor, client_id: int) -> list[WorkerChoice]:
    """Key workers the client can be handed to: the supervisor's teams, or the worker's own team."""
    with db.read() as s:
        if not may_change_key_worker(s, actor, client_id):
            raise NotFound()
        link = current_link(s, client_id)
        if actor.role is Role.SUPERVISOR:
            teams = select(SupervisorTeam.team_id).where(SupervisorTeam.supervisor_id == actor.id)
        else:
            teams = select(User.team_id).where(User.id == actor.id)
        rows = s.execute(
            select(User.id, User.display_name, Team.name)
            .join(Team, Team.id == User.team_id)
            .where(
                User.role == Role.KEY_WORKER.value, User.active.is_(True), User.team_id.in_(teams)
            )
            .where(User.id != (link.key_worker_id if link else -1))
            .order_by(User.display_name, User.id)
        ).all()
        # A supervisor of several teams is told each key worker's team (there may be two
        # Sams; the only other choice may be in another team).
        several = actor.role is Role.SUPERVISOR and len(list(s.scalars(teams))) > 1
        return [WorkerChoice(i, name, team if several else "") for i, name, team in rows]


def start(db: Database, actor: Actor, client_id: int, to_worker_id: int | None, note: str) -> None:
    note = plain_writing(note).strip()
    choices = {w.id for w in workers_to_choose(db, actor, client_id)}
    errors = {}
    if to_worker_id not in choices:
        errors["to_worker_id"] = "Please choose the new key worker."
    if not note:
        errors["note"] = "Please write a handover note: what the new worker needs to know."
    elif said := too_long(note, MAX_HANDOVER_NOTE, "the note"):
        errors["note"] = said
    if errors:
        raise ContentInvalid(errors)
    with db.write() as s:
        client = take_turns(s, client_id)
        if waiting_handover(s, client_id):
            raise Invalid("A handover for this person is already waiting to be acknowledged.")
        link = current_link(s, client_id)
        handover = Handover(
            client_id=client_id,
            from_worker_id=link.key_worker_id if link else None,
            to_worker_id=to_worker_id,
            requested_by_id=actor.id,
            note=note,
        )
        s.add(handover)
        s.flush()
        names = dict(
            s.execute(
                select(User.id, User.display_name).where(
                    User.id.in_([to_worker_id, link.key_worker_id if link else to_worker_id])
                )
            ).all()
        )
        to_name = names[to_worker_id]
        client_called = called(client.display_name, client.preferred_name)
        # Both hear it now, in the app, as "X is now your key worker" later: these notices are
        # never e-mailed (e-mails come only from reminders), so nothing outside the app says
        # what kind of service this is.
        current = names[link.key_worker_id] if link else ""
        s.add(
            Notification(user_id=client_id, text=handover_coming_notice(to_name, current), link="/")
        )
        s.add(
            Notification(
                user_id=to_worker_id,
                text=handover_to_you_notice(actor.name, client_called),
                link=f"/clients/{client_id}#handover",
            )
        )
        if link is not None and link.key_worker_id != actor.id:
            # Started by a supervisor: the worker handing over hears it from the app too.
            s.add(
                Notification(
                    user_id=link.key_worker_id,
                    text=handover_started_notice(actor.name, client_called, to_name),
                    link=f"/clients/{client_id}#handover",
                )
            )
        audit.record(
            s,
            actor,
            "handover.start",
            "user",
            client_id,
            client_id=client_id,
            detail={"handover": handover.id, "to_worker_id": to_worker_id},
        )


def note_opened(db: Database, actor: Actor, document_id: int, number: int | None) -> int | None:
    """Remember that the incoming worker opened a document's agreed version `number` (called
    when they open a version of it). Only the version in force is what they must read: when
    `number` is another (a later draft), the version in force is returned, for the page to
    point to."""
    if actor.role is not Role.KEY_WORKER or number is None:
        return None
    with db.read() as s:
        doc = s.get(Document, document_id)
        if doc is None or doc.agreed_version is None:
            return None
        handover = waiting_handover(s, doc.client_id)
        if handover is None or handover.to_worker_id != actor.id:
            return None
        if doc.agreed_version != number:
            return doc.agreed_version
        if s.get(HandoverRead, (handover.id, document_id)):
            return None
    with db.write() as s:
        # Locked as signoff.sign locks it: a version agreed meanwhile is not counted as read.
        agreed = s.scalar(
            select(Document.agreed_version).where(Document.id == document_id).with_for_update()
        )
        if agreed == number and s.get(HandoverRead, (handover.id, document_id)) is None:
            s.add(HandoverRead(handover_id=handover.id, document_id=document_id))
    return None


def forget_reads(s: Session, doc: Document) -> None:
    """Called by signoff.sign when a newer version of `doc` is agreed: an earlier agreed
    version read during a pending handover is no longer the one in force."""
    s.execute(
        delete(HandoverRead)
        .where(
            HandoverRead.document_id == doc.id,
            HandoverRead.handover_id.in_(
                select(Handover.id).where(
                    Handover.client_id == doc.client_id,
                    Handover.completed_at.is_(None),
                    Handover.cancelled_at.is_(None),
                )
            ),
        )
        .execution_options(synchronize_session=False)
    )


def _view(s: Session, handover: Handover) -> HandoverView:
    return _views(s, [handover])[0]


def _views(s: Session, handovers: list[Handover]) -> list[HandoverView]:
    """Views of several handovers in three queries, however many handovers and documents."""
    if not handovers:
        return []
    opened: dict[int, set[int]] = {}
    for handover_id, document_id in s.execute(
        select(HandoverRead.handover_id, HandoverRead.document_id).where(
            HandoverRead.handover_id.in_([h.id for h in handovers])
        )
    ):
        opened.setdefault(handover_id, set()).add(document_id)
    agreed: dict[int, list[Document]] = {}
    for doc in s.scalars(
        select(Document)
        # The stored sign-off state (kept in step by every signature) names the agreed version.
        .where(
            Document.client_id.in_({h.client_id for h in handovers}),
            Document.agreed_version.is_not(None),
        )
        .order_by(Document.id)
    ):
        agreed.setdefault(doc.client_id, []).append(doc)
    people = {h.client_id for h in handovers} | {
        u for h in handovers for u in (h.from_worker_id, h.to_worker_id, h.requested_by_id)
    }
    names, introduced = {}, {}
    for user_id, name, preferred, pronouns in s.execute(
        select(User.id, User.display_name, User.preferred_name, User.pronouns).where(
            User.id.in_(people - {None})
        )
    ):
        names[user_id], introduced[user_id] = name, introduce(name, preferred, pronouns)

    def name(user_id):
        return names.get(user_id, "nobody") if user_id else "nobody"

    return [
        HandoverView(
            h.id,
            h.client_id,
            name(h.client_id),
            name(h.from_worker_id),
            name(h.to_worker_id),
            h.to_worker_id,
            h.note,
            h.created_at,
            name(h.requested_by_id),
            [
                DocumentToRead(d.id, d.title, d.agreed_version, d.id in opened.get(h.id, set()))
                for d in agreed.get(h.client_id, [])
            ],
            h.from_worker_id,
            h.requested_by_id,
            introduced.get(h.client_id, name(h.client_id)),
        )
        for h in handovers
    ]


def pending_view_in(s: Session, client_id: int) -> HandoverView | None:
    handover = waiting_handover(s, client_id)
    return _view(s, handover) if handover else None


def pending_for_client(db: Database, actor: Actor, client_id: int) -> HandoverView | None:
    """The pending handover, for anyone who may see the client's records."""
    with db.read() as s:
        if not access_to(s, actor, client_id).read:
            raise NotFound()
        return pending_view_in(s, client_id)


def pending_for_supervisor(db: Database, actor: Actor) -> list[HandoverView]:
    if actor.role is not Role.SUPERVISOR:
        return []
    from .access import visible_clients

    with db.read() as s:
        clients = visible_clients(actor).with_only_columns(User.id).scalar_subquery()
        # And those coming to a key worker of their teams from another team: the team that
        # takes the client on hears of it before, not only once it has.
        their_workers = (
            select(User.id)
            .join(SupervisorTeam, SupervisorTeam.team_id == User.team_id)
            .where(SupervisorTeam.supervisor_id == actor.id)
            .scalar_subquery()
        )
        theirs = Handover.client_id.in_(clients)
        rows = s.execute(
            select(Handover, theirs)  # in the same statement: whose records are open to them
            .where(
                or_(theirs, Handover.to_worker_id.in_(their_workers)),
                Handover.completed_at.is_(None),
                Handover.cancelled_at.is_(None),
            )
            .order_by(Handover.created_at)
        ).all()
        views = _views(s, [h for h, _ in rows])
    return [replace(v, coming_in=not open_) for v, (_, open_) in zip(views, rows, strict=True)]


def acknowledge(db: Database, actor: Actor, client_id: int) -> None:
    """The incoming worker confirms they have read the agreed documents; the caseload moves."""
    with db.write() as s:
        client = take_turns(s, client_id)
        handover = waiting_handover(s, client_id)
        if handover is None or handover.to_worker_id != actor.id:
            raise NotFound()
        view = _view(s, handover)
        unread = [d.title for d in view.to_read if not d.opened]
        if unread:
            raise Invalid("Please open and read these first: " + ", ".join(unread) + ".")
        now = utcnow()
        link = current_link(s, client_id)
        if link is not None:
            # A review already overdue stays late on the chart of the team that held it.
            reviews.keep_overdue_with_holder(s, [client_id], link.key_worker_id, service_day(now))
            link.ended_at = now
            s.flush()
        s.add(CaseloadLink(client_id=client_id, key_worker_id=actor.id, started_at=now))
        s.flush()
        crisis_alerts.reach_new_key_worker(s, client_id, now)
        handover.completed_at = now
        handover_answered(s, client_id, {actor.id, handover.from_worker_id} - {None}, now)
        s.add(Notification(user_id=client_id, text=new_key_worker_notice(actor.name), link="/"))
        if handover.from_worker_id is not None:
            # Their messages about the client's records lead to pages no longer theirs: kept,
            # but not counted as new, as if something there still waited for them.
            # In the new key worker's team, they still answer the client's requests for help.
            colleague = (
                handover.from_worker_id in crisis_alerts.responders(s, [client_id])[client_id]
            )
            no_longer_theirs(s, handover.from_worker_id, client_id, now, colleague)
            # No link: the client's records are no longer theirs to open.
            s.add(
                Notification(
                    user_id=handover.from_worker_id,
                    text=taken_over_notice(
                        actor.name, called(client.display_name, client.preferred_name)
                    ),
                )
            )
        s.flush()
        refresh_states_for_client(s, client_id)
        audit.record(
            s,
            actor,
            "handover.complete",
            "user",
            client_id,
            client_id=client_id,
            detail={"handover": handover.id, "from_worker_id": handover.from_worker_id},
        )


def cancel(db: Database, actor: Actor, client_id: int) -> None:
    with db.write() as s:
        take_turns(s, client_id)
        handover = waiting_handover(s, client_id)
        if handover is None or not may_change_key_worker(s, actor, client_id):
            raise NotFound()
        handover.cancelled_at = utcnow()
        workers = {handover.to_worker_id, handover.from_worker_id} - {None}
        handover_answered(s, client_id, workers, handover.cancelled_at)
        audit.record(
            s,
            actor,
            "handover.cancel",
            "user",
            client_id,
            client_id=client_id,
            detail={"handover": handover.id},
        )
        _tell_of_cancel(s, actor, handover)


def _tell_of_cancel(s: Session, actor: Actor, handover: Handover) -> None:
    """Everyone told the handover was starting hears it was called off: the client (someone
    new was coming), the incoming worker and the one handing over (unless they cancelled)."""
    people = {handover.client_id, handover.to_worker_id, handover.from_worker_id} - {None}
    rows = s.execute(
        select(User.id, User.display_name, User.preferred_name).where(User.id.in_(people))
    ).all()
    names = {i: (full, preferred) for i, full, preferred in rows}
    client_name = called(*names[handover.client_id])  # the client, as pages call them
    new_worker = names[handover.to_worker_id][0]
    current = names[handover.from_worker_id][0] if handover.from_worker_id else ""
    link = f"/clients/{handover.client_id}"
    s.add(Notification(user_id=handover.client_id, link="/",
                       text=handover_called_off_notice(new_worker, current)))  # fmt: skip
    for worker in (handover.to_worker_id, handover.from_worker_id):
        if worker is not None and worker != actor.id:
            text = handover_called_off_to_worker_notice(
                actor.name, client_name, new_worker, to_reader=worker == handover.to_worker_id
            )
            s.add(Notification(user_id=worker, text=text, link=link))
