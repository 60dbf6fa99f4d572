"""Test fixtures. The suite runs on SQLite by default and on PostgreSQL with
CAREPLAN_TEST_DB=postgresql (server from CAREPLAN_TEST_PG_URL, default 127.0.0.1:5432)."""

from __future__ import annotations

import copy
import os
import re
import shutil
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from careplan import create_app
from careplan.app import use_database
from careplan.db import migrate
from careplan.db.engine import Database, make_engine
from careplan.db.models import AuditEvent
from careplan.extensions import DB_KEY
from careplan.services import passwords
from tests import factories
from tests.notices import wait_for_account_notices

pytest_plugins = ["tests.smtp", "tests.gunicorn"]  # smtp_server, smtp_app, gunicorn_url

BACKEND = os.environ.get("CAREPLAN_TEST_DB", "sqlite")
PG_SERVER = os.environ.get("CAREPLAN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432")
FAST_ARGON2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 1024}


# Set by scripts/test for its second run: tests that touch no database ran in the first.
DATABASE_TESTS_ONLY = os.environ.get("CAREPLAN_TEST_DATABASE_ONLY") == "1"


def pytest_report_header(config):
    only = " (tests that touch no database left out)" if DATABASE_TESTS_ONLY else ""
    return f"careplan test database: {BACKEND}{only}"


def uses_a_database(item) -> bool:
    """Whether the test can touch the database under test: through any fixture built on
    `db_template` (app, db, client, gunicorn...), or by reading which one it is. A browser
    test marked `browser_only` checks what the page does in the browser (layout, labels,
    scripts); what the server stores under it is tested on both databases elsewhere."""
    if item.get_closest_marker("browser_only") is not None:
        return False
    module = getattr(item, "module", None)
    return "db_template" in getattr(item, "fixturenames", ()) or (
        module is not None and any(name in vars(module) for name in ("BACKEND", "PG_SERVER"))
    )


def pytest_collection_modifyitems(config, items):
    """The longest runs first, then the other slow ones, then the rest, each in their usual
    order. The exactly-once run (`slow(seconds=...)`) takes over a minute: started late, the
    suite waited for it at the end while the other worker had nothing left to do."""
    if DATABASE_TESTS_ONLY:
        # Domain rules, PDF rendering and the like give the same answer on either database.
        left_out = [item for item in items if not uses_a_database(item)]
        if left_out:
            config.hook.pytest_deselected(items=left_out)
            items[:] = [item for item in items if uses_a_database(item)]

    def cost(item) -> float:
        slow = item.get_closest_marker("slow")
        return 0 if slow is None else slow.kwargs.get("seconds", 1)

    items.sort(key=cost, reverse=True)


class DatabaseTemplate:
    """A migrated, empty database per test session; each test gets a fresh copy or truncation,
    at the same address, so the worker's one `Database` (and its engine's cache of compiled
    statements) serves every test."""

    def __init__(self, tmp_root):
        self.tmp_root = tmp_root
        self.database: Database | None = None
        if BACKEND == "postgresql":
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            self.name = f"careplan_test_{worker}_{uuid.uuid4().hex[:8]}"
            self._admin(f'CREATE DATABASE "{self.name}"')
            # The suite never stops the database server, so waiting for the disk at each
            # commit only costs time (a few per cent of the PostgreSQL run): what a commit
            # shows other connections, and when, is the same.
            self._admin(f'ALTER DATABASE "{self.name}" SET synchronous_commit = off')
            self.url = f"{PG_SERVER}/{self.name}"
            migrate.upgrade(self.url)
            self._tables = None
            self._engine = None
        else:
            self.template = tmp_root / "template.db"
            migrate.upgrade(f"sqlite:///{self.template}")

    def _admin(self, sql: str) -> None:
        engine = sa.create_engine(
            f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/postgres",
            isolation_level="AUTOCOMMIT",
        )
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
        engine.dispose()

    def fresh_url(self, folder: Path | None = None) -> str:
        """An empty database: on SQLite in `folder` if given (a file of its own), else at the
        worker's one address."""
        if BACKEND == "postgresql":
            self._truncate()
            return self.url
        folder = folder or self.tmp_root
        # The previous test's app has closed its connections (see `app`). A fresh copy
        # replaces the file by renaming, so a connection something still held would keep the
        # old file rather than see a half-copied one; the old write-ahead log goes first.
        path = folder / "test.db"
        for leftover in ("test.db-wal", "test.db-shm"):
            (folder / leftover).unlink(missing_ok=True)
        shutil.copyfile(self.template, folder / "copy.db")
        os.replace(folder / "copy.db", path)
        url = f"sqlite:///{path}"
        if self.database is not None and self.database.url == url:
            # A connection opened on the file just replaced and left in the worker's pool (by
            # a thread that outlived the last test) would show this test the last one's rows.
            self.database.dispose()
        return url

    def database_for(self, url: str, lock_wait_ms: int) -> Database:
        if self.database is None or self.database.url != url:
            self.database = Database(url, lock_wait_ms=lock_wait_ms)
        return self.database

    def _engine_for_tests(self):
        if self._engine is None:
            # The app's engine: tests of database outages end every connection to it, and a
            # connection the server ended is replaced before use (careplan.db.engine).
            self._engine = make_engine(self.url)
        return self._engine

    def open_transactions(self, wait_seconds: float = 10.0) -> list[tuple]:
        """Other connections to the test database still inside a transaction once a test has
        ended, after waiting up to `wait_seconds` for them to finish. One left behind (a
        thread a test did not wait for) would commit rows numbered before the sequences are
        reset into the next test's database. Always none on SQLite, which is copied afresh."""
        if BACKEND != "postgresql":
            return []
        deadline = time.monotonic() + wait_seconds
        while True:
            # A new transaction each time: the server shows a transaction one fixed view of
            # pg_stat_activity.
            with self._engine_for_tests().connect() as conn:
                busy = conn.exec_driver_sql(
                    "SELECT pid, application_name, state, left(query, 200) "
                    "FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
                ).all()
            if not busy or time.monotonic() > deadline:
                return [tuple(row) for row in busy]
            time.sleep(0.05)

    def _truncate(self) -> None:
        with self._engine_for_tests().begin() as conn:
            # The append-only tables refuse deletion (careplan.db.append_only). Emptying the
            # test database between tests skips triggers for this transaction instead, which
            # only a superuser may do, as only a superuser (or the owner) may drop a trigger.
            # DELETE and resetting the sequences take about 1 ms where TRUNCATE of every
            # table takes about 160 ms, which over the whole suite was minutes.
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            if self._tables is None:
                self._tables = [
                    t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"
                ]
            conn.exec_driver_sql("; ".join(f'DELETE FROM "{t}"' for t in self._tables))
            conn.exec_driver_sql(
                "SELECT setval(c.oid, 1, false) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
            )

    def drop(self) -> None:
        if self.database is not None:
            self.database.dispose()
        if BACKEND == "postgresql":
            if self._engine is not None:
                self._engine.dispose()
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def db_template(tmp_path_factory):
    template = DatabaseTemplate(tmp_path_factory.mktemp("db"))
    yield template
    template.drop()


@pytest.fixture(scope="session")
def _worker_app(tmp_path_factory):
    """One app per test worker, reused by every test: building an app (Werkzeug compiling
    the URL rules, Jinja compiling the templates again) took most of a typical web test's
    time. Each test gets it back with a fresh database, an empty instance folder and the
    configuration it started with (see `app`); tests that need other settings build their
    own app."""
    folder = tmp_path_factory.mktemp("app")
    app = create_app(
        {"ENV": "testing", "DATABASE_URL": f"sqlite:///{folder / 'unused.db'}", **FAST_ARGON2},
        instance_path=folder / "instance",
    )
    return app, copy.deepcopy(dict(app.config))


@pytest.fixture
def database_url(db_template):
    yield db_template.fresh_url()
    wait_for_account_notices()
    left_open = db_template.open_transactions()
    assert not left_open, f"still inside a transaction after the test: {left_open}"


@pytest.fixture
def app(_worker_app, database_url, db_template):
    app, config = _worker_app
    instance = Path(app.instance_path)
    shutil.rmtree(instance, ignore_errors=True)
    instance.mkdir(parents=True)
    app.config.clear()
    app.config.update(copy.deepcopy(config))
    use_database(
        app,
        database_url,
        db_template.database_for(database_url, app.config["LOCK_WAIT_MS"]),
    )
    factories.bind(app.extensions[DB_KEY])
    yield app
    factories.unbind()
    # Before the pool is emptied: a notice's thread still running afterwards would put a new
    # connection into it, and on SQLite that one would keep the file this test used.
    wait_for_account_notices()
    app.extensions[DB_KEY].dispose()


@pytest.fixture
def db(app) -> Database:
    return app.extensions[DB_KEY]


@pytest.fixture
def client(app):
    return app.test_client()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client) -> str:
    """A CSRF token for this client's session, read from a page as a browser would."""
    html = client.get("/login").get_data(as_text=True)
    match = CSRF.search(html)
    if match is None:
        # Signed in already: the sign-out form on every page carries one. The account page
        # is read for it because it is the cheapest page every role has.
        match = CSRF.search(client.get("/me/account").get_data(as_text=True))
    return match.group(1)


def downloads_recorded(db) -> int:
    """How many downloads the audit trail holds."""
    with db.read() as s:
        return s.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "download")
        )


def login(client, user, password: str = factories.PASSWORD):
    token = csrf_token(client)
    response = client.post(
        "/login", data={"email": user.email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


@pytest.fixture(autouse=True, scope="session")
def _fast_passwords():
    passwords.configure(FAST_ARGON2["ARGON2_TIME_COST"], FAST_ARGON2["ARGON2_MEMORY_KIB"])


@pytest.fixture(scope="session")
def seal_certificate(tmp_path_factory):
    """One development sealing certificate and key for the session (making one takes a while)."""
    from careplan.pdf import ensure_dev_certificate

    return ensure_dev_certificate(tmp_path_factory.mktemp("seal"))


@pytest.fixture
def sealing(app, seal_certificate):
    """The app seals (and signs audit checkpoints) with the session's certificate."""
    cert, key = seal_certificate
    app.config.update(PDF_SEAL_CERT_PATH=str(cert), PDF_SEAL_KEY_PATH=str(key))
    return cert, key
