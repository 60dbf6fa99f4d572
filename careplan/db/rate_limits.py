"""A `limits` storage kept in the app's own database, so that every app process (several
gunicorn workers, several machines) counts attempts together without another server.

Registered under the scheme ``careplan-database``:
``storage_from_string("careplan-database://", database=db)``. It supports the fixed-window
strategy: one row per key holding the count and when the window ends. An increment is one
INSERT ... ON CONFLICT DO UPDATE ... RETURNING statement, atomic on SQLite (in a BEGIN
IMMEDIATE transaction) and on PostgreSQL (the conflicting row is locked), so two processes
counting at the same moment never lose an attempt.
"""

from __future__ import annotations

import random
import time

from limits.storage import Storage
from sqlalchemy import case, delete, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from .engine import Database
from .models import RateLimitCounter

SCHEME = "careplan-database"
# Finished windows are deleted now and then, by whichever increment draws this chance.
PRUNE_CHANCE = 0.01

_table = RateLimitCounter.__table__


class DatabaseStorage(Storage):
    STORAGE_SCHEME = [SCHEME]

    def __init__(
        self,
        uri: str | None = None,
        wrap_exceptions: bool = False,
        database: Database | None = None,
        **options,
    ) -> None:
        if database is None:
            raise ValueError(f"the {SCHEME} storage needs database=<the app's Database>")
        self.db = database
        self.clock = time.time  # seconds since the epoch, as the windows' ends are kept
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.clock()
        insert = (sqlite_insert if self.db.is_sqlite else pg_insert)(_table)
        ended = _table.c.expires_at <= now
        statement = (
            insert.values(key=key, count=amount, expires_at=now + expiry)
            .on_conflict_do_update(
                index_elements=[_table.c.key],
                set_={
                    # A finished window starts again from this attempt.
                    "count": case((ended, amount), else_=_table.c.count + amount),
                    "expires_at": case((ended, now + expiry), else_=_table.c.expires_at),
                },
            )
            .returning(_table.c.count)
        )
        with self.db.write() as s:
            count = s.execute(statement).scalar_one()
            if random.random() < PRUNE_CHANCE:
                s.execute(delete(_table).where(_table.c.expires_at <= now))
        return count

    def get(self, key: str) -> int:
        with self.db.read() as s:
            count = s.scalar(
                select(_table.c.count).where(
                    _table.c.key == key, _table.c.expires_at > self.clock()
                )
            )
        return count or 0

    def get_expiry(self, key: str) -> float:
        now = self.clock()
        with self.db.read() as s:
            expires = s.scalar(
                select(_table.c.expires_at).where(_table.c.key == key, _table.c.expires_at > now)
            )
        return expires if expires is not None else now

    def check(self) -> bool:
        try:
            with self.db.read() as s:
                return s.scalar(select(literal(1))) == 1
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with self.db.write() as s:
            return s.execute(delete(_table)).rowcount

    def clear(self, key: str) -> None:
        with self.db.write() as s:
            s.execute(delete(_table).where(_table.c.key == key))
