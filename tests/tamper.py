"""Changing the records as someone with direct database access would, to show it is caught."""

from __future__ import annotations

import sqlalchemy as sa

from careplan.db.models import AuditEvent
from careplan.domain.audit_chain import event_hash
from careplan.services import audit


def without_guard(db, statement: str, table: str = "audit_events", **params) -> None:
    """Run a statement on an append-only table with its triggers out of the way.

    On PostgreSQL they are switched back on in the same transaction: the test database is
    shared by the tests that follow. (Each SQLite test has its own copy.)"""
    with db.write() as s:
        if db.is_sqlite:
            for guard in ("no_update", "no_delete", "no_replace"):
                s.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_{guard}"))
            s.execute(sa.text(statement), params)
        else:
            s.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            s.execute(sa.text(statement), params)
            s.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def rechain_from(db, first_id: int) -> None:
    """Recompute every link and hash from event `first_id` on, so the chain fits again."""
    with db.read() as s:
        previous = s.scalar(
            sa.select(AuditEvent.hash)
            .where(AuditEvent.id < first_id)
            .order_by(AuditEvent.id.desc())
        )
        events = s.scalars(
            sa.select(AuditEvent).where(AuditEvent.id >= first_id).order_by(AuditEvent.id)
        ).all()
    for event in events:
        new = event_hash(audit._fields(event), previous)
        without_guard(
            db,
            "UPDATE audit_events SET prev_hash = :prev, hash = :hash WHERE id = :id",
            prev=previous,
            hash=new,
            id=event.id,
        )
        previous = new
