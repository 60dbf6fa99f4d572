"""A save held up by another transaction's lock, under gunicorn over plain HTTP
(tests/gunicorn.py), with the real database: after the lock wait (CAREPLAN_LOCK_WAIT_MS, half a
second here) the person gets the service's page with everything they sent, nothing is saved,
and the page's one button sends it again once the lock is gone. The lock is held the way a
stuck or vanished writer would hold it: SQLite's write lock; on PostgreSQL the client's row,
which every change to their records takes first, or the audit chain's, which every write
takes last, as it commits."""

from __future__ import annotations

import sqlite3
import time
import urllib.error
from contextlib import contextmanager
from urllib.parse import urlencode

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from careplan.db.models import Version
from careplan.services.audit import _PG_AUDIT_LOCK
from tests.conftest import BACKEND
from tests.factories import Circle, make_plan
from tests.gunicorn import Browser, landed
from tests.web.test_plan_pages import Page

pytestmark = pytest.mark.slow

LOCK_WAIT_MS = 500
WORDS = "Seeing my sister on Sundays, and the allotment in spring"


@pytest.fixture
def impatient_gunicorn(monkeypatch, request):
    monkeypatch.setenv("CAREPLAN_LOCK_WAIT_MS", str(LOCK_WAIT_MS))
    return request.getfixturevalue("gunicorn_url")


@contextmanager
def held_up(database_url: str, client_id: int, lock: str):
    url = make_url(database_url)
    if BACKEND == "sqlite":
        holder = sqlite3.connect(url.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        holder = psycopg.connect(url.set(drivername="postgresql").render_as_string(False))
        if lock == "the client's row":
            holder.execute("SELECT id FROM users WHERE id = %s FOR UPDATE", (client_id,))
        else:
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_AUDIT_LOCK,))
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


@pytest.mark.parametrize(
    "lock",
    [
        "the client's row",
        pytest.param(
            "the audit chain",
            marks=pytest.mark.skipif(BACKEND == "sqlite", reason="one write lock on SQLite"),
        ),
    ],
)
def test_a_save_held_up_past_the_lock_wait_is_kept_and_sent_again_with_one_press(
    app, db, database_url, impatient_gunicorn, lock
):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    browser = Browser(impatient_gunicorn)
    browser.sign_in(circle.client)
    page = browser.get(f"/documents/{doc}/edit?part=what_matters").read().decode()
    sent = (
        Page(page)
        .form(f"/documents/{doc}/edit")
        .typed({"what_matters-text": WORDS, "change_note": "After talking on Tuesday"})
    )

    with held_up(database_url, circle.client.id, lock):
        started = time.monotonic()
        with pytest.raises(urllib.error.HTTPError) as refused:
            browser.opener.open(
                f"{impatient_gunicorn}/documents/{doc}/edit", urlencode(sent).encode(), timeout=60
            )
        waited = time.monotonic() - started
    answer = refused.value
    html = answer.read().decode()
    assert answer.code == 503, html[:300]
    assert LOCK_WAIT_MS / 1000 <= waited < 10  # it waited for the lock, then gave up
    assert answer.headers["Retry-After"] == "30"
    assert answer.headers["Cache-Control"] == "no-store"
    assert "Nothing you sent has been saved yet" in html and WORDS in html
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).where(Version.document_id == doc)) == 1

    again = Page(html).form(f"/documents/{doc}/edit")
    assert again.values() == sent
    path, shown = landed(
        browser.opener.open(
            f"{impatient_gunicorn}/documents/{doc}/edit",
            urlencode(again.values()).encode(),
            timeout=60,
        )
    )
    assert path == f"/documents/{doc}" and "Saved as version 2." in shown and WORDS in shown
    with db.read() as s:
        latest = s.scalar(sa.select(Version).where(Version.document_id == doc, Version.number == 2))
    assert latest.content["what_matters"]["text"] == WORDS
    assert latest.change_note == "After talking on Tuesday"
