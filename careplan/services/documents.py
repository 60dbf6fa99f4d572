"""Use cases for versioned documents: create, open, save, history, compare, conflicts.

Every function is one transaction. Access is decided before anything is read or written;
a record the person may not see is reported as not found.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo

from sqlalchemy import Boolean, Date, Integer, bindparam, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ..db.engine import Database, locked, plain_rows
from ..db.models import (
    AdvocateInvitation,
    AdvocateReviewRequest,
    AuditEvent,
    CaseloadLink,
    CrisisResponse,
    Document,
    EditDraft,
    ReviewRequest,
    User,
    Version,
    utcnow,
)
from ..domain.access import Access, unsaved_to_offer
from ..domain.account_rules import called, introduce
from ..domain.agreement import EmptyPart, blank_on_purpose, empty_key_parts
from ..domain.attention import DocumentFacts, card_state
from ..domain.attribution import Author, has_writing, strip_attribution
from ..domain.blocks import owner_words
from ..domain.canonical import content_hash
from ..domain.care_plan import CARE_PLAN
from ..domain.compare import Change, compare, last_changed
from ..domain.contingency import days_text, nights_text
from ..domain.errors import ContentInvalid
from ..domain.form_places import is_writing, place
from ..domain.kinds import KIND_LABELS, kind_for
from ..domain.language import Finding, Term, check_text
from ..domain.lengths import KEPT, too_long
from ..domain.local_time import long_date, service_today
from ..domain.merge import merge
from ..domain.nested import from_fields, leaf_texts
from ..domain.numbers import MAX_WHOLE_NUMBER
from ..domain.paging import last_page, nearest_page
from ..domain.plan_dates import said_passed
from ..domain.reviews import days_late
from ..domain.roles import Role
from ..domain.signoff import State
from ..domain.taken_out import CannotPutBack, LooksThere, NotTakenOut, taken_out_words
from ..domain.wording import Named, in_sentence, person, unwell_plan
from ..domain.writing_direction import plain_writing
from . import attention, audit, drafts, handovers, leaving
from .access import access_to, gone, require_read
from .actor import Actor
from .errors import Conflict, Invalid, NoSuchVersion, NotFound, ReadOnly
from .signoff import (
    AdvocatesAsked,
    SignOffView,
    advocates_asked,
    invited_advocate,
    review_requests_for,
    signoff_view,
)

HISTORY_PAGE_SIZE = 50


@dataclass(frozen=True)
class VersionInfo:
    number: int
    author_name: str
    author_role: str
    created_at: datetime
    change_note: str
    content_hash: str
    author_id: int | None = None  # so pages can say "you" to the person who saved it


@dataclass(frozen=True)
class DocumentSummary:
    id: int
    kind: str
    kind_label: str
    title: str
    head_number: int
    updated_at: datetime
    state: str = ""  # draft, waiting for whose signature, or agreed on which date
    next_review_on: date | None = None
    facts: DocumentFacts | None = None  # what the client's start page needs of it
    # When the reader last typed changes to it they have not saved (their draft), if they may
    # still edit: so the list can say their words are kept and offer them back.
    unsaved_at: datetime | None = None


@dataclass(frozen=True)
class ClientRecords:
    client_id: int
    client_name: str
    key_worker_name: str
    documents: list[DocumentSummary]
    access: Access
    client_introduced: str = ""  # the name with how they like to be called, for others
    client_called: str = ""  # the name they go by, which running text calls them
    handover: handovers.HandoverView | None = None  # a handover waiting to be acknowledged
    left: leaving.LeftService | None = None  # the client has left the service
    key_worker_id: int | None = None  # so the page says "you" to the key worker themselves

    @property
    def has_care_plan(self) -> bool:
        """A care plan with something saved in it: "Start a new care plan" points to it."""
        return any(d.kind == "care_plan" and d.head_number for d in self.documents)


@dataclass(frozen=True)
class UnsavedChanges:
    """That a reader has a draft of the document (careplan.services.drafts), not what it says."""

    saved_at: datetime  # when they last typed
    base_number: int  # the version they were changing
    revision: str = ""  # which draft (drafts.Seen): a page offering to remove it names it


@dataclass(frozen=True)
class DocumentPage:
    id: int
    client_id: int
    client_name: str
    kind: str
    kind_label: str
    title: str
    head_number: int
    shown: VersionInfo | None  # the version on screen (the latest unless asked otherwise)
    content: dict
    access: Access
    template: dict | None  # agreements: the template copy the document was made from
    sections: list[tuple[str, str]]
    signoff: SignOffView
    advocate_asked_about: list[int]  # versions the client asked this advocate to look at
    client_called: str = ""  # the name the client goes by (their preferred name, if given)
    # Who does a step, in this reader's words (domain.blocks.owner_words): "You", "Alex"...
    owners: dict[str, str] = field(default_factory=dict)
    # This reader's own changes not saved yet, if they may still edit: so the page can say
    # their words are kept, not lost, and offer them back.
    unsaved: UnsavedChanges | None = None
    # Nothing saved in it yet and this reader started it: they may remove it (remove_empty).
    removable: bool = False
    # To the client: whether they have an advocate to ask to look at a version first (the
    # page offers to ask them, or else how to choose one; signoff.ask_advocate_to_look is
    # the rule).
    has_advocate: bool = False
    # Nothing saved in it yet and someone else started it: who, so the page can say whose it
    # is ("Start" opens one already started for the client rather than a look-alike).
    started_by: str = ""
    # To the client who may still sign it: whom they asked to look at the latest version.
    advocates_asked: AdvocatesAsked | None = None

    @property
    def can_sign_now(self) -> bool:
        """Signing is offered on the latest version only, to the two parties, once each, and
        not after it is agreed (the same rule signoff.sign enforces)."""
        return (
            self.access.sign
            and self.shown is not None
            and self.shown.number == self.head_number
            and self.signoff.refusal is None
        )

    def words_changed_by_others(self, person_id: int) -> list[tuple[str, list[str], list[str]]]:
        """Sections of the version on screen where someone else last changed this person's
        words (a worker proposes; the client's signature accepts), with who changed them and
        the parts of the section changed, named as the page names them. The client is named
        by the name they go by, as the pages call them."""

        kind = kind_for(self.kind, self.template)
        return kind.parts_changed_by_others(self.content, person_id, self._called)

    def taken_out_from(self, person_id: int) -> list[tuple[str, list[str]]]:
        """Sections of the version on screen where someone else took out an item this person
        wrote or last changed, each said as "Kim took out a step you wrote"; the client named
        as `words_changed_by_others` names them."""
        kind = kind_for(self.kind, self.template)
        return kind.taken_out_from(self.content, person_id, self._called)

    def others_wrote(self, person_id: int, part: str = "") -> bool:
        """Whether the version on screen (with `part`, that part of it) holds words someone
        other than this person wrote: their edit form says once what changing them does."""
        kind = kind_for(self.kind, self.template)
        content = kind.part_alone(self.content or {}, part) if part else self.content or {}
        if content is None:
            return False
        return any(
            (node.get("written_by") or {}).get("id") not in (None, person_id) and has_writing(node)
            for _, node in kind.attributable(content)
            if isinstance(node, dict)
        )

    def _called(self, who: dict) -> str:
        if who.get("id") == self.client_id and self.client_called:
            return self.client_called
        return who.get("name", "")

    @property
    def empty_key_parts(self) -> list[EmptyPart]:
        """An agreement's empty parts that a signer must confirm are blank on purpose."""
        if self.kind != "agreement" or not self.template:
            return []
        return empty_key_parts(self.template, self.content)

    @property
    def blank_on_purpose(self) -> frozenset[str]:
        """The empty key parts of the version on screen, if it was ever agreed."""
        agreed = self.shown is not None and self.shown.number in self.signoff.ever_agreed
        template = self.template if self.kind == "agreement" else None
        return blank_on_purpose(template, self.content, agreed)


@dataclass(frozen=True)
class DocumentScreen:
    page: DocumentPage
    comments: dict  # section key -> comments (careplan.services.comments.CommentView)
    review: object | None  # careplan.services.reviews.ReviewPanel
    # A draft after an agreed version: how it differs from the version in force, part by
    # part, for the page to show the two side by side (empty otherwise).
    from_agreed: list[Change] = field(default_factory=list)
    # The keys of those changes (Change.key) where the version in force has a part both
    # signers left blank on purpose, so its side says so rather than "nothing written".
    from_agreed_on_purpose: frozenset[str] = frozenset()
    # A key worker taking the client over, shown a later draft: the version in force, which
    # is what they must open to take over (services.handovers.note_opened).
    read_to_take_over: int | None = None


@dataclass(frozen=True)
class EditScreen:
    page: DocumentPage  # the latest version
    draft: drafts.Draft | None  # what this person was writing and has not saved yet


@dataclass(frozen=True)
class HistoryPage:
    document: DocumentPage
    versions: list[VersionInfo]
    page: int
    pages: int
    events: list[Event]  # what else happened to the document, newest first


@dataclass(frozen=True)
class Event:
    at: datetime
    who: str  # the person's name; pages say who they are to the reader (domain.wording)
    what: str
    who_role: str = ""
    who_id: int | None = None
    # Words someone wrote with it, quoted under it: the reason an earlier review was asked for
    # (kept in the request, not in the audit trail, and gone from the review panel once done).
    words: str = ""


# What the history says for each recorded action (reads are in the client's access log instead).
EVENT_WORDS = {
    "document.create": "started the document",
    "document.edit": "saved a new version",
    "sign": "signed",
    "decline": "declined to sign",
    "agreed": "completed the signing: both have signed the {kind}",  # its kind's own name
    "comment": "commented",
    # `plan`: the crisis plan, named to the reader (domain.wording.unwell_plan).
    "contingency.start": "put {plan} into effect",
    "contingency.end": "ended {plan}",
    # What was asked, how many nights and for whom: see _short_stay.
    "self_referral.request": "asked for a short stay",
    "crisis.respond": "responded to the request for a reply",
    "review.request": "asked for an earlier review",
    "review.confirm": 'confirmed "reviewed, no changes"',
    "review.completed": "completed the review with no changes",
    # Neutral, as every reader reads it: "You asked their advocate" read wrongly to the client.
    "advocate.review_request": "asked an advocate to look at a version",
    "download": "downloaded a PDF",
}
HISTORY_EVENTS = 100


@dataclass(frozen=True)
class Comparison:
    document: DocumentPage
    older: VersionInfo
    newer: VersionInfo
    changes: list[Change]
    # Everyone who made a version after the older one, up to the newer, in the order they
    # first did; and for each change (by its key), the version that last made it and its author.
    made_by: list[Named] = field(default_factory=list)
    changed_in: dict[str, tuple[int, Named]] = field(default_factory=dict)


@dataclass(frozen=True)
class ConflictView:
    document: DocumentPage
    landed: list[VersionInfo]  # the versions saved since the one the edit was based on
    their_changes: list[Change]
    my_changes: list[Change]
    clashes: list[str]  # labels of the parts both sides changed differently
    proposal: dict  # my changes re-applied on top of the latest version

    def all_saved_by(self, user_id: int) -> bool:
        """Every version saved meanwhile was this person's own (another tab or device): the
        clash is with themselves, not with someone else."""
        return all(v.author_id == user_id for v in self.landed)


@dataclass(frozen=True)
class SaveResult:
    document_id: int
    number: int
    # False when nothing had changed, so no version was added (`number`: the version that
    # already says it, the latest one, when it was not the one the words were typed on)
    saved: bool
    language: tuple[Finding, ...] = ()  # suggestions for words in the parts just changed


# --- reading -----------------------------------------------------------------------------


def _version_info(version: Version, author: User) -> VersionInfo:
    return VersionInfo(
        version.number,
        author.display_name,
        Role(author.role).label,
        version.created_at,
        version.change_note,
        version.content_hash,
        author.id,
    )


def _load_document(
    s: Session, actor: Actor, document_id: int, removing: bool = False
) -> tuple[Document, Access]:
    """The document and the reader's access to it; one removed is said to be (access.gone).
    `removing`: its row is locked for good (FOR UPDATE), so a draft being kept in it (which
    takes a share of the row: drafts.keep) finishes first, or finds it gone."""
    doc = s.get(Document, document_id, with_for_update=True if removing else None)
    if doc is None:
        raise gone(s, actor, document_id)
    return doc, require_read(s, actor, doc.client_id)


def _load_for_change(
    s: Session, actor: Actor, document_id: int, removing: bool = False
) -> tuple[Document, Access]:
    """As _load_document, for a change: first takes turns on the client's row, as signing,
    handovers and leaving do (in that order everywhere: client, then document), so who may
    change the document is decided after a handover or leaving committed before it, never
    from a read that one is about to make stale. A save and a removal take turns here."""
    client_id = s.scalar(select(Document.client_id).where(Document.id == document_id))
    if client_id is not None:
        locked(s, User, client_id)
    return _load_document(s, actor, document_id, removing)


def _version(s: Session, document_id: int, number: int) -> tuple[Version, User]:
    row = s.execute(_VERSION, {"document_id": document_id, "number": number}).first()
    if row is None:
        raise NotFound()
    return row[0], row[1]


# Statements every document page runs are built once, with bound parameters: building one
# took longer than running it.
_VERSION = (
    select(Version, User)
    .join(User, User.id == Version.author_id)
    .where(Version.document_id == bindparam("document_id"), Version.number == bindparam("number"))
)
_CONTENT = select(Version.content).where(
    Version.document_id == bindparam("document_id"), Version.number == bindparam("number")
)
# Every version from one compared to the other: who changed each part is read from those
# between, which numbers run without gaps.
_VERSIONS_FROM_TO = (
    select(Version, User)
    .join(User, User.id == Version.author_id)
    .where(
        Version.document_id == bindparam("document_id"),
        Version.number.between(bindparam("older"), bindparam("newer")),
    )
    .order_by(Version.number)
)
_Advocate = aliased(User)
# With the reader's own draft of it, if any (drafts are seen only by their author): whether
# one is waiting costs no statement of its own.
_DOCUMENT_WITH_CLIENT = (
    select(
        Document,
        User.display_name,
        User.preferred_name,
        EditDraft.saved_at,
        EditDraft.base_number,
        EditDraft.revision,
        # Whether the client has an advocate to ask (the page offers it only then), one who
        # can sign in (as signoff.current_advocates): in this statement, so a page costs no more.
        select(AdvocateInvitation.id)
        .join(_Advocate, _Advocate.id == AdvocateInvitation.advocate_id)
        .where(invited_advocate(Document.client_id, _Advocate))
        .exists(),
        # Whether the client asked anyone to look at the latest version: whom and when is
        # read only then (_asked).
        select(AdvocateReviewRequest.id)
        .where(
            AdvocateReviewRequest.document_id == Document.id,
            AdvocateReviewRequest.version_number == Document.head_number,
        )
        .exists(),
    )
    .join(User, User.id == Document.client_id)
    .outerjoin(
        EditDraft,
        (EditDraft.document_id == Document.id) & (EditDraft.user_id == bindparam("user_id")),
    )
    .where(Document.id == bindparam("document_id"))
)


@dataclass(frozen=True)
class _Opened:
    """A document as a page opens it: the row, the reader's access, and the client's names."""

    doc: Document
    access: Access
    client_name: str
    client_called: str
    unsaved: UnsavedChanges | None = None
    has_advocate: bool = False
    asked_advocate: bool = False  # about the latest version


def _open(s: Session, actor: Actor, document_id: int) -> _Opened:
    row = s.execute(
        _DOCUMENT_WITH_CLIENT, {"document_id": document_id, "user_id": actor.id}
    ).first()
    if row is None:
        raise gone(s, actor, document_id)
    doc, name, preferred_name, draft_saved_at, draft_base, draft_revision, has_advocate, asked = row
    access = require_read(s, actor, doc.client_id)
    # A draft left by someone who may no longer edit (a handover since) is not offered back:
    # the edit page would refuse them.
    offered = unsaved_to_offer(access, draft_saved_at)
    unsaved = UnsavedChanges(offered, draft_base, draft_revision) if offered is not None else None
    return _Opened(
        doc, access, name, called(name, preferred_name), unsaved, bool(has_advocate), bool(asked)
    )


def _page(
    s: Session,
    opened: _Opened,
    number: int | None,
    actor: Actor,
    loaded: tuple[Version, User] | None = None,  # that version and its author, if read already
    today: date | None = None,  # the service's day unless given: whose decisions' days passed
) -> DocumentPage:
    doc = opened.doc
    kind = kind_for(doc.kind, doc.template)
    number = doc.head_number if number is None else number
    if number == 0 and doc.head_number == 0:
        shown, content = None, kind.empty_content()
    else:
        if not 1 <= number <= doc.head_number:
            raise NotFound()
        version, author = loaded or _version(s, doc.id, number)
        shown, content = _version_info(version, author), version.content
    # The latest version's content, when it is the one shown (so read already): the sign-off
    # names its decisions handed over until a day that has passed.
    head = content if shown is not None and shown.number == doc.head_number else None
    signoff = signoff_view(s, doc, actor.id, head, today)
    key_worker_id = signoff.key_worker_id
    return DocumentPage(
        doc.id,
        doc.client_id,
        opened.client_name,
        doc.kind,
        kind.label,
        doc.title,
        doc.head_number,
        shown,
        content,
        opened.access,
        doc.template,
        kind.sections(),
        signoff,
        review_requests_for(s, actor, doc.id),
        opened.client_called,
        owner_words(_reader(actor, doc, key_worker_id), opened.client_called),
        opened.unsaved,
        doc.head_number == 0 and doc.created_by_id == actor.id and opened.access.edit,
        actor.id == doc.client_id and opened.has_advocate,
        _started_by(s, doc, actor.id),
        _asked(s, actor, doc, opened, signoff),
    )


def _asked(
    s: Session, actor: Actor, doc: Document, opened: _Opened, signoff: SignOffView
) -> AdvocatesAsked | None:
    """Read only where the page offers to ask (to the client, with an advocate, while they
    may sign the latest version) and they asked someone."""
    if actor.id != doc.client_id or not opened.has_advocate or not opened.asked_advocate:
        return None
    return None if signoff.sign_refusal else advocates_asked(s, doc.client_id, doc)


def _started_by(s: Session, doc: Document, reader_id: int) -> str:
    """Whoever started a document nothing is saved in yet, when that is not the reader."""
    if doc.head_number != 0 or doc.created_by_id in (None, reader_id):
        return ""
    starter = s.get(User, doc.created_by_id)
    return called(starter.display_name, starter.preferred_name) if starter else ""


def _record_read(
    db: Database,
    actor: Actor,
    access: Access,
    doc: Document | DocumentPage | None,
    client_id: int,
    what: str,
) -> None:
    """Record a read by someone other than the client and their key worker, before the page is
    shown. In a short transaction of its own after the reading one: the audit chain's lock is
    then held only while the event is appended (careplan.services.audit)."""
    if access.read_is_logged:
        with db.write() as s:
            audit.record(
                s,
                actor,
                "read",
                "document" if doc else "client",
                doc.id if doc else client_id,
                client_id=client_id,
                detail={"what": _read_of(doc.title, what) if doc else what},
            )


def _read_of(title: str, what: str) -> str:
    """What was read of a document, as the client's access log says it after "read":
    "version 1 of your partnership agreement (with asking for a short stay)"; the title
    whole and last, so its own brackets are not followed by another pair."""
    document = f"your {in_sentence(title)}"
    if what == "document":
        return document
    if what == "history":
        return f"the history of {document}"
    return f"{what} of {document}"


# What a client's access log says someone read, by the page they opened.
LIST_OF_PLANS = "the list of your plans"
HANDOVER_PAGE = "the page for handing you over to another key worker"


def client_records(
    db: Database,
    actor: Actor,
    client_id: int,
    zone: tzinfo = UTC,
    read_as: str = LIST_OF_PLANS,
) -> ClientRecords:
    """A client's records as `actor` may read them; the read is logged as `read_as`, the page
    that shows them (the handover page shows the client's name, not their plans)."""
    with db.read() as s:
        client = s.get(User, client_id)
        if client is None or client.role != Role.CLIENT.value:
            raise NotFound()
        access = require_read(s, actor, client_id)
        worker_id, worker = s.execute(_KEY_WORKER, {"client_id": client_id}).first() or (None, "")
        # Each card's sign-off state, review date and the reader's own unsaved changes come
        # with the documents, in one query.
        today = service_today()
        rows = s.execute(
            _CLIENT_DOCUMENTS,
            {
                "client_id": client_id,
                "worker_id": worker_id,
                "today": today,
                "reader_id": actor.id,
                "reader_edits": access.edit,
            },
        ).all()
        summaries = []
        name = called(client.display_name, client.preferred_name)
        for d, unsaved_at, *facts in rows:
            # As on the document's page: not offered to someone who may no longer edit.
            offered = unsaved_to_offer(access, unsaved_at)
            card = attention.facts_of(d, name, worker_id, worker, *facts, unsaved_at=offered)
            summaries.append(
                DocumentSummary(
                    d.id,
                    d.kind,
                    KIND_LABELS[d.kind],
                    d.title,
                    d.head_number,
                    d.updated_at,
                    card_state(card, actor.id, zone, today),
                    d.next_review_on,
                    card,
                    offered,
                )
            )
        records = ClientRecords(
            client_id,
            client.display_name,
            worker or "",
            summaries,
            access,
            introduce(client.display_name, client.preferred_name, client.pronouns),
            name,
            handovers.pending_view_in(s, client_id),
            None if worker_id else leaving.left_service(s, client_id),
            worker_id,
        )
    _record_read(db, actor, access, None, client_id, read_as)
    return records


@dataclass(frozen=True)
class NoLongerYours:
    """A key worker's client was handed over or left the service while they had one of the
    client's documents open: enough to say so and give back what they typed."""

    client_name: str  # the name the client goes by
    typed: list[tuple[str, str]]  # (form field, value) of what differs from the version open
    form_words: dict[str, str]  # the document's parts, for naming those fields


def no_longer_yours(
    db: Database,
    actor: Actor,
    document_id: int,
    base_number: int | None = None,
    fields: Sequence[tuple[str, str]] = (),
) -> NoLongerYours | None:
    """For a key worker who once held this document's client and no longer does: the client's
    name, and of the form `fields` they sent only what they wrote themselves (a value not in
    version `base_number`), so nothing of the record goes back to someone no longer allowed to
    read it. None for anyone else, who gets "not found" as for any record not theirs.

    Only a document, and a version to compare with, that they could read while they held the
    client: one made since would otherwise answer differently from one that does not exist,
    and the words left out would tell them what a version they never saw says."""
    if actor.role is not Role.KEY_WORKER:
        return None
    with db.read() as s:
        doc = s.get(Document, document_id)
        if doc is None or access_to(s, actor, doc.client_id).read:
            return None
        held_until = s.scalar(
            select(func.max(CaseloadLink.ended_at)).where(
                CaseloadLink.client_id == doc.client_id,
                CaseloadLink.key_worker_id == actor.id,
            )
        )
        if held_until is None or doc.created_at > held_until:
            return None
        name = called(
            *s.execute(
                select(User.display_name, User.preferred_name).where(User.id == doc.client_id)
            ).one()
        )
        number = base_number if base_number and 0 < base_number <= doc.head_number else None
        version = _version(s, doc.id, number)[0] if number else None
        if version is not None and version.created_at > held_until:
            version = None  # never theirs to read: compared with nothing, all is given back
        shown = leaf_texts(version.content) if version is not None else set()
        typed = [(f, v) for f, v in fields if v.strip() and v.strip() not in shown]
        return NoLongerYours(name, typed, kind_for(doc.kind, doc.template).form_words())


# The start page of every client runs these: built once, with bound parameters, because
# building them took longer than running them.
_KEY_WORKER = (
    select(User.id, User.display_name)
    .join(CaseloadLink, CaseloadLink.key_worker_id == User.id)
    .where(CaseloadLink.client_id == bindparam("client_id"), CaseloadLink.ended_at.is_(None))
)
_CLIENT_DOCUMENTS = (
    select(
        Document,
        EditDraft.saved_at,
        *attention.fact_columns(bindparam("worker_id", type_=Integer), bindparam("today")),
    )
    # The reader's own draft, if any (one per person and document; seen only by its author).
    .outerjoin(
        EditDraft,
        (EditDraft.document_id == Document.id) & (EditDraft.user_id == bindparam("reader_id")),
    )
    .where(
        Document.client_id == bindparam("client_id"),
        # Nothing saved in it yet: not on the record (a supervisor or advocate is not shown
        # it), but listed for the two who write it, so the client and their key worker see
        # the same list; and for anyone with writing kept in it (nothing typed may be lost
        # from sight).
        or_(
            Document.head_number > 0,
            bindparam("reader_edits", type_=Boolean),
            EditDraft.user_id.is_not(None),
        ),
    )
    .order_by(Document.created_at.desc(), Document.id.desc())
)


def base_of_words_sent_again(db: Database, actor: Actor, document_id: int, typed_on: int) -> int:
    """The version to take as the base of an edit page's words that the browser put back
    after the page had sent them (gone back to after saving): they were typed on `typed_on`,
    and if the next version is this person's, their save made it, holding those words. Based
    on it, only what they change now counts as their change; based on `typed_on`, their
    earlier words would stand against anything saved since, as a change made again. Versions
    follow one another (each one's parent is the one before), so that save is the next one,
    or it did not happen (refused, or someone saved first)."""
    if typed_on >= MAX_WHOLE_NUMBER:  # no next version (and none past the column's range)
        return typed_on
    with db.read() as s:
        author = s.scalar(
            select(Version.author_id).where(
                Version.document_id == document_id, Version.number == typed_on + 1
            )
        )
    return typed_on + 1 if author is not None and author == actor.id else typed_on


def open_document(
    db: Database, actor: Actor, document_id: int, number: int | None = None
) -> DocumentPage:
    return document_screen(db, actor, document_id, number, with_extras=False).page


def open_for_editing(db: Database, actor: Actor, document_id: int) -> EditScreen:
    """The edit page: the latest version and this person's kept draft, with the document and
    their access looked at once. Refused to anyone who may read but not change it."""
    page = document_screen(db, actor, document_id, with_extras=False, shown=False).page
    if not page.access.edit:
        # Refused before anything is recorded: a supervisor's refused visit is not a read in
        # the client's access log, since the page that answers shows none of the document.
        raise ReadOnly("You can read this document but not change it.")
    _shown(db, actor, page)
    with db.read() as s:
        return EditScreen(page, drafts.draft_in(s, actor.id, document_id))


def document_screen(
    db: Database,
    actor: Actor,
    document_id: int,
    number: int | None = None,
    today: date | None = None,
    with_extras: bool = True,
    shown: bool = True,
) -> DocumentScreen:
    """Everything the document's page shows (the version, sign-off, comments and reviews),
    read in one transaction with each fact looked up once. `shown`: it is about to be shown,
    so the read is recorded (see _shown); a caller that may still refuse says False."""
    from . import comments, reviews

    with db.read() as s:
        opened = _open(s, actor, document_id)
        doc, access = opened.doc, opened.access
        page = _page(s, opened, number, actor, today=today)
        notes = comments.comments_in(s, doc.id) if with_extras else {}
        in_force = _in_force(s, doc, page) if with_extras else None
        from_agreed: list[Change] = []
        on_purpose: frozenset[str] = frozenset()
        if in_force:
            kind = kind_for(doc.kind, doc.template)
            from_agreed = compare(kind, in_force[1], page.content, page.owners)
            on_purpose = kind.left_blank_on_purpose(in_force[1], page.content)
        review = (
            reviews.panel_in(
                s,
                actor,
                doc,
                access,
                page.signoff.state,
                page.signoff.agreed,
                today or service_today(),
                # A version already read: the agreed one, when it is read here anyway.
                in_force or ((page.shown.number, page.content) if page.shown else None),
                client_called=opened.client_called,
            )
            if with_extras
            else None
        )
    to_read = _shown(db, actor, page) if shown else None
    return DocumentScreen(page, notes, review, from_agreed, on_purpose, to_read)


def _in_force(s: Session, doc: Document, page: DocumentPage) -> tuple[int, dict] | None:
    """(number, content) of the agreed version, when the version shown is a draft after it:
    the version that stays in force until the draft is signed, for the page to show beside it."""
    agreed = page.signoff.agreed
    if agreed is None or page.shown is None or page.shown.number <= agreed.number:
        return None
    return agreed.number, version_content(s, doc.id, agreed.number) or {}


# Every version up to one, oldest first, with who saved each (`_history`).
_HISTORY = (
    select(Version.content, User.id, User.display_name, User.role)
    .join(User, User.id == Version.author_id)
    .where(Version.document_id == bindparam("document_id"), Version.number <= bindparam("number"))
    .order_by(Version.number)
)


def _history(s: Session, document_id: int, number: int) -> list[tuple[dict, Author]]:
    """The contents of versions 1 to `number`, oldest first, each with who saved it, as
    `DocumentKind.credited_from_history` reads them."""
    rows = plain_rows(s, _HISTORY, {"document_id": document_id, "number": number})
    return [(content, Author(uid, name, role)) for content, uid, name, role in rows]


def version_content(s: Session, document_id: int, number: int) -> dict | None:
    """One version's content alone, as stored."""
    return plain_rows(s, _CONTENT, {"document_id": document_id, "number": number}).scalar()


def _shown(db: Database, actor: Actor, page: DocumentPage) -> int | None:
    """What showing a document records: a read by someone other than the client and their
    key worker, and a key worker taking the client over having opened it. Returns the
    version in force such a key worker must open instead, when this page shows another."""
    what = f"version {page.shown.number}" if page.shown else "document"
    _record_read(db, actor, page.access, page, page.client_id, what)
    if actor.role is Role.KEY_WORKER and not page.access.edit:
        # A key worker who may read but not edit is taking the client over.
        shown = page.shown.number if page.shown else None
        return handovers.note_opened(db, actor, page.id, shown)
    return None


def history(
    db: Database, actor: Actor, document_id: int, page: int = 1, page_size: int = HISTORY_PAGE_SIZE
) -> HistoryPage:
    with db.read() as s:
        opened = _open(s, actor, document_id)
        doc, access = opened.doc, opened.access
        pages = last_page(doc.head_number, page_size)
        shown = nearest_page(page, doc.head_number, page_size)
        if shown != page:
            # No such page: the caller answers with the nearest (the web sends the browser
            # on to it, the API an empty list), so nothing is read or logged as read here.
            return HistoryPage(_page(s, opened, None, actor), [], shown, pages, [])
        rows = plain_rows(
            s,
            _HISTORY_VERSIONS,
            {
                "document_id": doc.id,
                "up_to": doc.head_number - (page - 1) * page_size,
                "page_size": page_size,
            },
        ).all()
        versions = [
            VersionInfo(n, name, Role(role).label, at, note, h, author)
            for n, at, note, h, author, name, role in rows
        ]
        rows = plain_rows(s, _HISTORY_EVENTS, {"document_id": doc.id}).all()
        kind = KIND_LABELS[doc.kind].lower()  # "care plan", "partnership agreement"
        own = actor.id == doc.client_id
        plan = unwell_plan(opened.client_called, reader_is_client=own)
        # The client named to the reader ("you", "Al"), for a request sent on their behalf.
        client = person(
            opened.client_name,
            Role.CLIENT,
            is_reader=own,
            reader_is_client=own,
            client_name=opened.client_called,
        )
        events = [
            _event(*row, kind=kind, plan=plan, client=(doc.client_id, client)) for row in rows
        ]
        result = HistoryPage(_page(s, opened, None, actor), versions, page, pages, events)
    _record_read(db, actor, access, doc, doc.client_id, "history")
    return result


# Plain columns, not entities: a page holds up to 50 versions and 100 events, and loading
# each row's people as entities cost more than the statements.
_HISTORY_VERSIONS = (
    select(
        Version.number,
        Version.created_at,
        Version.change_note,
        Version.content_hash,
        User.id,
        User.display_name,
        User.role,
    )
    .join(User, User.id == Version.author_id)
    # Numbers run 1..head without gaps, so a page is a range of numbers: any page costs the
    # same, however long the history (no OFFSET scan).
    .where(Version.document_id == bindparam("document_id"), Version.number <= bindparam("up_to"))
    .order_by(Version.number.desc())
    .limit(bindparam("page_size"))
)
_HISTORY_EVENTS = (
    select(
        AuditEvent.at,
        AuditEvent.action,
        AuditEvent.detail,
        User.id,
        User.display_name,
        User.role,
        func.coalesce(ReviewRequest.reason, CrisisResponse.note),
    )
    .join(User, User.id == AuditEvent.actor_id)
    # An earlier review asked for, with its reason: kept in the request, not in the audit
    # trail, and gone from the review panel once the review is done. In the same statement.
    .outerjoin(
        ReviewRequest,
        (AuditEvent.action == "review.request")
        & (ReviewRequest.id == AuditEvent.detail["request"].as_integer()),
    )
    # What someone said in answer to a request for help, kept with the response.
    .outerjoin(
        CrisisResponse,
        (AuditEvent.action == "crisis.respond")
        & (CrisisResponse.alert_id == AuditEvent.detail["alert"].as_integer())
        & (CrisisResponse.user_id == AuditEvent.actor_id),
    )
    .where(
        AuditEvent.object_type == "document",
        AuditEvent.object_id == bindparam("document_id"),
        AuditEvent.action.in_(list(EVENT_WORDS)),
    )
    .order_by(AuditEvent.id.desc())
    .limit(HISTORY_EVENTS)
)


def _event(
    at: datetime,
    action: str,
    detail: dict,
    who_id: int,
    who: str,
    who_role: str,
    reason: str | None,
    kind: str,
    plan: str,
    client: tuple[int, str] = (0, ""),  # the client's id, and their name to the reader
) -> Event:
    what = EVENT_WORDS[action].format(kind=kind, plan=plan)
    if action == "download" and detail.get("format") == "fhir":
        what = "downloaded it in FHIR format"
    elif action == "download" and detail.get("draft"):
        what = "downloaded a draft PDF"
    elif action == "self_referral.request":
        client_id, called_by_reader = client
        what = _short_stay(what, detail, "" if who_id == client_id else called_by_reader)
    elif action == "review.request" and detail.get("wanted_by"):
        what += f", by {long_date(date.fromisoformat(detail['wanted_by']))}"
    elif action == "review.completed" and detail.get("due") and detail.get("done"):
        what += _against_due(date.fromisoformat(detail["due"]), date.fromisoformat(detail["done"]))
    elif action == "crisis.respond" and detail.get("raised_it"):
        what = "dealt with it directly: nobody else was asked to reply"
        reason = ""  # the response's own words are a placeholder, not what anyone said
    elif action == "document.edit" and "offered_again" in detail:
        what = f"offered the words of version {detail['offered_again']} again for signing"
    if "version" in detail:
        what += f" (version {detail['version']})"
    return Event(at, who, what, Role(who_role).value, who_id, reason or "")


def _against_due(due: date, done: date) -> str:
    """When a review was due, and how it went against that: what an inspector asks."""
    late = days_late(due, done)
    if not late:
        return f", by the day it was due ({long_date(due)})"
    return f", {days_text(late)} after it was due on {long_date(due)}"


def _short_stay(asked: str, detail: dict, for_whom: str) -> str:
    """A self-referral request as the history says it: "asked for a short stay of 2 nights
    for Al (within the agreed terms)". The client asked (or their key worker for them); the
    app checked it against the agreed terms, where there were any. `for_whom`: the client,
    named to the reader, when someone else sent it for them."""
    if detail.get("nights"):
        asked += f" of {nights_text(detail['nights'])}"
    if for_whom:
        asked += f" for {for_whom}"
    if detail.get("agreed") is False:
        return f"{asked} while nothing was agreed (a request, not checked)"
    if "within_terms" in detail:
        asked += f" ({'within' if detail['within_terms'] else 'outside'} the agreed terms)"
    return asked


def compare_versions(
    db: Database, actor: Actor, document_id: int, older: int, newer: int
) -> Comparison:
    with db.read() as s:
        opened = _open(s, actor, document_id)
        doc = opened.doc
        if not (1 <= older <= doc.head_number and 1 <= newer <= doc.head_number):
            raise NotFound()
        rows = s.execute(
            _VERSIONS_FROM_TO, {"document_id": doc.id, "older": older, "newer": newer}
        ).all()
        by_number = {v.number: (v, a) for v, a in rows}
        if older not in by_number or newer not in by_number:
            raise NotFound()
        (old_v, old_a), (new_v, new_a) = by_number[older], by_number[newer]
        page = _page(s, opened, newer, actor, by_number[newer])
        kind = kind_for(doc.kind, doc.template)
        changes = compare(kind, old_v.content, new_v.content, page.owners)
        # Who made the versions after the older one, each named once, and who last changed
        # each part: the newer version's author alone may not have written any of it.
        people = {a.id: Named(a.display_name, a.role, a.id) for _, a in rows}
        made_by = list({a.id: people[a.id] for v, a in rows if v.number > older}.values())
        changed_in = last_changed(
            kind, [(v.number, people[a.id], v.content) for v, a in rows], [c.key for c in changes]
        )
        result = Comparison(
            page,
            _version_info(old_v, old_a),
            _version_info(new_v, new_a),
            changes,
            made_by,
            changed_in,
        )
    what = f"a comparison of versions {older} and {newer}"
    _record_read(db, actor, opened.access, doc, doc.client_id, what)
    return result


def _reader(actor: Actor, doc: Document, key_worker_id: int | None) -> str:
    """Whose eyes a page is for, as domain.blocks.owner_words takes it."""
    if actor.id == doc.client_id:
        return "client"
    return "key_worker" if actor.id == key_worker_id else "other"


# --- writing -----------------------------------------------------------------------------


NO_SUCH_TEMPLATE = "Please choose one of the agreement templates."


def create_document(
    db: Database,
    actor: Actor,
    client_id: int,
    kind: str = "care_plan",
    template: dict | None = None,
) -> int:
    """Start a document. Agreements take a copy of their template (with its version).

    If the client already has one of this kind (and template) with nothing written in it, that
    one is returned instead: a second tap on "start", or the client and their worker each
    starting one, would otherwise leave empty look-alikes that nobody can tell apart or
    remove. Starts for one client take turns (the client's row is locked; SQLite's writes
    take turns anyway), so two at the same moment also get the same one."""
    if kind not in KIND_LABELS or (kind != "agreement" and template is not None):
        raise Invalid("Unknown kind of document.")
    with db.write() as s:
        client = locked(s, User, client_id)
        if client is None or client.role != Role.CLIENT.value:
            raise NotFound()
        access = require_read(s, actor, client_id)
        if not access.edit:
            raise ReadOnly("You can read this person's records but not start new ones.")
        # After who is asking, so a stranger learns nothing of this client from the answer.
        if kind == "agreement" and template is None:
            raise ContentInvalid({"template_id": NO_SUCH_TEMPLATE})
        title = template["name"] if template else KIND_LABELS[kind]
        for empty_id, its_template in s.execute(
            select(Document.id, Document.template)
            .where(
                Document.client_id == client_id,
                Document.kind == kind,
                Document.head_number == 0,
            )
            .order_by(Document.id)
        ):
            if _same_template(its_template, template):
                return empty_id
        now = utcnow()
        doc = Document(
            client_id=client_id,
            kind=kind,
            title=title.strip()[:200],
            template=copy.deepcopy(template),
            head_number=0,
            created_by_id=actor.id,
            created_at=now,
            updated_at=now,
        )
        doc.id = _unused_id(s)
        s.add(doc)
        s.flush()
        detail = {"kind": kind}
        if template:
            detail["template"] = {"id": template["id"], "version": template["version"]}
        audit.record(
            s, actor, "document.create", "document", doc.id, client_id=client_id, detail=detail
        )
        return doc.id


def _unused_id(s: Session) -> int | None:
    """An id no document ever had, as its audit events and reads name it: a removed one's
    (remove_empty) is never given again. PostgreSQL's sequence never gives one twice (None:
    it chooses); SQLite gives the highest id again once that document is gone, so there the
    id comes after every document's, standing or removed, as the audit trail names them (its
    index on the object finds the highest). SQLite's writes take turns, so two never agree."""
    if s.get_bind().dialect.name != "sqlite":
        return None
    standing = s.scalar(select(func.max(Document.id))) or 0
    named = (
        s.scalar(select(func.max(AuditEvent.object_id)).where(AuditEvent.object_type == "document"))
        or 0
    )
    return max(standing, named) + 1


NOT_EMPTY = "Something has been saved in it, so it stays on the record."
NOT_YOURS_TO_REMOVE = "Only the person who started it can remove it."
OTHERS_WRITING = (
    "Someone else has started writing in it and not saved yet, so it stays until they save "
    "or throw their changes away."
)
OWN_WRITING = (
    "You have changes in it that you have not saved yet, and removing it would throw them "
    "away, so nothing was removed. Open it to look at them: you can remove it from there."
)


def remove_empty(
    db: Database, actor: Actor, document_id: int, shown: drafts.Seen | None = None
) -> tuple[str, int]:
    """Remove a document nothing was ever saved in, for the person who started it (while
    they may still edit the client's records); returns its title and whose it was.

    A document with no version is not on anyone's record (the client's list shows it only to
    whoever started it or has writing kept in it; the supervisors' dashboard not at all), and
    this is how a start that was a mistake goes away. The remover's own unsaved writing in it
    goes with it only if it is the draft the page asking showed (`shown`: it says so), or one
    that page kept itself; one it did not show (typed since on another tab, or a program
    asking through the API, which shows none) stays, and so does the document (OWN_WRITING).
    Anyone else's is never thrown away, so then it stays. Starting was recorded, so removing
    is too.

    Takes turns with a first save (on the client's row: _load_for_change) and with a draft
    being kept (on the document's: drafts.keep): one saved or kept first stops the removal
    (NOT_EMPTY, OTHERS_WRITING); one arriving after it is told it was removed (Removed), with
    nothing of theirs lost."""
    with db.write() as s:
        doc, access = _load_for_change(s, actor, document_id, removing=True)
        if not access.edit:
            raise ReadOnly("You can read this document but not change it.")
        if doc.head_number != 0:
            raise Invalid(NOT_EMPTY)
        if doc.created_by_id != actor.id:
            raise Invalid(NOT_YOURS_TO_REMOVE)
        others = s.scalar(
            select(func.count())
            .select_from(EditDraft)
            .where(EditDraft.document_id == doc.id, EditDraft.user_id != actor.id)
        )
        if others:
            raise Invalid(OTHERS_WRITING)
        if drafts.draft_in(s, actor.id, doc.id) is not None and (
            shown is None or not drafts.forget(s, actor.id, doc.id, shown)
        ):
            raise Invalid(OWN_WRITING)
        detail = {"kind": doc.kind, "title": doc.title}
        if doc.template:
            detail["template"] = {"id": doc.template["id"], "version": doc.template["version"]}
        title, client_id = doc.title, doc.client_id
        s.delete(doc)
        s.flush()
        audit.record(
            s, actor, "document.remove", "document", document_id, client_id=client_id, detail=detail
        )
        return title, client_id


def _same_template(a: dict | None, b: dict | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.get("id"), a.get("version")) == (b.get("id"), b.get("version"))


def save_version(
    db: Database,
    actor: Actor,
    document_id: int,
    base_number: int,
    raw: dict,
    change_note: str = "",
    terms: list[Term] | tuple = (),
    part: str = "",
    exact: bool = False,
    from_form: bool = False,
    today: date | None = None,
    forget_draft: bool | drafts.Seen | drafts.IfSaved = drafts.IF_SAVED,
) -> SaveResult:
    """Append a version based on `base_number`; refuse with Conflict if that is no longer the latest.

    With `part`, `raw` holds only that section: the rest is taken unchanged from the base
    version. `exact` (the API's saves) refuses a submission that leaves parts out or sends
    more than its part (DocumentKind.require_exact). `from_form`: typed into the web's form,
    where numbers are text (DocumentKind.validate). Validation happens first and a refused
    save writes nothing. A date new since the base version is checked against `today` (the
    service's day unless given: DocumentKind.check_dates). A refused save says every problem
    at once (DocumentKind.check_save), the change note's too. The person's draft is
    forgotten only if this save holds every change it made (drafts.IF_SAVED, for a save that
    was not typed on their edit page: a program's, through the API); True forgets it, as the
    save is what they were writing (an edit page from before drafts had revisions); as what
    an edit page knows of the draft (drafts.Seen), only if it is the one that page kept or
    started from, not one kept since on another tab or device; False keeps it, for a save
    that was not theirs to write (`put_back`).
    """
    change_note = plain_writing(change_note).strip()
    note_problem = {}
    if said := too_long(change_note, 1000, "the note about your change"):
        note_problem = {"change_note": said + KEPT}
    with db.write() as s:
        doc, access = _load_for_change(s, actor, document_id)
        if not access.edit:
            raise ReadOnly("You can read this document but not change it.")
        kind = kind_for(doc.kind, doc.template)
        _require_base(doc, base_number)
        if exact:
            kind.require_exact(raw, part)
        # The base version, read once: a part is saved into it, and its dates stand as they are.
        parent = _version(s, doc.id, base_number)[0] if base_number else None
        if part:
            raw = kind.with_part(parent.content if parent else kind.empty_content(), raw, part)
        try:
            content = kind.check_save(
                parent.content if parent else None,
                raw,
                today or service_today(),
                from_form=from_form,
            )
        except ContentInvalid as refused:
            raise ContentInvalid({**refused.errors, **note_problem}) from refused
        if note_problem:
            raise ContentInvalid(note_problem)
        if base_number != doc.head_number:
            # The same words sent twice (a second tab, a page gone back to): the latest
            # version says them already, so there is nothing to choose between.
            head = _version(s, doc.id, doc.head_number)[0]
            if strip_attribution(head.content) == strip_attribution(content):
                _forget_draft(s, actor, doc, kind, content, today, forget_draft)
                return SaveResult(doc.id, doc.head_number, saved=False)
            raise Conflict(doc.id, base_number, doc.head_number, content, change_note)
        previous = parent.content if parent else None
        if previous is not None and kind.unstamped(previous):
            # Saved before some of its parts said who wrote them (its care team members):
            # who did is read from the versions, never given to whoever saves now.
            previous = kind.credited_from_history(previous, _history(s, doc.id, base_number))
        content = kind.attribute(previous, content, actor.author)
        digest = content_hash(content)
        if parent is not None and (
            parent.content_hash == digest
            # Nothing anyone wrote changed: only who wrote it is said now, where it was not.
            or strip_attribution(parent.content) == strip_attribution(content)
        ):
            _forget_draft(s, actor, doc, kind, content, today, forget_draft)
            return SaveResult(doc.id, base_number, saved=False)
        try:
            appended = _append_version(s, actor, doc, parent, content, digest, change_note)
        except IntegrityError as exc:
            # The failed flush ended the transaction: roll it back before reading the head.
            s.rollback()
            raise Conflict(
                document_id, base_number, _current_head(s, document_id), content, change_note
            ) from exc
        if not appended:
            raise Conflict(doc.id, base_number, _current_head(s, doc.id), content, change_note)
        _forget_draft(s, actor, doc, kind, content, today, forget_draft)
        findings = _language_in_changes(kind, parent.content if parent else None, content, terms)
        return SaveResult(doc.id, base_number + 1, saved=True, language=findings)


def _forget_draft(s, actor, doc, kind, content, today, forget_draft) -> None:
    """After a save, or one that found its words already saved: the draft it ends, as
    `save_version`'s `forget_draft` says."""
    if isinstance(forget_draft, drafts.IfSaved):
        _forget_draft_if_saved(s, actor, doc, kind, content, today or service_today())
    elif isinstance(forget_draft, drafts.Seen):
        drafts.forget(s, actor.id, doc.id, forget_draft)
    elif forget_draft:
        drafts.forget(s, actor.id, doc.id)


def _forget_draft_if_saved(
    s: Session, actor: Actor, doc: Document, kind, saved: dict, today: date
) -> None:
    """Inside a save (drafts.IF_SAVED): forget the person's draft if `saved` holds every
    change it made; else it stays, their words safe, on the version it was typed on. A draft
    that could not be saved as it is (a date too far ahead, say) is not what was saved."""
    draft = drafts.draft_in(s, actor.id, doc.id)
    if draft is None:
        return
    base = version_content(s, doc.id, draft.base_number) if draft.base_number else None
    try:
        raw = from_fields(draft.fields)  # as the edit form would have posted it
        if draft.part:
            raw = kind.with_part(base or kind.empty_content(), raw, draft.part)
        typed = kind.check_save(base, raw, today, from_form=True)
    except ContentInvalid:
        return
    if kind.saved_all_of(base, typed, saved):
        # Only that draft: not one kept since, by a page still open, with other words.
        drafts.forget(s, actor.id, doc.id, drafts.Seen(draft.revision))


@dataclass(frozen=True)
class PutBack:
    saved: SaveResult
    what: str  # the item put back, as people read it: step “Call the council”
    # Put back before, by this press's twin (a second tap) or anyone: nothing was saved now,
    # and `saved.number` is the latest version, which has it.
    already: bool = False


class PutBackOvertaken(Conflict):
    """A newer version was saved after the one the "Put it back" button was on: nothing was
    put back. `saved` says who saved it (the person themselves, pressing twice, or someone
    else), so the page can say so."""

    def __init__(self, conflict: Conflict, saved: VersionInfo):
        super().__init__(
            conflict.document_id,
            conflict.base_number,
            conflict.head_number,
            conflict.content,
            conflict.note,
        )
        self.saved = saved


class LooksAlreadyThere(Invalid):
    """The item being put back looks like one already in the document (typed in again in other
    words: DocumentKind.looks_there): nothing was put back, unless the person says to put it
    back anyway. `there` names the one already there; `what` the one being put back."""

    def __init__(self, there: LooksThere, what: str):
        super().__init__(there.message + " Nothing was changed.")
        self.there = there
        self.what = what


def put_back(
    db: Database,
    actor: Actor,
    document_id: int,
    base_number: int,
    record_id: str,
    today: date | None = None,
    even_if_there: bool = False,
) -> PutBack:
    """Put back an item someone took out (a record kept in version `base_number`, the one the
    person was reading): a new version with it back where it was, with its own id, words and
    steps, credited to whoever wrote it (DocumentKind.attribute). Saved as any save is
    (`save_version`), but overtaken by a newer version it is refused (PutBackOvertaken, a
    Conflict, saying who saved it), and the person's draft of other changes stays theirs to
    save. Once the latest version has it back (a second press of the same button, or two at
    once) it is not put back twice: the answer is that it is back (`already`), and nothing
    changes. An item that looks the same is in the document already (DocumentKind.
    looks_there): refused (LooksAlreadyThere), unless `even_if_there`. Not found when that
    version keeps no such record (an address naming nothing); Invalid when a step's goal is
    taken out too. Refused, nothing changes."""
    with db.read() as s:
        doc, access = _load_document(s, actor, document_id)
        if not access.edit:
            raise ReadOnly("You can read this document but not change it.")
        _require_base(doc, base_number)
        if base_number == 0:
            raise NotFound()
        kind = kind_for(doc.kind, doc.template)
        base = version_content(s, doc.id, base_number) or {}
        earlier = (
            version_content(s, doc.id, number) or {} for number in range(base_number - 1, 0, -1)
        )
        try:
            raw, record = kind.with_put_back(base, record_id, earlier)
        except NotTakenOut as missing:  # a forged address, or one put back already
            raise NotFound(str(missing)) from missing
        except CannotPutBack as refused:
            raise Invalid(str(refused)) from refused
        main, _, _ = taken_out_words(record)
        noun = record.get("item", "item")
        what = f"{noun} “{main}”"
        if (
            done := _back_already(s, kind, doc.id, doc.head_number, base_number, record)
        ) is not None:
            return PutBack(done, what, already=True)
        if not even_if_there and (there := kind.looks_there(base, record)) is not None:
            raise LooksAlreadyThere(there, what)
    # The history shows a change note in quotation marks: none inside it.
    note = f"Put back the {noun}: {main}"
    try:
        saved = save_version(
            db, actor, document_id, base_number, raw, note, today=today, forget_draft=False
        )
    except Conflict as conflict:
        with db.read() as s:
            head, author = _version(s, document_id, conflict.head_number)
            done = _back_already(s, kind, document_id, head.number, base_number, record)
            if done is not None:  # two presses at once: the other put it back
                return PutBack(done, what, already=True)
            raise PutBackOvertaken(conflict, _version_info(head, author)) from conflict
    # The same words already in a newer version (save_version): the other press put it back.
    return PutBack(saved, what, already=not saved.saved and saved.number != base_number)


def _back_already(
    s: Session, kind, document_id: int, head_number: int, base_number: int, record: dict
) -> SaveResult | None:
    """The latest version (`head_number`, newer than `base_number`) as what a put-back of
    `record` answers when that version has the item back: nothing more saved. None when it
    does not (or is `base_number` itself)."""
    if head_number == base_number:
        return None
    if not kind.is_back(version_content(s, document_id, head_number) or {}, record):
        return None
    return SaveResult(document_id, head_number, saved=False)


OFFERED_AGAIN = "The same words, offered again for signing after version {number} was declined."


def offer_again(
    db: Database, actor: Actor, document_id: int, number: int, today: date | None = None
) -> int:
    """Version `number`, the latest, was declined; the client or their key worker offers the
    same words again as the next version, so that both can sign it after all (someone who
    declined by mistake, or after talking it through). Nothing is erased: the decline stays
    on version `number`, and each person still signs each version once. Returns the new
    version's number. Words with a decision handed over until a day before `today` (the
    service's day unless given) could not be signed again as they are: refused, to edit."""
    with db.write() as s:
        doc, access = _load_for_change(s, actor, document_id)
        if not access.sign:
            raise ReadOnly("Only the client and their key worker can offer it again for signing.")
        if number != doc.head_number:
            raise Invalid(
                f"Version {number} is no longer the latest: version {doc.head_number} is. "
                "Nothing was changed."
            )
        if doc.signoff_state != State.DECLINED.value:
            raise Invalid(
                f"Nobody has declined version {number}, so it can be signed as it is. "
                "Nothing was changed."
            )
        parent = _version(s, doc.id, number)[0]
        kind = kind_for(doc.kind, doc.template)
        if passed := kind.handed_over_until_passed(parent.content, today or service_today()):
            raise Invalid(
                f"{said_passed(passed)} So the same words cannot be signed as they are. Please "
                "edit the document instead: the new version can then be signed by both of you. "
                "Nothing was changed."
            )
        note = OFFERED_AGAIN.format(number=number)
        if not _append_version(
            s, actor, doc, parent, parent.content, parent.content_hash, note, offered_again=number
        ):
            raise Invalid("Someone has just saved a newer version. Nothing was changed.")
        return number + 1


def _append_version(
    s: Session,
    actor: Actor,
    doc: Document,
    parent: Version | None,
    content: dict,
    digest: str,
    change_note: str,
    **detail,
) -> bool:
    """The next version on top of `parent` (None for the first), with its audit event.
    Compare-and-set on the head: of two based on the same version, exactly one moves it; the
    other gets False and nothing is written."""
    base = parent.number if parent else 0
    now = utcnow()
    until = kind_for(doc.kind, doc.template).earliest_handed_over_until(content)
    moved = s.execute(
        _MOVE_HEAD,
        {"document_id": doc.id, "base": base, "new_head": base + 1, "now": now, "until": until},
    ).rowcount
    if moved != 1:
        return False
    if base == 0 and doc.kind == CARE_PLAN.name:
        # The supervisors' dashboard lists clients with no care plan saved yet by this flag:
        # a care plan only started is not one anyone has to account for (remove_empty), and
        # an agreement is not a care plan.
        s.execute(_HAS_CARE_PLAN, {"client_id": doc.client_id})
    s.add(
        Version(
            document_id=doc.id,
            number=base + 1,
            parent_id=parent.id if parent else None,
            author_id=actor.id,
            created_at=now,
            change_note=change_note,
            content=content,
            content_hash=digest,
        )
    )
    s.flush()
    audit.record(
        s,
        actor,
        "document.edit",
        "document",
        doc.id,
        client_id=doc.client_id,
        detail={"version": base + 1, "hash": digest, **detail},
    )
    if base and base == doc.agreed_version:
        from .reviews import confirmations_overtaken  # reviews builds on this module

        confirmations_overtaken(s, doc.id, now)
    return True


_HAS_CARE_PLAN = (
    update(User)
    .where(User.id == bindparam("client_id"), User.has_care_plan == false())
    .values(has_care_plan=True)
    .execution_options(synchronize_session=False)
)

_MOVE_HEAD = (
    update(Document)
    .where(Document.id == bindparam("document_id"), Document.head_number == bindparam("base"))
    # Nobody has signed the new version yet; an agreed one stays in force beside it. What the
    # lists need of its words (Document.handed_over_until) comes with it.
    .values(
        head_number=bindparam("new_head"),
        updated_at=bindparam("now"),
        signoff_state="draft",
        handed_over_until=bindparam("until", type_=Date),
    )
    .execution_options(synchronize_session=False)
)


def check_wording(
    db: Database,
    actor: Actor,
    document_id: int,
    base_number: int,
    raw: dict,
    terms: list[Term] | tuple,
    part: str = "",
    from_form: bool = False,
    today: date | None = None,
) -> tuple[Finding, ...]:
    """What a save would suggest about wording, before anything is saved: so a word someone
    would rather change need not stay in the permanent history. Saves nothing. Content a save
    would refuse is refused here too (ContentInvalid), dates included."""
    with db.read() as s:
        doc, access = _load_document(s, actor, document_id)
        if not access.edit:
            raise ReadOnly("You can read this document but not change it.")
        kind = kind_for(doc.kind, doc.template)
        _require_base(doc, base_number)
        base = _base_content(s, doc, kind, base_number)
        if part:
            raw = kind.with_part(base, raw, part)
        before = base if base_number else None
        content = kind.check_save(before, raw, today or service_today(), from_form=from_form)
        return _language_in_changes(kind, base if base_number else None, content, terms)


def check_typed_wording(
    db: Database,
    actor: Actor,
    document_id: int,
    base_number: int,
    fields: Sequence[tuple[str, str]],
    terms: list[Term] | tuple,
) -> tuple[Finding, ...]:
    """What the wording check says about a form that cannot be saved as it stands (an answer
    needs another look), so one press of "check my wording" gives both the answers to look at
    and the suggestions. `fields` are the form's (name, value) as posted: each piece of
    writing not in version `base_number` (so nobody is nagged about old words) is checked,
    and named by its place on the form. Saves nothing."""
    if not terms:
        return ()
    with db.read() as s:
        doc, access = _load_document(s, actor, document_id)
        if not access.edit:
            raise ReadOnly("You can read this document but not change it.")
        kind = kind_for(doc.kind, doc.template)
        _require_base(doc, base_number)
        before = leaf_texts(_version(s, doc.id, base_number)[0].content) if base_number else set()
    words = kind.form_words()
    findings: list[Finding] = []
    for name, value in fields:
        if not is_writing(name, value) or value.strip() in before:
            continue
        findings += check_text(terms, value, place(name, words))
    return tuple(findings)


def _require_base(doc: Document, base_number: int) -> None:
    if not 0 <= base_number <= doc.head_number:
        raise NoSuchVersion(
            f"There is no version {base_number}: the latest is version {doc.head_number}."
        )


def _base_content(s: Session, doc: Document, kind, base_number: int) -> dict:
    return _version(s, doc.id, base_number)[0].content if base_number else kind.empty_content()


def _language_in_changes(kind, before: dict | None, after: dict, terms) -> tuple[Finding, ...]:
    """Suggestions only for the parts this save changed, so nobody is nagged about old words."""
    if not terms:
        return ()
    findings: list[Finding] = []
    for change in compare(kind, before, after):
        if change.status != "removed":
            findings += check_text(terms, change.after, change.label)
    return tuple(findings)


def _current_head(s: Session, document_id: int) -> int:
    return s.scalar(select(Document.head_number).where(Document.id == document_id)) or 0


def conflict_view(db: Database, actor: Actor, conflict: Conflict) -> ConflictView:
    """Both sides of a conflict, and the person's changes re-applied to the latest version."""
    with db.read() as s:
        opened = _open(s, actor, conflict.document_id)
        doc = opened.doc
        kind = kind_for(doc.kind, doc.template)
        head_v, _ = _version(s, doc.id, conflict.head_number)
        base = (
            _version(s, doc.id, conflict.base_number)[0].content
            if conflict.base_number
            else kind.empty_content()
        )
        rows = s.execute(
            select(Version, User)
            .join(User, User.id == Version.author_id)
            .where(
                Version.document_id == doc.id,
                Version.number > conflict.base_number,
                Version.number <= conflict.head_number,
            )
            .order_by(Version.number)
        ).all()
        page = _page(s, opened, conflict.head_number, actor)
        theirs = compare(kind, base, head_v.content, page.owners)
        mine = compare(kind, base, conflict.content, page.owners)
        mine_after = {c.key: c.after for c in mine}
        clashes = [c.label for c in theirs if c.key in mine_after and mine_after[c.key] != c.after]
        proposal, _ = merge(
            strip_attribution(base), strip_attribution(head_v.content), conflict.content
        )
        return ConflictView(
            page, [_version_info(v, u) for v, u in rows], theirs, mine, clashes, proposal
        )


def count_versions(db: Database, document_id: int) -> int:
    with db.read() as s:
        return s.scalar(
            select(func.count()).select_from(Version).where(Version.document_id == document_id)
        )
