"""Waking another process when a transaction commits: PostgreSQL LISTEN/NOTIFY, or on SQLite a
short poll of the database's change counter.

A writer calls `notify(session, channel)` inside its transaction; a waiting process holds a
`Listener` and calls `wait(timeout)`, which returns True soon after a commit that may concern
it and False when the timeout passes. Either way the waiter then looks at the database itself:
a wake-up says "look now", never what to do, so a lost or spurious one costs at most a poll.

- PostgreSQL delivers NOTIFY only when (and if) the transaction commits, to every session that
  LISTENs on the channel, from any machine.
- SQLite has no messages between processes, but `PRAGMA data_version` on a connection changes
  whenever another connection commits. Reading it touches only the WAL index in shared
  memory, so polling it every few milliseconds costs next to nothing. It wakes on every
  commit, so the waiter checks cheaply whether anything concerns it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

PDF_JOBS = "careplan_pdf_jobs"
SQLITE_POLL_SECONDS = 0.02


def notify(session: Session, channel: str) -> None:
    """Wake whoever listens on `channel` when this session's transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})
    # SQLite: the commit itself moves the change counter the listener watches.


class Listener:
    def wait(self, timeout: float) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        pass


class PostgresListener(Listener):
    def __init__(self, url: str, channel: str):
        import psycopg

        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.conn = psycopg.connect(dsn, autocommit=True, application_name="careplan-listener")
        self.conn.execute(f'LISTEN "{channel}"')

    def wait(self, timeout: float) -> bool:
        woke = False
        for _ in self.conn.notifies(timeout=timeout, stop_after=1):
            woke = True
        return woke

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()


class SqliteListener(Listener):
    def __init__(self, path: str, poll_seconds: float = SQLITE_POLL_SECONDS):
        self.poll_seconds = poll_seconds
        # Autocommit: data_version is only meaningful between transactions.
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.version = self._version()

    def _version(self) -> int:
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            version = self._version()
            if version != self.version:
                self.version = version
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(self.poll_seconds, remaining))

    def close(self) -> None:
        self.conn.close()


def listener(database_url: str, channel: str) -> Listener:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresListener(database_url, channel)
    if not url.database or url.database == ":memory:":
        raise ValueError("an in-memory SQLite database has no other processes to wake")
    return SqliteListener(url.database)
