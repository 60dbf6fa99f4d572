"""Acceptance: PDFs download over real HTTP from gunicorn, as in production.

The Flask test client accepts response headers a real server cannot send (a file name with an
en dash in Content-Disposition made gunicorn answer 500), so here the app runs under gunicorn
in its own process against the test's database and instance folder; a person signs in over
HTTP and downloads a draft PDF and a sealed PDF, which are read back with pypdf.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, build_opener

import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from werkzeug.http import parse_options_header

from careplan.db.models import AuditEvent
from careplan.services import pdfs, signoff
from careplan.services.accounts import actor_for
from tests.factories import PASSWORD, Circle, make_plan

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def gunicorn_url(app, database_url, tmp_path):
    """gunicorn serving `wsgi:app` with the test's database and instance folder."""
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "CAREPLAN_ENV": "testing",
        "DATABASE_URL": database_url,
        "CAREPLAN_INSTANCE_PATH": app.instance_path,
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--timeout", "120"]
            + ["--bind", "127.0.0.1:0", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not (match := LISTENING.search(log.read_text())):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(30)
    assert "Traceback" not in log.read_text(), log.read_text()


class Browser:
    """Cookies and forms over plain HTTP (urllib), as a browser sends them."""

    def __init__(self, base: str):
        self.base = base
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()))

    def get(self, path: str):
        return self.opener.open(self.base + path, timeout=120)

    def sign_in(self, user) -> None:
        token = CSRF.search(self.get("/login").read().decode()).group(1)
        form = {"email": user.email, "password": PASSWORD, "csrf_token": token}
        landed = self.opener.open(self.base + "/login", urlencode(form).encode(), timeout=60)
        assert "/login" not in landed.url, "sign-in failed"


def _filename(response) -> str:
    """The name a browser saves the file as (`filename*` when given, RFC 6266)."""
    kind, options = parse_options_header(response.headers["Content-Disposition"])
    assert kind == "attachment"
    return options["filename"]


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _downloads(db) -> int:
    with db.read() as s:
        return s.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "download")
        )


def test_draft_and_sealed_pdfs_download_over_http_from_gunicorn(app, db, gunicorn_url):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    browser = Browser(gunicorn_url)
    browser.sign_in(circle.client)

    draft = browser.get(f"/documents/{doc}/versions/1/draft.pdf")
    assert draft.status == 200 and draft.headers["Content-Type"] == "application/pdf"
    assert _filename(draft) == "Care plan – draft, version 1.pdf"
    # and a plain ASCII name for clients that do not read filename*
    assert 'filename="Care plan - draft, version 1.pdf"' in draft.headers["Content-Disposition"]
    assert draft.headers["Cache-Control"] == "no-store"
    assert "DRAFT" in _text(draft.read())
    assert _downloads(db) == 1

    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    settings = pdfs.PdfSettings.from_config(app.config, app.instance_path)
    assert pdfs.run_pending(db, settings) == 1
    sealed = browser.get(f"/documents/{doc}/versions/1/signed.pdf")
    assert sealed.status == 200 and sealed.headers["Content-Type"] == "application/pdf"
    assert re.fullmatch(r"Care plan – \d{1,2} \w+ \d{4}\.pdf", _filename(sealed))
    assert sealed.headers["Cache-Control"] == "no-store"
    data = sealed.read()
    assert "Find a flat" in _text(data)
    assert pdfs.verify_file(db, settings, data).genuine
    assert _downloads(db) == 2
