"""The database storage for `limits`: counts atomically across connections and processes on
SQLite and PostgreSQL, and a window starts again once it has ended."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from careplan.db.engine import Database
from careplan.db.models import RateLimitCounter
from careplan.db.rate_limits import DatabaseStorage


@pytest.fixture
def storage(db):
    return storage_from_string("careplan-database://", database=db)


def test_the_scheme_gives_the_database_storage(storage, db):
    assert isinstance(storage, DatabaseStorage) and storage.db is db and storage.check()


def test_increments_from_many_connections_at_once_are_all_counted(storage, database_url):
    """Four threads, each with its own engine (its own connections, as another process has),
    increment one key together: every increment is counted once and no two see one count."""
    seen: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def count_25():
        own = Database(database_url)
        try:
            mine = DatabaseStorage(database=own)
            start.wait()
            for _ in range(25):
                n = mine.incr("k", 60)
                with lock:
                    seen.append(n)
        finally:
            own.dispose()

    threads = [threading.Thread(target=count_25) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(seen) == list(range(1, 101))
    assert storage.get("k") == 100


def test_a_window_ends_and_starts_again(storage):
    now = [1_000_000.0]
    storage.clock = lambda: now[0]
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3 and storage.get_expiry("k") == 1_000_060.0
    now[0] += 59.9
    assert storage.incr("k", 60) == 4  # still the same window
    now[0] += 0.1
    assert storage.get("k") == 0 and storage.get_expiry("k") == now[0]
    assert storage.incr("k", 60) == 1  # a new window from this attempt
    assert storage.get_expiry("k") == now[0] + 60


def test_the_fixed_window_strategy_runs_on_it(storage):
    item = parse("3 per minute")
    windows = FixedWindowRateLimiter(storage)
    assert [windows.hit(item, "a") for _ in range(4)] == [True, True, True, False]
    assert windows.hit(item, "b")  # other identities have their own counts
    assert not windows.test(item, "a")
    windows.clear(item, "a")
    assert windows.test(item, "a")
    assert storage.reset() == 1  # only b's counter was left


def test_finished_windows_are_pruned(storage, db, monkeypatch):
    now = [2_000_000.0]
    storage.clock = lambda: now[0]
    for key in ("old-1", "old-2"):
        storage.incr(key, 10)
    now[0] += 60
    monkeypatch.setattr("careplan.db.rate_limits.PRUNE_CHANCE", 1.0)
    storage.incr("new", 10)
    with db.read() as s:
        assert s.scalars(sa.select(RateLimitCounter.key)).all() == ["new"]
