"""The models and the migrations describe the same schema, and the migrations run both ways.

Each test gets its own empty database (a new SQLite file, or a new PostgreSQL database), so
migrating up and down never disturbs the shared, already-migrated test database.
"""

from __future__ import annotations

import re
import uuid
import warnings
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DatabaseError

from careplan.db import migrate
from careplan.db.append_only import APPEND_ONLY_TABLES as APPEND_ONLY
from careplan.db.engine import make_engine
from careplan.db.models import Base
from careplan.paths import PROJECT_ROOT
from tests.conftest import BACKEND, PG_SERVER


def _admin(sql: str) -> None:
    engine = sa.create_engine(
        f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with engine.connect() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


@pytest.fixture
def empty_url(tmp_path):
    """A brand-new database with nothing in it."""
    if BACKEND == "postgresql":
        name = f"careplan_migrations_{uuid.uuid4().hex[:10]}"
        _admin(f'CREATE DATABASE "{name}"')
        yield f"{PG_SERVER}/{name}"
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"


@pytest.fixture
def engine_for():
    engines = []

    def make(url):
        engine = make_engine(url)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


def differences(engine, metadata=Base.metadata) -> list:
    """What autogenerate would write to bring the database in line with the models."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        with expression_indexes_unreflected():
            return compare_metadata(context, metadata)


@contextmanager
def expression_indexes_unreflected():
    """SQLite's reflection skips expression indexes (with a warning, an error in this suite);
    index_names_in_database checks them by name instead."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        yield


def _normalise(predicate) -> str:
    text = getattr(predicate, "text", None) or str(predicate)
    return re.sub(r"[\s()]+", " ", text).strip().lower()


def partial_index_predicates_in_models(dialect: str, metadata=Base.metadata) -> dict[str, str]:
    found = {}
    for table in metadata.tables.values():
        for index in table.indexes:
            where = index.dialect_options[dialect].get("where")
            if where is not None:
                found[index.name] = _normalise(where)
    return found


def partial_index_predicates_in_database(engine) -> dict[str, str]:
    inspector = sa.inspect(engine)
    key = f"{engine.dialect.name}_where"
    found = {}
    for table in inspector.get_table_names():
        with expression_indexes_unreflected():
            indexes = inspector.get_indexes(table)
        for index in indexes:
            where = index.get("dialect_options", {}).get(key)
            if where is not None:
                found[index["name"]] = _normalise(where)
    return found


def index_names_in_models(metadata=Base.metadata) -> set[tuple[str, str]]:
    return {(t.name, i.name) for t in metadata.tables.values() for i in t.indexes}


def index_names_in_database(engine) -> set[tuple[str, str]]:
    """Every named index, expression indexes included (autogenerate skips those on SQLite)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' "
                "AND name NOT LIKE 'sqlite_autoindex_%' AND tbl_name != 'alembic_version'"
            )
            return {(table, name) for table, name in rows}
    inspector = sa.inspect(engine)
    return {
        (table, index["name"])
        for table in inspector.get_table_names()
        if table != "alembic_version"
        for index in inspector.get_indexes(table)
        # Unique constraints appear as indexes too; the comparison above covers them.
        if not index.get("duplicates_constraint")
    }


def user_tables(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def triggers(engine) -> set[tuple[str, str]]:
    """(table, trigger name) for every trigger in the database."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"
            )
        else:
            rows = conn.exec_driver_sql(
                "SELECT c.relname, t.tgname FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"
            )
        return {(table, name) for table, name in rows}


# --- models and migrations agree -----------------------------------------------------------


def test_upgrading_an_empty_database_gives_exactly_the_models(empty_url, engine_for):
    migrate.upgrade(empty_url)
    engine = engine_for(empty_url)
    assert differences(engine) == []
    # Autogenerate does not look at partial-index predicates; compare them here instead.
    assert partial_index_predicates_in_database(engine) == partial_index_predicates_in_models(
        engine.dialect.name
    )
    assert user_tables(engine) == set(Base.metadata.tables)
    assert index_names_in_database(engine) == index_names_in_models()


def test_the_comparison_would_notice_a_drifted_model(empty_url, engine_for):
    """Guards the test above: an empty diff must come from agreement, not from blindness."""
    migrate.upgrade(empty_url)
    engine = engine_for(empty_url)
    drifted = sa.MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(drifted)
    users, versions = drifted.tables["users"], drifted.tables["versions"]
    users.c.active.server_default = sa.schema.DefaultClause(sa.text("false"))
    versions.c.content_hash.type = sa.String(32)
    versions.c.change_note.nullable = True
    for constraint in list(versions.constraints):
        if getattr(constraint, "name", None) == "uq_versions_document_number":
            versions.constraints.remove(constraint)
    open_link = next(i for i in drifted.tables["caseload_links"].indexes if i.name.startswith("uq"))
    open_link.dialect_options[engine.dialect.name]["where"] = sa.text("ended_at IS NOT NULL")

    review_order = next(
        i for i in drifted.tables["documents"].indexes if i.name == "ix_documents_review_order"
    )
    drifted.tables["documents"].indexes.discard(review_order)

    diff = differences(engine, drifted)
    assert index_names_in_database(engine) - index_names_in_models(drifted) == {
        ("documents", "ix_documents_review_order")
    }
    flat = [d for entry in diff for d in (entry if isinstance(entry, list) else [entry])]
    kinds = {(d[0], d[3]) if d[0].startswith("modify") else (d[0],) for d in flat}
    assert ("modify_default", "active") in kinds
    assert ("modify_type", "content_hash") in kinds
    assert ("modify_nullable", "change_note") in kinds
    assert ("remove_constraint",) in kinds
    # The partial-index check catches what autogenerate cannot.
    predicates = partial_index_predicates_in_models(engine.dialect.name, drifted)
    assert predicates != partial_index_predicates_in_database(engine)


def test_the_database_is_at_the_single_head_revision(empty_url, engine_for):
    migrate.upgrade(empty_url)
    script = ScriptDirectory.from_config(migrate.alembic_config(empty_url))
    heads = script.get_heads()
    assert len(heads) == 1, f"migrations have branched: {heads}"
    with engine_for(empty_url).connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == tuple(heads)


# --- migrations run down and up again ------------------------------------------------------


def test_downgrade_to_base_and_upgrade_again(empty_url, engine_for):
    config = migrate.alembic_config(empty_url)
    migrate.upgrade(empty_url)
    command.downgrade(config, "base")
    engine = engine_for(empty_url)
    assert user_tables(engine) == set()
    assert triggers(engine) == set()
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == ()

    migrate.upgrade(empty_url)
    engine.dispose()  # forget cached schema details from before the round trip
    assert user_tables(engine) == set(Base.metadata.tables)
    assert differences(engine) == []
    assert {table for table, _ in triggers(engine)} >= set(APPEND_ONLY)


def test_each_migration_steps_down_and_up_one_at_a_time(empty_url, engine_for):
    config = migrate.alembic_config(empty_url)
    script = ScriptDirectory.from_config(config)
    revisions = [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]
    for revision in revisions:
        migrate.upgrade(empty_url, revision)
        command.downgrade(config, "-1")
        migrate.upgrade(empty_url, revision)
    engine = engine_for(empty_url)
    assert differences(engine) == []


def test_downgrade_to_base_and_upgrade_again_with_records_in_place(empty_url, engine_for):
    migrate.upgrade(empty_url)
    populate(engine_for(empty_url))
    command.downgrade(migrate.alembic_config(empty_url), "base")
    migrate.upgrade(empty_url)
    engine = engine_for(empty_url)
    assert differences(engine) == []


@pytest.mark.skipif(BACKEND != "postgresql", reason="SQLite has no stored functions")
def test_downgrade_to_base_leaves_no_functions_behind(empty_url, engine_for):
    migrate.upgrade(empty_url)
    command.downgrade(migrate.alembic_config(empty_url), "base")
    with engine_for(empty_url).connect() as conn:
        functions = conn.exec_driver_sql(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public'"
        ).scalars()
        assert list(functions) == []


# --- versions, signatures, comments, review confirmations and audit events are append-only --


def populate(engine) -> None:
    """One client, one document with one version, and one row of each append-only table."""
    t = Base.metadata.tables
    with engine.begin() as conn:
        user = conn.execute(
            t["users"]
            .insert()
            .values(
                email="a@example.org",
                display_name="A",
                role="client",
                password_hash="x",
                created_at=sa.func.now(),
            )
            .returning(t["users"].c.id)
        ).scalar_one()
        doc = conn.execute(
            t["documents"]
            .insert()
            .values(
                client_id=user,
                kind="care_plan",
                title="Care plan",
                head_number=1,
                created_by_id=user,
                created_at=sa.func.now(),
                updated_at=sa.func.now(),
            )
            .returning(t["documents"].c.id)
        ).scalar_one()
        version = conn.execute(
            t["versions"]
            .insert()
            .values(
                document_id=doc,
                number=1,
                author_id=user,
                created_at=sa.func.now(),
                change_note="",
                content={},
                content_hash="0" * 64,
            )
            .returning(t["versions"].c.id)
        ).scalar_one()
        conn.execute(
            t["comments"]
            .insert()
            .values(
                document_id=doc,
                version_number=1,
                section_key="goals",
                author_id=user,
                created_at=sa.func.now(),
                body="A comment",
            )
        )
        conn.execute(
            t["signatures"]
            .insert()
            .values(
                document_id=doc,
                version_id=version,
                version_number=1,
                content_hash="0" * 64,
                user_id=user,
                role="client",
                outcome="signed",
                comment="",
                signed_at=sa.func.now(),
                method="password re-entered",
                ip="",
            )
        )
        conn.execute(
            t["review_confirmations"]
            .insert()
            .values(
                document_id=doc,
                cycle=1,
                version_number=1,
                content_hash="0" * 64,
                user_id=user,
                role="client",
                confirmed_at=sa.func.now(),
                method="password re-entered",
            )
        )
        alert = conn.execute(
            t["crisis_alerts"]
            .insert()
            .values(
                document_id=doc,
                client_id=user,
                kind="contingency",
                raised_by_id=user,
                raised_at=sa.func.now(),
                respond_by=sa.func.now(),
            )
            .returning(t["crisis_alerts"].c.id)
        ).scalar_one()
        conn.execute(
            t["crisis_responses"]
            .insert()
            .values(
                alert_id=alert,
                user_id=user,
                role="key_worker",
                responded_at=sa.func.now(),
                note="On my way",
            )
        )
        conn.execute(
            t["audit_events"]
            .insert()
            .values(
                at=sa.func.now(),
                actor_role="system",
                action="test",
                object_type="",
                ip="",
                detail={},
                prev_hash="0" * 64,
                hash="1" * 64,
            )
        )


@pytest.fixture
def migrated(empty_url, engine_for):
    migrate.upgrade(empty_url)
    engine = engine_for(empty_url)
    populate(engine)
    return engine


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """One migrated database with a row in each append-only table, shared by the tests below:
    each of them checks that the refused statement left every row as it was."""
    if BACKEND == "postgresql":
        name = f"careplan_append_only_{uuid.uuid4().hex[:10]}"
        _admin(f'CREATE DATABASE "{name}"')
        url = f"{PG_SERVER}/{name}"
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('append_only') / 'guarded.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    populate(engine)
    yield engine
    engine.dispose()
    if BACKEND == "postgresql":
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def all_rows(engine, table: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY id")]


def assert_refused(engine, table: str, statement: str) -> None:
    before = all_rows(engine, table)
    assert len(before) == 1
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql(statement.format(table=table))
    assert all_rows(engine, table) == before


def test_append_only_triggers_exist(migrated):
    guards = (
        ("no_update", "no_delete", "no_replace")
        if BACKEND == "sqlite"
        else (
            "append_only",
            "no_truncate",
        )
    )
    expected = {(table, f"{table}_{guard}") for table in APPEND_ONLY for guard in guards}
    assert triggers(migrated) == expected


def test_the_append_only_tables_are_the_ones_the_readme_names():
    readme = " ".join((PROJECT_ROOT / "README.md").read_text().split())
    assert (
        "Versions, signatures, comments, review confirmations, crisis alerts, responses to them "
        "and audit events are append-only" in readme
    )
    assert APPEND_ONLY == (
        "versions",
        "signatures",
        "comments",
        "review_confirmations",
        "crisis_alerts",
        "crisis_responses",
        "audit_events",
    )


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize("statement", ["UPDATE {table} SET id = id", "DELETE FROM {table}"])
def test_append_only_rows_cannot_be_changed_or_removed(guarded, table, statement):
    assert_refused(guarded, table, statement)


# Ways to remove or rewrite a row without an UPDATE or DELETE statement.
SQLITE_OVERWRITES = {
    "insert or replace": "INSERT OR REPLACE INTO {table} SELECT * FROM {table}",
    "replace into": "REPLACE INTO {table} SELECT * FROM {table}",
    "upsert": (
        "INSERT INTO {table} SELECT * FROM {table} WHERE true "
        "ON CONFLICT (id) DO UPDATE SET id = excluded.id"
    ),
}
PG_OVERWRITES = {
    "truncate": "TRUNCATE {table} CASCADE",  # CASCADE: versions are referenced
    "truncate restart identity": "TRUNCATE {table} RESTART IDENTITY CASCADE",
    "truncate cascading from users": "TRUNCATE users CASCADE",
    "upsert": (
        "INSERT INTO {table} SELECT * FROM {table} ON CONFLICT (id) DO UPDATE SET id = excluded.id"
    ),
}
OVERWRITES = SQLITE_OVERWRITES if BACKEND == "sqlite" else PG_OVERWRITES


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize("statement", list(OVERWRITES.values()), ids=list(OVERWRITES))
def test_append_only_rows_cannot_be_replaced_or_truncated(guarded, table, statement):
    assert_refused(guarded, table, statement)


def _has_unique_keys_besides_id(table: str) -> bool:
    t = Base.metadata.tables[table]
    return any(isinstance(c, sa.UniqueConstraint) for c in t.constraints) or any(
        c.unique for c in t.columns
    )


def test_which_append_only_tables_have_other_unique_keys():
    assert [t for t in APPEND_ONLY if _has_unique_keys_besides_id(t)] == [
        "versions",  # (document, number) and parent
        "review_confirmations",  # (document, cycle, person)
        "audit_events",  # hash
    ]


@pytest.mark.skipif(BACKEND != "sqlite", reason="REPLACE is SQLite's")
@pytest.mark.parametrize("table", ["versions", "review_confirmations", "audit_events"])
@pytest.mark.parametrize("pragma", ["app's connection", "plain connection"])
def test_a_replace_on_another_unique_key_is_refused(guarded, table, pragma):
    """A new id, but the same (document, number), hash or person: REPLACE would delete the row
    it collides with. Refused on the app's connections (recursive_triggers) and on a plain
    connection, as the sqlite3 shell opens it, by the trigger."""
    engine = guarded if pragma == "app's connection" else sa.create_engine(guarded.url)
    with engine.connect() as conn:
        recursive = conn.exec_driver_sql("PRAGMA recursive_triggers").scalar_one()
    assert recursive == (1 if pragma == "app's connection" else 0)
    columns = ", ".join(c.name for c in Base.metadata.tables[table].columns if c.name != "id")
    statement = f"INSERT OR REPLACE INTO {{table}} ({columns}) SELECT {columns} FROM {{table}}"
    assert_refused(engine, table, statement)
    assert_refused(engine, table, SQLITE_OVERWRITES["insert or replace"])
    if engine is not guarded:
        engine.dispose()


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite only")
def test_the_app_turns_recursive_triggers_on_for_every_connection(guarded):
    for _ in range(2):
        with guarded.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA recursive_triggers").scalar_one() == 1
        guarded.dispose()


def test_appending_still_works(migrated):
    """The guards refuse overwriting, not appending: a new row with new keys goes in."""
    with migrated.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO comments (document_id, version_number, section_key, author_id, "
            "created_at, body) SELECT document_id, 1, 'goals', author_id, created_at, 'More' "
            "FROM comments"
        )
    assert len(all_rows(migrated, "comments")) == 2


def test_reviews_already_logged_go_under_the_client_s_latest_key_worker(empty_url, engine_for):
    """0025 fills in who held the client for reviews logged before it, as the chart counted
    them then; going back down below 0024 drops reviews never done, which the older schema
    cannot hold, and keeps the others."""
    migrate.upgrade(empty_url, "0024")
    engine = engine_for(empty_url)
    with engine.begin() as conn:

        def user(email: str, role: str) -> int:
            return conn.execute(
                sa.text(
                    "INSERT INTO users (email, display_name, role, password_hash, active, "
                    "created_at, session_epoch) VALUES (:e, :e, :r, 'x', true, "
                    "CURRENT_TIMESTAMP, 0) RETURNING id"
                ),
                {"e": email, "r": role},
            ).scalar_one()

        client, first, second = (
            user("c@example.org", "client"),
            user("k1@example.org", "key_worker"),
            user("k2@example.org", "key_worker"),
        )
        for worker, ended in ((first, "CURRENT_TIMESTAMP"), (second, "NULL")):
            conn.execute(
                sa.text(
                    "INSERT INTO caseload_links (client_id, key_worker_id, started_at, ended_at) "
                    f"VALUES (:c, :w, CURRENT_TIMESTAMP, {ended})"
                ),
                {"c": client, "w": worker},
            )
        doc = conn.execute(
            sa.text(
                "INSERT INTO documents (client_id, kind, title, head_number, created_by_id, "
                "created_at, updated_at, signoff_state, review_cycle) VALUES (:c, 'care_plan', "
                "'Care plan', 0, :c, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'nothing_written', 0) "
                "RETURNING id"
            ),
            {"c": client},
        ).scalar_one()
        for done in ("'2026-03-01'", "NULL"):
            conn.execute(
                sa.text(
                    "INSERT INTO review_log (document_id, client_id, due_on, done_on) "
                    f"VALUES (:d, :c, '2026-03-02', {done})"
                ),
                {"d": doc, "c": client},
            )
    migrate.upgrade(empty_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT key_worker_id FROM review_log")).scalars().all()
    assert rows == [second, second]
    command.downgrade(migrate.alembic_config(empty_url), "0023")
    with engine.connect() as conn:
        left = conn.execute(sa.text("SELECT due_on, done_on FROM review_log")).all()
    assert [str(d) for row in left for d in row] == ["2026-03-02", "2026-03-01"]


def _insert(conn, sql: str, **values) -> int:
    return conn.execute(sa.text(sql + " RETURNING id"), values).scalar_one()


def _team_client_and_key_worker(conn) -> tuple[int, int, int]:
    """A team, a client and a key worker in that team, by plain SQL (the models may be newer
    than the schema under test)."""
    team = _insert(conn, "INSERT INTO teams (name, created_at) VALUES ('North', CURRENT_TIMESTAMP)")
    client, worker = (
        _insert(
            conn,
            "INSERT INTO users (email, display_name, role, password_hash, active, created_at, "
            "session_epoch, team_id) VALUES (:e, :e, :r, 'x', true, CURRENT_TIMESTAMP, 0, :t)",
            e=email,
            r=role,
            t=t,
        )
        for email, role, t in (("c@example.org", "client", None), ("k@x.org", "key_worker", team))
    )
    return team, client, worker


def test_reviews_already_logged_go_under_their_key_worker_s_team(empty_url, engine_for):
    """0026 fills in the team of the key worker a review was logged under (their team now, as
    the chart counted it); a review logged under nobody stays under no team."""
    migrate.upgrade(empty_url, "0025")
    engine = engine_for(empty_url)
    with engine.begin() as conn:
        team, client, worker = _team_client_and_key_worker(conn)
        doc = _insert(
            conn,
            "INSERT INTO documents (client_id, kind, title, head_number, created_by_id, "
            "created_at, updated_at, signoff_state, review_cycle) VALUES (:c, 'care_plan', "
            "'Care plan', 0, :c, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'nothing_written', 0)",
            c=client,
        )
        for held_by in (worker, None):
            _insert(
                conn,
                "INSERT INTO review_log (document_id, client_id, due_on, done_on, key_worker_id) "
                "VALUES (:d, :c, '2026-03-02', '2026-03-01', :k)",
                d=doc,
                c=client,
                k=held_by,
            )
    migrate.upgrade(empty_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT key_worker_id, team_id FROM review_log ORDER BY id")
        ).all()
    assert [tuple(r) for r in rows] == [(worker, team), (None, None)]
    command.downgrade(migrate.alembic_config(empty_url), "0025")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM review_log")).scalar_one() == 2


def test_clients_who_left_before_go_under_their_key_worker_s_team(empty_url, engine_for):
    """0027 fills in the team a client left from (their key worker's now, as the list counted
    them) for caseloads ended by leaving; one ended by a handover stays without."""
    migrate.upgrade(empty_url, "0026")
    engine = engine_for(empty_url)
    with engine.begin() as conn:
        team, client, worker = _team_client_and_key_worker(conn)
        for ended_by in (None, worker):  # a handover, then leaving
            _insert(
                conn,
                "INSERT INTO caseload_links (client_id, key_worker_id, started_at, ended_at, "
                "ended_by_id) VALUES (:c, :w, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :b)",
                c=client,
                w=worker,
                b=ended_by,
            )
    migrate.upgrade(empty_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT ended_by_id, ended_in_team_id FROM caseload_links ORDER BY id")
        ).all()
    assert [tuple(r) for r in rows] == [(None, None), (worker, team)]
    command.downgrade(migrate.alembic_config(empty_url), "0026")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM caseload_links")).scalar_one() == 2


def _two_clients_flagged(conn) -> tuple[int, int, int]:
    """Two clients with has_documents set, and a key worker: (first, second, worker)."""
    _, first, worker = _team_client_and_key_worker(conn)
    second = _insert(
        conn,
        "INSERT INTO users (email, display_name, role, password_hash, active, created_at, "
        "session_epoch, has_documents) VALUES ('s@example.org', 'S', 'client', 'x', true, "
        "CURRENT_TIMESTAMP, 0, true)",
    )
    conn.execute(sa.text("UPDATE users SET has_documents = true WHERE id = :c"), {"c": first})
    return first, second, worker


def _document(conn, client: int, kind: str, head: int, worker: int) -> None:
    _insert(
        conn,
        "INSERT INTO documents (client_id, kind, title, head_number, created_by_id, "
        "created_at, updated_at, review_cycle, signoff_state) VALUES (:c, :k, 'A document', "
        ":h, :w, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0, 'draft')",
        c=client,
        k=kind,
        h=head,
        w=worker,
    )


def _has_documents(engine) -> dict[int, bool]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, has_documents FROM users WHERE role = 'client'"))
        return {id_: bool(flag) for id_, flag in rows}


def test_a_client_with_documents_only_started_counts_as_having_none(empty_url, engine_for):
    """0031: has_documents counts saved documents only (a document with no version may now be
    removed, and is not on the supervisors' dashboard); going down, any document counts again,
    as 0028 set it."""
    migrate.upgrade(empty_url, "0030")
    engine = engine_for(empty_url)
    with engine.begin() as conn:
        only_started, saved, worker = _two_clients_flagged(conn)
        for client, head in ((only_started, 0), (saved, 1), (saved, 0)):
            _document(conn, client, "care_plan", head, worker)
    migrate.upgrade(empty_url, "0031")
    assert _has_documents(engine) == {only_started: False, saved: True}
    command.downgrade(migrate.alembic_config(empty_url), "0030")
    assert _has_documents(engine) == {only_started: True, saved: True}


def test_a_client_with_only_agreements_counts_as_having_no_care_plan(empty_url, engine_for):
    """0034: the flag (User.has_care_plan) counts saved care plans only; going down, any saved
    document again, as 0031 set it."""
    migrate.upgrade(empty_url, "0033")
    engine = engine_for(empty_url)
    with engine.begin() as conn:
        agreements_only, with_plan, worker = _two_clients_flagged(conn)
        _document(conn, agreements_only, "agreement", 1, worker)
        _document(conn, with_plan, "care_plan", 1, worker)
    migrate.upgrade(empty_url)
    assert _has_documents(engine) == {agreements_only: False, with_plan: True}
    command.downgrade(migrate.alembic_config(empty_url), "0033")
    assert _has_documents(engine) == {agreements_only: True, with_plan: True}


def test_agreements_get_the_earliest_until_of_their_latest_version(empty_url, engine_for):
    """0032: each agreement keeps the earliest day a decision in its latest version is handed
    over until (an older version's days do not count); a care plan none."""
    import json

    from careplan.agreement_library import AgreementLibrary

    template = (
        AgreementLibrary(PROJECT_ROOT / "agreements").current().templates["smi_self_referral"]
    )
    migrate.upgrade(empty_url, "0031")
    engine = engine_for(empty_url)

    def handed(*days: str) -> str:
        over = [{"id": f"d{n}", "decision": "My money", "to_whom": "", "until": day}
                for n, day in enumerate(days)]  # fmt: skip
        return json.dumps({"sections": {"contingencies": {"handed_over": over}}})

    with engine.begin() as conn:
        _, client, worker = _team_client_and_key_worker(conn)
        docs = {}
        for name, kind, head in (("agreement", "agreement", 2), ("plan", "care_plan", 1)):
            docs[name] = _insert(
                conn,
                "INSERT INTO documents (client_id, kind, title, head_number, created_by_id, "
                "created_at, updated_at, review_cycle, signoff_state, template) VALUES (:c, :k, "
                "'X', :h, :w, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0, 'draft', :t)",
                c=client, k=kind, h=head, w=worker,
                t=json.dumps(template) if kind == "agreement" else None,
            )  # fmt: skip
        for doc, number, content in (
            (docs["agreement"], 1, handed("2026-01-01")),
            (docs["agreement"], 2, handed("2026-09-01", "2026-07-01")),
            (docs["plan"], 1, json.dumps({"goals": []})),
        ):
            _insert(
                conn,
                "INSERT INTO versions (document_id, number, author_id, created_at, change_note, "
                "content, content_hash) VALUES (:d, :n, :w, CURRENT_TIMESTAMP, '', :c, 'h')",
                d=doc, n=number, w=worker, c=content,
            )  # fmt: skip

    migrate.upgrade(empty_url)
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT id, handed_over_until FROM documents")).all())
    assert {doc: str(rows[doc]) if rows[doc] else None for doc in rows} == {
        docs["agreement"]: "2026-07-01",
        docs["plan"]: None,
    }
    command.downgrade(migrate.alembic_config(empty_url), "0031")
