"""The list of people a worker, supervisor or advocate looks after: names, dates and how
their documents stand (the next review, how many wait for a signature, how many nobody can
sign any more as a decision's day in them has passed), no content. On the
start page, each row also says which of the client's documents the reader has changes to that
they have not saved (their own drafts), while they may still edit them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache

from sqlalchemy import and_, bindparam, case, func, select

from ..db.engine import Database
from ..db.models import CaseloadLink, Document, EditDraft, User
from ..domain.access import access_to_client, as_listed, unsaved_to_offer
from ..domain.account_rules import called, introduce
from ..domain.attention import whose_document
from ..domain.local_time import service_today
from ..domain.paging import Paged, Window
from ..domain.roles import Role
from .access import PERSON, clients_visible_to
from .actor import Actor
from .document_states import UNSIGNED, not_stuck, stuck_on_passed_day
from .paging import page_of


@dataclass(frozen=True)
class Unsaved:
    """The reader's own changes to one of the client's documents, not saved yet."""

    document_id: int
    what: str  # "Alex's care plan"
    saved_at: datetime  # when they last typed


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
    # On the start page: the reader's own drafts of the client's documents, latest typed first.
    unsaved: tuple[Unsaved, ...] = ()
    declined: int = 0  # documents whose latest version someone declined to sign
    # Documents whose latest version, not agreed, nobody can sign any more: a decision in it
    # was handed over until a day that has passed (plan_dates.stuck_on_passed_day). Counted
    # here, not among those waiting for a signature.
    passed_day: int = 0
    # The names they may be looked for by (domain.name_search): their name, the one they go by.
    names: tuple[str, ...] = ()
    # Documents started with nothing saved in them yet: not among `documents`, but the client's
    # own list shows them to the client and their key worker, so the count says so too.
    started: int = 0
    # A care plan saved (User.has_care_plan): without one, the row says so, as the
    # supervisors' dashboard lists them, so the key worker sees the gap their supervisor sees.
    has_care_plan: bool = True


def people_for(db: Database, actor: Actor) -> list[PersonRow]:
    """Everyone on this person's caseload or teams, by name (their start page), each with
    the reader's own unsaved changes to their documents: in the same query, a row more for a
    client only where the reader has more than one draft of theirs."""
    rows: dict[int, PersonRow] = {}
    unsaved: dict[int, list[Unsaved]] = {}
    with db.read() as s:
        for *person, draft_of, title, saved_at in s.execute(
            _people(actor.role, drafts=True), {PERSON.key: actor.id, _TODAY.key: service_today()}
        ):
            row = rows.get(person[0]) or rows.setdefault(person[0], _person(*person))
            # As on the document's page: offered back only while they may edit it.
            listed = as_listed(actor.role, actor.id, row.client_id, row.key_worker_id)
            offered = unsaved_to_offer(access_to_client(actor.role, listed), saved_at)
            if offered is not None:
                what = whose_document(title, called(person[1], person[2]), own=False)
                unsaved.setdefault(row.client_id, []).append(Unsaved(draft_of, what, offered))
    return [
        replace(_seen_by(row, actor), unsaved=tuple(unsaved.get(cid, ())))
        for cid, row in rows.items()
    ]


def people_page(db: Database, actor: Actor, window: Window) -> Paged[PersonRow]:
    """The same list, one page of it, with the count of the whole list."""
    with db.read() as s:
        values = {PERSON.key: actor.id, _TODAY.key: service_today()}
        return page_of(
            s, _people(actor.role), window, lambda *v: _seen_by(_person(*v), actor), values
        )


def _seen_by(row: PersonRow, actor: Actor) -> PersonRow:
    """The row as this reader may read it: documents started with nothing saved are counted
    to the client's own key worker alone (the client's list shows them to the two of them;
    nobody else has anything there to account for)."""
    return row if row.key_worker_id == actor.id else replace(row, started=0)


_TODAY = bindparam("today")
_NOT_STUCK = not_stuck(_TODAY)


@cache
def _people(role: Role, drafts: bool = False):
    """Built once per role, the person a bound parameter: building it took longer than
    running it. `drafts`: with the person's own drafts of each client's documents (their
    document, title and when last typed; none: nulls), one row per draft."""
    clients = clients_visible_to(role, PERSON).subquery()
    worker = User.__table__.alias("worker")
    docs = (
        select(
            Document.client_id,
            func.count(Document.id).label("n"),
            func.max(Document.updated_at).label("last"),
            func.min(Document.next_review_on).label("next_review"),
            func.sum(
                case((and_(Document.signoff_state == "awaiting_signature", _NOT_STUCK), 1), else_=0)
            ).label("waiting"),
            func.sum(
                case((and_(Document.signoff_state.in_(UNSIGNED), _NOT_STUCK), 1), else_=0)
            ).label("unsigned"),
            func.sum(case((Document.signoff_state == "declined", 1), else_=0)).label("declined"),
            func.sum(case((stuck_on_passed_day(_TODAY), 1), else_=0)).label("passed_day"),
        )
        # Only started, nothing saved: not a document to account for (documents.remove_empty),
        # so counted apart (`started`).
        .where(Document.head_number > 0)
        .group_by(Document.client_id)
        .subquery()
    )
    query = (
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
            docs.c.declined,
            docs.c.passed_day,
            select(func.count(Document.id))
            .where(Document.client_id == clients.c.id, Document.head_number == 0)
            .scalar_subquery(),
            clients.c.has_documents,  # User.has_care_plan
        )
        .outerjoin(
            CaseloadLink, (CaseloadLink.client_id == clients.c.id) & CaseloadLink.ended_at.is_(None)
        )
        .outerjoin(worker, worker.c.id == CaseloadLink.key_worker_id)
        .outerjoin(docs, docs.c.client_id == clients.c.id)
        .order_by(clients.c.display_name, clients.c.id)
    )
    if not drafts:
        return query
    # One per person and document, seen only by its author.
    mine = (
        select(EditDraft.document_id, EditDraft.saved_at, Document.client_id, Document.title)
        .join(Document, Document.id == EditDraft.document_id)
        .where(EditDraft.user_id == PERSON)
        .subquery()
    )
    return (
        query.add_columns(mine.c.document_id, mine.c.title, mine.c.saved_at)
        .outerjoin(mine, mine.c.client_id == clients.c.id)
        .order_by(mine.c.saved_at.desc(), mine.c.document_id)
    )


def _person(
    cid, name, preferred, pronouns, key_worker, n, last, review, waiting, unsigned, worker_id,
    declined, passed_day, started, has_care_plan,
) -> PersonRow:  # fmt: skip
    # How the client likes to be called, beside their name: "Bea Client, known as Béa, she/her".
    return PersonRow(
        cid, introduce(name, preferred, pronouns), key_worker or "", n or 0, last, review,
        waiting or 0, unsigned or 0, worker_id, declined=declined or 0,
        passed_day=passed_day or 0, names=(name, preferred or ""), started=started or 0,
        has_care_plan=bool(has_care_plan),
    )  # fmt: skip
