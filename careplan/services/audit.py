"""Append-only, hash-chained audit events.

Each event's hash covers its own fields and the previous event's hash, so removing or editing
any row breaks the chain from that point on. Writers take a lock before reading the chain's
head so two events never claim the same predecessor.

Events are appended as their transaction commits, not where they are recorded: the chain's
lock is then the last lock a transaction takes and is held only for the insert, so it never
waits behind a row another writer has locked while that writer waits for the chain (on
PostgreSQL such a pair was a deadlock). Rows that the events refer to (users) are locked
FOR NO KEY UPDATE by the services, which the events' foreign-key checks do not wait for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from sqlalchemy import Text, cast, event, insert, select, type_coerce
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from ..db.models import AuditEvent, User, utcnow
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
) -> None:
    record_many(session, actor, action, object_type, [(object_id, client_id)], detail, at)


def record_many(
    session: Session,
    actor: Actor | None,
    action: str,
    object_type: str,
    targets: Iterable[tuple[int | None, int | None]],
    detail: dict | None = None,
    at: datetime | None = None,
) -> int:
    """One event per (object id, client id), chained in that order when the transaction
    commits, with one read of the chain's head and one batched insert for all the events of
    the transaction, however many (an export of 1,000 rows records 1,000 events)."""
    at = at or utcnow()
    common = {
        "at": at,
        "actor_id": actor.id if actor else None,
        "actor_role": actor.role.value if actor else "system",
        "action": action,
        "object_type": object_type,
        "ip": (actor.ip if actor else "")[:64],
        "detail": dict(detail or {}),
    }
    rows = [{**common, "object_id": o, "client_id": c} for o, c in targets]
    session.info.setdefault(_PENDING, []).extend(rows)
    return len(rows)


_PENDING = "careplan.audit.pending"


def latest(session: Session, object_type: str, object_id: int, action: str):
    """The latest event of `action` on one object, with its actor's name (`display_name`,
    None if the event names nobody): at, actor_id, client_id, detail, display_name; or
    None. What a page says of a thing the trail alone still knows (a removed document, why
    an account was closed)."""
    return session.execute(
        select(
            AuditEvent.at,
            AuditEvent.actor_id,
            AuditEvent.client_id,
            AuditEvent.detail,
            User.display_name,
        )
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(
            AuditEvent.object_type == object_type,
            AuditEvent.object_id == object_id,
            AuditEvent.action == action,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    rows = session.info.pop(_PENDING, None)
    if not rows:
        return
    # The session's own changes are written first: SQLAlchemy flushes them only after these
    # listeners, and an update waiting for a row another writer holds, while this
    # transaction held the chain that writer waits for, was a deadlock.
    session.flush()
    prev = _locked_head(session) or GENESIS
    for row in rows:
        row["prev_hash"] = prev
        row["hash"] = prev = event_hash(_fields(row), prev)
    # Plain rows, inserted in this order (so ids follow the chain), without loading them
    # into the session: an export chunk writes 1,000 at once.
    session.connection().execute(_INSERT, rows)


@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, *_) -> None:
    session.info.pop(_PENDING, None)  # what was rolled back did not happen


def _locked_head(session: Session) -> str | None:
    """Takes the chain's lock, then reads the hash of its last event.

    On SQLite the writing transaction already holds the database's write lock (BEGIN
    IMMEDIATE). On PostgreSQL an advisory lock is taken, and the lock and the read go to the
    server together in one round trip (psycopg's pipeline): the server runs them in order, so
    the head is read, with a snapshot of its own, only once the lock is held. Every event
    written pays this, a download's included."""
    if session.get_bind().dialect.name != "postgresql":
        return session.scalar(_HEAD)
    driver = session.connection().connection.driver_connection
    try:
        with driver.pipeline():
            driver.execute(_LOCK_SQL_POSTGRESQL, (_PG_AUDIT_LOCK,))
            head = driver.execute(_HEAD_SQL_POSTGRESQL)
        row = head.fetchone()
    except psycopg.Error as err:
        # Wrapped as SQLAlchemy wraps any statement's error, so a lock wait that ran out or a
        # lost connection is told apart from a fault here too (careplan.web.trouble).
        raise DBAPIError.instance(_LOCK_SQL_POSTGRESQL, (), err, psycopg.Error) from err
    return row[0] if row else None


_HEAD = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
_LOCK_SQL_POSTGRESQL = "SELECT pg_advisory_xact_lock(%s)"
# The same statement as SQL text, for the driver's pipeline on PostgreSQL.
_HEAD_SQL_POSTGRESQL = str(
    _HEAD.compile(dialect=postgresql.psycopg.dialect(), compile_kwargs={"literal_binds": True})
)
_INSERT = insert(AuditEvent.__table__)


_HASHED = ("actor_id", "actor_role", "action", "object_type", "object_id", "client_id", "ip")


def _fields(event: AuditEvent | dict) -> dict:
    """What the hash covers, from a stored event or a row about to be inserted."""
    get = event.get if isinstance(event, dict) else lambda name: getattr(event, name)
    return {
        "at": get("at").astimezone(UTC).isoformat(),
        **{name: get(name) for name in _HASHED},
        "detail": get("detail"),
    }


@dataclass(frozen=True)
class ChainReport:
    events: int
    ok: bool
    broken_at: int | None  # id of the first event that does not fit the chain
    reason: str


def verify_chain(db, since: tuple[int, str] | None = None, until: int | None = None) -> ChainReport:
    """Walk every event in order; name the first one whose hash or link does not fit.

    `since` (id, hash) starts after that event, `until` stops at that id. Each row is decoded
    here, not by the column types, so a row whose stored values cannot be read (malformed JSON,
    a number JSON cannot hold, a date that is not one) is named instead of stopping the walk.
    """
    previous = since[1] if since else GENESIS
    count = 0
    # One snapshot for the whole walk; on PostgreSQL it also holds the transaction that
    # streaming the rows in batches needs (a server-side cursor).
    with db.snapshot() as s:
        read_at = _at_reader(s.get_bind().dialect)
        query = select(*_RAW_EVENT).order_by(AuditEvent.id)
        if since is not None:
            query = query.where(AuditEvent.id > since[0])
        if until is not None:
            query = query.where(AuditEvent.id <= until)
        for row in s.execute(query.execution_options(yield_per=1000)):
            count += 1
            if row.prev_hash != previous:
                return ChainReport(
                    count,
                    False,
                    row.id,
                    "its link to the event before it is broken "
                    "(an event before it was removed or changed)",
                )
            expected, unreadable = _rehash(row, read_at)
            if unreadable:
                return ChainReport(count, False, row.id, unreadable)
            if expected != row.hash:
                return ChainReport(
                    count, False, row.id, "its contents were changed after it was written"
                )
            previous = row.hash
    return ChainReport(count, True, None, "")


# Every column as stored: no type processing, which would fail for the whole batch of rows.
_RAW_EVENT = (
    *(AuditEvent.__table__.c[name] for name in ("id", *_HASHED, "prev_hash", "hash")),
    type_coerce(AuditEvent.at, NullType()).label("at"),
    cast(AuditEvent.detail, Text).label("detail"),
)


def _at_reader(dialect):
    convert = AuditEvent.__table__.c.at.type.dialect_impl(dialect).result_processor(dialect, None)
    return convert or (lambda value: value)


def _rehash(row, read_at) -> tuple[str, str]:
    """(the hash the row should have, "") or ("", why it cannot be read)."""
    try:
        at = read_at(row.at)
    except (ValueError, TypeError) as exc:
        return "", f"its time cannot be read ({exc})"
    try:
        detail = json.loads(row.detail)
    except (ValueError, TypeError) as exc:
        return "", f"its detail is not valid JSON ({exc})"
    try:
        return event_hash(_fields({**row._mapping, "at": at, "detail": detail}), row.prev_hash), ""
    except (ValueError, TypeError, AttributeError) as exc:
        return "", f"its stored data cannot be hashed ({exc})"


@dataclass(frozen=True)
class AccessEntry:
    who: str
    role: str
    what: str
    at: datetime  # the latest, where it happened more than once in a row
    called: str = ""  # what the client's page calls them ("Lee, now your key worker")
    times: int = 1  # the same person, doing the same, in a row on one day


ACCESS_ACTIONS = {"read": "read", "export": "exported", "download": "downloaded"}


def access_log(db, client: Actor, limit: int = 200) -> list[AccessEntry]:
    """Who other than the client read, exported or downloaded the client's records, newest
    first. One person doing the same thing several times in a row on one day is one entry
    with how many times, so a page opened ten times does not hide everything else."""
    from ..db.models import AdvocateInvitation, CaseloadLink, Handover, User
    from ..domain.local_time import service_day
    from ..domain.roles import Role
    from ..domain.wording import in_access_log

    if client.role is not Role.CLIENT:
        return []
    with db.read() as s:
        rows = s.execute(
            select(AuditEvent, User)
            .join(User, User.id == AuditEvent.actor_id)
            .where(
                AuditEvent.client_id == client.id,
                AuditEvent.actor_id != client.id,
                AuditEvent.action.in_(list(ACCESS_ACTIONS)),
            )
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        ).all()
        links = s.execute(
            select(
                CaseloadLink.key_worker_id, CaseloadLink.started_at, CaseloadLink.ended_at
            ).where(CaseloadLink.client_id == client.id)
        ).all()
        # A handover waiting: the incoming key worker, and since when (reads from before it
        # were a colleague's).
        taking_over = s.execute(
            select(Handover.to_worker_id, Handover.created_at).where(
                Handover.client_id == client.id,
                Handover.completed_at.is_(None),
                Handover.cancelled_at.is_(None),
            )
        ).first() or (None, None)
        advocates_now = set(
            s.scalars(
                select(AdvocateInvitation.advocate_id).where(
                    AdvocateInvitation.client_id == client.id,
                    AdvocateInvitation.revoked_at.is_(None),
                )
            )
        )

    def held(worker_id: int, at: datetime | None) -> bool:
        """Was (at None: is) this key worker the client's at that moment?"""
        return any(
            k == worker_id
            and (at is None and ended is None or at is not None and started <= at
                 and (ended is None or at < ended))
            for k, started, ended in links
        )  # fmt: skip

    entries: list[AccessEntry] = []
    for e, u in rows:
        what = f"{ACCESS_ACTIONS[e.action]} {e.detail.get('what', 'your records')}"
        called = in_access_log(
            u.display_name,
            u.role,
            theirs_then=held(u.id, e.at),
            theirs_now=held(u.id, None),
            theirs_before=any(k == u.id and started <= e.at for k, started, _ in links),
            taking_over=u.id == taking_over[0] and e.at >= taking_over[1],
            advocate_now=u.id in advocates_now,
        )
        last = entries[-1] if entries else None
        if (
            last is not None
            and (last.called, last.what) == (called, what)
            and service_day(last.at) == service_day(e.at)
        ):
            entries[-1] = AccessEntry(last.who, last.role, what, last.at, called, last.times + 1)
            continue
        entries.append(AccessEntry(u.display_name, Role(u.role).label, what, e.at, called))
    return entries
