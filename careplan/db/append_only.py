"""Database triggers that make a table append-only (used by migrations)."""

from __future__ import annotations

from alembic import op

APPEND_ONLY_SQLITE = """
CREATE TRIGGER {table}_no_{op} BEFORE {OP} ON {table}
BEGIN SELECT RAISE(ABORT, '{table} rows are append-only'); END
"""

APPEND_ONLY_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION careplan_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME;
END $$ LANGUAGE plpgsql
"""


def append_only(table: str) -> None:
    """Versions and audit events are never changed or removed, whatever the code asks."""
    if op.get_bind().dialect.name == "sqlite":
        for name in ("update", "delete"):
            op.execute(APPEND_ONLY_SQLITE.format(table=table, op=name, OP=name.upper()))
    else:
        op.execute(APPEND_ONLY_PG_FUNCTION)
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION careplan_append_only()"
        )


def drop_append_only_function() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS careplan_append_only()")
