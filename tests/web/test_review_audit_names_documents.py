"""The review-date audit names each document so an inspector can tell alike ones apart, links
to it, and says what was agreed when."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta

import sqlalchemy as sa

from careplan.db.models import PdfRender
from careplan.domain.local_time import long_date, service_today, start_of_day
from careplan.services import signoff
from careplan.services.accounts import actor_for
from tests.conftest import login
from tests.factories import PASSWORD, Circle, make_agreement, make_plan
from tests.web.test_statements_per_page import counting

TODAY = service_today()
GP = "Partnership agreement (shared care with my GP practice)"


def _sign_both(db, circle, doc, number=1):
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, number, "signed", "", PASSWORD, confirm_blank=True)


def _row_of(page: str, document_id: int) -> str:
    rows = re.findall(r"<tr class=\"state-[a-z_]+\">(.*?)</tr>", page, re.S)
    [row] = [r for r in rows if f'href="/documents/{document_id}"' in r]
    return row


def test_the_dashboard_names_each_document_links_to_it_and_says_what_was_agreed(app, db):
    circle = Circle()
    agreed = make_agreement(circle.key_worker, circle.client, template_id="ost_primary_care")
    _sign_both(db, circle, agreed)
    declined = make_agreement(circle.key_worker, circle.client, template_id="ost_primary_care")
    signoff.sign(db, actor_for(circle.client), declined, 1, "declined", "Not this.", PASSWORD)
    reviewed = make_plan(circle.key_worker, circle.client)
    _sign_both(db, circle, reviewed)
    with db.write() as s:  # agreed 30 days ago, reviewed with no changes today
        s.execute(
            sa.update(PdfRender)
            .where(PdfRender.document_id == reviewed)
            .values(agreed_at=start_of_day(TODAY - timedelta(days=30), 12))
        )
    browser = login(app.test_client(), circle.supervisor)
    page = browser.get("/supervision").get_data(as_text=True)

    headers = re.findall(r'<th scope="col">([^<]+)</th>', page)
    assert "Agreed" in headers and "Last signed" not in headers
    row = _row_of(page, agreed)
    assert f'<bdi>{html.escape(GP)}</bdi></a> <span class="meta">(reference {agreed})</span>' in row
    assert f"Version 1, on {long_date(TODAY)}" in row
    assert "last reviewed" not in row  # on the day it was agreed: said once
    row = _row_of(page, reviewed)
    assert f"Version 1, on {long_date(TODAY - timedelta(days=30))}" in row
    assert f'<span class="meta">(last reviewed on {long_date(TODAY)}' in row
    # Declined, so signed, but never agreed: nothing says it was.
    row = _row_of(page, declined)
    assert f"(reference {declined})" in row and "not agreed yet" in row
    assert "Version" not in row and "reviewed" not in row
    # On a phone each cell is a card line named by its column.
    cells = re.findall(r'<td data-label="([^"]+)"', row)
    assert cells == headers
    # The link opens the document for the supervisor (a recorded read).
    assert browser.get(f"/documents/{agreed}").status_code == 200


def test_the_dashboard_reads_the_agreed_dates_in_the_same_statements_for_any_number(app, db):
    circle = Circle()
    first = make_plan(circle.key_worker, circle.client)
    _sign_both(db, circle, first)
    browser = login(app.test_client(), circle.supervisor)
    browser.get("/supervision")
    with counting(db) as few:
        page = browser.get("/supervision").get_data(as_text=True)
    assert f"Version 1, on {long_date(TODAY)}" in _row_of(page, first)
    more = []
    for _ in range(6):
        doc = make_plan(circle.key_worker, circle.client)
        _sign_both(db, circle, doc)
        more.append(doc)
    with counting(db) as many:
        page = browser.get("/supervision").get_data(as_text=True)
    assert all(f"Version 1, on {long_date(TODAY)}" in _row_of(page, doc) for doc in more)
    assert len(many.statements) == len(few.statements)


def test_the_download_links_each_document_at_the_address_people_reach_the_app_at(app, db):
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client, template_id="ost_primary_care")
    browser = login(app.test_client(), circle.supervisor)
    text = browser.get("/supervision/export.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    named = [dict(zip(rows[0], r, strict=True)) for r in rows[1 : rows.index([])]]
    # (An agreement only: the client's "no care plan yet" row has no reference.)
    [row] = [r for r in named if r["Reference"]]
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    assert (row["Document"], row["Reference"]) == (GP, str(doc))
    assert row["Link"] == f"{base}/documents/{doc}"
    assert browser.get(row["Link"].removeprefix(base)).status_code == 200
