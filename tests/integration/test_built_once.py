"""Records built once per test process come back in every later test whatever order
PostgreSQL happened to store them in: a version must go in after the version it follows."""

from __future__ import annotations

import sqlalchemy as sa

from careplan.db.models import User
from tests import factories
from tests.built_once import _dump


def test_rows_are_kept_in_id_order_whatever_order_they_lie_in(db):
    first, second = factories.ClientFactory(), factories.ClientFactory()
    # An updated row is stored again after the others: a plain read then returns it last.
    with db.write() as s:
        s.execute(sa.update(User).where(User.id == first.id).values(display_name="Changed"))

    users = dict(_dump(db))[User.__table__]

    assert [row["id"] for row in users] == sorted([first.id, second.id])
