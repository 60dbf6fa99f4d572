"""Alembic environment: the database comes from the app's configuration (DATABASE_URL)."""

from __future__ import annotations

from alembic import context

from careplan.db.engine import make_engine
from careplan.db.models import Base

config = context.config


def _url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from careplan.paths import default_database_url

    return default_database_url()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite changes tables by re-creating them; with foreign keys enforced, dropping the
        # old copy of a referenced table would fail. The keys are checked again afterwards.
        # (The pragma only works outside a transaction, hence the driver connection.)
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        raw = connection.connection.dbapi_connection
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        raw.execute("PRAGMA foreign_keys=ON")
        if broken:
            raise RuntimeError(f"Migration left rows with broken foreign keys: {broken[:5]}")


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run against a database.")
run_migrations_online()
