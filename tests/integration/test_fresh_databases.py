"""The suite's own promise: every test starts from an empty database, whatever the last one
left behind. On SQLite the worker's database object is reused and its file replaced by a fresh
copy; a connection opened on the old file and left in the pool once showed a test the previous
test's rows (an account changing its password was signed out for no reason)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from careplan.db.models import User
from tests import factories
from tests.conftest import BACKEND


def _people(db) -> int:
    with db.read() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(User))


@pytest.mark.skipif(BACKEND != "sqlite", reason="the SQLite file is replaced for each test")
def test_a_connection_left_on_the_last_file_does_not_serve_the_next_test(db_template):
    url = db_template.fresh_url()
    db = db_template.database_for(url, 20_000)
    factories.bind(db)
    try:
        factories.ClientFactory()
    finally:
        factories.unbind()
    db.dispose()  # as a test's app does when it ends
    assert _people(db) == 1  # and then something reads: a connection on this file, pooled

    assert db_template.fresh_url() == url
    assert _people(db) == 0
    db.dispose()
