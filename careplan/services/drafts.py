"""Edits in progress: kept as the person types (and when they are signed out for being idle)
so nothing is lost before it is saved as a version. A draft belongs to one person and one
document, is seen only by that person, and is gone once they save or throw it away.

A draft is not a version: it has no signature, no history and no effect on anyone else.

The same person may have the document open on two tabs or devices (a phone and a laptop). Each
keep gives the draft a new revision, and a page sends the one it last kept or started from:
a draft kept on another page since, with other words, is not replaced (DraftKeptElsewhere),
nor forgotten by this page's save, so neither page's words are lost without a word.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db.engine import Database
from ..db.models import Document, EditDraft, Version, utcnow
from ..domain.errors import ContentInvalid
from ..domain.kinds import kind_for
from ..domain.nested import from_fields
from .access import gone, require_read
from .actor import Actor
from .errors import Invalid, ReadOnly, ServiceError

MAX_FIELDS = 2000
MAX_CHARACTERS = 1_000_000  # the whole form, names and values together


@dataclass(frozen=True)
class Draft:
    document_id: int
    base_number: int
    part: str
    fields: list[tuple[str, str]]
    change_note: str
    saved_at: datetime
    revision: str = ""


@dataclass(frozen=True)
class Seen:
    """What an edit page knows of its writer's draft: the revision it last kept or started
    from ("" for none: a fresh form), and the page itself (one tab's page load)."""

    revision: str
    page: str = ""


@dataclass(frozen=True)
class IfSaved:
    """A save not made on an edit page of the draft's writer (a program saving through the
    API on their behalf): their draft is forgotten only if this save holds every change it
    made (DocumentKind.saved_all_of). One holding other words stays, now on an older version,
    for the edit page to offer as it offers any draft someone else saved after."""


IF_SAVED = IfSaved()


@dataclass(frozen=True)
class Kept:
    kept_at: datetime
    revision: str
    # False: the words change nothing in the version they were typed on, so no draft is
    # kept, and this page's earlier one, if any, is gone (an empty form sent and refused
    # left a draft behind that locked the next edit page until chosen).
    changes: bool = True


class DraftKeptElsewhere(ServiceError):
    """The person's draft was kept on another tab or device since this page last kept or
    opened it, with other words: it was not replaced."""

    def __init__(self, saved_at: datetime):
        super().__init__(
            "You have changed this document in another tab or on another device since. "
            "What you type here is not being kept as a draft: save it as a version, or open "
            "the latest draft."
        )
        self.saved_at = saved_at


def new_page() -> str:
    """A name for one edit page as it is sent: the drafts it keeps say they are its own."""
    return secrets.token_hex(8)


def _editable(s: Session, actor: Actor, document_id: int) -> Document:
    """The document, if this person may edit it. Its row is shared (FOR KEY SHARE, which
    neither a save nor another draft waits for) until the draft is written: a removal of the
    document (documents.remove_empty, which locks it for good) waits until then and finds the
    writing, or went first and the document is said to be gone (access.gone), never a draft
    written for a document no longer there."""
    doc = s.get(Document, document_id, with_for_update={"read": True, "key_share": True})
    if doc is None:
        raise gone(s, actor, document_id)
    if not require_read(s, actor, doc.client_id).edit:
        raise ReadOnly("You can read this document but not change it.")
    return doc


def keep(
    db: Database,
    actor: Actor,
    document_id: int,
    base_number: int,
    part: str,
    fields: list[tuple[str, str]],
    change_note: str = "",
    now: datetime | None = None,
    seen: Seen | None = None,
) -> Kept:
    """Keep (or replace) this person's draft of this document; returns when it was kept and
    its new revision. With `seen` (what the page sending it knows of the draft), a draft kept
    since on another page with other words is not replaced: DraftKeptElsewhere. The same
    words are not kept again, and the page is given the stored revision to carry on from.
    Without it, whoever of two pages writes last replaces the other's (a page from before
    drafts had revisions)."""
    if len(fields) > MAX_FIELDS or sum(len(k) + len(v) for k, v in fields) > MAX_CHARACTERS:
        raise ContentInvalid({"draft": "This is too long to keep as a draft."})
    now = now or utcnow()
    values = {
        "user_id": actor.id,
        "document_id": document_id,
        "base_number": base_number,
        "part": part[:40],
        "fields": [[k, v] for k, v in fields],
        "change_note": change_note[:1000],
        "saved_at": now,
        "revision": secrets.token_hex(8),
        "kept_from": seen.page[:32] if seen else "",
    }
    with db.write() as s:
        doc = _editable(s, actor, document_id)
        if not (1 <= base_number <= doc.head_number or base_number == doc.head_number == 0):
            raise Invalid("That version does not exist.")
        if _changes_nothing(s, doc, base_number, part, fields):
            forget(s, actor.id, document_id, seen)
            return Kept(now, "", changes=False)
        # One draft per person and document. Replaced in the same statement as it is checked,
        # so two pages keeping at once cannot both find it theirs.
        dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
        statement = dialect.insert(EditDraft).values(**values)
        # This page's to replace: the draft it last kept or started from, or one it kept
        # since (a keep whose answer never reached it).
        theirs = None if seen is None else _seen_by(seen)
        written = s.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id", "document_id"],
                set_={
                    k: statement.excluded[k] for k in values if k not in ("user_id", "document_id")
                },
                where=theirs,
            ).returning(EditDraft.id)
        ).first()
        if written is None:
            stored = s.scalar(_DRAFT, {"user_id": actor.id, "document_id": document_id})
            if (stored.part, stored.fields, stored.change_note) != (
                values["part"],
                values["fields"],
                values["change_note"],
            ):
                raise DraftKeptElsewhere(stored.saved_at)
            return Kept(stored.saved_at, stored.revision)
    return Kept(now, values["revision"])


def _changes_nothing(s: Session, doc: Document, base_number: int, part: str, fields) -> bool:
    base = s.scalar(_BASE, {"document_id": doc.id, "number": base_number}) if base_number else None
    return kind_for(doc.kind, doc.template).changes_nothing(base, from_fields(fields), part)


_BASE = select(Version.content).where(
    Version.document_id == bindparam("document_id"), Version.number == bindparam("number")
)


def draft_in(s: Session, user_id: int, document_id: int) -> Draft | None:
    """Inside a read that has already found the person may edit: the edit page
    (careplan.services.documents.open_for_editing) is the one place a draft is read."""
    row = s.scalar(_DRAFT, {"user_id": user_id, "document_id": document_id})
    if row is None:
        return None
    return Draft(
        row.document_id,
        row.base_number,
        row.part,
        [(k, v) for k, v in row.fields],
        row.change_note,
        row.saved_at,
        row.revision,
    )


# Built once (every edit page reads one, every save forgets one): building a statement took
# longer than running it.
_ONE_DRAFT = (
    EditDraft.user_id == bindparam("user_id"),
    EditDraft.document_id == bindparam("document_id"),
)
_DRAFT = select(EditDraft).where(*_ONE_DRAFT)
# No draft is loaded where one is forgotten, so the session has nothing to keep in step.
_FORGET = delete(EditDraft).where(*_ONE_DRAFT).execution_options(synchronize_session=False)


def discard(db: Database, actor: Actor, document_id: int, revision: str | None = None) -> bool:
    """Throw the person's draft away; with `revision` (the draft they were shown), only if it
    is still that one, not one kept on another tab or device since. False if such a draft
    stays; True if none does (thrown away now, or already)."""
    with db.write() as s:
        _editable(s, actor, document_id)
        if revision is None:
            forget(s, actor.id, document_id)
            return True
        if forget(s, actor.id, document_id, Seen(revision)):
            return True
        return s.scalar(_DRAFT, {"user_id": actor.id, "document_id": document_id}) is None


def forget(s: Session, user_id: int, document_id: int, seen: Seen | None = None) -> bool:
    """Inside a save's transaction: the draft became a version. With `seen` (the saving page's),
    only the draft that page kept or started from: one kept since on another tab or device
    holds other words, and stays. Whether there was one to forget."""
    one = {"user_id": user_id, "document_id": document_id}
    if seen is None:
        return s.execute(_FORGET, one).rowcount > 0
    theirs = {"seen_revision": seen.revision, "seen_page": seen.page}
    return s.execute(_FORGET_SEEN, one | theirs).rowcount > 0


def _seen_by(seen: Seen):
    """The draft stored is the one the page saw, or one the page kept itself (a page with
    no name, from before pages had one, kept none of them)."""
    return (EditDraft.revision == seen.revision) | (
        (EditDraft.kept_from == seen.page) & (EditDraft.kept_from != "")
    )


# As _seen_by, built once: every save of an edit page forgets its draft.
_FORGET_SEEN = _FORGET.where(
    (EditDraft.revision == bindparam("seen_revision"))
    | ((EditDraft.kept_from == bindparam("seen_page")) & (EditDraft.kept_from != ""))
)
