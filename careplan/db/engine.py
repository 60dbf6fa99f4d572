"""Engine and transactions for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout, and a writing transaction starts with
BEGIN IMMEDIATE: it takes the write lock up front and waits for it, instead of upgrading a
read lock later and failing with "database is locked" when another writer got there first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

WRITE = "careplan_write"
STATISTICS_RELOAD_SECONDS = 3600


def make_engine(url: str, sqlite_busy_timeout_ms: int = 30000, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        # A SQLite connection reads planner statistics when it opens (careplan.db.statistics):
        # an hour-old connection is replaced, so fresh statistics reach every process.
        kwargs.setdefault("pool_recycle", STATISTICS_RELOAD_SECONDS)
        engine = create_engine(
            url, connect_args={"timeout": sqlite_busy_timeout_ms / 1000}, **kwargs
        )
        _configure_sqlite(engine, sqlite_busy_timeout_ms)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event, not the driver, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get(WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


class Database:
    """One engine and its sessions; services open exactly one transaction per use case."""

    def __init__(self, url: str, sqlite_busy_timeout_ms: int = 30000, **engine_kwargs):
        self.url = url
        self.engine = make_engine(url, sqlite_busy_timeout_ms, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # The attempt counters of the app using this database (careplan.services.throttle).
        self.throttle = None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that intends to write: commits on success, rolls back on error."""
        with self._sessions() as session:
            session.connection(execution_options={WRITE: True})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        # Closing (not rolling back) ends the transaction but keeps loaded values readable.
        with self._sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
