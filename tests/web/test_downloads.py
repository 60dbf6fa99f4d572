"""Every download: stored by no cache, named so any server can send it, and recorded in the
access log only when it happened. (Real HTTP under gunicorn: tests/integration.)"""

from __future__ import annotations

import pytest
from werkzeug.http import parse_options_header

from careplan import pdf
from careplan.db.models import utcnow
from careplan.services import pdfs, reminders, signoff
from careplan.services.accounts import actor_for
from careplan.services.errors import NotFound
from tests.conftest import downloads_recorded, login
from tests.factories import PASSWORD, Circle, make_plan


@pytest.fixture
def circle(app) -> Circle:
    return Circle()


@pytest.fixture
def agreed(app, db, circle) -> int:
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 2, "signed", "", PASSWORD)
    pdfs.run_pending(db, pdfs.PdfSettings.from_config(app.config, app.instance_path))
    return doc


def test_every_download_is_no_store_and_pdfs_are_named_in_an_ascii_header(app, db, circle, agreed):
    """The routes that hand out files: the sealed and draft PDFs, the supervisors' export and
    the calendar feed. Each carries clinical content, so no cache may keep a copy."""
    downloads = {
        circle.client: [
            f"/documents/{agreed}/versions/2/signed.pdf",
            f"/documents/{agreed}/versions/1/draft.pdf",
        ],
        circle.supervisor: ["/supervision/export.csv"],
    }
    names = {}
    for person, urls in downloads.items():
        browser = login(app.test_client(), person)
        for url in urls:
            response = browser.get(url)
            assert response.status_code == 200, url
            assert response.headers["Cache-Control"] == "no-store", url
            header = response.headers["Content-Disposition"]
            header.encode("ascii")  # all a WSGI server can send (PEP 3333: latin-1)
            kind, options = parse_options_header(header)
            assert kind == "attachment", url
            names[url] = options["filename"]
    token = reminders.new_calendar_token(db, actor_for(circle.client), utcnow())
    feed = app.test_client().get(f"/calendar.ics?key={token}")
    assert feed.status_code == 200 and b"BEGIN:VCALENDAR" in feed.data
    assert feed.headers["Cache-Control"] == "no-store"
    # The names as saved (filename*, RFC 6266): whole, en dash and all.
    assert names[f"/documents/{agreed}/versions/1/draft.pdf"] == "Care plan, version 1 – draft.pdf"
    assert names[f"/documents/{agreed}/versions/2/signed.pdf"].startswith("Care plan, version 2 – ")


def test_a_draft_that_could_not_be_made_is_not_logged_as_downloaded(app, db, circle, monkeypatch):
    doc = make_plan(circle.key_worker, circle.client)

    def broken(*args, **kwargs):
        raise pdf.RenderFailed("the renderer ran out of time")

    monkeypatch.setattr(pdf, "render_pdf", broken)
    before = downloads_recorded(db)
    settings = pdfs.PdfSettings.from_config(app.config, app.instance_path, with_seal=False)
    with pytest.raises(pdf.RenderFailed):
        pdfs.draft_pdf(db, actor_for(circle.client), doc, 1, settings)
    assert downloads_recorded(db) == before
    with pytest.raises(NotFound):
        pdfs.draft_pdf(db, actor_for(Circle().client), doc, 1, settings)
    assert downloads_recorded(db) == before
