"""Records built once per test process through the factories and services, then copied row
by row into each later test's fresh database: the same people and records, at a fraction of
the cost of building them again for each of a few hundred cases.

Only rows are copied: a world built this way must not need files in the instance folder
(which each test empties). Each test gets its own shallow copy of what was built, so a test
may point one of its fields elsewhere, but not change the objects inside it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa

from careplan.db.models import Base

T = TypeVar("T")

_BUILT: dict[str, tuple[object, list]] = {}


def built_once(name: str, db, build: Callable[[], T]) -> T:
    """What `build()` returns, built in the first test that asks for `name` and restored,
    row by row, into the database of each test after it."""
    if name not in _BUILT:
        value = build()
        _BUILT[name] = (value, _dump(db))
        return copy.copy(value)
    value, rows = _BUILT[name]
    _restore(db, rows)
    return copy.copy(value)  # type: ignore[return-value]


def _dump(db) -> list[tuple[sa.Table, list[dict]]]:
    # In id order: a version's parent must go in before it, and PostgreSQL returns rows in the
    # order they lie on disk, which changes once a row is updated or space is reused.
    with db.read() as s:
        return [
            (
                table,
                [
                    dict(row)
                    for row in s.execute(
                        sa.select(table).order_by(*table.primary_key.columns)
                    ).mappings()
                ],
            )
            for table in Base.metadata.sorted_tables
        ]


def _restore(db, rows: list[tuple[sa.Table, list[dict]]]) -> None:
    with db.write() as s:
        for table, table_rows in rows:
            assert s.scalar(sa.select(sa.func.count()).select_from(table)) == 0, table.name
            if table_rows:
                s.execute(table.insert(), table_rows)
        if s.get_bind().dialect.name == "postgresql":
            # Rows came with their ids: move each id sequence past them.
            for table, table_rows in rows:
                if table_rows and "id" in table.c and table.c.id.primary_key:
                    s.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f'(SELECT max(id) FROM "{table.name}"))'
                        )
                    )
