"""How SQLite reads the supervisors' dashboard's first page at a few thousand documents: in the
page's order, through an index, rather than sorting every document in scope."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bench import supervision as bench
from careplan.db import migrate
from careplan.db import statistics as db_statistics
from careplan.db.engine import Database, make_engine
from careplan.domain.supervision import DashState, Filters
from careplan.services import supervision
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's planner")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('plans') / 'dashboard.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    bench.seed(engine, 3_000)
    db_statistics.refresh(engine)  # as the scheduler does
    engine.dispose()
    db = Database(url)
    yield db
    db.dispose()


def page_plan(db: Database, filters: Filters, which: int = 0) -> list[str]:
    """The plan of the page's statement (`which` 1: the count of overdue reviews after it)."""
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM documents" in statement:
            statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        supervision.dashboard(db, bench.ACTOR, filters, bench.TODAY)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    assert len(statements) == 2
    statement, parameters = statements[which]
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return [row[-1] for row in rows]


def documents_part(plan: list[str]) -> list[str]:
    """The lines that read the documents, up to where the part's rows are merged."""
    start = next(i for i, line in enumerate(plan) if "anon_1" in line or "documents" in line)
    end = next((i for i, line in enumerate(plan) if line == "SCAN anon_1"), len(plan))
    return plan[start:end]


def test_a_page_sorted_by_client_name_reads_the_clients_in_name_order(seeded):
    part = documents_part(page_plan(seeded, Filters(sort="client")))
    assert any("ix_users_role_display_name" in line for line in part), part
    assert "USE TEMP B-TREE FOR ORDER BY" not in part, part


@pytest.mark.parametrize("state", [None, DashState.NEVER_AGREED])
def test_a_page_in_review_date_order_reads_the_review_dates_index(seeded, state):
    part = documents_part(page_plan(seeded, Filters(state=state)))
    assert any("ix_documents_review_order" in line for line in part), part
    assert "USE TEMP B-TREE FOR ORDER BY" not in part, part


def clients_part(plan: list[str]) -> list[str]:
    """The lines that read the clients without documents, up to where they are merged."""
    start = next(i for i, line in enumerate(plan) if line == "CO-ROUTINE anon_2")
    end = next(i for i, line in enumerate(plan) if line == "SCAN anon_2")
    return plan[start:end]


@pytest.mark.parametrize("sort", ["review", "signed"])
def test_clients_without_documents_are_read_in_name_order_not_sorted(seeded, sort):
    # Every document column is the same among them (none), so only their names order them:
    # sorting by those constants made SQLite sort every such client for one page.
    part = clients_part(page_plan(seeded, Filters(sort=sort)))
    assert any("ix_users_role_documents_display_name" in line for line in part), part
    assert "USE TEMP B-TREE FOR ORDER BY" not in part, part


def test_the_overdue_reviews_are_counted_through_the_review_dates_index(seeded):
    """Up to supervision.OVERDUE_COUNTED of them, so the page costs the same at any size."""
    plan = page_plan(seeded, Filters(), which=1)
    # Only the documents before today, through an index on the review date.
    assert any(
        line.startswith("SEARCH documents USING INDEX") and "(next_review_on<?)" in line
        for line in plan
    ), plan
    # Nothing else read whole: only the counted rows themselves (at most OVERDUE_COUNTED).
    assert [line for line in plan if line.startswith("SCAN")] == ["SCAN anon_1"], plan
