"""Pooled connections outlive a server that ends them: the next use gets a new one, not an
error page."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from bench.document_form import DocumentForm
from careplan.db.engine import Database
from careplan.db.models import Version
from tests.conftest import BACKEND, PG_SERVER
from tests.factories import Circle, make_plan
from tests.gunicorn import Browser

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql", reason="a PostgreSQL server ending its connections"
)


def _end_backends(where: str, value) -> int:
    """Ends the server processes of the connections that match, and waits until they are gone."""
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        query = f"FROM pg_stat_activity WHERE {where} = %s AND pid <> pg_backend_pid()"
        ended = admin.execute(f"SELECT count(pg_terminate_backend(pid)) {query}", (value,))
        count = ended.fetchone()[0]
        deadline = time.monotonic() + 10
        while admin.execute(f"SELECT 1 {query}", (value,)).fetchone():
            assert time.monotonic() < deadline, "the server did not end the connections"
            time.sleep(0.02)
    return count


@pytest.mark.parametrize("use", ["read", "write"])
def test_a_connection_the_server_ended_while_idle_is_replaced_before_use(database_url, use):
    db = Database(database_url)
    try:
        with db.read() as s:
            ended = s.scalar(text("SELECT pg_backend_pid()"))
        assert _end_backends("pid", ended) == 1

        with getattr(db, use)() as s:
            assert s.scalar(text("SELECT pg_backend_pid()")) != ended
        assert db.engine.pool.checkedout() == 0
    finally:
        db.dispose()


def test_where_there_is_no_poll_select_finds_the_ended_connection(database_url, monkeypatch):
    """Windows has no select.poll; the check then uses select.select."""
    import careplan.db.engine as engine

    monkeypatch.delattr(engine.select, "poll")
    test_a_connection_the_server_ended_while_idle_is_replaced_before_use(database_url, "read")


@pytest.mark.slow
def test_pages_and_saves_over_http_carry_on_after_the_server_ends_every_connection(
    db, database_url, gunicorn_url
):
    """gunicorn's worker keeps its pooled connections between requests; the server ending all
    of them (as a restart does) costs no request an error page, and the save is kept."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    browser = Browser(gunicorn_url)
    browser.sign_in(circle.client)
    assert browser.get(f"/documents/{doc}").status == 200
    database = make_url(database_url).database

    assert _end_backends("datname", database) >= 1
    assert browser.get(f"/documents/{doc}").status == 200

    page = browser.get(f"/documents/{doc}/edit").read().decode()
    form = dict(DocumentForm(page).fields)
    form["what_matters-text"] = "Kept, whatever the server did."
    _end_backends("datname", database)
    saved = browser.post(f"/documents/{doc}/edit", form, page)
    assert saved.status == 200 and saved.url.endswith(f"/documents/{doc}#confirmation")
    with db.read() as s:
        latest = s.scalar(
            select(Version.content)
            .where(Version.document_id == doc)
            .order_by(Version.number.desc())
        )
    assert latest["what_matters"]["text"] == "Kept, whatever the server did."


def test_every_connection_waits_for_a_lock_only_as_long_as_configured(database_url):
    """A writer stuck while holding a lock must not hold up the others until gunicorn ends
    them: each waits the lock wait, then gets an error the app answers with a page that keeps
    what they sent (careplan.web.trouble)."""

    def lock_wait(db: Database) -> str:
        with db.read() as s:
            return s.scalar(text("SELECT setting FROM pg_settings WHERE name = 'lock_timeout'"))

    for db, setting, shown in (
        (Database(database_url), "20000", "20s"),
        (Database(database_url, 1234), "1234", "1234ms"),
    ):
        try:
            assert lock_wait(db) == setting
            with db.write() as s:  # a write's connection too (not a read's only)
                assert s.scalar(text("SHOW lock_timeout")) == shown
        finally:
            db.dispose()
