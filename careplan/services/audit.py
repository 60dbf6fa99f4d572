"""Append-only, hash-chained audit events.

Each event's hash covers its own fields and the previous event's hash, so removing or editing
any row breaks the chain from that point on. Writers take a lock before reading the chain's
head so two events never claim the same predecessor.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..db.models import AuditEvent, utcnow
from ..domain.audit_chain import GENESIS, event_hash
from .actor import Actor

_PG_AUDIT_LOCK = 7_411_001


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    object_type: str = "",
    object_id: int | None = None,
    client_id: int | None = None,
    detail: dict | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    event = AuditEvent(
        at=at or utcnow(),
        actor_id=actor.id if actor else None,
        actor_role=actor.role.value if actor else "system",
        action=action,
        object_type=object_type,
        object_id=object_id,
        client_id=client_id,
        ip=(actor.ip if actor else "")[:64],
        detail=detail or {},
        prev_hash=prev or GENESIS,
    )
    event.hash = event_hash(_fields(event), event.prev_hash)
    session.add(event)
    session.flush()
    return event


def _fields(event: AuditEvent) -> dict:
    return {
        "at": event.at.astimezone(UTC).isoformat(),
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "client_id": event.client_id,
        "ip": event.ip,
        "detail": event.detail,
    }
