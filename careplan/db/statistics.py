"""Planner statistics. The supervisors' dashboard reads its first page through an index in the
page's order, and the planners only choose that path when they know how the rows are spread.

PostgreSQL's autovacuum keeps its statistics fresh. SQLite gathers none unless asked, and a
connection reads them only when it opens (pooled connections are recycled for that, see
careplan.db.engine), so the scheduler runs ANALYZE at start and then every few hours.
"""

from __future__ import annotations

import time

from sqlalchemy.engine import Engine

from .engine import WRITE


def refresh(engine: Engine) -> float | None:
    """Gather SQLite statistics for every table; returns the seconds it took, or None where
    the database keeps its own (PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        return None
    start = time.perf_counter()
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - start
