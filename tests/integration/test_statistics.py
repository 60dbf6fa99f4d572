"""Planner statistics (careplan.db.statistics): the scheduler gathers them on SQLite, and the
connection pool is recycled so every process reads them; PostgreSQL keeps its own."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from careplan.db import statistics
from careplan.reminders.scheduler import JOBS, context_for
from tests.conftest import BACKEND
from tests.factories import Circle, make_plan


def test_the_scheduler_gathers_statistics_of_the_dashboards_indexes(app, db, caplog):
    circle = Circle()
    for _ in range(3):
        make_plan(circle.key_worker, circle.client)
    job = next(j for j in JOBS if j.name == "db.statistics")
    with caplog.at_level(logging.INFO, "careplan.scheduler"), app.app_context():
        job.run(context_for(app))
    if BACKEND == "sqlite":
        with db.read() as s:
            analysed = dict(s.execute(sa.text("SELECT idx, stat FROM sqlite_stat1")).all())
        # Three documents, all with the same (empty) review date.
        assert analysed["ix_documents_review_order"].split()[:2] == ["3", "3"]
        assert "ix_users_role_display_name" in analysed
        assert "Database statistics gathered" in caplog.text
    else:
        assert statistics.refresh(db.engine) is None
        assert "Database statistics" not in caplog.text


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite connections read statistics once")
def test_pooled_sqlite_connections_are_replaced_within_the_hour(db):
    assert db.engine.pool._recycle == 3600
