"""A whole installation exported and imported again: nothing lost or changed, on SQLite and on
PostgreSQL, and across the two. Driven through the command line, as an admin would."""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import pytest
import sqlalchemy as sa

from careplan import create_app
from careplan.db import migrate
from careplan.db.models import AuditEvent, Base, Team
from careplan.extensions import DB_KEY
from careplan.services.fhir import ExportSettings
from careplan.services.installation import PortabilityError, file_stores, import_installation
from tests import factories
from tests.conftest import BACKEND, FAST_ARGON2
from tests.portability import demo_installation


def empty_database(db_template, folder) -> str:
    """A new, migrated, empty database (on PostgreSQL: the test database, emptied)."""
    folder.mkdir(parents=True, exist_ok=True)
    return db_template.fresh_url(folder)


def make_app(url, instance):
    return create_app(
        {"ENV": "testing", "DATABASE_URL": url, **FAST_ARGON2}, instance_path=instance
    )


def snapshot(db) -> dict[str, list[tuple]]:
    """Every row of every table in the metadata, every column, as the database hands it back,
    with JSON columns also as the exact text stored."""
    out = {}
    with db.read() as s:
        for table in Base.metadata.sorted_tables:
            raw_json = [
                sa.cast(c, sa.Text).label(f"{c.name}__text")
                for c in table.columns
                if isinstance(c.type, sa.JSON)
            ]
            rows = s.execute(
                sa.select(*table.columns, *raw_json).order_by(*table.primary_key.columns)
            ).all()
            out[table.name] = [tuple(r) for r in rows]
    return out


def pdf_files(app) -> dict[str, bytes]:
    folder = ExportSettings.from_config(app.config, app.instance_path).pdf_storage
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}


def export(app, path) -> None:
    result = app.test_cli_runner().invoke(args=["export-installation", str(path)])
    assert result.exit_code == 0, result.output
    assert "Exported" in result.output


def load(app, path):
    return app.test_cli_runner().invoke(args=["import-installation", str(path)])


def check_identical(source: dict, source_files: dict, target_app) -> None:
    target = snapshot(target_app.extensions[DB_KEY])
    assert set(target) == set(Base.metadata.tables)
    for name in source:
        assert target[name] == source[name], f"table {name} changed"
    assert pdf_files(target_app) == source_files
    verify = target_app.test_cli_runner().invoke(args=["audit-verify"])
    assert verify.exit_code == 0 and "Audit trail intact" in verify.output, verify.output


@pytest.fixture
def demo(app):
    return demo_installation(app)


def test_round_trip_of_the_demo_installation_loses_nothing(app, db, demo, db_template, tmp_path):
    source = snapshot(db)
    files = pdf_files(app)
    filled = [name for name, rows in source.items() if rows]
    assert len(files) == 2 and len(filled) >= 15, filled  # the demo reaches most tables
    archive = tmp_path / "installation.zip"

    # A sealed PDF the rows refer to has gone: the export says so and leaves no archive.
    folder = ExportSettings.from_config(app.config, app.instance_path).pdf_storage
    name = sorted(files)[0]
    shutil.move(folder / name, tmp_path / name)
    refused = app.test_cli_runner().invoke(args=["export-installation", str(archive)])
    assert refused.exit_code != 0 and f"{name} is missing" in refused.output
    assert not archive.exists() and list(tmp_path.glob("*.partial")) == []
    shutil.move(tmp_path / name, folder / name)

    export(app, archive)
    with db.read() as s:  # the export itself is recorded in the source's audit trail
        last = s.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert last.action == "installation.export" and last.detail["rows"] == sum(
        len(rows) for rows in source.values()
    )
    db.dispose()
    factories.unbind()

    # A new installation: migrated, empty, its own folder for files. (On PostgreSQL the test
    # database itself is emptied and used again, so its sequences start from 1.)
    target = make_app(
        empty_database(db_template, tmp_path / "target"), tmp_path / "target-instance"
    )
    result = load(target, archive)
    assert result.exit_code == 0, result.output
    check_identical(source, files, target)

    # New rows get ids after the imported ones (PostgreSQL's sequences were moved on).
    target_db = target.extensions[DB_KEY]
    with target_db.write() as s:
        team = Team(name="After the move")
        s.add(team)
        s.flush()
        assert team.id == max(r[0] for r in source["teams"]) + 1

    # Importing again into what is now a full database is refused, and changes nothing.
    before = snapshot(target_db)
    again = load(target, archive)
    assert again.exit_code != 0 and "already holds data" in again.output
    assert snapshot(target_db) == before
    target_db.dispose()


def _rewrite(archive, out, change):
    """A copy of the archive with its manifest changed."""
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "manifest.json":
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
            dst.writestr(item, data)


def test_an_import_refuses_another_schema_revision_or_a_damaged_archive(
    app, db, db_template, tmp_path
):
    factories.ClientFactory(display_name="Someone")
    archive = tmp_path / "installation.zip"
    export(app, archive)
    db.dispose()
    factories.unbind()
    target = make_app(
        empty_database(db_template, tmp_path / "target"), tmp_path / "target-instance"
    )
    target_db = target.extensions[DB_KEY]

    older = tmp_path / "older.zip"
    _rewrite(archive, older, lambda m: m.update(schema_revision="0006"))
    result = load(target, older)
    assert result.exit_code != 0
    assert "made at schema revision 0006, but this database is at" in result.output

    damaged = tmp_path / "damaged.zip"
    _rewrite(archive, damaged, lambda m: m["tables"][1].update(rows=m["tables"][1]["rows"] + 1))
    result = load(target, damaged)
    assert result.exit_code != 0 and "damaged" in result.output

    not_ours = tmp_path / "not-ours.zip"
    with zipfile.ZipFile(not_ours, "w") as zf:
        zf.writestr("hello.txt", "hello")
    assert "not a careplan installation export" in load(target, not_ours).output

    # Nothing of the refused imports stayed behind.
    assert all(not rows for rows in snapshot(target_db).values())
    assert load(target, archive).exit_code == 0
    target_db.dispose()


@pytest.mark.skipif(BACKEND != "postgresql", reason="needs both databases")
def test_an_installation_moves_from_sqlite_to_postgresql_and_back(db_template, tmp_path):
    # Source: a SQLite installation of its own, with the demo data.
    sqlite_url = f"sqlite:///{tmp_path / 'source.db'}"
    migrate.upgrade(sqlite_url)
    source_app = make_app(sqlite_url, tmp_path / "sqlite-instance")
    source_db = source_app.extensions[DB_KEY]
    demo_installation(source_app)
    source = snapshot(source_db)
    files = pdf_files(source_app)
    archive = tmp_path / "from-sqlite.zip"
    export(source_app, archive)
    source_db.dispose()

    # Into the (empty) PostgreSQL test database.
    pg_app = make_app(empty_database(db_template, tmp_path / "pg"), tmp_path / "pg-instance")
    assert pg_app.extensions[DB_KEY].engine.dialect.name == "postgresql"
    result = load(pg_app, archive)
    assert result.exit_code == 0, result.output
    check_identical(source, files, pg_app)

    # And back from PostgreSQL into a new SQLite installation.
    back = tmp_path / "from-postgresql.zip"
    export(pg_app, back)
    pg_app.extensions[DB_KEY].dispose()
    sqlite_again = f"sqlite:///{tmp_path / 'again.db'}"
    migrate.upgrade(sqlite_again)
    again_app = make_app(sqlite_again, tmp_path / "again-instance")
    with zipfile.ZipFile(back) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["source_database"] == "postgresql"
    import_installation(
        again_app.extensions[DB_KEY],
        io.BytesIO(back.read_bytes()),
        file_stores(ExportSettings.from_config(again_app.config, again_app.instance_path)),
    )
    # (The PostgreSQL export recorded itself after its snapshot, so not in the archive.)
    assert snapshot(again_app.extensions[DB_KEY]) == source
    assert pdf_files(again_app) == files
    again_app.extensions[DB_KEY].dispose()


def test_the_export_refuses_a_table_it_does_not_know(app, db, tmp_path):
    with db.write() as s:
        s.execute(sa.text("CREATE TABLE notes_by_hand (id INTEGER PRIMARY KEY, body TEXT)"))
    try:
        result = app.test_cli_runner().invoke(args=["export-installation", str(tmp_path / "x.zip")])
        assert result.exit_code != 0 and "notes_by_hand" in result.output
    finally:
        with db.write() as s:
            s.execute(sa.text("DROP TABLE notes_by_hand"))


def test_importing_into_a_database_that_was_never_set_up_says_so(tmp_path, app, db):
    archive = tmp_path / "installation.zip"
    export(app, archive)
    bare = make_app(f"sqlite:///{tmp_path / 'bare.db'}", tmp_path / "bare-instance")
    with pytest.raises(PortabilityError, match="careplan db-upgrade"):
        import_installation(bare.extensions[DB_KEY], archive, [])
    bare.extensions[DB_KEY].dispose()
