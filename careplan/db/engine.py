"""Engine and transactions for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout, and a writing transaction starts with
BEGIN IMMEDIATE: it takes the write lock up front and waits for it, instead of upgrading a
read lock later and failing with "database is locked" when another writer got there first.

On PostgreSQL, reads run without BEGIN and ROLLBACK. At READ COMMITTED each statement sees a
snapshot of its own whether or not it is inside a transaction block, so the block only cost
two round trips per request; reads that must agree with each other use `snapshot()`.
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from ..files import private_file

WRITE = "careplan_write"
READ_OPTIONS = {"isolation_level": "AUTOCOMMIT"}  # PostgreSQL (see above)
STATISTICS_RELOAD_SECONDS = 3600


def locked(session: Session, model, row_id):
    """The row (or None), locked until the transaction ends, so writers about it take turns:
    FOR NO KEY UPDATE on PostgreSQL, which rows that merely refer to it (foreign-key checks,
    audit events) do not wait for, unlike FOR UPDATE. SQLite's writers take turns anyway."""
    return session.get(model, row_id, with_for_update={"key_share": True})


def plain_rows(session: Session, statement, params: dict | None = None):
    """The result of a statement that selects columns, not mapped objects, run on the
    session's connection. The ORM's handling of a statement costs about 0.1 ms of processor
    time (measured: 130 against 55 microseconds for the signed-in person's row on SQLite),
    more than SQLite takes to run the pages' statements, and buys nothing for rows that are
    not objects. Objects added to the session are flushed first, as the ORM would."""
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, params)


def in_brief(exc: BaseException) -> str:
    """What went wrong, for a log or the administrators' page: the error's first line, and
    for a database error the driver's message without the statement and its values (which
    may be what someone wrote)."""
    if isinstance(exc, StatementError) and exc.orig is not None:
        exc = exc.orig
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


# A peer can vanish instead of closing the connection (a machine losing power or its
# network). Both ends then give up after about 25 s: when the connection is idle, 3 keepalive
# probes 5 s apart after 10 s of silence; with data sent and not acknowledged (an answer in
# flight when the machine went), 25 s. The operating system's defaults take over two hours
# and 15 minutes, for which a vanished app server would keep the locks its transaction held
# (the audit chain's, a document's row) and the scheduler's leader its lock.
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 10, 5, 3
UNACKNOWLEDGED_MS = 25_000
_CLIENT_GIVES_UP = {  # libpq's: this process's side of the connection
    "keepalives": 1,
    "keepalives_idle": KEEPALIVE_IDLE,
    "keepalives_interval": KEEPALIVE_INTERVAL,
    "keepalives_count": KEEPALIVE_COUNT,
    "tcp_user_timeout": UNACKNOWLEDGED_MS,
}
# How long a statement waits for a lock another transaction holds (a writer ahead on the
# audit chain or on the same client) before giving up with an error, which the web answers
# with a page that keeps what the person sent (careplan.web.trouble). Under gunicorn's
# 30-second worker timeout, so the person gets that answer instead of a worker ended
# mid-request; SQLite's busy timeout is the same wait.
LOCK_WAIT_MS = 20_000

# The server's side, set once connected with set_config rather than the `options` startup
# parameter, which connection poolers such as PgBouncer refuse. Over a Unix socket the
# server accepts and ignores the TCP settings.
_SERVER_SETTINGS = (
    "SELECT set_config('tcp_keepalives_idle', %(idle)s, false), "
    "set_config('tcp_keepalives_interval', %(interval)s, false), "
    "set_config('tcp_keepalives_count', %(count)s, false), "
    "set_config('tcp_user_timeout', %(unacknowledged)s, false), "
    "set_config('lock_timeout', %(lock_wait)s, false)"
)


def make_engine(url: str, lock_wait_ms: int = LOCK_WAIT_MS, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        _private_database_file(url)
        # A SQLite connection reads planner statistics when it opens (careplan.db.statistics):
        # an hour-old connection is replaced, so fresh statistics reach every process.
        kwargs.setdefault("pool_recycle", STATISTICS_RELOAD_SECONDS)
        engine = create_engine(url, connect_args={"timeout": lock_wait_ms / 1000}, **kwargs)
        _configure_sqlite(engine, lock_wait_ms)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    kwargs["connect_args"] = {**_CLIENT_GIVES_UP, **kwargs.get("connect_args", {})}
    engine = create_engine(url, **kwargs)
    settings = {
        "idle": str(KEEPALIVE_IDLE),
        "interval": str(KEEPALIVE_INTERVAL),
        "count": str(KEEPALIVE_COUNT),
        "unacknowledged": str(UNACKNOWLEDGED_MS),
        "lock_wait": str(int(lock_wait_ms)),
    }

    @event.listens_for(engine, "connect")
    def _server_settings(dbapi_connection, _record) -> None:
        """Once per new connection (see _SERVER_SETTINGS)."""
        with dbapi_connection.cursor() as cursor:
            cursor.execute(_SERVER_SETTINGS, settings)
        if not dbapi_connection.autocommit:
            dbapi_connection.commit()  # a setting made in a rolled-back transaction is undone

    event.listen(engine, "checkout", _replace_if_server_hung_up)
    return engine


def _private_database_file(url: str) -> None:
    """A new SQLite database holds everyone's records. Left to itself SQLite makes its file
    readable by every user of the machine; made first, readable by this user only, it keeps
    that mode, and SQLite gives the -wal and -shm files beside it the same."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        private_file(Path(database))


def _replace_if_server_hung_up(dbapi_connection, _record, _proxy) -> None:
    """A pooled PostgreSQL connection that the server ended while it sat idle (a restart, an
    administrator, an idle timeout) is replaced before anyone uses it.

    Between requests a healthy connection has nothing to read: the server speaks only when
    asked. One it has ended is readable, with its goodbye or the end of the stream, so a look
    at the socket finds it without the round trip to the server that SQLAlchemy's
    `pool_pre_ping` spends on every checkout (one or two per request).
    """
    if dbapi_connection.closed:
        raise DisconnectionError("the connection is closed")
    if _readable(dbapi_connection.fileno()):
        raise DisconnectionError("the server ended this connection while it was idle")


def _readable(fd: int) -> bool:
    """Without waiting. poll() takes any descriptor number; Windows has only select(), which
    takes sockets, as a PostgreSQL connection's is."""
    if not hasattr(select, "poll"):
        return bool(select.select([fd], [], [], 0)[0])
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def _configure_sqlite(engine: Engine, lock_wait_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event, not the driver, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(lock_wait_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Every commit waits for the disk, as PostgreSQL's does: with NORMAL a save, a
        # signature or an audit event already confirmed could vanish in a power cut or an
        # operating system crash (measured: 0.2 ms more for a bare commit, 0.3-0.5 ms for a
        # download, which writes its audit event).
        cursor.execute("PRAGMA synchronous=FULL")
        # A REPLACE then fires the DELETE triggers of the rows it removes, so an append-only
        # table refuses it on any unique key (careplan.db.append_only).
        cursor.execute("PRAGMA recursive_triggers=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get(WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


class _SharedRead:
    """One read transaction for everything a unit of work (a web request) reads, opened on
    first use and ended by any write, so reads after a write see it. It also counts the
    unit's commits begun, so that a request that fails can tell the person whether anything
    may have been saved."""

    def __init__(self, open_read):
        self.open_read = open_read
        self.session: Session | None = None
        self.commits_begun = 0

    def get(self) -> Session:
        if self.session is None:
            self.session = self.open_read()
        return self.session

    def end(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


class Database:
    """One engine and its sessions; services open exactly one transaction per use case.

    Inside `shared_reads()` (the web app wraps each request in it) every `read()` joins one
    read transaction, so a page that several use cases build reads in one transaction.
    """

    def __init__(self, url: str, lock_wait_ms: int = LOCK_WAIT_MS, **engine_kwargs):
        self.url = url
        self.engine = make_engine(url, lock_wait_ms, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._shared: ContextVar[_SharedRead | None] = ContextVar("shared_read", default=None)
        # Counted as the COMMIT goes to the database, after everything before it (the
        # session's flush, the audit chain's lock): up to then a failure saved nothing.
        event.listen(self.engine, "commit", self._commit_begun)
        # The attempt counters of the app using this database (careplan.services.throttle).
        self.throttle = None
        # Who tells people about their own account (careplan.reminders.account_notices).
        self.account_notices = None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that intends to write: commits on success, rolls back on error."""
        shared = self._shared.get()
        if shared is not None:
            shared.end()  # later reads start a new transaction that sees this write
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
        shared = self._shared.get()
        if shared is not None:
            yield shared.get()
            return
        # Closing (not rolling back) ends the transaction but keeps loaded values readable.
        with self._read_session() as session:
            yield session

    def _read_session(self) -> Session:
        session = self._sessions()
        if not self.is_sqlite:
            session.connection(execution_options=READ_OPTIONS)
        return session

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read transaction of its own that sees one snapshot of the whole database, for
        reads that must agree with each other (exports): SQLite's read transaction under
        WAL already is one; PostgreSQL needs repeatable read. It never joins the request's
        shared read, whose connection is already established at its own isolation level."""
        options = {} if self.is_sqlite else {"isolation_level": "REPEATABLE READ"}
        with self._sessions() as session:
            session.connection(execution_options=options)
            yield session

    def begin_shared_reads(self):
        """From now on in this context, reads share one transaction; returns a token for
        `end_shared_reads` (a context manager cannot span a request's before and after)."""
        return self._shared.set(_SharedRead(self._read_session))

    def _commit_begun(self, _conn) -> None:
        shared = self._shared.get()
        if shared is not None:
            shared.commits_begun += 1

    def commits_begun(self) -> int:
        """How many writes of the current unit of work (inside `shared_reads`) went as far as
        committing: with none, a failure saved nothing."""
        shared = self._shared.get()
        return 0 if shared is None else shared.commits_begun

    def end_shared_reads(self, token) -> None:
        shared = self._shared.get()
        if shared is not None:
            shared.end()
        self._shared.reset(token)

    @contextmanager
    def shared_reads(self) -> Iterator[None]:
        token = self.begin_shared_reads()
        try:
            yield
        finally:
            self.end_shared_reads(token)

    def dispose(self) -> None:
        self.engine.dispose()
