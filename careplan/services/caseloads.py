"""The list of people a worker, supervisor or advocate looks after: names, dates and how
their documents stand (the next review, how many wait for a signature), no content."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from sqlalchemy import case, func, select

from ..db.engine import Database
from ..db.models import CaseloadLink, Document, User
from ..domain.account_rules import introduce
from ..domain.paging import Paged, Window
from ..domain.roles import Role
from .access import PERSON, clients_visible_to
from .actor import Actor
from .paging import page_of


@dataclass(frozen=True)
class PersonRow:
    client_id: int
    name: str
    key_worker: str
    documents: int
    last_change: datetime | None
    next_review: date | None = None  # the earliest review owed among their documents
    awaiting_signature: int = 0  # documents whose latest version one side has signed
    # Documents whose latest version is not yet signed by both: those, and drafts nobody has
    # signed, as each document's own card counts them ("waiting for signatures").
    unsigned: int = 0
    key_worker_id: int | None = None  # so the list says "you" to the key worker themselves


def people_for(db: Database, actor: Actor) -> list[PersonRow]:
    """Everyone on this person's caseload or teams, by name (their start page)."""
    with db.read() as s:
        return [_person(*row) for row in s.execute(_people(actor.role), {PERSON.key: actor.id})]


def people_page(db: Database, actor: Actor, window: Window) -> Paged[PersonRow]:
    """The same list, one page of it, with the count of the whole list."""
    with db.read() as s:
        return page_of(s, _people(actor.role), window, _person, {PERSON.key: actor.id})


_UNSIGNED = ("draft", "awaiting_signature")


@cache
def _people(role: Role):
    """Built once per role, the person a bound parameter: building it took longer than
    running it."""
    clients = clients_visible_to(role, PERSON).subquery()
    worker = User.__table__.alias("worker")
    docs = (
        select(
            Document.client_id,
            func.count(Document.id).label("n"),
            func.max(Document.updated_at).label("last"),
            func.min(Document.next_review_on).label("next_review"),
            func.sum(case((Document.signoff_state == "awaiting_signature", 1), else_=0)).label(
                "waiting"
            ),
            func.sum(case((Document.signoff_state.in_(_UNSIGNED), 1), else_=0)).label("unsigned"),
        )
        .group_by(Document.client_id)
        .subquery()
    )
    return (
        select(
            clients.c.id,
            clients.c.display_name,
            clients.c.preferred_name,
            clients.c.pronouns,
            worker.c.display_name,
            docs.c.n,
            docs.c.last,
            docs.c.next_review,
            docs.c.waiting,
            docs.c.unsigned,
            worker.c.id,
        )
        .outerjoin(
            CaseloadLink, (CaseloadLink.client_id == clients.c.id) & CaseloadLink.ended_at.is_(None)
        )
        .outerjoin(worker, worker.c.id == CaseloadLink.key_worker_id)
        .outerjoin(docs, docs.c.client_id == clients.c.id)
        .order_by(clients.c.display_name, clients.c.id)
    )


def _person(
    cid, name, preferred, pronouns, key_worker, n, last, review, waiting, unsigned, worker_id
) -> PersonRow:
    # How the client likes to be called, beside their name: "Bea Client, known as Béa, she/her".
    return PersonRow(
        cid, introduce(name, preferred, pronouns), key_worker or "", n or 0, last, review,
        waiting or 0, unsigned or 0, worker_id,
    )  # fmt: skip
