"""The list of people a worker, supervisor or advocate looks after: names and dates only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..db.engine import Database
from ..db.models import CaseloadLink, Document, User
from .access import visible_clients
from .actor import Actor


@dataclass(frozen=True)
class PersonRow:
    client_id: int
    name: str
    key_worker: str
    documents: int
    last_change: datetime | None


def people_for(db: Database, actor: Actor) -> list[PersonRow]:
    clients = visible_clients(actor).subquery()
    worker = User.__table__.alias("worker")
    docs = (
        select(
            Document.client_id,
            func.count(Document.id).label("n"),
            func.max(Document.updated_at).label("last"),
        )
        .group_by(Document.client_id)
        .subquery()
    )
    query = (
        select(clients.c.id, clients.c.display_name, worker.c.display_name, docs.c.n, docs.c.last)
        .outerjoin(
            CaseloadLink, (CaseloadLink.client_id == clients.c.id) & CaseloadLink.ended_at.is_(None)
        )
        .outerjoin(worker, worker.c.id == CaseloadLink.key_worker_id)
        .outerjoin(docs, docs.c.client_id == clients.c.id)
        .order_by(clients.c.display_name)
    )
    with db.read() as s:
        return [
            PersonRow(cid, name, kw or "", n or 0, last)
            for cid, name, kw, n, last in s.execute(query)
        ]
