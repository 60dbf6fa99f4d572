"""Downloads over real HTTP from gunicorn (tests/gunicorn.py): PDFs read back with pypdf, the
FHIR file validated, the client's archive opened, the supervisors' export read as CSV (the
calendar feed is in test_plan_journey_over_http.py)."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import urllib.error
import zipfile

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from careplan.db.models import AuditEvent
from careplan.domain.local_time import service_today
from careplan.services import documents, pdfs, reviews, signoff
from careplan.services.accounts import actor_for
from tests.conftest import downloads_recorded
from tests.factories import PASSWORD, Circle, make_plan
from tests.gunicorn import Browser, filename
from tests.portability import assert_valid_r4

pytestmark = pytest.mark.slow


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_draft_and_sealed_pdfs_download_over_http_from_gunicorn(app, db, gunicorn_url):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    browser = Browser(gunicorn_url)
    browser.sign_in(circle.client)

    draft = browser.get(f"/documents/{doc}/versions/1/draft.pdf")
    assert draft.status == 200 and draft.headers["Content-Type"] == "application/pdf"
    assert filename(draft) == "Care plan, version 1 – draft.pdf"
    # and a plain ASCII name for clients that do not read filename*
    assert 'filename="Care plan, version 1 - draft.pdf"' in draft.headers["Content-Disposition"]
    assert draft.headers["Cache-Control"] == "no-store"
    assert "DRAFT" in _text(draft.read())
    assert downloads_recorded(db) == 1

    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    # What the page waiting for it asks, as often as every three seconds: never a download.
    state = browser.get(f"/documents/{doc}/versions/1/signed.pdf/state")
    assert state.status == 200 and state.headers["Content-Type"] == "application/json"
    assert json.loads(state.read()) == {"status": "pending", "taking_long": False}
    settings = pdfs.PdfSettings.from_config(app.config, app.instance_path)
    assert pdfs.run_pending(db, settings) == 1
    state = browser.get(f"/documents/{doc}/versions/1/signed.pdf/state")
    assert json.loads(state.read())["status"] == "ready" and downloads_recorded(db) == 1
    sealed = browser.get(f"/documents/{doc}/versions/1/signed.pdf")
    assert sealed.status == 200 and sealed.headers["Content-Type"] == "application/pdf"
    assert re.fullmatch(r"Care plan, version 1 – \d{1,2} \w+ \d{4}\.pdf", filename(sealed))
    assert sealed.headers["Cache-Control"] == "no-store"
    data = sealed.read()
    assert "Find a flat" in _text(data)
    assert pdfs.verify_file(db, settings, data).genuine
    assert downloads_recorded(db) == 2

    # Version 1 is agreed now: its draft PDF's address leads to the sealed one.
    again = browser.get(f"/documents/{doc}/versions/1/draft.pdf")
    assert again.url.endswith(f"/documents/{doc}/versions/1/signed.pdf")
    assert again.read() == data and filename(again) == filename(sealed)
    assert downloads_recorded(db) == 3


def test_two_versions_agreed_on_one_day_download_from_gunicorn_under_two_names(
    app, db, gunicorn_url
):
    # One name for both and a phone keeps one copy: each says its version, in both headers.
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    client, worker = actor_for(circle.client), actor_for(circle.key_worker)
    settings = pdfs.PdfSettings.from_config(app.config, app.instance_path)
    for number in (1, 2):
        if number == 2:
            content = documents.open_document(db, worker, doc).content
            content["what_matters"] = {"text": "Seeing my sister every week."}
            documents.save_version(db, worker, doc, 1, content, "what matters now")
        for actor in (client, worker):
            signoff.sign(db, actor, doc, number, "signed", "", PASSWORD)
    assert pdfs.run_pending(db, settings) == 2
    browser = Browser(gunicorn_url)
    browser.sign_in(circle.client)
    names = set()
    for number in (1, 2):
        sealed = browser.get(f"/documents/{doc}/versions/{number}/signed.pdf")
        name = filename(sealed)
        assert re.fullmatch(rf"Care plan, version {number} – \d{{1,2}} \w+ \d{{4}}\.pdf", name)
        ascii_name = name.replace("–", "-")
        assert f'filename="{ascii_name}"' in sealed.headers["Content-Disposition"]
        assert f"{PdfReader(io.BytesIO(sealed.read())).metadata.title}.pdf" == name
        names.add(name)
    assert len(names) == 2


def test_staff_and_advocates_download_a_client_s_pdfs_under_the_client_s_name(
    app, db, gunicorn_url
):
    # They keep many clients' PDFs side by side: every care plan agreed on one day would
    # otherwise download under one name. The client's own are named as above.
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    name = circle.client.display_name
    for person in (circle.key_worker, circle.advocate):
        web = Browser(gunicorn_url)
        web.sign_in(person)
        draft = web.get(f"/documents/{doc}/versions/1/draft.pdf")
        assert draft.status == 200
        assert filename(draft) == f"{name} – Care plan, version 1 – draft.pdf"
        ascii_name = f"{name} - Care plan, version 1 - draft.pdf"
        assert f'filename="{ascii_name}"' in draft.headers["Content-Disposition"]
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    assert pdfs.run_pending(db, pdfs.PdfSettings.from_config(app.config, app.instance_path)) == 1
    sealed = web.get(f"/documents/{doc}/versions/1/signed.pdf")
    assert sealed.status == 200 and sealed.read().startswith(b"%PDF")
    pattern = rf"{re.escape(name)} – Care plan, version 1 – \d{{1,2}} \w+ \d{{4}}\.pdf"
    assert re.fullmatch(pattern, filename(sealed))


def test_fhir_and_archive_download_from_gunicorn(app, db, gunicorn_url):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 2, "signed", "", PASSWORD)
    web = Browser(gunicorn_url)
    web.sign_in(circle.client)

    response = web.get(f"/documents/{doc}/versions/2/fhir.json")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/fhir+json; fhirVersion=4.0"
    assert response.headers["Cache-Control"] == "no-store"
    assert "FHIR" in filename(response)
    # The plain name for clients without filename*: the dash kept as "-", not dropped with its
    # spaces left doubled.
    header = response.headers["Content-Disposition"]
    assert 'filename="Care plan - version 2 (FHIR).json"' in header, header
    assert_valid_r4(json.loads(response.read()))

    response = web.get(f"/clients/{circle.client.id}/archive.zip")
    assert response.status == 200 and response.headers["Content-Type"] == "application/zip"
    assert response.headers["Cache-Control"] == "no-store"
    assert filename(response).endswith(".zip")
    header = response.headers["Content-Disposition"]
    plain = f"My records - {circle.client.display_name} - {service_today().isoformat()}.zip"
    assert f'filename="{plain}"' in header, header
    archive = zipfile.ZipFile(io.BytesIO(response.read()))
    assert archive.testzip() is None
    # Its README names the service by its address and the time on the service's clock.
    readme = archive.read("README.txt").decode()
    assert re.match(r"Everything the service at http://[^ ]+ holds about Client", readme), readme
    assert re.search(r"\nMade on \d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d\.\n", readme), readme
    assert len([n for n in archive.namelist() if n.endswith(".fhir.json")]) == 2

    worker = Browser(gunicorn_url)
    worker.sign_in(circle.key_worker)
    with pytest.raises(urllib.error.HTTPError) as refused:
        worker.get(f"/clients/{circle.client.id}/archive.zip")
    assert refused.value.code == 404


def test_the_supervisors_export_streams_from_gunicorn(db, gunicorn_url):
    circle = Circle()
    make_plan(circle.key_worker, circle.client)
    supervisor = Browser(gunicorn_url)
    supervisor.sign_in(circle.supervisor)

    response = supervisor.get("/supervision/export.csv")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Cache-Control"] == "no-store"
    assert re.fullmatch(r"review-audit-\d{4}-\d{2}-\d{2}\.csv", filename(response))
    body = response.read()
    assert body.startswith(b"\xef\xbb\xbf")  # spreadsheets read it as UTF-8
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    # The header row first, one row per document, then what was exported and how.
    assert rows[0][:3] == ["Client", "Document", "State"]
    assert [row[:3] for row in rows[1 : rows.index([])]] == [
        [circle.client.display_name, "Care plan", "never agreed, waiting for both to sign"]
    ]
    assert ["Exported by", circle.supervisor.display_name] in rows[rows.index([]) :]
    with db.read() as s:
        exported = s.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.actor_id == circle.supervisor.id, AuditEvent.action == "export")
        )
    assert exported == 1


def test_a_review_half_confirmed_is_said_on_the_dashboard_and_in_its_export_over_http(
    db, gunicorn_url
):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    reviews.confirm_no_changes(db, actor_for(circle.client), doc, 1, PASSWORD)
    supervisor = Browser(gunicorn_url)
    supervisor.sign_in(circle.supervisor)
    page = supervisor.get("/supervision").read().decode()
    assert f"(confirmed with no changes by <bdi>{circle.client.display_name}</bdi> on" in page
    body = supervisor.get("/supervision/export.csv").read().decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(body)))
    [row] = [r for r in table if r["Reference"] == str(doc)]
    today = service_today().isoformat()
    assert row["Review confirmed with no changes by"] == f"{circle.client.display_name} ({today})"


def test_after_a_refused_filter_the_pages_download_link_gives_the_rows_on_screen(db, gunicorn_url):
    """A filter the page refused and ignored is left out of its download link: the link
    answers 200 with the rows shown, not an error."""
    circle = Circle()
    make_plan(circle.key_worker, circle.client)
    supervisor = Browser(gunicorn_url)
    supervisor.sign_in(circle.supervisor)
    with pytest.raises(urllib.error.HTTPError) as shown:
        supervisor.get("/supervision?due_from=2027-03-01&due_to=2027-01-01&team=999")
    assert shown.value.code == 422  # the page, saying what it ignored
    page = shown.value.read().decode()
    assert "could not be used and were ignored" in page
    link = re.search(r'<a href="([^"]+)">Download these as a spreadsheet', page).group(1)
    response = supervisor.get(html.unescape(link))
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.read().decode("utf-8-sig"))))
    assert [row[0] for row in rows[1 : rows.index([])]] == [circle.client.display_name]
    assert circle.client.display_name in page
