"""Pooled connections outlive a server that ends them: the next use gets a new one, not an
error page."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import text

from careplan.db.engine import Database
from tests.conftest import BACKEND, PG_SERVER

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql", reason="a PostgreSQL server ending its connections"
)


def _end_backend(pid: int) -> None:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
        deadline = time.monotonic() + 10
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            assert time.monotonic() < deadline, "the server did not end the connection"
            time.sleep(0.02)


@pytest.mark.parametrize("use", ["read", "write"])
def test_a_connection_the_server_ended_while_idle_is_replaced_before_use(database_url, use):
    db = Database(database_url)
    try:
        with db.read() as s:
            ended = s.scalar(text("SELECT pg_backend_pid()"))
        _end_backend(ended)

        with getattr(db, use)() as s:
            assert s.scalar(text("SELECT pg_backend_pid()")) != ended
        assert db.engine.pool.checkedout() == 0
    finally:
        db.dispose()
