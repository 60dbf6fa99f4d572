"""SQLite runs in WAL mode with a busy timeout, and writers take the write lock up front.

Without BEGIN IMMEDIATE, two transactions that both read and then write fail with "database is
locked" no matter how long the busy timeout is: the second can never upgrade its read to a
write, because its snapshot is already stale. The control test below shows that failure, so
the tests around it are known to be able to see it.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from careplan.db.engine import Database
from careplan.db.models import Document
from tests.conftest import BACKEND
from tests.factories import DocumentFactory

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite locking only")

HOLD = 0.3  # seconds a writer keeps its transaction open while others try to start theirs


def _file(database_url: str) -> str:
    return database_url.removeprefix("sqlite:///")


@pytest.fixture
def document_id(app) -> int:
    return DocumentFactory().id


def run_together(n: int, body) -> list[BaseException]:
    """Start n threads at the same moment; return what they raised."""
    barrier = threading.Barrier(n, timeout=30)
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait()
            body(i)
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


def read_modify_write(session, document_id: int, pause: float) -> None:
    """Read a value, think for a moment, write it back plus one: a lost update if unguarded."""
    head = session.scalar(sa.select(Document.head_number).where(Document.id == document_id))
    time.sleep(pause)
    session.execute(
        sa.update(Document).where(Document.id == document_id).values(head_number=head + 1)
    )


def head_of(db: Database, document_id: int) -> int:
    with db.read() as s:
        return s.scalar(sa.select(Document.head_number).where(Document.id == document_id))


# --- configuration -------------------------------------------------------------------------


def test_every_connection_uses_wal_with_the_configured_busy_timeout_and_full_sync(app, db):
    timeout = app.config["LOCK_WAIT_MS"]
    assert timeout >= 1000
    sessions = [db._sessions() for _ in range(3)]  # several pooled connections at once
    try:
        for s in sessions:
            pragma = s.connection().exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA busy_timeout").scalar() == timeout
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA synchronous").scalar() == 2  # FULL: each commit is on disk
    finally:
        for s in sessions:
            s.close()


def test_a_write_transaction_holds_the_write_lock_from_its_start(db, database_url):
    """BEGIN IMMEDIATE: the lock is taken on entering db.write(), before any statement."""
    other = sqlite3.connect(_file(database_url), timeout=0, isolation_level=None)
    try:
        with db.write(), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # released once the write transaction ends
        other.execute("ROLLBACK")
    finally:
        other.close()


# --- writers wait for each other instead of failing ----------------------------------------


def test_two_writers_started_together_both_succeed(db, document_id):
    def writer(_i: int) -> None:
        with db.write() as s:
            read_modify_write(s, document_id, HOLD)

    started = time.perf_counter()
    errors = run_together(2, writer)
    elapsed = time.perf_counter() - started
    assert errors == []
    assert head_of(db, document_id) == 2  # serialised: neither update was lost
    assert elapsed >= 2 * HOLD  # the second really waited for the first


def test_many_writers_started_together_all_succeed(db, document_id):
    threads, rounds = 8, 25

    def writer(_i: int) -> None:
        for _ in range(rounds):
            with db.write() as s:
                read_modify_write(s, document_id, 0)

    assert run_together(threads, writer) == []
    assert head_of(db, document_id) == threads * rounds


def test_control_deferred_transactions_do_fail_with_database_is_locked(db, document_id):
    """Without the write lock up front (plain BEGIN, as db.read() uses), the same two
    read-then-write transactions collide; this is what the tests above guard against."""

    def writer(_i: int) -> None:
        with db.read() as s:
            read_modify_write(s, document_id, HOLD)
            s.commit()

    errors = run_together(2, writer)
    assert len(errors) == 1
    assert isinstance(errors[0], OperationalError)
    assert "database is locked" in str(errors[0])
    assert head_of(db, document_id) == 1


# --- readers are not blocked by a writer ---------------------------------------------------


def test_a_reader_is_not_blocked_by_an_open_write_transaction(db, database_url, document_id):
    written, reader_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with db.write() as s:
                s.execute(
                    sa.update(Document).where(Document.id == document_id).values(head_number=7)
                )
                s.flush()
                written.set()
                assert reader_done.wait(timeout=10), "the reader never finished"
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            written.set()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    assert written.wait(timeout=10)
    # A reader that would give up almost at once if it had to wait for a lock.
    impatient = Database(database_url, lock_wait_ms=50)
    try:
        started = time.perf_counter()
        seen = head_of(impatient, document_id)
        elapsed = time.perf_counter() - started
    finally:
        reader_done.set()
        thread.join(timeout=10)
    try:
        assert errors == []
        assert seen == 0  # the last committed value, not the writer's unfinished change
        assert elapsed < 1.0
        assert head_of(impatient, document_id) == 7  # and the change once it is committed
    finally:
        impatient.dispose()
