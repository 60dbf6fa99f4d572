"""Gathers the facts about how a person stands to a client; the domain decides what follows."""

from __future__ import annotations

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from ..db.engine import plain_rows
from ..db.models import (
    AdvocateInvitation,
    CaseloadLink,
    Handover,
    SupervisorTeam,
    User,
)
from ..domain.access import Access, Relationship, access_to_client
from ..domain.roles import Role
from . import audit
from .actor import Actor
from .errors import NotFound, Removed


def relationship_to(session: Session, actor: Actor, client_id: int) -> Relationship:
    if actor.role is Role.CLIENT:
        return Relationship(is_the_client=actor.id == client_id)
    ids = {PERSON.key: actor.id, _CLIENT.key: client_id}
    if actor.role is Role.KEY_WORKER:
        holds, incoming = plain_rows(session, _KEY_WORKER, ids).one()
        return Relationship(holds_caseload=holds, incoming_key_worker=incoming)
    if actor.role is Role.SUPERVISOR:
        return Relationship(supervises_team=plain_rows(session, _SUPERVISES, ids).scalar())
    if actor.role is Role.ADVOCATE:
        return Relationship(invited_as_advocate=plain_rows(session, _INVITED, ids).scalar())
    return Relationship()


def access_to(session: Session, actor: Actor, client_id: int) -> Access:
    return access_to_client(actor.role, relationship_to(session, actor, client_id))


def require_read(session: Session, actor: Actor, client_id: int) -> Access:
    access = access_to(session, actor, client_id)
    if not access.read:
        raise NotFound()
    return access


def gone(session: Session, actor: Actor, document_id: int) -> NotFound:
    """What to say of a document that is not there: that it was removed (Removed), to
    someone who may read its client's records; "not found" to anyone else, as for any record
    not theirs. A removed document's id is never given again, so its removal names it."""
    row = audit.latest(session, "document", document_id, "document.remove")
    if row is None or row.client_id is None or not access_to(session, actor, row.client_id).read:
        return NotFound()
    detail = row.detail or {}
    return Removed(
        row.actor_id == actor.id, row.display_name or "", detail.get("kind", ""),
        detail.get("template"), row.client_id,
    )  # fmt: skip


def _holds(key_worker_id: int, client_id: int):
    return exists().where(
        CaseloadLink.client_id == client_id,
        CaseloadLink.key_worker_id == key_worker_id,
        CaseloadLink.ended_at.is_(None),
    )


def _incoming(key_worker_id: int, client_id: int):
    return exists().where(
        Handover.client_id == client_id,
        Handover.to_worker_id == key_worker_id,
        Handover.completed_at.is_(None),
        Handover.cancelled_at.is_(None),
    )


def _supervises(supervisor_id: int, client_id: int):
    """The client's current key worker belongs to a team this supervisor oversees."""
    worker = User.__table__.alias("worker")
    return (
        exists()
        .where(CaseloadLink.client_id == client_id, CaseloadLink.ended_at.is_(None))
        .where(worker.c.id == CaseloadLink.key_worker_id)
        .where(SupervisorTeam.team_id == worker.c.team_id)
        .where(SupervisorTeam.supervisor_id == supervisor_id)
    )


def _invited(advocate_id: int, client_id: int):
    return exists().where(
        AdvocateInvitation.client_id == client_id,
        AdvocateInvitation.advocate_id == advocate_id,
        AdvocateInvitation.revoked_at.is_(None),
    )


def _open_client(client_id: int):
    """The client's account is open. Once it is closed the client can no longer see or stop
    who reads their records, so an advocate's reading, which is the client's to give, ends
    with it (and comes back if it is reopened); the lists already leave closed clients out."""
    return exists().where(
        User.id == client_id, User.role == Role.CLIENT.value, User.active.is_(True)
    )


# A statement built once for everyone of a role takes the person's id as this parameter. Every
# request that shows a client's records asks one of the three below: built once, because
# building a statement took longer than running it. A key worker's two questions (do they hold
# the caseload, are they taking the client over) go in one statement: one round trip.
PERSON = bindparam("person")
_CLIENT = bindparam("client")
_KEY_WORKER = select(
    _holds(PERSON, _CLIENT).label("holds"), _incoming(PERSON, _CLIENT).label("incoming")
)
_SUPERVISES = select(_supervises(PERSON, _CLIENT))
_INVITED = select(_invited(PERSON, _CLIENT) & _open_client(_CLIENT))


def visible_clients(actor: Actor) -> Select:
    """A query for the client users this person may see (none for admins)."""
    return clients_visible_to(actor.role, actor.id)


def clients_visible_to(role: Role, person) -> Select:
    """The same for anyone of `role`: `person` is their id, or PERSON in a statement built
    once per role."""
    query = select(User).where(User.role == Role.CLIENT.value, User.active.is_(True))
    if role is Role.CLIENT:
        return query.where(User.id == person)
    if role is Role.KEY_WORKER:
        return query.where(_holds(person, User.id) | _incoming(person, User.id))
    if role is Role.SUPERVISOR:
        return query.where(_supervises(person, User.id))
    if role is Role.ADVOCATE:
        return query.where(_invited(person, User.id))
    return query.where(False)
