"""Comments on a document's sections, kept with the version they were made on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select

from ..db.engine import Database, plain_rows
from ..db.models import Comment, Document, User, utcnow
from ..domain.errors import ContentInvalid
from ..domain.kinds import kind_for
from ..domain.lengths import KEPT, too_long
from ..domain.roles import Role
from ..domain.wording import comment_notice
from ..domain.writing_direction import plain_writing
from . import audit
from .access import require_read
from .actor import Actor
from .errors import NotFound, ReadOnly
from .signoff import tell_the_two

MAX_COMMENT = 3000
# The same words on the same part of the same version from the same person this soon after
# are the same comment sent twice (a second tap on a slow phone, a form sent again), not a new
# one: kept once, and the person told it is there.
SAME_COMMENT_WITHIN = timedelta(minutes=10)


@dataclass(frozen=True)
class CommentView:
    section_key: str
    version_number: int
    author_name: str
    author_role: str
    created_at: datetime
    body: str
    author_id: int | None = None  # so pages can say "you" to the person who wrote it


def add_comment(
    db: Database, actor: Actor, document_id: int, section_key: str, version_number: int, body: str
) -> datetime | None:
    """Adds the comment; or, if the same person made the same comment on the same part of the
    same version just before (SAME_COMMENT_WITHIN), adds nothing and returns when that was."""
    body = plain_writing(body).strip()
    with db.write() as s:
        # Locked, so the same comment sent twice at once takes turns and the second finds
        # the first.
        doc = s.get(Document, document_id, with_for_update=True)
        if doc is None:
            raise NotFound()
        access = require_read(s, actor, doc.client_id)
        if not access.comment:
            raise ReadOnly("You can read this document but not comment on it.")
        sections = dict(kind_for(doc.kind, doc.template).sections())
        errors = {}
        if section_key not in sections:
            errors["section_key"] = "Please choose which part your comment is about."
        if not body:
            errors["body"] = "Please write your comment."
        elif said := too_long(body, MAX_COMMENT, "your comment"):
            errors["body"] = said + KEPT
        if not 1 <= version_number <= doc.head_number:
            errors["version_number"] = "That version does not exist yet."
        if errors:
            raise ContentInvalid(errors)
        now = utcnow()
        already = s.scalar(
            select(Comment.created_at)
            .where(
                Comment.document_id == doc.id,
                Comment.version_number == version_number,
                Comment.section_key == section_key,
                Comment.author_id == actor.id,
                Comment.body == body,
                Comment.created_at >= now - SAME_COMMENT_WITHIN,
            )
            .order_by(Comment.created_at.desc())
            .limit(1)
        )
        if already is not None:
            return already
        s.add(
            Comment(
                document_id=doc.id,
                version_number=version_number,
                section_key=section_key,
                author_id=actor.id,
                body=body,
            )
        )
        s.flush()
        _tell_the_two(s, actor, doc, section_key, sections[section_key], version_number)
        audit.record(
            s,
            actor,
            "comment",
            "document",
            doc.id,
            client_id=doc.client_id,
            detail={"section": section_key, "version": version_number},
        )
    return None


def comments_anchor(section_key: str) -> str:
    """Where a part's comments are on the document's page (documents/_comments.html)."""
    return f"comments-{section_key}"


def _tell_the_two(
    s, actor: Actor, doc: Document, section_key: str, section: str, version: int
) -> None:
    """A message to the client and their key worker, whoever of them did not write the
    comment: it shows on their start page and in Messages, not only on the document."""
    tell_the_two(
        s, actor, doc,
        lambda to_client, client_name: comment_notice(
            actor.name, actor.role, reader_is_client=to_client, client_name=client_name,
            title=doc.title, section=section, version=version,
        ),
        f"/documents/{doc.id}#{comments_anchor(section_key)}",
    )  # fmt: skip


def comments_on(db: Database, actor: Actor, document_id: int) -> dict[str, list[CommentView]]:
    """Every comment on the document, by section, oldest first. Everyone who can read sees all."""
    with db.read() as s:
        doc = s.get(Document, document_id)
        if doc is None:
            raise NotFound()
        require_read(s, actor, doc.client_id)
        return comments_in(s, document_id)


def comments_in(s, document_id: int) -> dict[str, list[CommentView]]:
    """comments_on inside a transaction that has already checked access."""
    grouped: dict[str, list[CommentView]] = {}
    for c in plain_rows(s, _COMMENTS, {"document_id": document_id}):
        grouped.setdefault(c.section_key, []).append(
            CommentView(
                c.section_key,
                c.version_number,
                c.display_name,
                Role(c.role).label,
                c.created_at,
                c.body,
                c.author_id,
            )
        )
    return grouped


# Built once (every document page runs it): building it took longer than running it.
_COMMENTS = (
    select(
        Comment.section_key,
        Comment.version_number,
        Comment.created_at,
        Comment.body,
        Comment.author_id,
        User.display_name,
        User.role,
    )
    .join(User, User.id == Comment.author_id)
    .where(Comment.document_id == bindparam("document_id"))
    .order_by(Comment.id)
)
