"""Database triggers that make a table append-only (used by migrations).

A row of an append-only table is never changed or removed, whatever the code or a person with
a database connection asks: UPDATE and DELETE are refused (`append_only`, the first migrations),
and so are the ways around them (`refuse_overwrite`, migration 0008): on SQLite an INSERT that
would replace an existing row (INSERT OR REPLACE, REPLACE INTO), on PostgreSQL TRUNCATE.
A new append-only table needs both.
"""

from __future__ import annotations

from alembic import op

# The README's list: "Versions, signatures, comments, review confirmations, crisis alerts,
# responses to them and audit events".
APPEND_ONLY_TABLES = (
    "versions",
    "signatures",
    "comments",
    "review_confirmations",
    "crisis_alerts",
    "crisis_responses",
    "audit_events",
)

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

# SQLite's REPLACE removes the rows in its way without firing DELETE triggers (unless the
# connection turned recursive_triggers on), so refuse any INSERT that collides with a row
# already there: on the id or on any other unique key. A plain INSERT with such a collision
# would fail anyway; this only changes its message.
REFUSE_REPLACE_SQLITE = """
CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table}
WHEN {collides}
BEGIN SELECT RAISE(ABORT, '{table} rows are append-only: this would replace a row'); END
"""


def append_only(table: str) -> None:
    """Refuse UPDATE and DELETE on the table."""
    if op.get_bind().dialect.name == "sqlite":
        for name in ("update", "delete"):
            op.execute(APPEND_ONLY_SQLITE.format(table=table, op=name, OP=name.upper()))
    else:
        op.execute(APPEND_ONLY_PG_FUNCTION)
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION careplan_append_only()"
        )


def refuse_overwrite(table: str, unique_keys: tuple[tuple[str, ...], ...]) -> None:
    """Refuse what removes rows without an UPDATE or DELETE: SQLite REPLACE (on `id` or any of
    `unique_keys`, the table's other unique column sets) and PostgreSQL TRUNCATE."""
    if op.get_bind().dialect.name == "sqlite":
        collides = " OR ".join(
            f"EXISTS (SELECT 1 FROM {table} WHERE "
            + " AND ".join(f"{column} = NEW.{column}" for column in key)
            + ")"
            for key in (("id",), *unique_keys)
        )
        op.execute(REFUSE_REPLACE_SQLITE.format(table=table, collides=collides))
    else:
        op.execute(APPEND_ONLY_PG_FUNCTION)
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION careplan_append_only()"
        )


def allow_overwrite(table: str) -> None:
    """Undo refuse_overwrite (downgrade)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")


def drop_append_only_function() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS careplan_append_only()")
