"""Edits in progress: kept as the person types (and when they are signed out for being idle)
so nothing is lost before it is saved as a version. A draft belongs to one person and one
document, is seen only by that person, and is gone once they save or throw it away.

A draft is not a version: it has no signature, no history and no effect on anyone else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db.engine import Database
from ..db.models import Document, EditDraft, utcnow
from ..domain.errors import ContentInvalid
from .access import require_read
from .actor import Actor
from .errors import Invalid, NotFound, ReadOnly

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


def _editable(s: Session, actor: Actor, document_id: int) -> Document:
    doc = s.get(Document, document_id)
    if doc is None:
        raise NotFound()
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
) -> datetime:
    """Keep (or replace) this person's draft of this document; returns when it was kept."""
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
    }
    with db.write() as s:
        doc = _editable(s, actor, document_id)
        if not (1 <= base_number <= doc.head_number or base_number == doc.head_number == 0):
            raise Invalid("That version does not exist.")
        # One draft per person and document, whoever of two tabs writes last.
        dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
        statement = dialect.insert(EditDraft).values(**values)
        s.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id", "document_id"],
                set_={
                    k: statement.excluded[k] for k in values if k not in ("user_id", "document_id")
                },
            )
        )
    return now


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


def discard(db: Database, actor: Actor, document_id: int) -> None:
    with db.write() as s:
        _editable(s, actor, document_id)
        forget(s, actor.id, document_id)


def forget(s: Session, user_id: int, document_id: int) -> None:
    """Inside a save's transaction: the draft became a version."""
    s.execute(_FORGET, {"user_id": user_id, "document_id": document_id})
