"""What needs a person now, for the top of their start page (rules: careplan.domain.attention).

However many clients a caseload holds, the facts cost a fixed number of statements: the crisis
alerts (careplan.services.crisis_alerts) and one query over the people this person may see,
each joined to the documents that wait for something (the person's own unsaved changes among
them) and to a pending handover."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import Select, and_, bindparam, exists, false, func, or_, select

from ..db.engine import Database
from ..db.models import (
    AdvocateReviewRequest,
    CaseloadLink,
    Comment,
    ContingencyActivation,
    Document,
    EditDraft,
    Handover,
    PdfRender,
    ReviewConfirmation,
    SignatureRecord,
    User,
    Version,
)
from ..domain.access import access_to_client, as_listed, unsaved_to_offer
from ..domain.account_rules import called
from ..domain.attention import AlertFacts, DocumentFacts, HandoverFacts, Item, needs_you_now
from ..domain.local_time import service_day
from ..domain.roles import Role
from ..domain.signoff import Outcome
from ..domain.supervision import DUE_SOON_DAYS
from . import crisis_alerts
from .access import PERSON, clients_visible_to
from .actor import Actor

if TYPE_CHECKING:
    from .documents import ClientRecords


@dataclass(frozen=True)
class Home:
    items: list[Item]
    alerts: list[crisis_alerts.AlertView] = field(default_factory=list)  # shown in full below


def _signed_head(user_id_column):
    return exists().where(
        SignatureRecord.document_id == Document.id,
        SignatureRecord.version_number == Document.head_number,
        SignatureRecord.user_id == user_id_column,
    )


def _declined_head(user_id_column):
    """The reason this person gave for declining the latest version, if they declined it."""
    return (
        select(SignatureRecord.comment)
        .where(
            SignatureRecord.document_id == Document.id,
            SignatureRecord.version_number == Document.head_number,
            SignatureRecord.user_id == user_id_column,
            SignatureRecord.outcome == Outcome.DECLINED.value,
        )
        .order_by(SignatureRecord.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _confirmed_review(user_id_column):
    """This person confirmed "reviewed, no changes" in the review cycle under way."""
    return exists().where(
        ReviewConfirmation.document_id == Document.id,
        ReviewConfirmation.cycle == Document.review_cycle,
        ReviewConfirmation.user_id == user_id_column,
    )


def _crisis_until(today):
    return (
        select(func.max(ContingencyActivation.ends_on))
        .where(
            ContingencyActivation.document_id == Document.id,
            ContingencyActivation.ended_at.is_(None),
            ContingencyActivation.ends_on >= today,
        )
        .scalar_subquery()
    )


def _agreed_at():
    # The sealed PDF's row is written in the transaction that made the version agreed.
    return (
        select(func.min(PdfRender.agreed_at))
        .where(
            PdfRender.document_id == Document.id,
            PdfRender.version_number == Document.agreed_version,
        )
        .scalar_subquery()
    )


def _head_saved_by():
    return (
        select(Version.author_id)
        .where(Version.document_id == Document.id, Version.number == Document.head_number)
        .scalar_subquery()
    )


def fact_columns(key_worker_id_column, today) -> tuple:
    """Columns that, beside a Document and its client's current key worker, make its facts
    (`today` is a date or a bound parameter)."""
    return (
        _signed_head(Document.client_id).label("client_signed"),
        _signed_head(key_worker_id_column).label("worker_signed"),
        _crisis_until(today).label("crisis_until"),
        _agreed_at().label("agreed_at"),
        _head_saved_by().label("head_saved_by"),
        _declined_head(Document.client_id).label("client_declined"),
        _declined_head(key_worker_id_column).label("worker_declined"),
        _confirmed_review(Document.client_id).label("client_confirmed_review"),
        _confirmed_review(key_worker_id_column).label("worker_confirmed_review"),
    )


FACT_COLUMNS = 9  # how many fact_columns makes


def facts_of(
    doc: Document,
    client_name: str,
    worker_id,
    worker_name,
    client_signed,
    worker_signed,
    crisis_until,
    agreed_at,
    head_saved_by,
    client_declined=None,
    worker_declined=None,
    client_confirmed_review=False,
    worker_confirmed_review=False,
    unsaved_at: datetime | None = None,
    advocate_asked: bool = False,
) -> DocumentFacts:
    return DocumentFacts(
        doc.id,
        doc.client_id,
        client_name,
        doc.title,
        doc.signoff_state,
        doc.head_number,
        doc.agreed_version,
        doc.next_review_on,
        worker_id,
        worker_name or "",
        bool(client_signed),
        bool(worker_signed),
        crisis_until,
        agreed_at,
        head_saved_by,
        unsaved_at,
        client_declined,
        worker_declined,
        bool(client_confirmed_review),
        bool(worker_confirmed_review),
        doc.handed_over_until,
        advocate_asked,
        doc.created_by_id,
    )


# The start page's query is built once per role (building it took longer than running it):
# the person, today and the last day a review counts as due soon are bound parameters.
_TODAY, _SOON = bindparam("today"), bindparam("soon")


def _waiting_documents(role: Role, worker):
    """Which documents may wait for this person: the join condition beside the client."""
    if role is Role.SUPERVISOR:
        # A supervisor sees one count of their teams' overdue reviews.
        return Document.next_review_on < _TODAY
    if role is Role.ADVOCATE:
        # Only what the client asked them to look at before signing (domain:
        # waiting_for_advocate): every document an advocate's start page reads was asked about.
        return and_(_asked_to_look(), Document.signoff_state.in_(("awaiting_signature", "draft")))
    if role not in (Role.CLIENT, Role.KEY_WORKER):
        return false()
    waiting = or_(
        # The person's own draft of it (whether they may still edit is decided with the rest,
        # access.unsaved_to_offer): the one thing here that waits for nobody else.
        exists()
        .where(EditDraft.document_id == Document.id, EditDraft.user_id == PERSON)
        .correlate_except(EditDraft),  # the draft joined below is the same one
        # Waiting for a signature, or declined by someone (the other side talks it over).
        Document.signoff_state.in_(("awaiting_signature", "draft", "declined")),
        Document.next_review_on <= _SOON,
        # A review someone confirmed with no changes, waiting for the other to confirm too.
        exists().where(
            ReviewConfirmation.document_id == Document.id,
            ReviewConfirmation.cycle == Document.review_cycle,
        ),
        exists().where(
            ContingencyActivation.document_id == Document.id,
            ContingencyActivation.ended_at.is_(None),
            ContingencyActivation.ends_on >= _TODAY,
        ),
    )
    if role is Role.KEY_WORKER:
        # Only the clients the worker holds; an incoming client is a handover until taken over.
        return and_(waiting, worker.c.id == PERSON)
    return waiting


def _asked_to_look():
    """The client asked this person, their advocate, to look at the latest version, and they
    have not commented on it since (a comment is what answers the request)."""
    commented = exists().where(
        Comment.document_id == AdvocateReviewRequest.document_id,
        Comment.version_number == AdvocateReviewRequest.version_number,
        Comment.author_id == PERSON,
        Comment.created_at >= AdvocateReviewRequest.requested_at,
    )
    return exists().where(
        AdvocateReviewRequest.document_id == Document.id,
        AdvocateReviewRequest.version_number == Document.head_number,
        AdvocateReviewRequest.advocate_id == PERSON,
        ~commented,
    )


def _alert_facts(alerts: list[crisis_alerts.AlertView]) -> list[AlertFacts]:
    return [
        AlertFacts(
            a.document_id,
            a.client_called,
            a.key_worker,
            a.raised_at,
            a.respond_by,
            a.late,
            a.kind,
            a.asked.nights if isinstance(a.asked, crisis_alerts.AskedStay) else None,
            "" if a.raised_by_id == a.client_id else a.raised_by,
            isinstance(a.asked, crisis_alerts.AskedStay)
            and a.asked.agreed
            and not a.asked.within_terms,
        )
        for a in alerts
        if not a.answered
    ]


def for_own_records(
    db: Database,
    actor: Actor,
    records: ClientRecords,
    now: datetime,
    unread_messages: int = 0,
    zone: tzinfo = UTC,
) -> Home:
    """A client's start page is the list of their records: its documents (with their facts)
    and pending handover are already read, so only the crisis alerts are added."""
    alerts = crisis_alerts.for_client(db, actor, now)
    handover = records.handover
    items = needs_you_now(
        actor.role,
        actor.id,
        service_day(now),
        [d.facts for d in records.documents if d.facts is not None],
        [
            HandoverFacts(
                records.client_id,
                records.client_called,
                handover.from_worker,
                handover.to_worker,
                handover.to_worker_id,
                handover.created_at,
                handover.from_worker_id,
            )
        ]
        if handover
        else [],
        _alert_facts(alerts),
        unread_messages=unread_messages,
        zone=zone,
    )
    return Home(items, alerts)


def home(
    db: Database, actor: Actor, now: datetime, unread_messages: int = 0, zone: tzinfo = UTC
) -> Home:
    """The lines that open this person's start page, and their crisis alerts in full.
    `unread_messages` is the count the signed-in user was loaded with; days are counted as
    the rules count them (the service's day, `service_day`), and shown in the service's time zone `zone`."""
    today = service_day(now)
    if actor.role is Role.CLIENT:
        alerts = crisis_alerts.for_client(db, actor, now)
    else:
        alerts = crisis_alerts.waiting_for(db, actor, now)
    values = {
        PERSON.key: actor.id,
        _TODAY.key: today,
        _SOON.key: today + timedelta(days=DUE_SOON_DAYS),
    }
    documents: list[DocumentFacts] = []
    handovers: dict[int, HandoverFacts] = {}
    with db.read() as s:
        for row in s.execute(_home_query(actor.role), values):
            facts_end = 6 + FACT_COLUMNS
            cid, full_name, preferred, wid, wname, doc, *facts = row[:facts_end]
            to_id, from_id, since, from_name, to_name, draft_saved_at = row[facts_end:]
            name = called(full_name, preferred)  # the lines speak of the client as pages do
            if doc is not None:
                # As on the document's page: offered back only while they may edit it.
                access = access_to_client(actor.role, as_listed(actor.role, actor.id, cid, wid))
                unsaved_at = unsaved_to_offer(access, draft_saved_at)
                asked = actor.role is Role.ADVOCATE  # the join admits nothing else for them
                documents.append(facts_of(doc, name, wid, wname, *facts, unsaved_at, asked))
            if to_id is not None and cid not in handovers:
                handovers[cid] = HandoverFacts(
                    cid, name, from_name or "nobody", to_name or "", to_id, since, from_id
                )
    overdue = 0
    if actor.role is Role.SUPERVISOR:
        overdue, documents = len(documents), []
    items = needs_you_now(
        actor.role,
        actor.id,
        today,
        documents,
        handovers.values(),
        _alert_facts(alerts),
        overdue,
        unread_messages,
        zone,
    )
    return Home(items, alerts)


@cache
def _home_query(role: Role) -> Select:
    clients = clients_visible_to(role, PERSON).subquery()
    worker = User.__table__.alias("worker")
    from_worker = User.__table__.alias("from_worker")
    to_worker = User.__table__.alias("to_worker")
    return (
        select(
            clients.c.id,
            clients.c.display_name,
            clients.c.preferred_name,
            worker.c.id,
            worker.c.display_name,
            Document,
            *fact_columns(worker.c.id, _TODAY),
            Handover.to_worker_id,
            Handover.from_worker_id,
            Handover.created_at,
            from_worker.c.display_name,
            to_worker.c.display_name,
            EditDraft.saved_at,  # the person's own draft of the document (one at most)
        )
        .select_from(clients)
        .outerjoin(
            CaseloadLink,
            and_(CaseloadLink.client_id == clients.c.id, CaseloadLink.ended_at.is_(None)),
        )
        .outerjoin(worker, worker.c.id == CaseloadLink.key_worker_id)
        .outerjoin(
            Document,
            and_(Document.client_id == clients.c.id, _waiting_documents(role, worker)),
        )
        .outerjoin(
            EditDraft, and_(EditDraft.document_id == Document.id, EditDraft.user_id == PERSON)
        )
        .outerjoin(
            Handover,
            and_(
                Handover.client_id == clients.c.id,
                Handover.completed_at.is_(None),
                Handover.cancelled_at.is_(None),
            ),
        )
        .outerjoin(from_worker, from_worker.c.id == Handover.from_worker_id)
        .outerjoin(to_worker, to_worker.c.id == Handover.to_worker_id)
        .where(or_(Document.id.is_not(None), Handover.id.is_not(None)))
        .order_by(clients.c.display_name, clients.c.id, Document.id)
    )
